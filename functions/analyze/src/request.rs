//! What an analyze request asks for, parsed from the HTTP request without touching any store: the
//! payload (frames zip, single image, video, upload key), the analysis parameters with their
//! validation, and every source a model variant can come from. Parsing never fails as a whole: each
//! part carries its own error, so the handler can create the run first and then fail it with the
//! right code.

use std::collections::HashMap;

use common::error::{ApiError, ErrorCode};
use common::http::query_param;
use common::lambda_http::http::header::CONTENT_TYPE;
use common::lambda_http::Request;
use common::runs::{RunInputs, RunKind, SourceType};
use serde_json::{Map, Value};

use crate::variant::VariantInputs;
use crate::Endpoint;

/// Default frames per second when a request gives none.
pub const DEFAULT_FPS: f64 = 120.0;
/// Default reference length in metres.
pub const DEFAULT_REF_LEN_M: f64 = 1.0;
/// Default reference length in pixels.
pub const DEFAULT_REF_LEN_PX: f64 = 100.0;
/// Default smoothing window.
pub const DEFAULT_SMOOTHING: usize = 3;
/// Largest smoothing window.
pub const MAX_SMOOTHING: usize = 25;
/// Highest frame rate accepted (phones reach 960 slow-motion; launch monitors a few thousand).
pub const MAX_FPS: f64 = 10_000.0;
/// Lowest frame rate accepted: below one frame a second no camera shows a ball in flight, and the
/// trajectory fit would integrate hours of flight between frames.
pub const MIN_FPS: f64 = 1.0;

/// What a run records of the endpoint that created it.
impl Endpoint {
    /// The run kind this endpoint records.
    pub fn kind(self) -> RunKind {
        match self {
            Endpoint::Frames => RunKind::Image,
            Endpoint::Video => RunKind::Video,
            Endpoint::Range => RunKind::Range,
        }
    }

    /// The run source type.
    pub fn source_type(self) -> SourceType {
        match self {
            Endpoint::Frames => SourceType::Analyze,
            Endpoint::Video => SourceType::AnalyzeVideo,
            Endpoint::Range => SourceType::Range,
        }
    }
}

/// The uploaded content.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A zip of frames.
    Zip(Vec<u8>),
    /// One PNG/JPEG image: detections only.
    Image(Vec<u8>),
    /// An MP4 in the body.
    Video(Vec<u8>),
    /// An MP4 uploaded earlier through POST /runs/v1/uploads.
    VideoUpload(String),
}

/// Analysis parameters, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Frames per second (for video: the fallback when the container has none).
    pub fps: f64,
    /// Reference length in metres.
    pub ref_len_m: f64,
    /// Reference length in pixels.
    pub ref_len_px: f64,
    /// Centred moving-average window, 1..=25.
    pub smoothing_window: usize,
    /// `calibration` JSON, when given.
    pub calibration: Option<Value>,
    /// Metres per pixel from the reference lengths or the calibration.
    pub m_per_px: f64,
    /// `include=detections`: per-frame detections in the response.
    pub include_detections: bool,
    /// Range payload: declared frame size.
    pub frame_size: Option<(u32, u32)>,
    /// The tracer label's units: the `units` parameter, else the `Accept-Language` header's
    /// region ([`tracer::Units::from_accept_language`]), else metric.
    pub units: Option<tracer::Units>,
}

impl Params {
    /// What the analysis core needs, with frame times from `clock` (a video's own sample times
    /// replace the requested rate).
    pub fn analysis(&self, clock: crate::pipeline::clock::Clock) -> crate::flow::AnalysisParams {
        crate::flow::AnalysisParams {
            clock,
            m_per_px: self.m_per_px,
            smoothing_window: self.smoothing_window,
            frame_size: self.frame_size,
            units: self.units.unwrap_or_default(),
        }
    }
}

/// A parsed request: what the run records, and the parts that may have failed to parse.
#[derive(Debug)]
pub struct Parsed {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// The run's `inputs`.
    pub inputs: RunInputs,
    /// The run's `params` (as given, for the record).
    pub params_record: Value,
    /// Operator label.
    pub run_name: Option<String>,
    /// Every variant source seen.
    pub variants: VariantInputs,
    /// The `x-user-id` header, for the rollout flag.
    pub user_id: Option<String>,
    /// The content, or why it is unusable.
    pub payload: Result<Payload, ApiError>,
    /// The parameters, or every problem with them.
    pub params: Result<Params, ApiError>,
}

