//! The analyze function: POST /cv/analyze (frames zip or one image), POST /cv/analyze/video (MP4)
//! and POST /range/practice/analyze (JSON with a base64 frames zip). Every call is a persisted run
//! that ends succeeded or failed, never left in processing.
//!
//! # Layout
//! - this file: the HTTP edge (routes, the state the handlers share, `handle`).
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
pub mod motion;
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

use common::config::Config;
use common::error::respond;
use common::error::ApiError;
use common::lambda_http::{Body, Request, Response};
use common::routing::{self, find_route, Matched};
use common::state::AppState;
use models::{ModelRegistry, SessionOptions, Thresholds};

use crate::frames::ZipLimits;
use crate::gate::InferenceGate;

common::routes! {
    /// A zip of frames (or a single image).
    Frames => POST "/cv/analyze", ApiKey;
    /// An MP4/MOV clip.
    Video => POST "/cv/analyze/video", ApiKey;
    /// A range session's frames as JSON.
    Range => POST "/range/practice/analyze", ApiKey;
}

pub use common::runs::{PREVIEW_ARTIFACT, TRACER_ARTIFACT};
pub use tracer;

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
/// from the cores (one intra-op thread each: measured fastest under load, docs/PERFORMANCE.md "Detector per-frame latency").
pub fn registry_for(config: &Config) -> ModelRegistry {
    let root = config.models_dir.clone().unwrap_or_else(models::default_root);
    ModelRegistry::new(root, SessionOptions::default(), Thresholds::default())
}

/// What the analyze handlers and the queue workers share, built once at start-up (cold start,
/// dispatcher start): the stores, the engine, and the job queue where asynchronous answers are
/// offered.
#[derive(Debug, Clone)]
pub struct AnalyzeState {
    /// Configuration and the stores.
    pub app: AppState,
    /// The detectors, the inference gate and the input limits.
    pub engine: Arc<Engine>,
    /// Where `Prefer: respond-async` runs wait; `None` where they are not offered (a Lambda
    /// function without ANALYZE_QUEUE_URL).
    pub queue: Option<jobs::InstalledQueue>,
}

impl AnalyzeState {
    /// The state `app.config` describes: the registry under MODELS_DIR (each variant loads on
    /// first use), the engine's limits and queue, and the job queue the deployment offers.
    pub fn new(app: AppState) -> Self {
        let registry = Arc::new(registry_for(&app.config));
        let engine = Arc::new(Engine::new(&app.config, registry));
        let queue = jobs::queue_for(&app.config, common::bootstrap::on_lambda());
        AnalyzeState { app, engine, queue }
    }

    /// The same state with another job queue (tests give an SQS queue with their own client).
    pub fn with_queue(self, queue: jobs::InstalledQueue) -> Self {
        AnalyzeState { queue: Some(queue), ..self }
    }
}

/// Serves one request (the Lambda entry and the tests): finds its route, then [`serve`].
pub async fn handle(state: &AnalyzeState, req: Request) -> Response<Body> {
    routing::handle(&state.app.config, ROUTES, req, |req, matched| serve(state, req, matched)).await
}

/// Runs a matched route (the dispatcher calls this directly with its own match).
pub async fn serve(state: &AnalyzeState, req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    respond(analyze(state, req, matched.endpoint).await)
}

async fn analyze(state: &AnalyzeState, req: Request, endpoint: Endpoint) -> Result<Response<Body>, ApiError> {
    // An asynchronous request keeps a copy of itself for its worker (where a queue exists).
    let ask = jobs::async_ask(&req);
    let queued = match &state.queue {
        Some(q) if ask != jobs::AsyncAsk::No => {
            Some((q.queue.clone(), jobs::StoredRequest::of(&req), ask == jobs::AsyncAsk::Prefer))
        }
        _ => None,
    };
    let parsed = parse(&req, endpoint).await;
    // The payload now lives in `parsed`; free the request's copy before analysing.
    drop(req);
    run::execute(state, parsed, queued).await
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
