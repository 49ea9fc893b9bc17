//! The analyze function: POST /cv/analyze (frames zip or one image), POST /cv/analyze/video (MP4)
//! and POST /range/practice/analyze (JSON with a base64 frames zip). Every call is a persisted run
//! that ends succeeded or failed, never left in processing.
//!
//! # Layout
//! - this file: the HTTP edge (routes, the engine the handlers share, `handle`).
//! - [`request`]: parsing and validating each endpoint's input (no I/O).
//! - [`variant`]: which model variant, and who chose it.
//! - [`run`]: a run's life: created, queued at the [`gate`], analysed, finished succeeded or failed.
//! - [`jobs`]: asynchronous requests (`Prefer: respond-async`): the job queues and their worker.
//! - [`response`]: the run's stored summary and each endpoint's response body.
//! - [`source`]: frames by index from an image, a zip ([`frames`]) or a video ([`video`]).
//! - [`flow`]: one analysis over a frame source and a detector: the launch search ([`scan`]), the
//!   dense pass, the native crops ([`refine`]), the shot ([`pipeline`]), quality and preview.
//!
//! The handler is thin: parse, create the run, hand the rest to a task that always finishes it.

pub mod flow;
pub mod frames;
pub mod gate;
pub mod jobs;
pub mod pipeline;
pub mod refine;
pub mod request;
pub mod response;
pub mod run;
pub mod scan;
pub mod source;
pub mod variant;
pub mod video;

use std::sync::Arc;
use std::time::Duration;

use common::auth::Guard;
use common::config::Config;
use common::error::respond;
use common::error::ApiError;
use common::lambda_http::http::Method;
use common::lambda_http::{Body, Request, Response};
use common::routing::{self, find_route, Matched, Route};
use common::state::AppState;
use models::{ModelRegistry, SessionOptions, Thresholds};

use crate::frames::ZipLimits;
use crate::gate::InferenceGate;

/// What each route of this function runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /cv/analyze`: a zip of frames (or a single image).
    Frames,
    /// `POST /cv/analyze/video`: an MP4/MOV clip.
    Video,
    /// `POST /range/practice/analyze`: a range session's frames as JSON.
    Range,
}

/// The routes this function serves.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::POST, "/cv/analyze", Guard::ApiKey, Endpoint::Frames),
    Route::new(Method::POST, "/cv/analyze/video", Guard::ApiKey, Endpoint::Video),
    Route::new(Method::POST, "/range/practice/analyze", Guard::ApiKey, Endpoint::Range),
];

/// The name of a run's preview artifact (GET /runs/v1/{run_id}/preview.png serves it).
pub const PREVIEW_ARTIFACT: &str = "preview.png";

/// What the analyze handlers share across requests: the detectors and the inference gate.
#[derive(Debug)]
pub struct Engine {
    registry: Arc<ModelRegistry>,
    gate: InferenceGate,
    zip_limits: ZipLimits,
    max_video_bytes: u64,
    max_video_frames: usize,
    max_detector_calls: usize,
}

impl Engine {
    /// An engine over `registry` with the limits and queue of `config`.
    pub fn new(config: &Config, registry: Arc<ModelRegistry>) -> Self {
        let a = &config.analyze;
        Engine {
            registry,
            gate: InferenceGate::new(
                a.inference_concurrency as usize,
                a.inference_queue_depth as usize,
                Duration::from_millis(a.inference_queue_timeout_ms),
            ),
            zip_limits: ZipLimits { max_zip_bytes: a.max_zip_bytes as usize, ..ZipLimits::default() },
            max_video_bytes: a.max_video_bytes,
            max_video_frames: a.max_video_frames as usize,
            max_detector_calls: a.max_detector_calls as usize,
        }
    }

    /// The detectors.
    pub fn registry(&self) -> &Arc<ModelRegistry> {
        &self.registry
    }

    /// The inference gate.
    pub fn gate(&self) -> &InferenceGate {
        &self.gate
    }
}

/// The model registry `config` names: MODELS_DIR, else the default weights root; sessions sized
/// from the cores (one intra-op thread each: measured fastest under load, models/README.md).
pub fn registry_for(config: &Config) -> ModelRegistry {
    let root = config.models_dir.clone().unwrap_or_else(ModelRegistry::default_root);
    ModelRegistry::new(root, SessionOptions::default(), Thresholds::default())
}

/// Installs the model registry (unless one is there) and the analyze engine into `state`; the
/// dispatcher and the analyze Lambda call it once at start-up, and /ready reads the same registry.
pub fn install(state: AppState) -> AppState {
    if state.extensions.get::<Arc<Engine>>().is_some() {
        return state;
    }
    let registry =
        state.extensions.get::<Arc<ModelRegistry>>().cloned().unwrap_or_else(|| Arc::new(registry_for(&state.config)));
    let engine = Arc::new(Engine::new(&state.config, registry.clone()));
    let state = state.with_extension(registry).with_extension(engine);
    if state.extensions.get::<jobs::InstalledQueue>().is_some() {
        return state;
    }
    match jobs::queue_for(&state.config, common::bootstrap::on_lambda()) {
        Some(queue) => state.with_extension(queue),
        None => state,
    }
}

/// Serves one request (the Lambda entry and the tests): finds its route, then [`serve`].
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    routing::handle(&state.config, ROUTES, req, |req, matched| serve(state, req, matched)).await
}

/// Runs a matched route (the dispatcher calls this directly with its own match).
pub async fn serve(state: &AppState, req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    respond(analyze(state, req, matched.endpoint).await)
}

async fn analyze(state: &AppState, req: Request, endpoint: Endpoint) -> Result<Response<Body>, ApiError> {
    let engine = state
        .extensions
        .get::<Arc<Engine>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("analyze engine not installed: call analyze::install at start-up"))?;
    // An asynchronous request keeps a copy of itself for its worker (where a queue exists).
    let ask = jobs::async_ask(&req);
    let queued = match state.extensions.get::<jobs::InstalledQueue>() {
        Some(q) if ask != jobs::AsyncAsk::No => {
            Some((q.queue.clone(), jobs::StoredRequest::of(&req), ask == jobs::AsyncAsk::Prefer))
        }
        _ => None,
    };
    let parsed = parse(&req, endpoint).await;
    // The payload now lives in `parsed`; free the request's copy before analysing.
    drop(req);
    run::execute(state.clone(), engine, parsed, queued).await
}

/// Parses a request as its endpoint takes it.
pub(crate) async fn parse(req: &Request, endpoint: Endpoint) -> request::Parsed {
    match endpoint {
        Endpoint::Frames => request::parse_frames(req).await,
        Endpoint::Video => request::parse_video(req).await,
        Endpoint::Range => request::parse_range(req),
    }
}

/// The endpoint a stored request was sent to (the queue worker parses it again as that one).
pub(crate) fn endpoint_of(req: &Request) -> Result<Endpoint, ApiError> {
    find_route(ROUTES, req.method(), req.uri().path()).map(|(route, _)| route.endpoint)
}