/// What each endpoint's parser gathers besides the content and its parameters: the run's inputs,
/// the parameters as given (for the record), the label and every variant source.
struct Gathered {
    inputs: RunInputs,
    raw: Map<String, Value>,
    run_name: Option<String>,
    variants: VariantInputs,
}

impl Gathered {
    fn finish(
        self,
        req: &Request,
        endpoint: Endpoint,
        payload: Result<Payload, ApiError>,
        params: Result<Params, ApiError>,
    ) -> Parsed {
        Parsed {
            endpoint,
            inputs: self.inputs,
            params_record: record(&self.raw),
            run_name: self.run_name,
            variants: self.variants,
            user_id: header(req, "x-user-id"),
            payload,
            params,
        }
    }
}

/// A multipart body: text fields and file parts.
#[derive(Debug, Default)]
struct Form {
    fields: HashMap<String, String>,
    files: HashMap<String, (Option<String>, Vec<u8>)>,
}

fn header(req: &Request, name: &str) -> Option<String> {
    common::http::header(req, name).map(str::to_string)
}

fn content_type(req: &Request) -> String {
    header(req, CONTENT_TYPE.as_str()).unwrap_or_default().to_ascii_lowercase()
}

/// Parses a multipart body held in memory.
async fn parse_multipart(req: &Request) -> Result<Form, String> {
    let ct = header(req, CONTENT_TYPE.as_str()).unwrap_or_default();
    let boundary = multer::parse_boundary(&ct).map_err(|e| format!("multipart body without a usable boundary: {e}"))?;
    let body = bytes::Bytes::copy_from_slice(req.body().as_ref());
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut form = Form::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(format!("malformed multipart body: {e}")),
        };
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let data = field.bytes().await.map_err(|e| format!("malformed multipart body: {e}"))?;
        if filename.is_some() || name == "frames_zip" || name == "image" || name == "video" {
            form.files.insert(name, (filename, data.to_vec()));
        } else {
            form.fields.insert(name, String::from_utf8_lossy(&data).trim().to_string());
        }
    }
    Ok(form)
}

/// Reads one numeric parameter: the first source that has it; an unparseable value is reported.
fn number(name: &str, value: Option<&Value>, errors: &mut Vec<String>) -> Option<f64> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(v) => Some(v),
            Err(_) => {
                errors.push(format!("{name} must be a number, got {s:?}"));
                None
            }
        },
        Some(other) => {
            errors.push(format!("{name} must be a number, got {other}"));
            None
        }
    }
}

/// Validates analysis parameters from a flat map of raw values (query, form or JSON).
pub fn validate_params(raw: &Map<String, Value>, fps_name: &str, default_fps: f64) -> Result<Params, ApiError> {
    let mut errors = Vec::new();
    let fps = number(fps_name, raw.get(fps_name), &mut errors).unwrap_or(default_fps);
    let ref_len_m = number("ref_len_m", raw.get("ref_len_m"), &mut errors).unwrap_or(DEFAULT_REF_LEN_M);
    let ref_len_px = number("ref_len_px", raw.get("ref_len_px"), &mut errors).unwrap_or(DEFAULT_REF_LEN_PX);
    let smoothing = number("smoothing_window", raw.get("smoothing_window"), &mut errors);
    if !(fps.is_finite() && (MIN_FPS..=MAX_FPS).contains(&fps)) {
        errors.push(format!("{fps_name} must be from {MIN_FPS} to {MAX_FPS}, got {fps}"));
    }
    let smoothing_window = match smoothing {
        None => DEFAULT_SMOOTHING,
        Some(w) if w.fract() == 0.0 && (1.0..=MAX_SMOOTHING as f64).contains(&w) => w as usize,
        Some(w) => {
            errors.push(format!("smoothing_window must be an integer from 1 to {MAX_SMOOTHING}, got {w}"));
            DEFAULT_SMOOTHING
        }
    };
    let calibration = match raw.get("calibration") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(format!("calibration is not valid JSON: {e}"));
                None
            }
        },
        Some(v) => Some(v.clone()),
    };
    let mut frame_size = None;
    let fw = number("frame_width", raw.get("frame_width"), &mut errors);
    let fh = number("frame_height", raw.get("frame_height"), &mut errors);
    for (name, v) in [("frame_width", fw), ("frame_height", fh)] {
        if let Some(v) = v {
            if !(v.fract() == 0.0 && (1.0..=16_384.0).contains(&v)) {
                errors.push(format!("{name} must be an integer from 1 to 16384, got {v}"));
            }
        }
    }
    if let (Some(w), Some(h)) = (fw, fh) {
        frame_size = Some((w as u32, h as u32));
    }
    let m_per_px = match crate::pipeline::kinematics::meters_per_pixel(ref_len_m, ref_len_px, calibration.as_ref()) {
        Ok(m) => m,
        Err(e) => {
            errors.extend(e.0);
            0.0
        }
    };
    let units = match raw.get("units") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) if v.trim().is_empty() => None,
        Some(v) => {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            let parsed = tracer::Units::parse(&text);
            if parsed.is_none() {
                errors.push(format!("units must be metric or imperial, got {text:?}"));
            }
            parsed
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidCalibration, errors.join("; ")));
    }
    Ok(Params {
        fps,
        ref_len_m,
        ref_len_px,
        smoothing_window,
        calibration,
        m_per_px,
        include_detections: false,
        frame_size,
        units,
    })
}

