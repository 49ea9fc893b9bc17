//! The catalog of the environment: every variable the configuration reads, the ones only the
//! dispatcher reads, and the aliases it accepts (the deploy tests hold the template, the compose
//! file and the env example to it).

/// Every variable [`Config`] reads; the template, compose file and env example must set the same.
/// Not listed, because a deployment sets them only to override: the feature flags' fallbacks
/// ([`crate::flags::env_settings`], docs/API.md) and the build stamps `BUILD_VERSION` and `GIT_SHA`
/// (GET /health).
pub const VARIABLES: &[&str] = &[
    "APP_ENV",
    "STAGING",
    "REQUIRE_API_KEY",
    "API_KEY",
    "ADMIN_TOKEN",
    "LIVE_SIGN_SECRET",
    "LIVE_VIEWER_SIGN_KEY",
    "MODEL_VARIANT",
    "RUN_STORE_DIR",
    "GOLFIQ_RUNS_DIR",
    "RUN_STORE_BACKEND",
    "RUN_STORE_S3_BUCKET",
    "RUN_STORE_S3_PREFIX",
    "RUN_STORE_S3_PATH_STYLE",
    "RUN_STORE_S3_MAX_ATTEMPTS",
    "RUN_STORE_S3_TIMEOUT_SECONDS",
    "RUNS_UPLOAD_DIR",
    "RUNS_PRUNE_MAX_RUNS",
    "RUNS_PRUNE_MAX_AGE_DAYS",
    "GOLFIQ_ROUNDS_DIR",
    "GOLFIQ_BAGS_DIR",
    "FEATURE_FLAGS_CONFIG_PATH",
    "RUNS_PRUNE_ENABLED",
    "RUNS_PRUNE_LOCKED",
    "PROD_LOCK",
    "PORT",
    "MAX_BODY_BYTES",
    "CORS_ALLOW_ORIGINS",
    "RUNS_PRUNE_INTERVAL_MINUTES",
    "RUNS_TTL_DAYS",
    "RUN_STORE_IMPORT_LEGACY",
    "MODELS_DIR",
    "LIVE_HEARTBEAT_TTL_SEC",
    "LIVE_LATENCY_MODE",
    "LIVE_SIGN_TTL_SEC",
    "WEB_BASE_URL",
    "MEDIA_CDN_BASE_URL",
    "LIVE_STREAM_MOCK_PREFIX",
    "LIVEKIT_WHIP_URL",
    "ANALYZE_MAX_ZIP_BYTES",
    "ANALYZE_MAX_VIDEO_BYTES",
    "ANALYZE_MAX_VIDEO_FRAMES",
    "ANALYZE_MAX_DETECTOR_CALLS",
    "INFERENCE_CONCURRENCY",
    "INFERENCE_QUEUE_DEPTH",
    "INFERENCE_QUEUE_TIMEOUT_MS",
    "ANALYZE_QUEUE_URL",
    "RUN_LEASE_SECONDS",
];

/// Variables only the local dispatcher reads (a Lambda function never does).
pub const DISPATCHER_ONLY: &[&str] =
    &["PORT", "MAX_BODY_BYTES", "RUNS_PRUNE_INTERVAL_MINUTES", "RUN_STORE_IMPORT_LEGACY"];

/// Aliases accepted: the dashboard's build-time names (the runbook's `VITE_` variables) and the
/// original server's other names for the web app's origin.
pub const ALIASES: &[(&str, &str)] = &[
    ("GOLFIQ_RUNS_DIR", "RUN_STORE_DIR"),
    ("VITE_RUNS_PRUNE_ENABLED", "RUNS_PRUNE_ENABLED"),
    ("VITE_RUNS_PRUNE_LOCKED", "RUNS_PRUNE_LOCKED"),
    ("VITE_PROD_LOCK", "PROD_LOCK"),
    ("EXPO_PUBLIC_WEB_BASE", "WEB_BASE_URL"),
    ("APP_BASE_URL", "WEB_BASE_URL"),
];
