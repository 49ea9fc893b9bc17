//! The analyze function: POST /cv/analyze (frames zip or one image), POST /cv/analyze/video (MP4)
//! and POST /range/practice/analyze (JSON with a base64 frames zip). Every call is a persisted run
//! that ends succeeded or failed, never left in processing.
//!
//! # Layout
//! - [`request`]: parsing and validating each endpoint's input (no I/O).
//! - [`variant`]: which model variant, and who chose it.
//! - [`gate`]: the bounded inference queue (OVERLOADED past it).
//! - [`job`]: one analysis on a blocking thread: frames → detector → shot metrics → preview.
//! - [`frames`]: zip / image / npy ingestion with the zip-bomb and size limits.
//! - [`video`]: MP4/H.264 demuxing and decoding (openh264), streamed frame by frame.
//! - [`pipeline`]: tracks, kinematics, capture quality, the shot (pure functions).
//!
//! The handler is thin: parse, create the run, hand the rest to a task that always finishes it.

pub mod frames;
pub mod gate;
pub mod job;
pub mod pipeline;
pub mod refine;
pub mod request;
pub mod variant;
pub mod video;

use std::sync::Arc;
use std::time::Duration;

use common::auth::Guard;
use common::config::Config;
use common::error::{ApiError, ErrorCode};
use common::flags::rollout_model_variant;
use common::http::{json_response, respond, route_request, set_run_id_header, Route};
use common::lambda_http::http::{Method, StatusCode};
use common::lambda_http::{Body, Request, Response};
use common::run_store::RunStoreError;
use common::runs::{ModelVariant, NewRun, RunId, Timings, Transition};
use common::state::AppState;
use models::{ModelRegistry, SessionOptions, Thresholds};
use serde_json::{json, Value};

use crate::frames::ZipLimits;
use crate::gate::InferenceGate;
use crate::job::{Outcome, Source};
use crate::request::{Endpoint, Parsed, Payload};
use crate::variant::{resolve, VariantChoice};

/// The routes this function serves.
pub const ROUTES: &[Route] = &[
    Route::new(Method::POST, "/cv/analyze", Guard::ApiKey),
    Route::new(Method::POST, "/cv/analyze/video", Guard::ApiKey),
    Route::new(Method::POST, "/range/practice/analyze", Guard::ApiKey),
];

/// The name of a run's preview artifact (GET /runs/v1/{run_id}/preview.png serves it).
pub const PREVIEW_ARTIFACT: &str = "preview.png";

/// What the analyze handlers share across requests: the detectors and the inference gate.
#[derive(Debug)]
pub struct Engine {
    registry: Arc<ModelRegistry>,
    gate: InferenceGate,
    zip_limits: ZipLimits,
    max_video_bytes: u64,
    max_video_frames: usize,
}

impl Engine {
    /// An engine over `registry` with the limits and queue of `config`.
    pub fn new(config: &Config, registry: Arc<ModelRegistry>) -> Self {
        let a = &config.analyze;
        Engine {
            registry,
            gate: InferenceGate::new(
                a.inference_concurrency as usize,
                a.inference_queue_depth as usize,
                Duration::from_millis(a.inference_queue_timeout_ms),
            ),
            zip_limits: ZipLimits { max_zip_bytes: a.max_zip_bytes as usize, ..ZipLimits::default() },
            max_video_bytes: a.max_video_bytes,
            max_video_frames: a.max_video_frames as usize,
        }
    }

    /// The detectors.
    pub fn registry(&self) -> &Arc<ModelRegistry> {
        &self.registry
    }

    /// The inference gate.
    pub fn gate(&self) -> &InferenceGate {
        &self.gate
    }
}

/// The model registry `config` names: MODELS_DIR, else the default weights root; sessions sized
/// from the cores (one intra-op thread each: measured fastest under load, models/README.md).
pub fn registry_for(config: &Config) -> ModelRegistry {
    let root = config.models_dir.clone().unwrap_or_else(ModelRegistry::default_root);
    ModelRegistry::new(root, SessionOptions::default(), Thresholds::default())
}

