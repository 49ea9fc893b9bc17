//! The health function: GET /health (liveness and build facts) and GET /ready (every dependency
//! the service writes to, checked for real; 503 when any check fails).
//!
//! Model readiness comes through the narrow [`ModelReadiness`] trait, so this crate does not link
//! ONNX Runtime: the dispatcher hands in the analyze engine's registry (ready means loaded), the
//! health Lambda a [`model_catalog::WeightsCatalog`] (ready means present and checksum-verified).

use std::path::Path;
use std::sync::Arc;

use common::flag_store::FlagStoreError;
use common::http::json_response;
use common::lambda_http::http::StatusCode;
use common::lambda_http::{Body, Request, Response};
use common::routing::{self, Matched};
use common::state::AppState;
use common::storage::{Key, StorageError};
use model_catalog::{ModelReadiness, ModelVariant};
use serde::Serialize;
use serde_json::json;

common::routes! {
    /// Liveness and build facts.
    Health => GET "/health", Public;
    /// Every dependency checked.
    Ready => GET "/ready", Public;
}

/// What the health function reads: the stores, and the weights where this process has them.
#[derive(Debug, Clone)]
pub struct HealthState {
    /// Configuration and the stores /ready probes.
    pub app: AppState,
    /// The weights, where this process carries the model layer (and with it FFmpeg's decoder
    /// libraries, which /ready then checks too); `None` reports both as skipped.
    pub models: Option<Arc<dyn ModelReadiness>>,
}

impl HealthState {
    /// A state that reports on the stores only.
    pub fn new(app: AppState) -> Self {
        HealthState { app, models: None }
    }

    /// The same state reporting on `models` and the video decoder too.
    pub fn with_models(self, models: Arc<dyn ModelReadiness>) -> Self {
        HealthState { models: Some(models), ..self }
    }
}

/// Serves one request (the Lambda entry and the tests): finds its route, then [`serve`].
pub async fn handle(state: &HealthState, req: Request) -> Response<Body> {
    routing::handle(&state.app.config, ROUTES, req, |req, matched| serve(state, req, matched)).await
}

/// Runs a matched route (the dispatcher calls this directly with its own match).
pub async fn serve(state: &HealthState, _req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    match matched.endpoint {
        Endpoint::Health => health(&state.app),
        Endpoint::Ready => ready(state).await,
    }
}

/// Liveness and build info: `version` (BUILD_VERSION, else the crate version), `git` (GIT_SHA,
/// else the commit baked in at build time, else `unknown`), `env` (APP_ENV) and `runtime`
/// (`lambda` or `dispatcher`), as the original server's clients read them; plus `git_sha`,
/// `model_variant` and `run_store_backend`.
fn health(state: &AppState) -> Response<Body> {
    let config = &state.config;
    let git = config.git_sha.as_deref().unwrap_or(common::GIT_SHA);
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "version": config.build_version.as_deref().unwrap_or(common::VERSION),
            "git": git,
            "git_sha": git,
            "env": config.app_env,
            "runtime": if common::bootstrap::on_lambda() { "lambda" } else { "dispatcher" },
            "model_variant": config.model_variant,
            "run_store_backend": state.blobs.backend_name(),
        }),
    )
}

/// One readiness check's outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `run_store:write`.
    pub name: String,
    /// `ok`, `error`, `skipped`, or `unavailable` (a non-default model variant that cannot load:
    /// reported, not failing readiness).
    pub status: &'static str,
    /// A short reason (paths and internal errors go to the log, not here).
    pub detail: String,
}

impl Check {
    fn ok(name: &str, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status: "ok", detail: detail.into() }
    }
    fn error(name: &str, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status: "error", detail: detail.into() }
    }
    fn skipped(name: &str, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status: "skipped", detail: detail.into() }
    }
}

/// Runs every check.
pub async fn checks(state: &HealthState) -> Vec<Check> {
    let (app, config) = (&state.app, &state.app.config);
    let mut out = vec![run_store_check(app).await, dir_check("upload_dir:write", Some(&config.runs_upload_dir)).await];
    out.push(dir_check("rounds_dir:write", config.rounds_dir.as_deref()).await);
    out.push(dir_check("bags_dir:write", config.bags_dir.as_deref()).await);
    out.extend(flags_checks(app).await);
    out.extend(model_checks(state).await);
    out.push(decoder_check(state));
    out
}

/// Whether FFmpeg's decoder libraries load, where videos are analysed. Without them zips, images
/// and range payloads still work, so a missing decoder is reported (video requests get 503
/// VIDEO_DECODER_UNAVAILABLE) without failing readiness.
fn decoder_check(state: &HealthState) -> Check {
    if state.models.is_none() {
        return Check::skipped("video_decoder", "this function does not decode video");
    }
    match avdecode::available() {
        Ok(()) => {
            Check::ok("video_decoder", format!("libavcodec 59 (H.264, HEVC) from {}", avdecode::lib_dir().display()))
        }
        Err(e) => {
            tracing::warn!(check = "video_decoder", error = %e, "video decoder unavailable");
            Check { name: "video_decoder".into(), status: "unavailable", detail: e.to_string() }
        }
    }
}

