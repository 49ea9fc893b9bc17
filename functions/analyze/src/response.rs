//! The shape of an analysis on the wire: the summary stored on a succeeded run, and each
//! endpoint's response body (the frames/video endpoints return the summary with the run's
//! facts; the range app gets its flat shape). Both carry `shot`, the verdict on whether the clip
//! held a measurable shot.

use common::runs::{RunId, Timings};
use serde::Serialize;
use serde_json::{json, Value};

use crate::flow::Analysis;
use crate::run::Outcome;
use crate::variant::VariantChoice;
use crate::video::VideoInfo;
use crate::Endpoint;

/// What a video analysis read from the container and how much of it it decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoSummary {
    /// Frame rate used: the capture rate (mean over the sample timestamps).
    pub fps: f64,
    /// Where the frame times came from: `sample_timestamps` (each frame's own, so jitter is
    /// measured) or `fps_fallback` (the track has no usable timing; the request's `fps`).
    pub fps_source: &'static str,
    /// The rate a player shows when an edit list plays the clip slowed (iPhone slow motion);
    /// null when it plays as captured. The analysis always runs at the capture rate.
    pub playback_fps: Option<f64>,
    /// Frame-to-frame intervals over the clip, ms: `{min, median, max}` (null with `fps_fallback`).
    pub frame_interval_ms: Option<Value>,
    /// Frames in the video track.
    pub frames_total: u64,
    /// Frames decoded: the clip up to the furthest frame read (the rest, after the flight, never
    /// were).
    pub frames_decoded: u64,
    /// Frames run through the detector (each once, crops aside).
    pub frames_analyzed: u64,
    /// Frames never decoded: after the ball flight was over.
    pub frames_skipped: u64,
    /// The codec, e.g. `hevc (hvc1)`.
    pub codec: String,
    /// Width as analysed, upright (after the display matrix).
    pub width: u32,
    /// Height as analysed, upright.
    pub height: u32,
    /// The clockwise turn the display matrix applied: 0, 90, 180 or 270.
    pub rotation_deg: u32,
    /// Whether the display matrix mirrored the picture (applied before the turn).
    pub mirrored: bool,
}

impl VideoSummary {
    /// The summary of a video `info` analysed at `fps` as `analysis`.
    pub fn new(info: &VideoInfo, fps: f64, fps_source: &'static str, analysis: &Analysis) -> VideoSummary {
        // Frames are decoded in order up to the furthest one read: the dense window's end when a
        // launch was found (the watch stopped before it), else as far as the watch read.
        let total = usize::try_from(info.frame_count).unwrap_or(usize::MAX);
        let decoded =
            analysis.scan.dense_window.map_or(analysis.scan.frames_read.min(total), |[_, last]| last + 1) as u64;
        let mut intervals: Vec<f64> = info.frame_times_s.windows(2).map(|w| (w[1] - w[0]) * 1000.0).collect();
        intervals.sort_by(f64::total_cmp);
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        let frame_interval_ms = match (fps_source, intervals.first(), intervals.last()) {
            ("sample_timestamps", Some(&min), Some(&max)) => {
                Some(json!({"min": round(min), "median": round(intervals[intervals.len() / 2]), "max": round(max)}))
            }
            _ => None,
        };
        VideoSummary {
            fps,
            fps_source,
            playback_fps: info.playback_fps,
            frame_interval_ms,
            frames_total: info.frame_count,
            frames_decoded: decoded.min(info.frame_count),
            frames_analyzed: analysis.scan.detector_calls.saturating_sub(analysis.native_crops) as u64,
            frames_skipped: info.frame_count.saturating_sub(decoded),
            codec: info.codec.clone(),
            width: if analysis.width > 0 { analysis.width } else { info.width },
            height: if analysis.height > 0 { analysis.height } else { info.height },
            rotation_deg: info.orientation.rotation_deg(),
            mirrored: info.orientation.mirrored(),
        }
    }
}

/// The `shot` object: `{detected, reason}` (null for a single image, which has no motion).
fn shot(a: &Analysis) -> Value {
    a.metrics.as_ref().map_or(Value::Null, |m| json!(m.shot))
}

/// The metrics summary stored on the run.
pub fn summary(o: &Outcome) -> Value {
    let a = &o.analysis;
    let mut v = json!({
        "frame_count": a.scan.frames_total,
        "fps": o.fps,
        "width": a.width,
        "height": a.height,
        "shot": shot(a),
        "metrics": a.metrics,
        "quality": a.quality,
        "preview_frame": a.preview_frame,
        "detections_per_class": per_class(a),
        "stopped_after_flight": a.stopped_after_flight,
        "native_crops": a.native_crops,
        "motion_points": a.motion_points,
        "scan": a.scan,
        "tracer": a.tracer.as_ref().map(|t| json!({
            "still_frame": t.still_frame,
            "frames": t.frames,
            "clip": t.clip.is_some(),
            "units": t.units.as_str(),
            "ms": t.ms,
        })),
    });
    if let Some(video) = &o.video {
        v["video"] = json!(video);
    }
    if a.metrics.is_none() {
        // A single image: its detections are the result.
        v["detections"] = json!(a.detections.first());
    }
    v
}

fn per_class(a: &Analysis) -> Value {
    let count = |c: models::Class| a.detections.iter().flatten().filter(|d| d.class == c).count();
    json!({"golf_ball": count(models::Class::GolfBall), "club_head": count(models::Class::ClubHead)})
}

/// The response body of `endpoint` for run `id`.
pub fn body(
    endpoint: Endpoint,
    id: RunId,
    choice: VariantChoice,
    o: &Outcome,
    summary: Value,
    params: &Value,
) -> Value {
    let a = &o.analysis;
    if endpoint == Endpoint::Range {
        let m = a.metrics.as_ref();
        let q = &a.quality;
        return json!({
            "run_id": id,
            "shot": shot(a),
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
            "frame_count": a.scan.frames_total,
        });
    }
    let mut body = json!({
        "run_id": id,
        "status": "succeeded",
        "kind": endpoint.kind(),
        "source_type": endpoint.source_type(),
        "model_variant": choice.variant,
        "override_source": choice.source,
        "inference_timing": a.timing,
        "timings": Timings::from(&a.timing),
        "preview_url": a.preview_jpeg.as_ref().map(|_| format!("/runs/v1/{id}/preview.jpg")),
        "tracer_url": a.tracer.as_ref().and_then(|t| t.clip.as_ref()).map(|_| format!("/runs/v1/{id}/tracer.mp4")),
    });
    if let (Value::Object(b), Value::Object(s)) = (&mut body, summary) {
        b.extend(s);
    }
    if let Value::Object(b) = &mut body {
        if a.metrics.is_some() && o.include_detections {
            // Each entry is one frame's detections; `detection_frames` names the frames.
            b.insert("detections".into(), json!(a.detections));
            b.insert("detection_frames".into(), json!(a.frames));
        }
    }
    body
}
