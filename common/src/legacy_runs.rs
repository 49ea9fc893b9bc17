//! Runs written by the original server: its record format (epoch-float times, UUIDv4 ids, its own
//! field names), its layout (`<RUN_STORE_DIR>/<run_id>/run.json`), and their import into this run
//! store, which `golfiq-admin runs import` and the dispatcher's `RUN_STORE_IMPORT_LEGACY=1` share.
//!
//! An import never writes to or deletes the original files, keeps each run's id, and is idempotent:
//! each imported id is noted in a ledger (`import-ledger/<id>`), and an id found there, or already
//! stored, is left as it is. The ledger outlives the run, so a run pruned after its import is not
//! brought back by the next import of the same, untouched, original files. A record that cannot be converted is skipped
//! with its reason, never guessed at: a missing creation time is not replaced by "now", an unknown
//! status is not mapped to another one.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::run_store::{RunStore, RunStoreError};
use crate::runs::{
    InferenceTiming, ModelVariant, OverrideSource, Run, RunId, RunInputs, RunKind, RunStatus, SourceType, Timings,
};
use crate::storage::{Key, StorageError};

/// The original record's fields that have no place in [`Run`]; kept under `legacy` when present.
const KEPT_FIELDS: &[&str] =
    &["source", "mode", "events", "model_variant_requested", "input_ref", "impact_preview", "metadata"];

/// Why one record was not converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConvertError {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn bad(field: &'static str, reason: impl Into<String>) -> ConvertError {
    ConvertError { field, reason: reason.into() }
}

/// An epoch-seconds float (or integer) as a millisecond-precision time.
fn epoch(field: &'static str, v: &Value) -> Result<Option<DateTime<Utc>>, ConvertError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            let secs = n.as_f64().filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| bad(field, "not a time"))?;
            // To the microsecond the original's ISO copy shows (so 0.123 read as 0.12299999 stays
            // .123), then down to the millisecond this store keeps.
            let ms = (secs * 1_000_000.0).round() as i64 / 1000;
            Utc.timestamp_millis_opt(ms).single().map(Some).ok_or_else(|| bad(field, "out of range"))
        }
        other => Err(bad(field, format!("expected epoch seconds, got {other}"))),
    }
}

/// The original's ISO `created_at`-style string, used only when the epoch field is absent.
fn iso(v: &Value) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(v.as_str()?).ok()?.with_timezone(&Utc);
    Utc.timestamp_millis_opt(t.timestamp_millis()).single()
}

/// A time from `<name>_ts` (epoch float), else from `<name>_at` (the ISO copy `to_dict` wrote).
fn time(record: &Map<String, Value>, ts: &'static str, at: &str) -> Result<Option<DateTime<Utc>>, ConvertError> {
    match epoch(ts, record.get(ts).unwrap_or(&Value::Null))? {
        Some(t) => Ok(Some(t)),
        None => Ok(record.get(at).and_then(iso)),
    }
}

fn text(record: &Map<String, Value>, field: &'static str) -> Result<Option<String>, ConvertError> {
    match record.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(field, format!("expected a string, got {other}"))),
    }
}

/// The run kind exactly as the original's `RunRecord.kind` property derived it.
fn kind_of(input_ref: Option<&Map<String, Value>>, source_type: SourceType) -> Option<RunKind> {
    match input_ref.and_then(|r| r.get("type")).and_then(Value::as_str) {
        Some("zip") => return Some(RunKind::Image),
        Some("video") => return Some(RunKind::Video),
        Some("range") => return Some(RunKind::Range),
        _ => {}
    }
    match source_type {
        SourceType::AnalyzeVideo => Some(RunKind::Video),
        SourceType::Range => Some(RunKind::Range),
        SourceType::Analyze => Some(RunKind::Image),
        SourceType::Legacy | SourceType::Mobile => None,
    }
}

/// The original's timing dict, under either of its spellings, when all three figures are there.
fn timing_of(v: Option<&Value>) -> Option<InferenceTiming> {
    let t = v?.as_object()?;
    let num = |a: &str, b: &str| t.get(a).or_else(|| t.get(b)).and_then(Value::as_f64);
    Some(InferenceTiming {
        total_ms: num("total_ms", "totalMs")?,
        avg_ms_per_frame: num("avg_ms_per_frame", "avgInferenceMs")?,
        frame_count: t.get("frame_count").or_else(|| t.get("frames")).and_then(Value::as_u64)?,
    })
}