/// The units a request asks for: its `units` parameter (already in `p`), else its
/// `Accept-Language`.
fn with_units(req: &Request, p: Params) -> Params {
    let units = p.units.or_else(|| header(req, "accept-language").map(|h| tracer::Units::from_accept_language(&h)));
    Params { units, ..p }
}

fn include_detections(req: &Request) -> bool {
    query_param(req, "include").is_some_and(|v| v.split(',').any(|p| p.trim() == "detections"))
}

/// Query parameters as a JSON map (first value of each).
fn query_map(req: &Request, names: &[&str]) -> Map<String, Value> {
    names.iter().filter_map(|n| query_param(req, n).map(|v| (n.to_string(), Value::String(v)))).collect()
}

fn record(raw: &Map<String, Value>) -> Value {
    // The record keeps what was given, minus the payload itself.
    let kept: Map<String, Value> =
        raw.iter().filter(|(k, _)| k.as_str() != "frames_zip_b64").map(|(k, v)| (k.clone(), v.clone())).collect();
    Value::Object(kept)
}

fn base_variants(req: &Request) -> VariantInputs {
    VariantInputs {
        header: header(req, "x-model-variant"),
        query: query_param(req, "model_variant"),
        ..Default::default()
    }
}

const PARAM_NAMES: &[&str] = &["fps", "ref_len_m", "ref_len_px", "smoothing_window", "calibration", "units"];
const VIDEO_PARAM_NAMES: &[&str] =
    &["fps_fallback", "ref_len_m", "ref_len_px", "smoothing_window", "calibration", "units"];

/// Parses POST /cv/analyze: multipart `frames_zip` or `image`, or a raw `image/png|jpeg` body.
pub async fn parse_frames(req: &Request) -> Parsed {
    let content_length = req.body().as_ref().len() as u64;
    let ct = content_type(req);
    let mut raw = query_map(req, PARAM_NAMES);
    let mut variants = base_variants(req);
    let mut inputs =
        RunInputs { input_type: "zip".into(), filename: None, content_length: Some(content_length), frame_count: None };
    let payload = if ct.starts_with("multipart/form-data") {
        match parse_multipart(req).await {
            Err(e) => Err(ApiError::new(ErrorCode::InvalidZip, e)),
            Ok(mut form) => {
                variants.form = form.fields.remove("model_variant").filter(|v| !v.is_empty());
                for (k, v) in form.fields {
                    // Query parameters win over form fields of the same name.
                    if PARAM_NAMES.contains(&k.as_str()) && !raw.contains_key(&k) {
                        raw.insert(k, Value::String(v));
                    }
                }
                if let Some((name, bytes)) = form.files.remove("frames_zip") {
                    inputs.filename = name;
                    Ok(Payload::Zip(bytes))
                } else if let Some((name, bytes)) = form.files.remove("image") {
                    inputs.input_type = "image".into();
                    inputs.filename = name;
                    inputs.frame_count = Some(1);
                    Ok(Payload::Image(bytes))
                } else {
                    Err(ApiError::new(
                        ErrorCode::InvalidZip,
                        "multipart body has no frames_zip (a zip of frames) or image part",
                    ))
                }
            }
        }
    } else if ct.starts_with("image/png") || ct.starts_with("image/jpeg") || ct.starts_with("image/jpg") {
        inputs.input_type = "image".into();
        inputs.frame_count = Some(1);
        Ok(Payload::Image(req.body().as_ref().to_vec()))
    } else if ct.starts_with("application/zip") || ct.starts_with("application/x-zip-compressed") {
        Ok(Payload::Zip(req.body().as_ref().to_vec()))
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidZip,
            format!(
                "expected multipart/form-data with a frames_zip or image part, or an image/png or image/jpeg body; got \
                 content-type {:?}",
                if ct.is_empty() { "none" } else { ct.as_str() }
            ),
        ))
    };
    let params = validate_params(&raw, "fps", DEFAULT_FPS)
        .map(|p| with_units(req, Params { include_detections: include_detections(req), ..p }));
    let run_name = query_param(req, "run_name").filter(|s| !s.trim().is_empty());
    Gathered { inputs, raw, run_name, variants }.finish(req, Endpoint::Frames, payload, params)
}

