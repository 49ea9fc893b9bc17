//! The run domain: what a run is, its ids, enums and lifecycle rules. Knows nothing of HTTP or storage.
//!
//! A run is one analysis call. It moves `queued -> processing -> succeeded|failed`, or straight from
//! `queued` to a terminal state; terminal runs never change. Run ids minted here are UUIDv7, so the id
//! carries the creation time (millisecond precision) and `created_at` is derived from it: ordering by
//! id is ordering by `(created_ts, run_id)`. Runs imported from the original server
//! ([`crate::legacy_runs`]) keep their UUIDv4 ids and their own `created_at`; the run store orders
//! them by that time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

mod id;
mod lifecycle;

pub use id::{InvalidRunId, RunId};
pub use lifecycle::{InvalidTransition, Transition};
/// The detector weights a run used: one type from `model_catalog`, shared with the detectors.
pub use model_catalog::ModelVariant;

/// Declares a string enum with its wire names, `as_str`, `ALL`, `FromStr` and serde in one place, so
/// the names used in JSON, query filters and storage keys can never drift apart.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// The wire names joined with `|`, for error messages and docs.
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join("|")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    other => Err(format!("'{}' is not one of {}", other, Self::allowed())),
                }
            }
        }
    };
}

wire_enum!(
    /// Where a run is in its lifecycle.
    RunStatus {
        /// Created, not yet started.
        Queued => "queued",
        /// Inference under way.
        Processing => "processing",
        /// Finished with a result (terminal).
        Succeeded => "succeeded",
        /// Finished with an error (terminal).
        Failed => "failed",
    }
);

impl RunStatus {
    /// Succeeded and failed runs never change again.
    pub fn is_terminal(&self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed)
    }

    /// The lifecycle table: `queued -> processing -> succeeded|failed`, or `queued -> succeeded|failed`.
    pub fn can_transition_to(&self, next: RunStatus) -> bool {
        use RunStatus::*;
        matches!(
            (self, next),
            (Queued, Processing)
                | (Queued, Succeeded)
                | (Queued, Failed)
                | (Processing, Succeeded)
                | (Processing, Failed)
        )
    }
}

wire_enum!(
    /// What was analysed.
    RunKind {
        /// Frames or a single image (`/cv/analyze`).
        Image => "image",
        /// A video (`/cv/analyze/video`).
        Video => "video",
        /// A range-practice payload (`/range/practice/analyze`).
        Range => "range",
    }
);

wire_enum!(
    /// Which endpoint created the run.
    SourceType {
        /// POST /cv/analyze
        Analyze => "analyze",
        /// POST /cv/analyze/video
        AnalyzeVideo => "analyze_video",
        /// POST /range/practice/analyze
        Range => "range",
        /// Written by the original server for runs without an endpoint (imported only).
        Legacy => "legacy",
        /// Written by the original server's mobile-runs API (imported only).
        Mobile => "mobile",
    }
);

wire_enum!(
    /// Which source decided the model variant.
    OverrideSource {
        /// The `x-model-variant` header.
        Header => "header",
        /// A multipart form field.
        Form => "form",
        /// A query parameter.
        Query => "query",
        /// A JSON payload field.
        Payload => "payload",
        /// The `modelVariantYolov11` feature-flag rollout.
        Flag => "flag",
        /// `MODEL_VARIANT` or the built-in default.
        EnvDefault => "env_default",
        /// Nobody: the original server's value for runs that chose no weights (imported only).
        Unspecified => "none",
    }
);

/// Inference timing as the runbook names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceTiming {
    /// Wall time of the whole analysis, in milliseconds.
    pub total_ms: f64,
    /// Mean inference time per frame, in milliseconds.
    pub avg_ms_per_frame: f64,
    /// Frames run through the detector.
    pub frame_count: u64,
}

/// The same figures under the second set of names the runbook shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Wall time of the whole analysis, in milliseconds.
    pub total_ms: f64,
    /// Mean inference time per frame, in milliseconds.
    pub avg_inference_ms: f64,
    /// Frames run through the detector.
    pub frame_count: u64,
}

impl From<&InferenceTiming> for Timings {
    fn from(t: &InferenceTiming) -> Self {
        Timings { total_ms: t.total_ms, avg_inference_ms: t.avg_ms_per_frame, frame_count: t.frame_count }
    }
}

/// What the run was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInputs {
    /// `zip`, `image`, `video` or `range`.
    #[serde(rename = "type")]
    pub input_type: String,
    /// The uploaded file's name, when it had one.
    pub filename: Option<String>,
    /// Request body size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
    /// Frames found in the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_count: Option<u64>,
}

/// The fields of a run record as the staging runbook shows them (tests check the wire form).
pub const RUNBOOK_FIELDS: &[&str] = &[
    "run_id",
    "status",
    "started_at",
    "finished_at",
    "source_type",
    "model_variant_selected",
    "override_source",
    "inference_timing",
    "timings",
    "inputs",
    "error_code",
    "error_message",
    "created_at",
    "updated_at",
];