/// Converts one record the original server wrote (its `RunRecord.to_dict()`) into a [`Run`].
pub fn convert(record: &Value) -> Result<Run, ConvertError> {
    let record = record.as_object().ok_or_else(|| bad("record", "not a JSON object"))?;
    let raw_id = text(record, "run_id")?.ok_or_else(|| bad("run_id", "missing"))?;
    let run_id = RunId::parse(&raw_id.to_ascii_lowercase())
        .map_err(|_| bad("run_id", format!("{raw_id:?} is not a UUID; this store keys runs by UUID")))?;
    let created_at = time(record, "created_ts", "created_at")?.ok_or_else(|| bad("created_ts", "missing"))?;
    if run_id.is_v7() && u64::try_from(created_at.timestamp_millis()).ok() != Some(run_id.created_ts_ms()) {
        return Err(bad("created_ts", "differs from the time carried by the UUIDv7 run_id"));
    }
    let updated_at = time(record, "updated_ts", "updated_at")?.unwrap_or(created_at);
    let started_at = time(record, "started_ts", "started_at")?;
    let finished_at = time(record, "finished_ts", "finished_at")?;
    // The original's own default for a record without a status.
    let status: RunStatus =
        text(record, "status")?.as_deref().unwrap_or("succeeded").parse().map_err(|e| bad("status", e))?;
    if status.is_terminal() && finished_at.is_none() {
        return Err(bad("finished_ts", format!("missing on a {status} run")));
    }
    let source_type: SourceType =
        text(record, "source_type")?.as_deref().unwrap_or("legacy").parse().map_err(|e| bad("source_type", e))?;
    let input_ref = record.get("input_ref").and_then(Value::as_object);

    // Values that exist but do not fit this store's enums are kept verbatim under `legacy`.
    let mut legacy: Map<String, Value> = KEPT_FIELDS
        .iter()
        .filter_map(|f| record.get(*f).filter(|v| !is_empty(v)).map(|v| (f.to_string(), v.clone())))
        .collect();
    let variant_raw = text(record, "model_variant_selected")?;
    let model_variant_selected = variant_raw.as_deref().and_then(|v| ModelVariant::parse_loose(v).ok());
    if let (Some(raw), None) = (&variant_raw, model_variant_selected) {
        legacy.insert("model_variant_selected".into(), Value::String(raw.clone()));
    }
    let override_raw = text(record, "override_source")?;
    let override_source = override_raw.as_deref().and_then(|s| s.parse().ok()).unwrap_or(OverrideSource::Unspecified);
    if let Some(raw) = override_raw.filter(|r| r.parse::<OverrideSource>().is_err()) {
        legacy.insert("override_source".into(), Value::String(raw));
    }
    let inference_timing = timing_of(record.get("inference_timing"));
    if let (None, Some(raw)) = (&inference_timing, record.get("inference_timing").filter(|v| !is_empty(v))) {
        legacy.insert("inference_timing".into(), raw.clone());
    }

    let inputs = RunInputs {
        input_type: input_ref
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| "unknown".into()),
        filename: input_ref.and_then(|r| r.get("filename")).and_then(Value::as_str).map(str::to_string),
        content_length: input_ref.and_then(|r| {
            r.get("content_length")
                .and_then(Value::as_u64)
                .or_else(|| r.get("content_length_header").and_then(Value::as_str).and_then(|s| s.trim().parse().ok()))
        }),
        frame_count: None,
    };
    let result = record.get("metrics").filter(|m| !is_empty(m)).cloned();
    Ok(Run {
        run_id,
        status,
        kind: kind_of(input_ref, source_type),
        source_type,
        model_variant_selected,
        override_source,
        run_name: None,
        params: record.get("params").filter(|p| p.is_object()).cloned().unwrap_or_else(|| Value::Object(Map::new())),
        inputs,
        timings: inference_timing.as_ref().map(Timings::from),
        inference_timing,
        result,
        error_code: text(record, "error_code")?,
        error_message: text(record, "error_message")?,
        legacy: Some(Value::Object(legacy)),
        created_at,
        started_at,
        finished_at,
        lease_expires_at: None,
        updated_at,
    })
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Imported,
    /// This id was imported before (even if since pruned), or a run with it is stored; nothing
    /// changed.
    AlreadyImported,
}

/// A record that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file, or `stdin:<line>`.
    pub source: String,
    /// Why.
    pub reason: String,
}

