//! Typed configuration, loaded once from the environment: every variable of the staging runbook,
//! with its aliases and defaults. Invalid values and, in staging, missing secrets stop the start
//! with one message naming every problem.

use std::path::PathBuf;
use std::str::FromStr;

use crate::runs::ModelVariant;

mod values;
mod vars;

pub use values::{AnalyzeSettings, JobQueueSetting, LiveSettings, Secret, StoreBackend};
pub use vars::{ALIASES, DISPATCHER_ONLY, VARIABLES};

/// Runtime configuration. Field names follow the environment variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// APP_ENV (default `development`).
    pub app_env: String,
    /// True when APP_ENV=staging or STAGING is truthy: secrets become mandatory.
    pub staging: bool,
    /// REQUIRE_API_KEY: every non-public route needs `x-api-key`.
    pub require_api_key: bool,
    /// API_KEY.
    pub api_key: Option<Secret>,
    /// ADMIN_TOKEN: unset closes the admin routes (503 ADMIN_DISABLED).
    pub admin_token: Option<Secret>,
    /// LIVE_SIGN_SECRET (HLS signing).
    pub live_sign_secret: Option<Secret>,
    /// LIVE_VIEWER_SIGN_KEY (viewer tokens).
    pub live_viewer_sign_key: Option<Secret>,
    /// BUILD_VERSION: the version /health reports (default: the crate version).
    pub build_version: Option<String>,
    /// GIT_SHA: the commit /health reports (default: the one baked in at build time).
    pub git_sha: Option<String>,
    /// The feature flags' environment fallbacks (`ROUND_FLOW_V2_ROLLOUT_PCT`, ...;
    /// [`crate::flags::env_settings`]); the config file's values win over them.
    pub flag_env: std::collections::BTreeMap<String, crate::flags::FlagSettings>,
    /// MODEL_VARIANT (default `yolov10`).
    pub model_variant: ModelVariant,
    /// RUN_STORE_DIR, alias GOLFIQ_RUNS_DIR (RUN_STORE_DIR wins); default `/data/runs`.
    pub run_store_dir: PathBuf,
    /// RUN_STORE_BACKEND (default `file`).
    pub run_store_backend: StoreBackend,
    /// RUN_STORE_S3_BUCKET: required with RUN_STORE_BACKEND=s3.
    pub run_store_s3_bucket: Option<String>,
    /// RUN_STORE_S3_PREFIX: key prefix inside the bucket (default empty).
    pub run_store_s3_prefix: String,
    /// RUN_STORE_S3_PATH_STYLE: path-style addressing (default: on when AWS_ENDPOINT_URL is set,
    /// as S3-compatible servers need).
    pub run_store_s3_path_style: bool,
    /// RUN_STORE_S3_MAX_ATTEMPTS (default 4) and RUN_STORE_S3_TIMEOUT_SECONDS (default 20): how
    /// long the S3 backend retries before a request fails with 503 STORAGE_UNAVAILABLE.
    pub run_store_s3_resilience: crate::storage::s3::Resilience,
    /// RUNS_UPLOAD_DIR (default `/data/uploads`).
    pub runs_upload_dir: PathBuf,
    /// RUNS_PRUNE_MAX_RUNS: keep this many newest terminal runs.
    pub runs_prune_max_runs: Option<u64>,
    /// RUNS_PRUNE_MAX_AGE_DAYS: prune terminal runs older than this.
    pub runs_prune_max_age_days: Option<u64>,
    /// RUNS_PRUNE_INTERVAL_MINUTES: the dispatcher applies the retention rule itself this often
    /// (a container has no EventBridge schedule); unset or 0: never.
    /// Fractional minutes are allowed (tests run it every second or so).
    pub runs_prune_interval_minutes: Option<f64>,
    /// RUNS_TTL_DAYS (default 30, as the original server): the scheduled retention job deletes
    /// uploads older than this; 0 keeps them.
    pub runs_ttl_days: u64,
    /// RUN_STORE_IMPORT_LEGACY: at startup the dispatcher imports runs the original server wrote
    /// under RUN_STORE_DIR (`<id>/run.json`), leaving its files as they are. Off by default.
    pub run_store_import_legacy: bool,
    /// GOLFIQ_ROUNDS_DIR: checked by /ready when set (the image sets `/data/rounds`).
    pub rounds_dir: Option<PathBuf>,
    /// GOLFIQ_BAGS_DIR: checked by /ready when set (the image sets `/data/bags`).
    pub bags_dir: Option<PathBuf>,
    /// FEATURE_FLAGS_CONFIG_PATH (default `/data/config/feature_flags.json`).
    pub feature_flags_config_path: PathBuf,
    /// RUNS_PRUNE_ENABLED (or VITE_RUNS_PRUNE_ENABLED): the dashboard shows its prune action.
    pub runs_prune_enabled: bool,
    /// RUNS_PRUNE_LOCKED (or VITE_RUNS_PRUNE_LOCKED): prune answers 403 PRUNE_LOCKED.
    pub runs_prune_locked: bool,
    /// PROD_LOCK (or VITE_PROD_LOCK): production lock; prune answers 403 PRUNE_LOCKED.
    pub prod_lock: bool,
    /// PORT of the local dispatcher (default 8000).
    pub port: u16,
    /// MAX_BODY_BYTES the dispatcher accepts (default 100 MiB).
    pub max_body_bytes: u64,
    /// CORS_ALLOW_ORIGINS: the web origins allowed to call the API with credentials, exact match
    /// (comma list; default `http://localhost,http://127.0.0.1`, plus `http://localhost:5173`,
    /// the web app's dev server, outside staging).
    pub cors_allow_origins: Vec<String>,
    /// The live events group's settings.
    pub live: LiveSettings,
    /// MODELS_DIR: the weights root (`<dir>/<variant>/model.onnx`); unset = `models/weights` found
    /// from the working directory, else `/opt/models/weights` (container image, Lambda layer).
    pub models_dir: Option<PathBuf>,
    /// The analyze endpoints' limits and inference queue.
    pub analyze: AnalyzeSettings,
    /// ANALYZE_QUEUE_URL: the job queue of asynchronous analyses.
    pub job_queue: JobQueueSetting,
    /// RUN_LEASE_SECONDS (default 120): a processing run's lease, renewed while its analysis
    /// runs; the reaper ends a run whose lease has passed (its process died).
    pub run_lease_seconds: u64,
}