/// Installs the model registry (unless one is there) and the analyze engine into `state`; the
/// dispatcher and the analyze Lambda call it once at start-up, and /ready reads the same registry.
pub fn install(state: AppState) -> AppState {
    if state.extensions.get::<Arc<Engine>>().is_some() {
        return state;
    }
    let registry =
        state.extensions.get::<Arc<ModelRegistry>>().cloned().unwrap_or_else(|| Arc::new(registry_for(&state.config)));
    let engine = Arc::new(Engine::new(&state.config, registry.clone()));
    state.with_extension(registry).with_extension(engine)
}

/// Serves one request (Lambda, dispatcher and tests all call this).
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    respond(route(state, req).await)
}

async fn route(state: &AppState, req: Request) -> Result<Response<Body>, ApiError> {
    let (route, _) = route_request(&state.config, ROUTES, &req)?;
    let engine = state
        .extensions
        .get::<Arc<Engine>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("analyze engine not installed: call analyze::install at start-up"))?;
    let parsed = match route.path {
        "/cv/analyze" => request::parse_frames(&req).await,
        "/cv/analyze/video" => request::parse_video(&req).await,
        _ => request::parse_range(&req),
    };
    // The payload now lives in `parsed`; free the request's copy before analysing.
    drop(req);
    execute(state.clone(), engine, parsed).await
}

/// Creates the run, then runs its whole life in a task of its own: if the caller goes away (a
/// client disconnect drops the request future), the run still reaches a terminal state.
async fn execute(state: AppState, engine: Arc<Engine>, parsed: Parsed) -> Result<Response<Body>, ApiError> {
    let explicit = [&parsed.variants.header, &parsed.variants.form, &parsed.variants.query, &parsed.variants.payload]
        .iter()
        .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()));
    let flag = match (&parsed.user_id, explicit) {
        (Some(user), false) => match state.flags.load().await {
            Ok(config) => rollout_model_variant(&config, user),
            Err(e) => {
                // A broken flag store must not stop analyses: fall through to MODEL_VARIANT.
                tracing::warn!(error = %e, "feature flags unavailable; model variant rollout skipped");
                None
            }
        },
        _ => None,
    };
    let (choice, variant_error) = match resolve(&parsed.variants, flag, state.config.model_variant) {
        Ok(c) => (c, None),
        Err(refused) => (refused.fallback, Some(refused.error)),
    };
    let new = NewRun {
        kind: parsed.endpoint.kind(),
        source_type: parsed.endpoint.source_type(),
        model_variant: choice.variant,
        override_source: choice.source,
        run_name: parsed.run_name.clone(),
        params: parsed.params_record.clone(),
        inputs: parsed.inputs.clone(),
    };
    let run = state.runs.create(new).await?;
    let id = run.run_id;
    let task = tokio::spawn({
        let state = state.clone();
        async move { lifecycle(&state, &engine, id, parsed, choice, variant_error).await }
    });
    match task.await {
        Ok(result) => result,
        Err(join) => {
            let e = job::analyze_failed(format!("analysis task ended abnormally: {join}"));
            finish(&state, id, fail_transition(&e)).await;
            Err(e.with_run(id))
        }
    }
}

fn fail_transition(e: &ApiError) -> Transition {
    Transition::Fail { error_code: e.code.as_str().to_string(), message: e.message.clone(), timing: None }
}

