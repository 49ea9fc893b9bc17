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
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// A validated run id: a UUID (any version is accepted on read; new ids are UUIDv7).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(Uuid);

/// Why a string is not a run id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("run_id must be a UUID in canonical hyphenated form")]
pub struct InvalidRunId;

impl RunId {
    /// A fresh UUIDv7 id stamped with the current time.
    pub fn new() -> Self {
        RunId(Uuid::now_v7())
    }

    /// A UUIDv7 id stamped with `at` (benchmarks and tests seed runs in the past with it).
    pub fn at(at: DateTime<Utc>) -> Self {
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, at.timestamp().max(0) as u64, at.timestamp_subsec_nanos());
        RunId(Uuid::new_v7(ts))
    }

    /// Parses the canonical hyphenated form only (36 chars): anything else, including `..`, slashes,
    /// braces or URNs, is rejected before it can reach a path or key.
    pub fn parse(s: &str) -> Result<Self, InvalidRunId> {
        if s.len() != 36 || !s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(InvalidRunId);
        }
        Uuid::try_parse(s).map(RunId).map_err(|_| InvalidRunId)
    }

    /// The underlying UUID.
    pub fn uuid(&self) -> Uuid {
        self.0
    }

    /// Whether the id is a UUIDv7, i.e. carries its creation time (every id this server mints;
    /// runs imported from the original server have UUIDv4 ids).
    pub fn is_v7(&self) -> bool {
        self.0.get_version_num() == 7
    }

    /// Milliseconds since the Unix epoch carried by a UUIDv7 id (0 for other versions).
    pub fn created_ts_ms(&self) -> u64 {
        match self.0.get_timestamp() {
            Some(ts) if self.0.get_version_num() == 7 => {
                let (secs, nanos) = ts.to_unix();
                secs * 1000 + u64::from(nanos) / 1_000_000
            }
            _ => 0,
        }
    }

    /// The creation time carried by the id.
    pub fn created_at(&self) -> DateTime<Utc> {
        let ms = i64::try_from(self.created_ts_ms()).unwrap_or(0);
        Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
    }

    /// A sort key whose ascending byte order is newest-first: the bitwise complement of the id as
    /// 32 lowercase hex digits. Used by both storage backends so S3's ascending ListObjectsV2 and a
    /// sorted directory walk both yield newest first, and a key is derived from the id alone.
    pub fn sort_key(&self) -> String {
        format!("{:032x}", !self.0.as_u128())
    }

    /// The inverse of [`RunId::sort_key`].
    pub fn from_sort_key(key: &str) -> Option<Self> {
        if key.len() != 32 {
            return None;
        }
        u128::from_str_radix(key, 16).ok().map(|v| RunId(Uuid::from_u128(!v)))
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({})", self.0.hyphenated())
    }
}

impl FromStr for RunId {
    type Err = InvalidRunId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunId::parse(s)
    }
}

impl Serialize for RunId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RunId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RunId::parse(&s).map_err(serde::de::Error::custom)
    }
}

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
    /// The detector weights a run used.
    ModelVariant {
        /// YOLOv10n, NMS-free head (the default).
        Yolov10 => "yolov10",
        /// YOLO11n with class-aware NMS.
        Yolov11 => "yolov11",
    }
);

impl ModelVariant {
    /// Parses a user-supplied variant: trimmed and lower-cased first.
    pub fn parse_loose(s: &str) -> Result<Self, String> {
        s.trim().to_ascii_lowercase().parse()
    }
}

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

/// A requested change of state, with what it carries.
#[derive(Debug, Clone)]
pub enum Transition {
    /// Enter `processing`.
    Start,
    /// A worker takes the run under a lease: `queued -> processing`, or `processing ->
    /// processing` once the previous holder's lease has passed; held until `lease_expires_at`.
    Claim {
        /// The new lease's end.
        lease_expires_at: DateTime<Utc>,
    },
    /// The holder extends its live lease (`processing -> processing`, only before it passes).
    Renew {
        /// The lease's new end.
        lease_expires_at: DateTime<Utc>,
    },
    /// The reaper ends a run nobody will finish: `processing` whose lease has passed, or `queued`
    /// since before `queued_before`; it enters `failed` with `RUN_ABANDONED`.
    Abandon {
        /// Queued runs created before this are abandoned.
        queued_before: DateTime<Utc>,
    },
    /// Enter `succeeded` with timing and the metrics summary.
    Succeed {
        /// Inference timing.
        timing: Option<InferenceTiming>,
        /// Metrics summary.
        result: serde_json::Value,
        /// Frames actually found, when only known after decoding.
        frame_count: Option<u64>,
    },
    /// Enter `failed` with the stable error contract.
    Fail {
        /// Stable error code.
        error_code: String,
        /// Client-facing message.
        message: String,
        /// Timing so far, if any.
        timing: Option<InferenceTiming>,
    },
}