/// Every configuration problem found, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);
impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads variables through `get` (tests pass a map). Empty values count as unset, so a blank
    /// line in an env file never passes for a secret.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut errors = Vec::new();

        let flag = |k: &str, errors: &mut Vec<String>| match get(k).as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("0" | "false" | "no" | "off") => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some(other) => {
                errors.push(format!("{k}={other:?} is not a boolean (use 1/0 or true/false)"));
                false
            }
        };
        fn number<T: FromStr>(k: &str, v: Option<String>, errors: &mut Vec<String>) -> Option<T> {
            let v = v?;
            match v.parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(format!("{k}={v:?} is not a non-negative integer"));
                    None
                }
            }
        }

        let app_env = get("APP_ENV").unwrap_or_else(|| "development".into());
        let staging = app_env.eq_ignore_ascii_case("staging") | flag("STAGING", &mut errors);
        let require_api_key = flag("REQUIRE_API_KEY", &mut errors);
        // Either name turns a switch on; the VITE_ names are what the web app's env file uses.
        let runs_prune_enabled = flag("RUNS_PRUNE_ENABLED", &mut errors) | flag("VITE_RUNS_PRUNE_ENABLED", &mut errors);
        let runs_prune_locked = flag("RUNS_PRUNE_LOCKED", &mut errors) | flag("VITE_RUNS_PRUNE_LOCKED", &mut errors);
        let prod_lock = flag("PROD_LOCK", &mut errors) | flag("VITE_PROD_LOCK", &mut errors);
        let secret = |k: &str| get(k).map(Secret::new);
        let (api_key, admin_token) = (secret("API_KEY"), secret("ADMIN_TOKEN"));
        let (live_sign_secret, live_viewer_sign_key) = (secret("LIVE_SIGN_SECRET"), secret("LIVE_VIEWER_SIGN_KEY"));

        let model_variant = match get("MODEL_VARIANT") {
            None => ModelVariant::Yolov10,
            Some(v) => ModelVariant::parse_loose(&v).unwrap_or_else(|e| {
                errors.push(format!("MODEL_VARIANT: {e}"));
                ModelVariant::Yolov10
            }),
        };
        let run_store_backend =
            get("RUN_STORE_BACKEND").map_or(Ok(StoreBackend::File), |v| v.parse()).unwrap_or_else(|e| {
                errors.push(e);
                StoreBackend::File
            });
        let run_store_s3_bucket = get("RUN_STORE_S3_BUCKET");
        if run_store_backend == StoreBackend::S3 && run_store_s3_bucket.is_none() {
            errors.push("RUN_STORE_BACKEND=s3 needs RUN_STORE_S3_BUCKET".into());
        }
        let run_store_s3_prefix = get("RUN_STORE_S3_PREFIX").unwrap_or_default();
        let path_style_default = get("AWS_ENDPOINT_URL").is_some();
        let run_store_s3_path_style = match get("RUN_STORE_S3_PATH_STYLE") {
            None => path_style_default,
            Some(_) => flag("RUN_STORE_S3_PATH_STYLE", &mut errors),
        };
        let path = |k: &str, default: &str| PathBuf::from(get(k).unwrap_or_else(|| default.into()));
        let run_store_dir = PathBuf::from(
            get("RUN_STORE_DIR").or_else(|| get("GOLFIQ_RUNS_DIR")).unwrap_or_else(|| "/data/runs".into()),
        );
        let runs_prune_max_runs = number("RUNS_PRUNE_MAX_RUNS", get("RUNS_PRUNE_MAX_RUNS"), &mut errors);
        let runs_prune_max_age_days = number("RUNS_PRUNE_MAX_AGE_DAYS", get("RUNS_PRUNE_MAX_AGE_DAYS"), &mut errors);
        let runs_prune_interval_minutes =
            match number::<f64>("RUNS_PRUNE_INTERVAL_MINUTES", get("RUNS_PRUNE_INTERVAL_MINUTES"), &mut errors) {
                Some(m) if !m.is_finite() || m < 0.0 => {
                    errors.push(format!("RUNS_PRUNE_INTERVAL_MINUTES={m} must be a number of minutes >= 0"));
                    None
                }
                m => m.filter(|&m| m > 0.0),
            };
        let runs_ttl_days = number("RUNS_TTL_DAYS", get("RUNS_TTL_DAYS"), &mut errors).unwrap_or(30);
        let run_store_import_legacy = flag("RUN_STORE_IMPORT_LEGACY", &mut errors);
        let port = number("PORT", get("PORT"), &mut errors).unwrap_or(8000);
        let max_body_bytes = number("MAX_BODY_BYTES", get("MAX_BODY_BYTES"), &mut errors).unwrap_or(100 * 1024 * 1024);
        let cors_allow_origins = match get("CORS_ALLOW_ORIGINS") {
            Some(list) => {
                list.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect()
            }
            None => {
                let mut origins = vec!["http://localhost".to_string(), "http://127.0.0.1".to_string()];
                if !staging {
                    origins.push("http://localhost:5173".into());
                }
                origins
            }
        };
        let trimmed_url = |v: String| v.trim_end_matches('/').to_string();
        let live = LiveSettings {
            heartbeat_ttl_sec: number("LIVE_HEARTBEAT_TTL_SEC", get("LIVE_HEARTBEAT_TTL_SEC"), &mut errors)
                .unwrap_or(120)
                .max(1),
            latency_mode: get("LIVE_LATENCY_MODE").unwrap_or_else(|| "ll-hls".into()),
            sign_ttl_sec: number("LIVE_SIGN_TTL_SEC", get("LIVE_SIGN_TTL_SEC"), &mut errors).unwrap_or(120).max(30),
            web_base_url: get("WEB_BASE_URL")
                .or_else(|| get("EXPO_PUBLIC_WEB_BASE"))
                .or_else(|| get("APP_BASE_URL"))
                .map_or_else(|| "https://app.golfiq.dev".into(), trimmed_url),
            media_cdn_base_url: get("MEDIA_CDN_BASE_URL").map(trimmed_url),
            mock_prefix: get("LIVE_STREAM_MOCK_PREFIX").map_or_else(|| "/hls/mock".into(), trimmed_url),
            livekit_whip_url: get("LIVEKIT_WHIP_URL"),
        };
        let defaults = AnalyzeSettings::default();
        let mut setting = |k: &str, default: u64, min: u64| match number::<u64>(k, get(k), &mut errors) {
            Some(v) if v < min => {
                errors.push(format!("{k}={v} is below its minimum of {min}"));
                default
            }
            Some(v) => v,
            None => default,
        };
        let concurrency = setting("INFERENCE_CONCURRENCY", defaults.inference_concurrency, 1);
        let run_lease_seconds = setting("RUN_LEASE_SECONDS", 120, 1);
        let s3_defaults = crate::storage::s3::Resilience::default();
        let run_store_s3_resilience = crate::storage::s3::Resilience {
            max_attempts: setting("RUN_STORE_S3_MAX_ATTEMPTS", s3_defaults.max_attempts.into(), 1)
                .try_into()
                .unwrap_or(u32::MAX),
            timeout: std::time::Duration::from_secs(setting(
                "RUN_STORE_S3_TIMEOUT_SECONDS",
                s3_defaults.timeout.as_secs(),
                1,
            )),
            ..s3_defaults
        };
        let analyze = AnalyzeSettings {
            max_zip_bytes: setting("ANALYZE_MAX_ZIP_BYTES", defaults.max_zip_bytes, 1),
            max_video_bytes: setting("ANALYZE_MAX_VIDEO_BYTES", defaults.max_video_bytes, 1),
            max_video_frames: setting("ANALYZE_MAX_VIDEO_FRAMES", defaults.max_video_frames, 2),
            max_detector_calls: setting("ANALYZE_MAX_DETECTOR_CALLS", defaults.max_detector_calls, 1),
            inference_concurrency: concurrency,
            inference_queue_depth: setting("INFERENCE_QUEUE_DEPTH", 2 * concurrency, 0),
            inference_queue_timeout_ms: setting("INFERENCE_QUEUE_TIMEOUT_MS", defaults.inference_queue_timeout_ms, 0),
        };

        if staging {
            let mut missing = Vec::new();
            if require_api_key && api_key.is_none() {
                missing.push("API_KEY");
            }
            for (name, value) in [
                ("ADMIN_TOKEN", &admin_token),
                ("LIVE_SIGN_SECRET", &live_sign_secret),
                ("LIVE_VIEWER_SIGN_KEY", &live_viewer_sign_key),
            ] {
                if value.is_none() {
                    missing.push(name);
                }
            }
            if !missing.is_empty() {
                errors.push(format!("staging requires these secrets, which are not set: {}", missing.join(", ")));
            }
        } else if require_api_key && api_key.is_none() {
            errors.push("REQUIRE_API_KEY=1 needs API_KEY to be set".into());
        }

        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        Ok(Config {
            app_env,
            staging,
            require_api_key,
            api_key,
            admin_token,
            live_sign_secret,
            live_viewer_sign_key,
            build_version: get("BUILD_VERSION"),
            git_sha: get("GIT_SHA"),
            flag_env: crate::flags::env_settings(get),
            model_variant,
            run_store_dir,
            run_store_backend,
            run_store_s3_bucket,
            run_store_s3_prefix,
            run_store_s3_path_style,
            run_store_s3_resilience,
            runs_upload_dir: path("RUNS_UPLOAD_DIR", "/data/uploads"),
            runs_prune_max_runs,
            runs_prune_max_age_days,
            runs_prune_interval_minutes,
            runs_ttl_days,
            run_store_import_legacy,
            rounds_dir: get("GOLFIQ_ROUNDS_DIR").map(PathBuf::from),
            bags_dir: get("GOLFIQ_BAGS_DIR").map(PathBuf::from),
            feature_flags_config_path: path("FEATURE_FLAGS_CONFIG_PATH", "/data/config/feature_flags.json"),
            runs_prune_enabled,
            runs_prune_locked,
            prod_lock,
            port,
            max_body_bytes,
            cors_allow_origins,
            models_dir: get("MODELS_DIR").map(PathBuf::from),
            live,
            analyze,
            job_queue: get("ANALYZE_QUEUE_URL").map_or(JobQueueSetting::InProcess, JobQueueSetting::Sqs),
            run_lease_seconds,
        })
    }

    /// Reads variables from name/value pairs (tests and tools); empty values count as unset.
    pub fn from_pairs(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: std::collections::HashMap<&str, &str> = vars.iter().copied().collect();
        Self::from_lookup(|k| map.get(k).map(|v| v.to_string()))
    }

    /// True when either lock forbids pruning.
    pub fn prune_locked(&self) -> bool {
        self.runs_prune_locked || self.prod_lock
    }

    /// A development configuration rooted at `dir` (tests and benchmarks).
    pub fn for_dir(dir: &std::path::Path) -> Config {
        let d = dir.to_path_buf();
        Config::from_lookup(|k| match k {
            "RUN_STORE_DIR" => Some(d.join("runs").display().to_string()),
            "RUNS_UPLOAD_DIR" => Some(d.join("uploads").display().to_string()),
            "FEATURE_FLAGS_CONFIG_PATH" => Some(d.join("config/feature_flags.json").display().to_string()),
            _ => None,
        })
        .unwrap_or_else(|e| unreachable!("the development defaults are valid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_pairs(vars)
    }

    #[test]
    fn defaults_are_the_runbook_image_paths() {
        let c = load(&[]).expect("defaults load");
        assert_eq!(c.model_variant, ModelVariant::Yolov10);
        assert_eq!(c.run_store_dir, PathBuf::from("/data/runs"));
        assert_eq!(c.runs_upload_dir, PathBuf::from("/data/uploads"));
        assert_eq!(c.feature_flags_config_path, PathBuf::from("/data/config/feature_flags.json"));
        assert_eq!(c.run_store_backend, StoreBackend::File);
        assert_eq!((c.port, c.staging, c.require_api_key), (8000, false, false));
        assert_eq!((c.runs_prune_max_runs, c.runs_prune_max_age_days, c.rounds_dir), (None, None, None));
    }

    #[test]
    fn run_store_dir_wins_over_its_alias() {
        assert_eq!(load(&[("GOLFIQ_RUNS_DIR", "/a")]).expect("alias").run_store_dir, PathBuf::from("/a"));
        let both = load(&[("GOLFIQ_RUNS_DIR", "/a"), ("RUN_STORE_DIR", "/b")]).expect("both");
        assert_eq!(both.run_store_dir, PathBuf::from("/b"));
    }

    #[test]
    fn staging_names_every_missing_secret_in_one_message() {
        for vars in
            [&[("APP_ENV", "staging"), ("REQUIRE_API_KEY", "1")][..], &[("STAGING", "1"), ("REQUIRE_API_KEY", "true")]]
        {
            let err = load(vars).expect_err("secrets missing");
            assert_eq!(err.0.len(), 1, "{err}");
            for name in ["API_KEY", "ADMIN_TOKEN", "LIVE_SIGN_SECRET", "LIVE_VIEWER_SIGN_KEY"] {
                assert!(err.0[0].contains(name), "{name} not named in {err}");
            }
        }
        let blank_is_missing =
            load(&[("STAGING", "1"), ("ADMIN_TOKEN", "  "), ("LIVE_SIGN_SECRET", "s"), ("LIVE_VIEWER_SIGN_KEY", "v")]);
        assert!(blank_is_missing.expect_err("blank").0[0].contains("ADMIN_TOKEN"));
        let ok =
            load(&[("STAGING", "1"), ("ADMIN_TOKEN", "a"), ("LIVE_SIGN_SECRET", "s"), ("LIVE_VIEWER_SIGN_KEY", "v")]);
        assert!(ok.expect("API_KEY only needed with REQUIRE_API_KEY").staging);
    }

    #[test]
    fn malformed_values_are_startup_errors() {
        let err = load(&[
            ("RUNS_PRUNE_MAX_RUNS", "abc"),
            ("RUNS_PRUNE_MAX_AGE_DAYS", "-3"),
            ("RUN_STORE_BACKEND", "s4"),
            ("MODEL_VARIANT", "yolov99"),
            ("PORT", "http"),
            ("REQUIRE_API_KEY", "maybe"),
        ])
        .expect_err("all malformed");
        let text = err.to_string();
        for needle in [
            "RUNS_PRUNE_MAX_RUNS",
            "RUNS_PRUNE_MAX_AGE_DAYS",
            "allowed: file",
            "MODEL_VARIANT",
            "PORT",
            "REQUIRE_API_KEY",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(text.contains("allowed: file, s3"), "{text}");
    }

    #[test]
    fn the_s3_backend_needs_a_bucket_and_defaults_to_path_style_with_an_endpoint() {
        let err = load(&[("RUN_STORE_BACKEND", "s3")]).expect_err("bucket missing");
        assert!(err.to_string().contains("RUN_STORE_S3_BUCKET"));
        let c = load(&[("RUN_STORE_BACKEND", "S3"), ("RUN_STORE_S3_BUCKET", "b"), ("RUN_STORE_S3_PREFIX", "staging/")])
            .expect("s3");
        assert_eq!(
            (c.run_store_backend, c.run_store_s3_prefix.as_str(), c.run_store_s3_path_style),
            (StoreBackend::S3, "staging/", false)
        );
        let local = load(&[
            ("RUN_STORE_BACKEND", "s3"),
            ("RUN_STORE_S3_BUCKET", "b"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ]);
        assert!(local.expect("endpoint").run_store_s3_path_style);
        let off = load(&[
            ("RUN_STORE_BACKEND", "s3"),
            ("RUN_STORE_S3_BUCKET", "b"),
            ("AWS_ENDPOINT_URL", "http://x"),
            ("RUN_STORE_S3_PATH_STYLE", "0"),
        ]);
        assert!(!off.expect("explicit").run_store_s3_path_style);
    }

    #[test]
    fn prune_switches_accept_their_vite_names() {
        let c = load(&[]).expect("defaults");
        assert!(!c.runs_prune_enabled && !c.prune_locked());
        assert!(load(&[("VITE_RUNS_PRUNE_ENABLED", "true")]).expect("vite").runs_prune_enabled);
        assert!(load(&[("RUNS_PRUNE_LOCKED", "true")]).expect("lock").prune_locked());
        assert!(load(&[("VITE_PROD_LOCK", "1")]).expect("prod").prune_locked());
        assert!(load(&[("PROD_LOCK", "sometimes")]).is_err());
    }

    #[test]
    fn values_are_parsed_and_secrets_hidden_from_debug() {
        let c = load(&[
            ("RUNS_PRUNE_MAX_RUNS", "500"),
            ("MODEL_VARIANT", " YOLOv11 "),
            ("API_KEY", "k3y"),
            ("REQUIRE_API_KEY", "1"),
        ])
        .expect("valid");
        assert_eq!(c.runs_prune_max_runs, Some(500));
        assert_eq!(c.model_variant, ModelVariant::Yolov11);
        assert!(!format!("{c:?}").contains("k3y"));
    }
}
