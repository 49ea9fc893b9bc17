//! Files in the original server's formats, written from its documented fields (its `RunRecord`
//! dataclass and `to_dict()`: epoch-float `*_ts`, ISO `*_at` with `+00:00`, UUIDv4 ids, its
//! `input_ref` shapes per endpoint) and never through this server's own writer, so an import test
//! reads what the original really left on a volume.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

/// What varies between the original's run records.
#[derive(Debug, Clone)]
pub struct OriginalRun {
    /// `str(uuid.uuid4())`.
    pub run_id: String,
    /// `time.time()` at creation.
    pub created_ts: f64,
    /// `queued|processing|succeeded|failed`.
    pub status: &'static str,
    /// `analyze|analyze_video|range|legacy|mobile`.
    pub source_type: &'static str,
    /// `yolov10`, `yolov11` or None.
    pub variant: Option<&'static str>,
}

impl OriginalRun {
    /// A succeeded video run created `created_ts` seconds after the epoch, with a fresh UUIDv4.
    pub fn video(created_ts: f64) -> Self {
        OriginalRun {
            run_id: uuid::Uuid::new_v4().to_string(),
            created_ts,
            status: "succeeded",
            source_type: "analyze_video",
            variant: Some("yolov10"),
        }
    }

    /// The record as `json.dumps(record.to_dict(), indent=2)` wrote it.
    pub fn record(&self) -> Value {
        let finished = matches!(self.status, "succeeded" | "failed");
        let started_ts = (self.status != "queued").then_some(self.created_ts + 0.05);
        let finished_ts = finished.then_some(self.created_ts + 1.25);
        let updated_ts = finished_ts.or(started_ts).unwrap_or(self.created_ts);
        let input_ref = match self.source_type {
            "analyze" => json!({"filename": "frames.zip", "content_length": 52_311, "type": "zip"}),
            "analyze_video" => json!({"filename": "swing.mov", "content_length_header": "48213", "type": "video"}),
            "range" => json!({"frames_zip_b64_len": 0, "frames_hint": 8, "type": "range"}),
            _ => Value::Null,
        };
        json!({
            "run_id": self.run_id,
            "created_ts": self.created_ts,
            "updated_ts": updated_ts,
            "status": self.status,
            "source": "real",
            "source_type": self.source_type,
            "mode": "detector",
            "started_ts": started_ts,
            "finished_ts": finished_ts,
            "params": {"fps": 120.0, "ref_len_m": 1.0},
            "metrics": if self.status == "succeeded" { json!({"ballSpeedMps": 61.2, "carryM": 182.0}) } else { json!({}) },
            "events": [],
            "model_variant_requested": self.variant,
            "model_variant_selected": self.variant,
            "override_source": if self.variant.is_some() { "env_default" } else { "none" },
            "inference_timing": if finished { json!({"total_ms": 812.5, "avg_ms_per_frame": 6.35, "frame_count": 128}) } else { Value::Null },
            "error_code": if self.status == "failed" { json!("VIDEO_DECODE_ERROR") } else { Value::Null },
            "error_message": if self.status == "failed" { json!("could not decode video") } else { Value::Null },
            "input_ref": input_ref,
            "impact_preview": Value::Null,
            "metadata": {"variant_fallback": false},
            "created_at": iso(self.created_ts),
            "updated_at": iso(updated_ts),
            "started_at": started_ts.map(iso),
            "finished_at": finished_ts.map(iso),
        })
    }

    /// The creation time at the millisecond this store keeps.
    pub fn created_at(&self) -> DateTime<Utc> {
        let micros = (self.created_ts * 1e6).round() as i64;
        Utc.timestamp_millis_opt(micros / 1000).single().expect("valid time")
    }

    /// Writes `<dir>/<run_id>/run.json` as the original's FileRunStore did.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join(&self.run_id).join("run.json");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("run dir");
        std::fs::write(&path, serde_json::to_string_pretty(&self.record()).expect("json")).expect("write record");
        path
    }
}

/// Python's `datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()`.
fn iso(ts: f64) -> String {
    let micros = (ts * 1e6).round() as i64;
    let t = Utc.timestamp_micros(micros).single().expect("valid time");
    if micros % 1_000_000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}