/// The outcome of one import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Records seen.
    pub found: u64,
    /// Records stored by this import.
    pub imported: u64,
    /// Records whose id was imported before (or is stored already).
    pub already_imported: u64,
    /// Records left out, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Records imported at once: each costs a few small synced writes, which overlap well.
const IMPORT_CONCURRENCY: usize = 8;

/// One record's fate: stored (or found stored), or skipped with the reason.
type RecordResult = Result<Outcome, String>;

impl Report {
    /// Converts and stores one record read from `source`, counting the outcome. Only a storage
    /// failure is an error; a record that does not convert is counted as skipped.
    pub async fn add(&mut self, store: &RunStore, source: String, bytes: &[u8]) -> Result<(), RunStoreError> {
        let result = import_bytes(store, bytes).await?;
        self.count(source, result);
        Ok(())
    }

    fn count(&mut self, source: String, result: RecordResult) {
        self.found += 1;
        match result {
            Ok(Outcome::Imported) => self.imported += 1,
            Ok(Outcome::AlreadyImported) => self.already_imported += 1,
            Err(reason) => self.skipped.push(Skipped { source, reason }),
        }
    }
}

async fn import_bytes(store: &RunStore, bytes: &[u8]) -> Result<RecordResult, RunStoreError> {
    let converted = serde_json::from_slice::<Value>(bytes)
        .map_err(|e| format!("not JSON: {e}"))
        .and_then(|v| convert(&v).map_err(|e| e.to_string()));
    match converted {
        Err(reason) => Ok(Err(reason)),
        Ok(run) => Ok(Ok(import(store, &run).await?)),
    }
}

fn ledger_key(id: RunId) -> Result<Key, RunStoreError> {
    Key::parse(format!("import-ledger/{id}")).map_err(|e| RunStoreError::Storage(e.into()))
}