/// Applies a terminal transition, retrying storage failures: a run must not stay in processing
/// because one write failed. A run that is already terminal is left as it is.
async fn finish(state: &AppState, id: RunId, t: Transition) -> bool {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=5 {
        match state.runs.transition(id, t.clone()).await {
            Ok(_) => return true,
            Err(RunStoreError::InvalidTransition(e)) => {
                tracing::warn!(run_id = %id, error = %e, "run already finished");
                return false;
            }
            Err(e) => {
                tracing::error!(run_id = %id, attempt, error = %e, "could not finish run; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    false
}

async fn lifecycle(
    state: &AppState,
    engine: &Engine,
    id: RunId,
    parsed: Parsed,
    choice: VariantChoice,
    variant_error: Option<ApiError>,
) -> Result<Response<Body>, ApiError> {
    let endpoint = parsed.endpoint;
    let extra = parsed.params_record.clone();
    match attempt(state, engine, id, parsed, choice, variant_error).await {
        Ok(outcome) => {
            if let Some(png) = &outcome.preview_png {
                // Before the terminal transition, so a succeeded run always has its preview.
                if let Err(e) = state.runs.put_artifact(id, PREVIEW_ARTIFACT, png).await {
                    tracing::warn!(run_id = %id, error = %e, "preview not stored");
                }
            }
            let summary = summary(&outcome);
            let t = Transition::Succeed {
                timing: Some(outcome.timing.clone()),
                result: summary.clone(),
                frame_count: Some(outcome.frame_count as u64),
            };
            if !finish(state, id, t).await {
                let e = ApiError::new(ErrorCode::AnalyzeFailed, "the result could not be stored; retry")
                    .with_cause("terminal transition failed after retries");
                return Err(e.with_run(id));
            }
            let body = response_body(endpoint, id, choice, &outcome, summary, &extra);
            let mut resp = json_response(StatusCode::OK, &body);
            set_run_id_header(&mut resp, id);
            Ok(resp)
        }
        Err(e) => {
            finish(state, id, fail_transition(&e)).await;
            Err(e.with_run(id))
        }
    }
}

/// Everything between a queued run and its outcome. Any error returned here ends the run failed.
async fn attempt(
    state: &AppState,
    engine: &Engine,
    id: RunId,
    parsed: Parsed,
    choice: VariantChoice,
    variant_error: Option<ApiError>,
) -> Result<Outcome, ApiError> {
    if let Some(e) = variant_error {
        return Err(e);
    }
    let params = parsed.params?;
    let payload = parsed.payload?;
    let (bytes, kind) = match payload {
        Payload::Zip(b) => (b, Kind::Zip),
        Payload::Image(b) => (b, Kind::Image),
        Payload::Video(b) => (b, Kind::Video),
        Payload::VideoUpload(key) => {
            let key = common::uploads::parse_upload_key(&key).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidUploadKey,
                    format!("{key:?} is not an upload key from POST /runs/v1/uploads"),
                )
            })?;
            let bytes = match state.uploads.get(&key).await {
                Ok(b) => b,
                Err(common::storage::StorageError::NotFound(_)) => {
                    return Err(ApiError::new(ErrorCode::UploadNotFound, format!("nothing was uploaded under {key}")))
                }
                Err(e) => return Err(ApiError::internal(e)),
            };
            (bytes, Kind::Video)
        }
    };
    match kind {
        Kind::Zip if bytes.len() as u64 > engine.zip_limits.max_zip_bytes as u64 => {
            return Err(ApiError::new(
                ErrorCode::ZipTooLarge,
                format!("zip is {} bytes, over the {}-byte limit", bytes.len(), engine.zip_limits.max_zip_bytes),
            ))
        }
        Kind::Video if bytes.len() as u64 > engine.max_video_bytes => {
            return Err(ApiError::new(
                ErrorCode::VideoTooLarge,
                format!("video is {} bytes, over the {}-byte limit", bytes.len(), engine.max_video_bytes),
            ))
        }
        _ => {}
    }
    let slot = engine.gate.acquire().await.map_err(|e| ApiError::new(ErrorCode::Overloaded, e.to_string()))?;
    state.runs.transition(id, Transition::Start).await?;
    let registry = engine.registry.clone();
    let (limits, max_frames) = (engine.zip_limits, engine.max_video_frames);
    let variant = choice.variant;
    let outcome = tokio::task::spawn_blocking(move || {
        let detector = registry.get(variant.as_str()).map_err(|e| unavailable(variant, e))?;
        let source = match kind {
            Kind::Zip => Source::Zip(&bytes),
            Kind::Image => Source::Image(&bytes),
            Kind::Video => Source::Video { bytes: &bytes, max_frames },
        };
        job::run(&detector, source, &params, &limits)
    })
    .await
    .map_err(|join| job::analyze_failed(format!("analysis thread ended abnormally: {join}")))??;
    drop(slot);
    Ok(outcome)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Zip,
    Image,
    Video,
}

fn unavailable(variant: ModelVariant, e: models::ModelError) -> ApiError {
    ApiError::new(
        ErrorCode::ModelUnavailable,
        format!("model variant {variant} is unavailable on this server; try another variant or retry later"),
    )
    .with_cause(e)
}

/// The metrics summary stored on the run.
fn summary(o: &Outcome) -> Value {
    let mut v = json!({
        "frame_count": o.frame_count,
        "fps": o.fps,
        "width": o.width,
        "height": o.height,
        "metrics": o.metrics,
        "quality": o.quality,
        "preview_frame": o.preview_frame,
        "detections_per_class": per_class(o),
        "stopped_after_flight": o.stopped_after_flight,
        "native_crops": o.native_crops,
    });
    if let Some(video) = &o.video {
        v["video"] = json!(video);
    }
    if o.metrics.is_none() {
        // A single image: its detections are the result.
        v["detections"] = json!(o.detections.first());
    }
    v
}

fn per_class(o: &Outcome) -> Value {
    let count = |c: models::Class| o.detections.iter().flatten().filter(|d| d.class == c).count();
    json!({"golf_ball": count(models::Class::GolfBall), "club_head": count(models::Class::ClubHead)})
}

fn response_body(
    endpoint: Endpoint,
    id: RunId,
    choice: VariantChoice,
    o: &Outcome,
    summary: Value,
    params: &Value,
) -> Value {
    if endpoint == Endpoint::Range {
        let m = o.metrics.as_ref();
        let q = &o.quality;
        return json!({
            "run_id": id,
            "ball_speed_mps": m.and_then(|m| m.ball_speed_mps),
            "ball_speed_mph": m.and_then(|m| m.ball_speed_mph),
            "club_speed_mps": m.and_then(|m| m.club_speed_mps),
            "club_speed_mph": m.and_then(|m| m.club_speed_mph),
            "carry_m": m.and_then(|m| m.carry_m),
            "launch_deg": m.and_then(|m| m.launch_deg),
            "side_deg": m.and_then(|m| m.side_angle_deg),
            "impact_frame": m.and_then(|m| m.impact_frame),
            "confidence": m.map(|m| m.confidence),
            "quality": {
                "score": q.score,
                "level": q.level,
                // The range app knows these three reasons; blur is reported on the run record.
                "reasons": q.reasons.iter().filter(|r| **r != "blur_high").collect::<Vec<_>>(),
            },
            "mission_id": params.get("mission_id"),
            "model_variant": choice.variant,
            "override_source": choice.source,
            "frame_count": o.frame_count,
        });
    }
    let mut body = json!({
        "run_id": id,
        "status": "succeeded",
        "kind": endpoint.kind(),
        "source_type": endpoint.source_type(),
        "model_variant": choice.variant,
        "override_source": choice.source,
        "inference_timing": o.timing,
        "timings": Timings::from(&o.timing),
        "preview_url": o.preview_png.as_ref().map(|_| format!("/runs/v1/{id}/preview.png")),
    });
    if let (Value::Object(b), Value::Object(s)) = (&mut body, summary) {
        b.extend(s);
    }
    if let Value::Object(b) = &mut body {
        if o.metrics.is_some() && o.include_detections {
            b.insert("detections".into(), json!(o.detections));
        }
    }
    body
}