/// One check per model variant. The default variant (MODEL_VARIANT) is made as ready as this
/// process can make it (loaded where inference runs, checksum-verified in the health Lambda), so
/// ready means the first analysis will not fail on it; the others have their manifest and checksum
/// verified, and an unavailable one is reported without failing readiness (requests selecting it
/// get MODEL_UNAVAILABLE).
async fn model_checks(state: &HealthState) -> Vec<Check> {
    let Some(models) = state.models.clone() else {
        return vec![Check::skipped("models", "this function does not carry the model layer")];
    };
    let default = state.app.config.model_variant;
    // Each variant is looked at once: the default prepared, the others by their state (the
    // weights catalog hashes a model file for either, so asking both would hash it twice).
    let checks = move || -> Vec<Check> {
        ModelVariant::ALL
            .iter()
            .map(|&variant| {
                let name = format!("model:{variant}");
                if variant == default {
                    return match models.prepare(default) {
                        Ok(how) => Check::ok(&name, format!("default variant (MODEL_VARIANT) {how}")),
                        Err(e) => {
                            tracing::warn!(check = name.as_str(), error = %e, "readiness check failed");
                            Check::error(&name, "default variant (MODEL_VARIANT) cannot load; see the log")
                        }
                    };
                }
                let v = models.state(variant);
                if v.state == "unavailable" {
                    tracing::warn!(check = name.as_str(), detail = v.detail.as_str(), "model variant unavailable");
                    Check { name, status: "unavailable", detail: "weights missing or failing their checksum".into() }
                } else {
                    Check::ok(&name, v.state)
                }
            })
            .collect()
    };
    tokio::task::spawn_blocking(checks)
        .await
        .unwrap_or_else(|_| vec![Check::error("models", "model check did not complete")])
}

async fn ready(state: &HealthState) -> Response<Body> {
    let checks = checks(state).await;
    let healthy = checks.iter().all(|c| c.status != "error");
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json_response(status, &json!({"status": if healthy { "ok" } else { "error" }, "checks": checks}))
}

/// Writes, reads back and deletes a probe blob through the same store the runs use.
async fn run_store_check(state: &AppState) -> Check {
    const NAME: &str = "run_store:write";
    let Ok(key) = Key::parse(format!("_ready/probe-{}", uuid::Uuid::new_v4().simple())) else {
        return Check::error(NAME, "probe key rejected");
    };
    let payload = b"ready-probe";
    let result: Result<(), StorageError> = async {
        state.blobs.put(&key, payload).await?;
        let back = state.blobs.get(&key).await?;
        state.blobs.delete(&key).await?;
        if back.bytes != payload {
            return Err(StorageError::Backend("probe read back different bytes".into()));
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Check::ok(NAME, format!("{} backend writable", state.blobs.backend_name())),
        Err(e) => {
            tracing::warn!(check = NAME, error = %e, "readiness check failed");
            let detail = match e {
                StorageError::Full(_) => "run store is full (STORAGE_FULL): free space to recover",
                StorageError::Unavailable(_) => "run store is unavailable (STORAGE_UNAVAILABLE)",
                _ => "run store is not writable",
            };
            Check::error(NAME, detail)
        }
    }
}

/// Creates the directory if needed and writes and removes a probe file in it.
async fn dir_check(name: &str, dir: Option<&Path>) -> Check {
    let Some(dir) = dir else {
        return Check::skipped(name, "not configured");
    };
    let dir = dir.to_path_buf();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let probe = dir.join(format!(".ready-probe-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&probe, b"ok")?;
        std::fs::remove_file(&probe)
    })
    .await;
    match result {
        Ok(Ok(())) => Check::ok(name, "writable"),
        Ok(Err(e)) => {
            tracing::warn!(check = name, error = %e, "readiness check failed");
            Check::error(name, format!("not writable: {}", e.kind()))
        }
        Err(e) => Check::error(name, format!("check did not complete: {e}")),
    }
}

/// The flags config must parse when present (a missing one means defaults), and its store must take
/// writes (a PUT will), probed through the same flag store the handlers use.
async fn flags_checks(state: &AppState) -> Vec<Check> {
    let read = match state.flags.load().await {
        Ok(cfg) if cfg.meta.version == 0 => Check::ok("feature-flags:read", "no config stored: defaults apply"),
        Ok(cfg) => Check::ok("feature-flags:read", format!("config version {}", cfg.meta.version)),
        Err(FlagStoreError::Corrupt(reason)) => {
            tracing::warn!(check = "feature-flags:read", %reason, "readiness check failed");
            Check::error("feature-flags:read", "feature flag config is corrupt")
        }
        Err(e) => {
            tracing::warn!(check = "feature-flags:read", error = %e, "readiness check failed");
            Check::error("feature-flags:read", "feature flag config is unreadable")
        }
    };
    let write = match state.flags.probe_write().await {
        Ok(()) => Check::ok("feature-flags:write", "writable"),
        Err(e) => {
            tracing::warn!(check = "feature-flags:write", error = %e, "readiness check failed");
            Check::error("feature-flags:write", "feature flag store is not writable")
        }
    };
    vec![read, write]
}