impl Transition {
    /// The state this transition enters.
    pub fn target(&self) -> RunStatus {
        match self {
            Transition::Start | Transition::Claim { .. } | Transition::Renew { .. } => RunStatus::Processing,
            Transition::Succeed { .. } => RunStatus::Succeeded,
            Transition::Fail { .. } | Transition::Abandon { .. } => RunStatus::Failed,
        }
    }
}

/// An attempted transition the lifecycle forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("run cannot move from {from} to {to}")]
pub struct InvalidTransition {
    /// Current state.
    pub from: RunStatus,
    /// Requested state.
    pub to: RunStatus,
}

impl Run {
    /// Applies `t` at time `now`, returning the new record; the record itself is left unchanged
    /// when the lifecycle forbids the move.
    pub fn apply(&self, t: &Transition, now: DateTime<Utc>) -> Result<Run, InvalidTransition> {
        let to = t.target();
        let processing = self.status == RunStatus::Processing;
        let lease_passed = self.lease_expires_at.is_some_and(|lease| lease <= now);
        let allowed = match t {
            Transition::Claim { .. } => self.status == RunStatus::Queued || (processing && lease_passed),
            Transition::Renew { .. } => processing && self.lease_expires_at.is_some() && !lease_passed,
            Transition::Abandon { queued_before } => {
                (processing && lease_passed) || (self.status == RunStatus::Queued && self.created_at < *queued_before)
            }
            _ => self.status.can_transition_to(to),
        };
        if !allowed {
            return Err(InvalidTransition { from: self.status, to });
        }
        let mut next = self.clone();
        next.status = to;
        next.updated_at = now;
        if to.is_terminal() {
            next.lease_expires_at = None;
        }
        match t {
            Transition::Start => {
                next.started_at.get_or_insert(now);
            }
            Transition::Claim { lease_expires_at } => {
                next.started_at.get_or_insert(now);
                next.lease_expires_at = Some(*lease_expires_at);
            }
            Transition::Renew { lease_expires_at } => {
                next.lease_expires_at = Some(*lease_expires_at);
            }
            Transition::Abandon { .. } => {
                next.finished_at = Some(now);
                next.error_code = Some(RUN_ABANDONED.into());
                next.error_message = Some(match self.lease_expires_at {
                    Some(lease) if processing => format!(
                        "the process analysing this run stopped before it finished (its lease expired at {})",
                        format_ts(&lease)
                    ),
                    _ => "the run waited in the queue past its limit and nothing will start it".into(),
                });
            }
            Transition::Succeed { timing, result, frame_count } => {
                next.finished_at = Some(now);
                next.timings = timing.as_ref().map(Timings::from);
                next.inference_timing = timing.clone();
                next.result = Some(result.clone());
                if let Some(n) = frame_count {
                    next.inputs.frame_count = Some(*n);
                }
            }
            Transition::Fail { error_code, message, timing } => {
                next.finished_at = Some(now);
                next.error_code = Some(error_code.clone());
                next.error_message = Some(message.clone());
                if timing.is_some() {
                    next.timings = timing.as_ref().map(Timings::from);
                    next.inference_timing = timing.clone();
                }
            }
        }
        Ok(next)
    }
}

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
mod tests {
    use super::*;