/// A persisted run record. Field names are the runbook's, exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The id: UUIDv7, or the original server's UUIDv4 for an imported run.
    pub run_id: RunId,
    /// Lifecycle state.
    pub status: RunStatus,
    /// What was analysed; null only for imported runs the original server gave no kind.
    pub kind: Option<RunKind>,
    /// Which endpoint created it.
    pub source_type: SourceType,
    /// The detector weights used; null only for imported runs that recorded none.
    pub model_variant_selected: Option<ModelVariant>,
    /// Who chose them.
    pub override_source: OverrideSource,
    /// Optional operator-supplied label.
    #[serde(default)]
    pub run_name: Option<String>,
    /// Request parameters (fps, ref lengths, ...), as given.
    #[serde(default)]
    pub params: serde_json::Value,
    /// What was uploaded.
    pub inputs: RunInputs,
    /// Inference timing, once finished.
    pub inference_timing: Option<InferenceTiming>,
    /// The same timing under the runbook's second names.
    pub timings: Option<Timings>,
    /// The metrics summary of a succeeded run.
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    /// Stable error code of a failed run.
    pub error_code: Option<String>,
    /// Human message of a failed run.
    pub error_message: Option<String>,
    /// Fields of an imported run that have no place above, as the original server wrote them
    /// (`source`, `mode`, `metrics`, `events`, `input_ref`, `metadata`, ...); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<serde_json::Value>,
    /// Creation time (for runs created here, the time carried by `run_id`).
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// First entry into `processing`.
    #[serde(with = "rfc3339_opt")]
    pub started_at: Option<DateTime<Utc>>,
    /// Entry into a terminal state.
    #[serde(with = "rfc3339_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    /// While a queue worker holds the run in `processing`: until when. Another worker may claim
    /// it only after this passes (its holder is then presumed dead).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// What a caller supplies to create a run.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// What is analysed.
    pub kind: RunKind,
    /// Which endpoint creates it.
    pub source_type: SourceType,
    /// The detector weights chosen.
    pub model_variant: ModelVariant,
    /// Who chose them.
    pub override_source: OverrideSource,
    /// Optional label.
    pub run_name: Option<String>,
    /// Request parameters.
    pub params: serde_json::Value,
    /// What was uploaded.
    pub inputs: RunInputs,
}

impl Run {
    /// A queued run with the given id; `created_at` and `updated_at` come from the id.
    pub fn queued(run_id: RunId, new: NewRun) -> Run {
        let created_at = run_id.created_at();
        Run {
            run_id,
            status: RunStatus::Queued,
            kind: Some(new.kind),
            source_type: new.source_type,
            model_variant_selected: Some(new.model_variant),
            override_source: new.override_source,
            run_name: new.run_name,
            params: new.params,
            inputs: new.inputs,
            inference_timing: None,
            timings: None,
            result: None,
            error_code: None,
            error_message: None,
            legacy: None,
            created_at,
            started_at: None,
            finished_at: None,
            lease_expires_at: None,
            updated_at: created_at,
        }
    }
}

/// The error code of a run the reaper ended ([`Transition::Abandon`]).
pub const RUN_ABANDONED: &str = "RUN_ABANDONED";

/// The name of an asynchronous run's stored request (its worker parses it again).
pub const REQUEST_ARTIFACT: &str = "request.json";
/// A run's preview (JPEG): the tracer still of a measured shot, else a frame with its detection
/// boxes. GET /runs/v1/{run_id}/preview.jpg serves it, and preview.png as a PNG.
pub const PREVIEW_ARTIFACT: &str = "preview.jpg";
/// The PNG preview runs stored before the tracer (served as it is).
pub const LEGACY_PREVIEW_ARTIFACT: &str = "preview.png";
/// A measured shot's tracer clip (H.264 MP4): GET /runs/v1/{run_id}/tracer.mp4.
pub const TRACER_ARTIFACT: &str = "tracer.mp4";
/// The current time at the millisecond precision timestamps are stored with, so a record read back
/// equals the record written.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    Utc.timestamp_millis_opt(t.timestamp_millis()).single().unwrap_or(t)
}

/// RFC 3339 UTC with millisecond precision and a `Z` suffix, the one timestamp format on the wire.
pub fn format_ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_ts(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_ts(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)))
            .transpose()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A queued video run (the lifecycle tests start from it too).
    pub(crate) fn sample() -> Run {
        Run::queued(
            RunId::new(),
            NewRun {
                kind: RunKind::Video,
                source_type: SourceType::AnalyzeVideo,
                model_variant: ModelVariant::Yolov10,
                override_source: OverrideSource::Header,
                run_name: None,
                params: serde_json::json!({}),
                inputs: RunInputs {
                    input_type: "video".into(),
                    filename: Some("sample.mp4".into()),
                    content_length: None,
                    frame_count: None,
                },
            },
        )
    }

    #[test]
    fn record_serialises_with_the_runbook_field_names_and_z_timestamps() {
        let run = sample();
        let v = serde_json::to_value(&run).expect("serialise");
        for field in RUNBOOK_FIELDS.iter().chain(&["kind", "params"]) {
            assert!(v.get(field).is_some(), "missing {field}");
        }
        assert_eq!(v["inputs"]["type"], "video");
        assert!(v["created_at"].as_str().is_some_and(|s| s.ends_with('Z')));
        let back: Run = serde_json::from_value(v).expect("deserialise");
        assert_eq!(back, run);
    }
}