/// Parses POST /cv/analyze/video: multipart `video` with form fields, or JSON `{"upload_key", ...}`.
pub async fn parse_video(req: &Request) -> Parsed {
    let content_length = req.body().as_ref().len() as u64;
    let ct = content_type(req);
    let mut raw = query_map(req, VIDEO_PARAM_NAMES);
    let mut variants = base_variants(req);
    let mut run_name = query_param(req, "run_name").filter(|s| !s.trim().is_empty());
    let mut inputs = RunInputs {
        input_type: "video".into(),
        filename: None,
        content_length: Some(content_length),
        frame_count: None,
    };
    let payload = if ct.starts_with("multipart/form-data") {
        match parse_multipart(req).await {
            Err(e) => Err(ApiError::new(ErrorCode::VideoDecodeFailed, e)),
            Ok(mut form) => {
                variants.form = form.fields.remove("model_variant").filter(|v| !v.is_empty());
                if let Some(n) = form.fields.remove("run_name").filter(|v| !v.is_empty()) {
                    run_name.get_or_insert(n);
                }
                for (k, v) in form.fields {
                    // Form fields are this endpoint's documented place; they win over the query.
                    if VIDEO_PARAM_NAMES.contains(&k.as_str()) {
                        raw.insert(k, Value::String(v));
                    }
                }
                match form.files.remove("video") {
                    Some((name, bytes)) => {
                        inputs.filename = name;
                        inputs.content_length = Some(bytes.len() as u64);
                        Ok(Payload::Video(bytes))
                    }
                    None => Err(ApiError::new(ErrorCode::VideoDecodeFailed, "multipart body has no video part")),
                }
            }
        }
    } else if ct.contains("json") {
        match serde_json::from_slice::<Value>(req.body().as_ref()) {
            Ok(Value::Object(map)) => {
                variants.payload = map.get("model_variant").and_then(Value::as_str).map(str::to_string);
                if let Some(n) = map.get("run_name").and_then(Value::as_str).filter(|s| !s.trim().is_empty()) {
                    run_name.get_or_insert(n.to_string());
                }
                for k in VIDEO_PARAM_NAMES {
                    if let Some(v) = map.get(*k) {
                        raw.insert(k.to_string(), v.clone());
                    }
                }
                match map.get("upload_key").and_then(Value::as_str) {
                    Some(key) => {
                        inputs.filename = Some(key.to_string());
                        Ok(Payload::VideoUpload(key.to_string()))
                    }
                    None => Err(ApiError::new(
                        ErrorCode::InvalidJson,
                        "JSON body needs upload_key (from POST /runs/v1/uploads)",
                    )),
                }
            }
            Ok(_) => Err(ApiError::new(ErrorCode::InvalidJson, "body must be a JSON object with upload_key")),
            Err(e) => Err(ApiError::new(ErrorCode::InvalidJson, format!("body is not valid JSON: {e}"))),
        }
    } else {
        Err(ApiError::new(
            ErrorCode::VideoDecodeFailed,
            "expected multipart/form-data with a video part, or JSON {\"upload_key\": ...}",
        ))
    };
    let params = validate_params(&raw, "fps_fallback", DEFAULT_FPS)
        .map(|p| with_units(req, Params { include_detections: include_detections(req), ..p }));
    Gathered { inputs, raw, run_name, variants }.finish(req, Endpoint::Video, payload, params)
}

