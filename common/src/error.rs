//! The one error type of the API and its one mapping to HTTP: every stable `error_code`, its status,
//! and the JSON body. A client message and a log-only cause are kept apart, so a 5xx body never
//! carries internal detail.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

use crate::run_store::RunStoreError;
use crate::runs::RunId;
use crate::storage::StorageError;

/// Declares every error code with its HTTP status in one table (docs/API.md lists the same).
macro_rules! error_codes {
    ($($(#[$m:meta])* $variant:ident => ($wire:literal, $status:literal)),+ $(,)?) => {
        /// A stable, documented error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$m])* $variant),+
        }

        impl ErrorCode {
            /// Every code, for documentation checks.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The wire name, e.g. `RUN_NOT_FOUND`.
            pub fn as_str(&self) -> &'static str {
                match self { $(ErrorCode::$variant => $wire),+ }
            }

            /// The HTTP status this code always maps to.
            pub fn status(&self) -> StatusCode {
                let code = match self { $(ErrorCode::$variant => $status),+ };
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    };
}

error_codes! {
    /// Missing or wrong API key.
    Unauthorized => ("UNAUTHORIZED", 401),
    /// Missing or wrong admin token.
    AdminUnauthorized => ("ADMIN_UNAUTHORIZED", 401),
    /// ADMIN_TOKEN is not configured, so admin routes are closed.
    AdminDisabled => ("ADMIN_DISABLED", 503),
    /// Path is not a UUID.
    InvalidRunId => ("INVALID_RUN_ID", 400),
    /// No run with that id.
    RunNotFound => ("RUN_NOT_FOUND", 404),
    /// Cursor is not a previous page's next_cursor.
    InvalidCursor => ("INVALID_CURSOR", 400),
    /// `limit` is not a positive integer.
    InvalidLimit => ("INVALID_LIMIT", 400),
    /// A listing filter has a value outside its allowed set.
    InvalidFilter => ("INVALID_FILTER", 400),
    /// The lifecycle forbids the requested state change.
    InvalidTransition => ("INVALID_TRANSITION", 409),
    /// No route for this path.
    NotFound => ("NOT_FOUND", 404),
    /// The path exists but not with this method.
    MethodNotAllowed => ("METHOD_NOT_ALLOWED", 405),
    /// Request body over the configured limit.
    PayloadTooLarge => ("PAYLOAD_TOO_LARGE", 413),
    /// The store was busy with competing writes for too long; retry.
    Conflict => ("CONFLICT", 409),
    /// A prune override is negative, fractional or not a number.
    InvalidPruneParameter => ("INVALID_PRUNE_PARAMETER", 400),
    /// RUNS_PRUNE_LOCKED or PROD_LOCK forbids pruning.
    PruneLocked => ("PRUNE_LOCKED", 403),
    /// The body is not valid JSON (or not the JSON shape the route takes).
    InvalidJson => ("INVALID_JSON", 400),
    /// A feature-flag update failed validation; the message names every field.
    InvalidFlagsConfig => ("INVALID_FLAGS_CONFIG", 422),
    /// `If-Match` names a config version that is no longer current.
    FlagsVersionConflict => ("FLAGS_VERSION_CONFLICT", 412),
    /// The stored feature-flag config does not parse; PUT with `?force=true` replaces it.
    FlagsConfigCorrupt => ("FLAGS_CONFIG_CORRUPT", 500),
    /// An upload key that was not issued by POST /runs/v1/uploads.
    InvalidUploadKey => ("INVALID_UPLOAD_KEY", 400),
    /// An upload the server cannot take: a ticket request whose `filename` or `content_type` is not
    /// a plain string, or a PUT with an empty body or to a deployment that uses presigned URLs.
    InvalidUpload => ("INVALID_UPLOAD", 400),
    /// Nothing was uploaded under that key (or it expired).
    UploadNotFound => ("UPLOAD_NOT_FOUND", 404),
    /// The run has no tracer clip: no shot was measured (`shot.detected` false), it is not finished,
    /// it was not a video or frames run, or it predates the tracer.
    NoTracer => ("NO_TRACER", 404),
    /// The upload's ticket expired (its `expires_at` passed) before the PUT; ask for a new one.
    UploadExpired => ("UPLOAD_EXPIRED", 410),
    /// A non-HTTP Lambda event that is not an EventBridge schedule.
    UnsupportedEvent => ("UNSUPPORTED_EVENT", 400),
    /// The frames zip is over ANALYZE_MAX_ZIP_BYTES.
    ZipTooLarge => ("ZIP_TOO_LARGE", 413),
    /// The zip has more than 400 files.
    ZipTooManyFiles => ("ZIP_TOO_MANY_FILES", 413),
    /// One zip entry is too large uncompressed.
    ZipFileTooLarge => ("ZIP_FILE_TOO_LARGE", 413),
    /// A zip entry's compression ratio is over 200 (zip bombs).
    ZipRatioInvalid => ("ZIP_RATIO_INVALID", 413),
    /// A zip entry is not .png/.jpg/.jpeg/.npy.
    ZipInvalidType => ("ZIP_INVALID_TYPE", 400),
    /// The upload is not a readable zip (or the multipart body is malformed or lacks its file part).
    InvalidZip => ("INVALID_ZIP", 400),
    /// Fewer than two frames for a motion analysis.
    InsufficientFrames => ("INSUFFICIENT_FRAMES", 400),
    /// An image or .npy frame does not decode.
    InvalidImage => ("INVALID_IMAGE", 400),
    /// The video is over ANALYZE_MAX_VIDEO_BYTES, or its frames are larger than 4K.
    VideoTooLarge => ("VIDEO_TOO_LARGE", 413),
    /// The video has more frames than ANALYZE_MAX_VIDEO_FRAMES.
    VideoTooLong => ("VIDEO_TOO_LONG", 413),
    /// The video is not an MP4/MOV whose video track decodes (corrupt, truncated, not a video).
    VideoDecodeFailed => ("VIDEO_DECODE_FAILED", 400),
    /// The video's codec, pixel format or container feature is not decoded (the message names it).
    VideoUnsupported => ("VIDEO_UNSUPPORTED", 415),
    /// The video decoder's libraries are missing on this server.
    VideoDecoderUnavailable => ("VIDEO_DECODER_UNAVAILABLE", 503),
    /// An analysis parameter (fps, ref lengths, smoothing window, calibration, ...) is out of range;
    /// the message names every field.
    InvalidCalibration => ("INVALID_CALIBRATION", 422),
    /// A model variant that is not yolov10 or yolov11.
    InvalidModelVariant => ("INVALID_MODEL_VARIANT", 400),
    /// The selected variant's weights are missing or fail their checksum, or ONNX Runtime is missing.
    ModelUnavailable => ("MODEL_UNAVAILABLE", 503),
    /// The inference queue is full; retry later.
    Overloaded => ("OVERLOADED", 429),
    /// An event id that is not 1-64 of `[A-Za-z0-9_-]` starting with a letter or digit.
    InvalidEventId => ("INVALID_EVENT_ID", 400),
    /// A live request body field has the wrong type or value; the message names it.
    InvalidLiveRequest => ("INVALID_LIVE_REQUEST", 400),
    /// LIVE_VIEWER_SIGN_KEY (viewer tokens, invites) or LIVE_SIGN_SECRET (signed HLS URLs) is not
    /// set, so the route cannot sign or verify.
    LiveSigningDisabled => ("LIVE_SIGNING_DISABLED", 503),
    /// `POST /start` on an event whose stream is already running.
    LiveAlreadyRunning => ("LIVE_ALREADY_RUNNING", 409),
    /// A token or viewer link was asked for while the event's stream is not running.
    LiveNotRunning => ("LIVE_NOT_RUNNING", 409),
    /// A stream source other than `mock` without LIVEKIT_WHIP_URL configured.
    LiveSourceUnavailable => ("LIVE_SOURCE_UNAVAILABLE", 503),
    /// A signed viewer URL was asked for while the event sends no heartbeat or has no viewerUrl.
    EventNotLive => ("EVENT_NOT_LIVE", 400),
    /// An invite that is malformed, badly signed, expired or for another event.
    InvalidInvite => ("INVALID_INVITE", 400),
    /// More than 10 invite exchanges in 60 s for one event from one client address.
    InviteRateLimited => ("INVITE_RATE_LIMITED", 429),
    /// A run nobody will finish, ended by the reaper: its process died (lease passed) or it waited
    /// in the queue past its limit. Only ever a run's `error_code`, never an HTTP answer.
    RunAbandoned => ("RUN_ABANDONED", 500),
    /// An asynchronous analysis could not be queued (SQS unreachable); the run ends failed.
    QueueUnavailable => ("QUEUE_UNAVAILABLE", 503),
    /// The store (S3) kept failing or timing out through every retry; nothing was lost, retry later.
    StorageUnavailable => ("STORAGE_UNAVAILABLE", 503),
    /// The store's filesystem is full: nothing was written; retry once space is freed.
    StorageFull => ("STORAGE_FULL", 507),
    /// The analysis failed unexpectedly; the cause is in the logs.
    AnalyzeFailed => ("ANALYZE_FAILED", 500),
    /// Unexpected failure; the cause is in the logs.
    Internal => ("INTERNAL", 500),
}

/// An API failure: a code, a client-facing message, the run it belongs to (if any) and a cause
/// that only reaches the log.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What the client reads.
    pub message: String,
    /// The run this failure ended, for run-producing endpoints.
    pub run_id: Option<RunId>,
    /// For 405: the methods the path takes (the `Allow` header).
    pub allow: Option<String>,
    cause: Option<String>,
}

impl ApiError {
    /// An error with a client message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), run_id: None, allow: None, cause: None }
    }

    /// An unexpected failure: the client sees only "internal error", the cause is logged.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            code: ErrorCode::Internal,
            message: "internal error".into(),
            run_id: None,
            allow: None,
            cause: Some(cause.to_string()),
        }
    }

    /// Attaches the run this error ended.
    pub fn with_run(mut self, run_id: RunId) -> Self {
        self.run_id = Some(run_id);
        self
    }

    /// Names the methods a path takes (405's `Allow` header).
    pub fn with_allow(mut self, methods: impl Into<String>) -> Self {
        self.allow = Some(methods.into());
        self
    }

    /// Attaches a log-only cause.
    pub fn with_cause(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The JSON body: `{run_id, error_code, message}` when a run exists, else `{error_code, message}`.
    pub fn body(&self) -> serde_json::Value {
        match self.run_id {
            Some(id) => {
                json!({"run_id": id, "error_code": self.code.as_str(), "message": self.message})
            }
            None => json!({"error_code": self.code.as_str(), "message": self.message}),
        }
    }

    /// The one place an error becomes an HTTP response. Server errors log their cause here.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error_code = self.code.as_str(), run_id = ?self.run_id.map(|r| r.to_string()),
                cause = self.cause.as_deref().unwrap_or(""), "request failed");
        } else if let Some(cause) = &self.cause {
            tracing::info!(error_code = self.code.as_str(), cause = cause.as_str(), "request rejected");
        }
        let mut resp = crate::http::json_response(status, &self.body());
        if let Some(id) = self.run_id {
            crate::http::set_run_id_header(&mut resp, id);
        }
        if let Some(allow) = self.allow.as_deref().and_then(|a| http::HeaderValue::from_str(a).ok()) {
            resp.headers_mut().insert(http::header::ALLOW, allow);
        }
        resp
    }
}

