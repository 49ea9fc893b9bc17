//! The typed values the configuration is made of: secrets that never print, the store backend,
//! and the settings of the live routes and of the analyses.

use std::fmt;
use std::str::FromStr;

/// A secret value; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for comparison or signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which storage backend holds runs and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreBackend {
    /// Files under RUN_STORE_DIR.
    File,
    /// Objects in RUN_STORE_S3_BUCKET under RUN_STORE_S3_PREFIX.
    S3,
}

impl StoreBackend {
    /// Accepted values of RUN_STORE_BACKEND.
    pub const ALLOWED: &'static [&'static str] = &["file", "s3"];

    /// The configured name.
    pub fn as_str(&self) -> &'static str {
        match self {
            StoreBackend::File => "file",
            StoreBackend::S3 => "s3",
        }
    }
}

impl FromStr for StoreBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "file" => Ok(StoreBackend::File),
            "s3" => Ok(StoreBackend::S3),
            other => Err(format!(
                "RUN_STORE_BACKEND={other:?} is not supported; allowed: {}",
                StoreBackend::ALLOWED.join(", ")
            )),
        }
    }
}

/// Settings of the live events routes (functions/live); the two signing secrets are
/// [`Config::live_sign_secret`] and [`Config::live_viewer_sign_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSettings {
    /// LIVE_HEARTBEAT_TTL_SEC: an event is live while its last heartbeat is younger (default 120).
    pub heartbeat_ttl_sec: u64,
    /// LIVE_LATENCY_MODE: the latency mode reported when a heartbeat gives none (default `ll-hls`).
    pub latency_mode: String,
    /// LIVE_SIGN_TTL_SEC: lifetime of a signed HLS viewer URL, at least 30 s (default 120).
    pub sign_ttl_sec: u64,
    /// WEB_BASE_URL (aliases EXPO_PUBLIC_WEB_BASE, APP_BASE_URL): the web app that opens viewer
    /// links (default `https://app.golfiq.dev`, the original server's).
    pub web_base_url: String,
    /// MEDIA_CDN_BASE_URL: when set, media URLs handed out (viewer URLs, HLS paths) are served
    /// from this origin instead.
    pub media_cdn_base_url: Option<String>,
    /// LIVE_STREAM_MOCK_PREFIX: where a `mock` stream's HLS path lives (default `/hls/mock`).
    pub mock_prefix: String,
    /// LIVEKIT_WHIP_URL: the ingest a non-mock stream needs; unset, only `mock` starts.
    pub livekit_whip_url: Option<String>,
}

/// Limits of the analyze endpoints and the size of the inference queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyzeSettings {
    /// ANALYZE_MAX_ZIP_BYTES: largest frames zip (default 50 MiB); larger is ZIP_TOO_LARGE.
    pub max_zip_bytes: u64,
    /// ANALYZE_MAX_VIDEO_BYTES: largest video (default 80 MiB); larger is VIDEO_TOO_LARGE.
    pub max_video_bytes: u64,
    /// ANALYZE_MAX_VIDEO_FRAMES: frames of a video decoded (default 2400: 10 s at 240 fps); a
    /// longer video is VIDEO_TOO_LONG, since its shot could be in the frames left out.
    pub max_video_frames: u64,
    /// ANALYZE_MAX_DETECTOR_CALLS: detector calls one analysis may make (default 400): the launch
    /// search's probes, the dense pass through launch and flight, and the native-resolution crops.
    pub max_detector_calls: u64,
    /// INFERENCE_CONCURRENCY: analyses running at once (default: the number of cores).
    pub inference_concurrency: u64,
    /// INFERENCE_QUEUE_DEPTH: analyses allowed to wait for a slot (default 2 x concurrency); one
    /// more gets OVERLOADED.
    pub inference_queue_depth: u64,
    /// INFERENCE_QUEUE_TIMEOUT_MS: how long a queued analysis waits for a slot before OVERLOADED
    /// (default 30000).
    pub inference_queue_timeout_ms: u64,
}

/// Where asynchronous analyses (`Prefer: respond-async`) wait for a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobQueueSetting {
    /// ANALYZE_QUEUE_URL unset: in the dispatcher, an in-process queue; a Lambda function answers
    /// synchronously (it cannot work after its response).
    InProcess,
    /// ANALYZE_QUEUE_URL: an SQS queue; the analyze worker function (or the dispatcher's poller)
    /// consumes it.
    Sqs(String),
}

impl Default for AnalyzeSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        AnalyzeSettings {
            max_zip_bytes: 50 * 1024 * 1024,
            max_video_bytes: 80 * 1024 * 1024,
            max_video_frames: 2400,
            max_detector_calls: 400,
            inference_concurrency: cores,
            inference_queue_depth: 2 * cores,
            inference_queue_timeout_ms: 30_000,
        }
    }
}