/// Stores one converted run unless its id was imported before or is taken.
pub async fn import(store: &RunStore, run: &Run) -> Result<Outcome, RunStoreError> {
    let ledger = ledger_key(run.run_id)?;
    match store.blobs().get(&ledger).await {
        Ok(_) => return Ok(Outcome::AlreadyImported),
        Err(StorageError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let outcome = match store.get(run.run_id).await {
        Ok(_) => Outcome::AlreadyImported,
        Err(RunStoreError::NotFound(_)) => match store.import(run).await {
            Ok(()) => Outcome::Imported,
            // A concurrent import of the same record won the race.
            Err(RunStoreError::Storage(StorageError::AlreadyExists(_))) => Outcome::AlreadyImported,
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    // After the record: a crash in between leaves a stored run without its ledger entry, which
    // the next import finds by id and notes then.
    store.blobs().put(&ledger, b"").await?;
    Ok(outcome)
}

/// The original's record files under `dir`: `<dir>/<name>/run.json` where `<name>` is what the
/// original accepted as a run id (`[0-9a-fA-F-]{8,36}`), sorted by path. This store's own
/// directories (`runs`, `index`, ...) never match.
pub fn find(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let looks_like_id = (8..=36).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        let record = entry.path().join("run.json");
        if looks_like_id && record.is_file() {
            found.push(record);
        }
    }
    found.sort();
    Ok(found)
}

/// Imports every record [`find`] finds under `dir`. Files are only read.
pub async fn import_dir(store: &RunStore, dir: &Path) -> Result<Report, ImportError> {
    let dir_owned = dir.to_path_buf();
    let files = tokio::task::spawn_blocking(move || find(&dir_owned))
        .await
        .map_err(|e| ImportError::Io(std::io::Error::other(e)))??;
    let results = futures::stream::iter(files)
        .map(|file| async move {
            let source = file.display().to_string();
            let result = match tokio::fs::read(&file).await {
                Ok(bytes) => import_bytes(store, &bytes).await?,
                Err(e) => Err(format!("unreadable: {e}")),
            };
            Ok::<_, RunStoreError>((source, result))
        })
        .buffered(IMPORT_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    let mut report = Report::default();
    for (source, result) in results {
        report.count(source, result);
    }
    Ok(report)
}

/// Why an import stopped before the end.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The directory (or stdin) could not be read.
    #[error("cannot read the original runs: {0}")]
    Io(#[from] std::io::Error),
    /// This store failed to write.
    #[error(transparent)]
    Store(#[from] RunStoreError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record in the shape of the original's `RunRecord.to_dict()` for a finished video analysis.
    fn original() -> Value {
        json!({
            "run_id": "3f2b8c1e-9a4d-4c61-8e0f-2a7b5d9c1e44",
            "created_ts": 1_733_000_000.123_456, "updated_ts": 1_733_000_002.5,
            "status": "succeeded", "source": "real", "source_type": "analyze_video", "mode": "detector",
            "started_ts": 1_733_000_000.2, "finished_ts": 1_733_000_002.5,
            "params": {"fps": 120.0}, "metrics": {"ball_speed_mps": 61.2}, "events": [12, 40],
            "model_variant_requested": "yolov11", "model_variant_selected": "yolov11",
            "override_source": "header",
            "inference_timing": {"total_ms": 812.0, "avg_ms_per_frame": 6.3, "frame_count": 128},
            "error_code": null, "error_message": null,
            "input_ref": {"filename": "swing.mp4", "content_length_header": "48213", "type": "video"},
            "impact_preview": null, "metadata": {"variant_fallback": false},
            "created_at": "2024-11-30T20:53:20.123456+00:00", "updated_at": "2024-11-30T20:53:22.500000+00:00",
            "started_at": "2024-11-30T20:53:20.200000+00:00", "finished_at": "2024-11-30T20:53:22.500000+00:00"
        })
    }

    #[test]
    fn converts_every_field_the_original_wrote() {
        let run = convert(&original()).expect("converts");
        assert_eq!(run.run_id.to_string(), "3f2b8c1e-9a4d-4c61-8e0f-2a7b5d9c1e44");
        assert_eq!(crate::runs::format_ts(&run.created_at), "2024-11-30T20:53:20.123Z");
        assert_eq!(
            (run.status, run.kind, run.source_type),
            (RunStatus::Succeeded, Some(RunKind::Video), SourceType::AnalyzeVideo)
        );
        assert_eq!(
            (run.model_variant_selected, run.override_source),
            (Some(ModelVariant::Yolov11), OverrideSource::Header)
        );
        assert_eq!(run.inference_timing.as_ref().map(|t| t.frame_count), Some(128));
        assert_eq!(run.timings.as_ref().map(|t| t.avg_inference_ms), Some(6.3));
        assert_eq!((run.inputs.input_type.as_str(), run.inputs.content_length), ("video", Some(48213)));
        assert_eq!(run.result, Some(json!({"ball_speed_mps": 61.2})));
        let legacy = run.legacy.expect("legacy fields kept");
        assert_eq!(legacy["events"], json!([12, 40]));
        assert_eq!(legacy["mode"], "detector");
        assert!(legacy.get("impact_preview").is_none(), "nulls are not copied");
    }

    #[test]
    fn derives_kind_as_the_original_did_and_keeps_what_does_not_fit() {
        let mut r = original();
        r["input_ref"] = json!({"type": "zip"});
        r["source_type"] = json!("mobile");
        r["model_variant_selected"] = json!("yolov8s");
        r["override_source"] = json!("none");
        r["inference_timing"] = json!({"totalMs": 10.0});
        let run = convert(&r).expect("converts");
        assert_eq!(run.kind, Some(RunKind::Image));
        assert_eq!((run.model_variant_selected, run.override_source), (None, OverrideSource::Unspecified));
        assert_eq!(run.inference_timing, None, "incomplete timing is not completed with zeros");
        let legacy = run.legacy.expect("legacy");
        assert_eq!(
            (legacy["model_variant_selected"].as_str(), legacy["inference_timing"]["totalMs"].as_f64()),
            (Some("yolov8s"), Some(10.0))
        );
        r.as_object_mut().expect("object").remove("input_ref");
        assert_eq!(convert(&r).expect("converts").kind, None, "mobile without input_ref has no kind");
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        let cases: [(&str, Value); 6] = [
            ("run_id", json!("deadbeef")),
            ("created_ts", Value::Null),
            ("created_ts", json!("yesterday")),
            ("status", json!("cancelled")),
            ("source_type", json!("webhook")),
            ("finished_ts", Value::Null),
        ];
        for (field, value) in cases {
            let mut r = original();
            r[field] = value.clone();
            if field == "created_ts" {
                r.as_object_mut().expect("object").remove("created_at");
            }
            if field == "finished_ts" {
                r.as_object_mut().expect("object").remove("finished_at");
            }
            let err = convert(&r).expect_err(&format!("{field} = {value} accepted"));
            assert_eq!(err.field, field, "{err}");
        }
    }
}