/// Turns a handler result into the response: errors map to HTTP here, and only here.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}

impl From<crate::flag_store::FlagStoreError> for ApiError {
    fn from(e: crate::flag_store::FlagStoreError) -> Self {
        use crate::flag_store::FlagStoreError as E;
        match e {
            E::Corrupt(reason) => ApiError::new(
                ErrorCode::FlagsConfigCorrupt,
                "the stored feature flag config is corrupt; PUT with ?force=true replaces it and keeps the corrupt file aside",
            )
            .with_cause(reason),
            E::VersionConflict { current, expected } => ApiError::new(
                ErrorCode::FlagsVersionConflict,
                format!("If-Match {expected} is stale: the config is at version {current}"),
            ),
            E::Invalid(problems) => ApiError::new(ErrorCode::InvalidFlagsConfig, problems.join("; ")),
            E::Contended => ApiError::new(ErrorCode::Conflict, "feature flag config is being updated concurrently; retry"),
            E::Storage(e) => e.into(),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(_) => {
                ApiError::new(ErrorCode::StorageUnavailable, "storage is unavailable; retry later").with_cause(e)
            }
            StorageError::Full(_) => {
                ApiError::new(ErrorCode::StorageFull, "storage is full; retry once space is freed").with_cause(e)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<RunStoreError> for ApiError {
    fn from(e: RunStoreError) -> Self {
        match e {
            RunStoreError::NotFound(id) => ApiError::new(ErrorCode::RunNotFound, format!("run {id} not found")),
            RunStoreError::InvalidTransition(t) => ApiError::new(ErrorCode::InvalidTransition, t.to_string()),
            RunStoreError::Contended(id) => {
                ApiError::new(ErrorCode::Conflict, format!("run {id} is being updated concurrently; retry"))
            }
            RunStoreError::Storage(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_hide_their_cause() {
        let e = ApiError::internal("disk /data/runs/x.json: permission denied");
        let body = e.body();
        assert_eq!(body["error_code"], "INTERNAL");
        assert!(!body.to_string().contains("permission"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn run_errors_carry_the_flat_run_contract() {
        let id = RunId::new();
        let body = ApiError::new(ErrorCode::InvalidTransition, "no").with_run(id).body();
        assert_eq!(body, json!({"run_id": id.to_string(), "error_code": "INVALID_TRANSITION", "message": "no"}));
    }

    #[test]
    fn codes_are_unique_screaming_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {}", c.as_str());
            assert!(c.as_str().bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
        }
    }
}