/// Parses POST /range/practice/analyze: a JSON object with `frames_zip_b64` and the parameters.
pub fn parse_range(req: &Request) -> Parsed {
    use base64::Engine as _;
    let content_length = req.body().as_ref().len() as u64;
    let mut variants = base_variants(req);
    let inputs = RunInputs {
        input_type: "range".into(),
        filename: None,
        content_length: Some(content_length),
        frame_count: None,
    };
    let mut raw = Map::new();
    let mut run_name = query_param(req, "run_name").filter(|s| !s.trim().is_empty());
    let payload = match serde_json::from_slice::<Value>(req.body().as_ref()) {
        Ok(Value::Object(map)) => {
            variants.payload = map.get("model_variant").and_then(Value::as_str).map(str::to_string);
            if let Some(n) = map.get("run_name").and_then(Value::as_str).filter(|s| !s.trim().is_empty()) {
                run_name = Some(n.to_string());
            }
            for k in
                ["fps", "ref_len_m", "ref_len_px", "smoothing_window", "frame_width", "frame_height", "calibration"]
            {
                if let Some(v) = map.get(k) {
                    raw.insert(k.to_string(), v.clone());
                }
            }
            if let Some(m) = map.get("mission_id") {
                raw.insert("mission_id".into(), m.clone());
            }
            match map.get("frames_zip_b64") {
                Some(Value::String(b64)) => {
                    // Tolerate a data-URL prefix and line breaks, which browsers and mobile SDKs add.
                    let b64 = b64.rsplit_once("base64,").map_or(b64.as_str(), |(_, rest)| rest);
                    let cleaned: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                    base64::engine::general_purpose::STANDARD.decode(cleaned.as_bytes()).map(Payload::Zip).map_err(
                        |e| ApiError::new(ErrorCode::InvalidZip, format!("frames_zip_b64 is not valid base64: {e}")),
                    )
                }
                Some(_) => Err(ApiError::new(ErrorCode::InvalidJson, "frames_zip_b64 must be a base64 string")),
                None => Err(ApiError::new(ErrorCode::InvalidJson, "frames_zip_b64 is required")),
            }
        }
        Ok(_) => Err(ApiError::new(ErrorCode::InvalidJson, "body must be a JSON object")),
        Err(e) => Err(ApiError::new(ErrorCode::InvalidJson, format!("body is not valid JSON: {e}"))),
    };
    let params = validate_params(&raw, "fps", DEFAULT_FPS).map(|p| with_units(req, p));
    Gathered { inputs, raw, run_name, variants }.finish(req, Endpoint::Range, payload, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn defaults_apply_and_scale_comes_from_reference_lengths() {
        let p = validate_params(&Map::new(), "fps", DEFAULT_FPS).expect("defaults");
        assert_eq!((p.fps, p.smoothing_window), (120.0, 3));
        assert!((p.m_per_px - 0.01).abs() < 1e-12);
        let p = validate_params(&raw(&[("ref_len_m", json!("2")), ("ref_len_px", json!(400))]), "fps", 120.0)
            .expect("strings and numbers");
        assert!((p.m_per_px - 0.005).abs() < 1e-12);
    }

    #[test]
    fn every_bad_field_is_named_in_one_422() {
        let e = validate_params(
            &raw(&[
                ("fps", json!("fast")),
                ("smoothing_window", json!(30)),
                ("ref_len_px", json!(-1)),
                ("calibration", json!("{not json")),
            ]),
            "fps",
            120.0,
        )
        .expect_err("invalid");
        assert_eq!(e.code, ErrorCode::InvalidCalibration);
        for field in ["fps", "smoothing_window", "calibration"] {
            assert!(e.message.contains(field), "{field} missing from {}", e.message);
        }
        let e = validate_params(&raw(&[("calibration", json!({"points": [[0, 0]], "distanceM": 1}))]), "fps", 120.0)
            .expect_err("one point");
        assert!(e.message.contains("calibration.points"), "{}", e.message);
        let e = validate_params(&raw(&[("smoothing_window", json!(2.5))]), "fps", 120.0).expect_err("fraction");
        assert!(e.message.contains("smoothing_window"));
        let e = validate_params(&raw(&[("fps", json!(0))]), "fps_fallback", 120.0);
        assert!(e.is_ok(), "the name checked is the one given");
        let e = validate_params(&raw(&[("fps_fallback", json!(0))]), "fps_fallback", 120.0).expect_err("zero");
        assert!(e.message.contains("fps_fallback"));
    }

    #[test]
    fn a_frame_rate_under_one_a_second_is_refused() {
        // 1e-4 fps put 10^4 s between frames: the trajectory fit then ran for minutes (found by
        // the API fuzz's author by hand).
        for fps in [1e-4, 0.5, 1e-300] {
            let e = validate_params(&raw(&[("fps", json!(fps))]), "fps", 120.0).expect_err("too slow");
            assert_eq!(e.code, ErrorCode::InvalidCalibration, "{fps}");
        }
        assert!(validate_params(&raw(&[("fps", json!(MIN_FPS))]), "fps", 120.0).is_ok());
    }

    #[test]
    fn calibration_wins_over_reference_lengths() {
        let p = validate_params(&raw(&[("calibration", json!("{\"metersPerPixel\": 0.002}"))]), "fps", 120.0)
            .expect("calibration");
        assert!((p.m_per_px - 0.002).abs() < 1e-12);
    }
}