    fn sample() -> Run {
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

    fn transition_to(s: RunStatus) -> Transition {
        match s {
            RunStatus::Processing => Transition::Start,
            RunStatus::Succeeded => {
                Transition::Succeed { timing: None, result: serde_json::json!({}), frame_count: None }
            }
            RunStatus::Failed => Transition::Fail { error_code: "X".into(), message: "x".into(), timing: None },
            RunStatus::Queued => unreachable!("nothing transitions into queued"),
        }
    }

    #[test]
    fn lifecycle_table_covers_every_ordered_pair() {
        use RunStatus::*;
        let allowed = [
            (Queued, Processing),
            (Queued, Succeeded),
            (Queued, Failed),
            (Processing, Succeeded),
            (Processing, Failed),
        ];
        for from in RunStatus::ALL {
            for to in RunStatus::ALL {
                assert_eq!(from.can_transition_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn apply_sets_lifecycle_timestamps_once_and_leaves_terminal_runs_alone() {
        let t0 = Utc::now();
        let run = sample();
        let processing = run.apply(&Transition::Start, t0).expect("queued -> processing");
        assert_eq!(processing.started_at, Some(t0));
        assert_eq!(processing.finished_at, None);
        let t1 = t0 + chrono::Duration::milliseconds(5);
        let done = processing.apply(&transition_to(RunStatus::Failed), t1).expect("processing -> failed");
        assert_eq!(done.started_at, Some(t0));
        assert_eq!(done.finished_at, Some(t1));
        assert_eq!(done.error_code.as_deref(), Some("X"));
        for to in [RunStatus::Processing, RunStatus::Succeeded, RunStatus::Failed] {
            let err = done.apply(&transition_to(to), t1).expect_err("terminal is final");
            assert_eq!(err, InvalidTransition { from: RunStatus::Failed, to });
        }
        // Short-circuit runs finish without ever starting.
        let direct = run.apply(&transition_to(RunStatus::Succeeded), t1).expect("queued -> succeeded");
        assert_eq!(direct.started_at, None);
        assert_eq!(direct.finished_at, Some(t1));
    }

    #[test]
    fn a_claim_takes_a_queued_run_or_one_whose_lease_has_passed() {
        let t0 = Utc::now();
        let lease = |secs| Transition::Claim { lease_expires_at: t0 + chrono::Duration::seconds(secs) };
        let held = sample().apply(&lease(60), t0).expect("queued -> processing");
        assert_eq!(
            (held.status, held.lease_expires_at),
            (RunStatus::Processing, Some(t0 + chrono::Duration::seconds(60)))
        );
        let busy = held.apply(&lease(120), t0 + chrono::Duration::seconds(59)).expect_err("the lease is live");
        assert_eq!(busy, InvalidTransition { from: RunStatus::Processing, to: RunStatus::Processing });
        let taken = held.apply(&lease(180), t0 + chrono::Duration::seconds(60)).expect("the lease has passed");
        assert_eq!((taken.started_at, taken.lease_expires_at), (Some(t0), Some(t0 + chrono::Duration::seconds(180))));
        let unleased = sample().apply(&Transition::Start, t0).expect("start");
        assert!(
            unleased.apply(&lease(60), t0 + chrono::Duration::days(1)).is_err(),
            "a request's own run is never taken"
        );
        let done = taken.apply(&transition_to(RunStatus::Succeeded), t0).expect("finish");
        assert_eq!(done.lease_expires_at, None);
        assert!(done.apply(&lease(60), t0 + chrono::Duration::days(1)).is_err());
    }

    #[test]
    fn renewals_keep_a_lease_alive_and_only_an_abandoned_one_is_reaped() {
        let t0 = Utc::now();
        let at = |secs| t0 + chrono::Duration::seconds(secs);
        let never_queued = Transition::Abandon { queued_before: t0 - chrono::Duration::days(1) };
        let held = sample().apply(&Transition::Claim { lease_expires_at: at(10) }, t0).expect("claim");
        assert!(held.apply(&never_queued, at(9)).is_err(), "a live lease is never reaped");
        let renewed = held.apply(&Transition::Renew { lease_expires_at: at(20) }, at(9)).expect("renew");
        assert!(renewed.apply(&never_queued, at(15)).is_err(), "renewed past the old end");
        let late = held.apply(&Transition::Renew { lease_expires_at: at(30) }, at(10));
        assert!(late.is_err(), "a passed lease cannot be renewed: the run may be someone else's now");
        let reaped = renewed.apply(&never_queued, at(20)).expect("passed lease");
        assert_eq!((reaped.status, reaped.error_code.as_deref()), (RunStatus::Failed, Some(RUN_ABANDONED)));
        let queued = sample();
        assert!(queued.apply(&Transition::Abandon { queued_before: queued.created_at }, t0).is_err());
        let stale = Transition::Abandon { queued_before: queued.created_at + chrono::Duration::milliseconds(1) };
        assert_eq!(queued.apply(&stale, t0).expect("queued too long").status, RunStatus::Failed);
        let unleased = sample().apply(&Transition::Start, t0).expect("start");
        assert!(unleased.apply(&never_queued, at(1_000_000)).is_err(), "no lease, never reaped");
    }

    #[test]
    fn run_id_parse_rejects_everything_but_a_uuid() {
        for bad in [
            "",
            "..",
            "../../etc/passwd",
            "/abs/path",
            "..%2F..",
            "{0190a0b0-0000-7000-8000-000000000000}",
            "urn:uuid:0190a0b0-0000-7000-8000-000000000000",
            "0190a0b000007000800000000000000",
            "0190a0b0-0000-7000-8000-00000000000g",
        ] {
            assert!(RunId::parse(bad).is_err(), "{bad:?} accepted");
        }
        let id = RunId::new();
        assert_eq!(RunId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn sort_key_orders_newest_first_and_round_trips() {
        let older = RunId::at(Utc::now() - chrono::Duration::seconds(10));
        let newer = RunId::new();
        assert!(newer.sort_key() < older.sort_key());
        assert_eq!(RunId::from_sort_key(&newer.sort_key()), Some(newer));
        assert_eq!(older.created_ts_ms() / 1000, (Utc::now() - chrono::Duration::seconds(10)).timestamp() as u64);
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
