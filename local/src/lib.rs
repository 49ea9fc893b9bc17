//! The local dispatcher: one HTTP server that serves every function's routes from one route table,
//! calling the very `handle` functions the Lambda binaries call.
//!
//! Each request becomes the `lambda_http::Request` API Gateway would send (query parameters with
//! repeated keys, path parameters, text or binary body), goes to the owning function's `handle`, and
//! its response goes back unchanged. Unknown paths get 404 JSON, wrong methods 405 JSON, bodies over
//! MAX_BODY_BYTES 413 JSON.
//!
//! The runs dashboard ([`dashboard`]) and `GET /metrics` ([`metrics`]) are groups of their own that
//! only the dispatcher serves.

pub mod dashboard;
pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body as AxumBody;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, Request as HttpRequest};
use axum::response::Response as AxumResponse;
use common::error::{ApiError, ErrorCode};
use common::http::{build_request, log_request, with_source_ip};
use common::lambda_http::{Body, Request, RequestExt, Response};
use common::routing::{self, route_request, Matched, Route};
use common::state::AppState;

/// The function groups the dispatcher routes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// functions/analyze
    Analyze,
    /// functions/runs
    Runs,
    /// functions/health
    Health,
    /// functions/prune
    Prune,
    /// functions/flags
    Flags,
    /// functions/live
    Live,
    /// The runs dashboard (local/src/dashboard.rs), served by the dispatcher only.
    Dashboard,
    /// Prometheus metrics (local/src/metrics.rs), served by the dispatcher only.
    Metrics,
}

impl Group {
    /// Every group.
    pub const ALL: &'static [Group] = &[
        Group::Analyze,
        Group::Runs,
        Group::Health,
        Group::Prune,
        Group::Flags,
        Group::Live,
        Group::Dashboard,
        Group::Metrics,
    ];

    /// The routes the group's crate declares.
    pub fn routes(self) -> Vec<Route<Endpoint>> {
        route_table().into_iter().filter(|r| r.endpoint.group() == self).collect()
    }

    /// The crate, binary, SAM resource stem and Makefile target name.
    pub fn name(self) -> &'static str {
        match self {
            Group::Analyze => "analyze",
            Group::Runs => "runs",
            Group::Health => "health",
            Group::Prune => "prune",
            Group::Flags => "flags",
            Group::Live => "live",
            Group::Dashboard => "dashboard",
            Group::Metrics => "metrics",
        }
    }

    /// Whether a Lambda function serves the group (and `template.yaml` lists its routes); the
    /// dashboard and the metrics are served by the dispatcher only.
    pub fn on_lambda(self) -> bool {
        !matches!(self, Group::Dashboard | Group::Metrics)
    }

    /// Serves a request as the group's Lambda function would (the tests that drive Lambda
    /// fixtures): the group's own `handle`, which matches the crate's table itself. The dashboard
    /// and the metrics have no Lambda: they are matched in the group's routes here.
    pub async fn handle(self, services: &Services, req: Request) -> Response<Body> {
        let app = &services.app;
        match self {
            Group::Analyze => analyze::handle(&services.analyze, req).await,
            Group::Runs => runs::handle(app, req).await,
            Group::Health => health::handle(&services.health, req).await,
            Group::Prune => prune::handle(app, req).await,
            Group::Flags => flags::handle(app, req).await,
            Group::Live => live::handle(app, req).await,
            Group::Dashboard | Group::Metrics => {
                routing::handle(&app.config, &self.routes(), req, |req, matched| serve(services, req, matched)).await
            }
        }
    }
}

/// Every route the dispatcher serves, by owner: each crate's endpoint wrapped in its group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// functions/analyze
    Analyze(analyze::Endpoint),
    /// functions/runs
    Runs(runs::Endpoint),
    /// functions/health
    Health(health::Endpoint),
    /// functions/prune
    Prune(prune::Endpoint),
    /// functions/flags
    Flags(flags::Endpoint),
    /// functions/live
    Live(live::Endpoint),
    /// The runs dashboard.
    Dashboard(dashboard::Endpoint),
    /// Prometheus metrics.
    Metrics(metrics::Endpoint),
}

impl Endpoint {
    /// The group that owns it.
    pub fn group(self) -> Group {
        match self {
            Endpoint::Analyze(_) => Group::Analyze,
            Endpoint::Runs(_) => Group::Runs,
            Endpoint::Health(_) => Group::Health,
            Endpoint::Prune(_) => Group::Prune,
            Endpoint::Flags(_) => Group::Flags,
            Endpoint::Live(_) => Group::Live,
            Endpoint::Dashboard(_) => Group::Dashboard,
            Endpoint::Metrics(_) => Group::Metrics,
        }
    }
}

/// The route table: every route of every group, each crate's table with its endpoints wrapped.
pub fn route_table() -> Vec<Route<Endpoint>> {
    fn wrap<E: Copy>(routes: &[Route<E>], owner: fn(E) -> Endpoint) -> impl Iterator<Item = Route<Endpoint>> + '_ {
        routes.iter().map(move |r| r.map(owner))
    }
    wrap(analyze::ROUTES, Endpoint::Analyze)
        .chain(wrap(runs::ROUTES, Endpoint::Runs))
        .chain(wrap(health::ROUTES, Endpoint::Health))
        .chain(wrap(prune::ROUTES, Endpoint::Prune))
        .chain(wrap(flags::ROUTES, Endpoint::Flags))
        .chain(wrap(live::ROUTES, Endpoint::Live))
        .chain(wrap(dashboard::ROUTES, Endpoint::Dashboard))
        .chain(wrap(metrics::ROUTES, Endpoint::Metrics))
        .collect()
}

/// Runs a matched route: the owning crate's `serve` with its own state, and the endpoint and path
/// parameters the dispatcher's one match found (the crate does not match again).
pub async fn serve(services: &Services, req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    let Matched { endpoint, template, params } = matched;
    let app = &services.app;
    macro_rules! to {
        ($krate:ident, $state:expr, $e:expr) => {
            $krate::serve($state, req, Matched { endpoint: $e, template, params })
        };
    }
    match endpoint {
        Endpoint::Analyze(e) => to!(analyze, &services.analyze, e).await,
        Endpoint::Runs(e) => to!(runs, app, e).await,
        Endpoint::Health(e) => to!(health, &services.health, e).await,
        Endpoint::Prune(e) => to!(prune, app, e).await,
        Endpoint::Flags(e) => to!(flags, app, e).await,
        Endpoint::Live(e) => to!(live, app, e).await,
        Endpoint::Dashboard(e) => to!(dashboard, app, e),
        Endpoint::Metrics(e) => to!(metrics, &services.analyze, e).await,
    }
}

/// Every function's state in one process, built once at start-up: the shared stores, and the
/// typed states of the functions that need more (they share one model registry, so /ready loads
/// the very detector the first analysis uses).
#[derive(Debug, Clone)]
pub struct Services {
    /// Configuration and the stores (runs, prune, flags, live, the dashboard).
    pub app: AppState,
    /// The analyze function's engine and job queue (also read by /metrics).
    pub analyze: analyze::AnalyzeState,
    /// The health function's view of the weights: the analyze engine's registry.
    pub health: health::HealthState,
}

impl Services {
    /// The services `app.config` describes (the registry loads each variant lazily, on first use).
    pub fn new(app: AppState) -> Self {
        Self::with_analyze(analyze::AnalyzeState::new(app))
    }

    /// The services around a given analyze state (tests give one with their own job queue).
    pub fn with_analyze(analyze: analyze::AnalyzeState) -> Self {
        let health = health::HealthState::new(analyze.app.clone()).with_models(analyze.engine.registry().clone());
        Services { app: analyze.app.clone(), analyze, health }
    }
}

struct Dispatcher {
    services: Services,
    routes: Vec<Route<Endpoint>>,
}

/// Serves on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: tokio::net::TcpListener,
    services: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = &services.app;
    metrics::install();
    legacy_import(state).await;
    recover(&services).await;
    tokio::spawn(reaper_timer(state.clone()));
    if let Some(sqs) = services.analyze.queue.as_ref().and_then(|q| q.sqs.clone()) {
        // With ANALYZE_QUEUE_URL the dispatcher submits to SQS and consumes it too; several
        // dispatchers on one queue share the work.
        tokio::spawn(analyze::jobs::poll_sqs(services.analyze.clone(), sqs));
    }
    if let Some(minutes) = state.config.runs_prune_interval_minutes {
        let every =
            std::time::Duration::try_from_secs_f64(minutes * 60.0).unwrap_or(std::time::Duration::from_secs(86_400));
        tokio::spawn(retention_timer(state.clone(), every));
    }
    let routes = route_table();
    let cors = common::http::cors_layer(&state.config);
    let app = axum::Router::new().fallback(dispatch).with_state(Arc::new(Dispatcher { services, routes })).layer(cors);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Runs the original server left in RUN_STORE_DIR (`<id>/run.json`): imported before serving when
/// RUN_STORE_IMPORT_LEGACY is on, so the first listing already shows them; otherwise only counted,
/// with a warning that says how to import them. Never fatal: the server starts either way.
async fn legacy_import(state: &AppState) {
    let dir = state.config.run_store_dir.clone();
    if !state.config.run_store_import_legacy {
        let found = tokio::task::spawn_blocking(move || common::legacy_runs::find(&dir).map(|f| f.len()))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        if found > 0 {
            tracing::warn!(
                found,
                dir = %state.config.run_store_dir.display(),
                "runs written by the original server are not imported: set RUN_STORE_IMPORT_LEGACY=1 or run \
                 golfiq-admin runs import"
            );
        }
        return;
    }
    match common::legacy_runs::import_dir(&state.runs, &dir).await {
        Ok(report) => {
            for skipped in &report.skipped {
                tracing::warn!(source = %skipped.source, reason = %skipped.reason, "original run not imported");
            }
            tracing::info!(
                dir = %dir.display(),
                found = report.found,
                imported = report.imported,
                already_imported = report.already_imported,
                skipped = report.skipped.len(),
                "imported the original server's runs (RUN_STORE_IMPORT_LEGACY)"
            );
        }
        Err(e) => tracing::error!(error = %e, dir = %dir.display(), "importing the original server's runs failed"),
    }
}

/// After a crash: ends the runs the previous life left that nobody will finish, and puts its
/// queued asynchronous runs back into the in-process queue. Never fatal.
async fn recover(services: &Services) {
    if let Err(e) = prune::reap_abandoned(&services.app).await {
        tracing::error!(error = %e, "reaper pass at start-up failed");
    }
    // In the background: more runs than the queue holds wait for room as it drains.
    let state = services.analyze.clone();
    tokio::spawn(async move {
        match analyze::jobs::resubmit_stored(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(resubmitted = n, "queued runs of the previous process resubmitted"),
            Err(e) => tracing::error!(error = %e, "resubmitting queued runs failed"),
        }
    });
}

/// The reaper every half lease (at least every 500 ms): a run whose process died is ended soon
/// after its lease passes.
async fn reaper_timer(state: AppState) {
    let every = std::time::Duration::from_millis(state.config.run_lease_seconds.saturating_mul(500))
        .max(std::time::Duration::from_millis(500));
    repeat(every, "reaper pass", || prune::reap_abandoned(&state)).await
}

/// The container's stand-in for the Lambda's nightly EventBridge schedule: the retention rule
/// every `every`, first after one interval (a restart loop must not prune on every start).
async fn retention_timer(state: AppState, every: std::time::Duration) {
    tracing::info!(every_s = every.as_secs(), "retention schedule on (RUNS_PRUNE_INTERVAL_MINUTES)");
    repeat(every, "scheduled prune", || prune::retention_run(&state)).await
}

/// Runs `pass` every `every`, first after one interval; a failed pass is logged and the next
/// interval tries again. Stops with the process.
async fn repeat<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    every: std::time::Duration,
    what: &'static str,
    mut pass: impl FnMut() -> F,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = pass().await {
            tracing::warn!(error = %e, what, "failed; trying again next interval");
        }
    }
}

/// Resolves on SIGTERM (containers, Lambda-like runtimes) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}

async fn dispatch(State(d): State<Arc<Dispatcher>>, req: HttpRequest<AxumBody>) -> AxumResponse {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let (method, path) = (parts.method.clone(), parts.uri.path().to_string());
    let mut route_label = "unmatched";
    let resp = match read_body(&d.services.app, &parts.headers, body).await {
        Err(e) => e.into_response(),
        Ok(bytes) => {
            let mut lreq = build_request(parts.method, parts.uri, parts.headers, bytes);
            if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
                lreq = with_source_ip(lreq, peer.ip());
            }
            match route_request(&d.services.app.config, &d.routes, &lreq) {
                Err(e) => e.into_response(),
                Ok(matched) => {
                    route_label = matched.template;
                    let lreq = lreq.with_path_parameters(matched.params.clone());
                    serve(&d.services, lreq, matched).await
                }
            }
        }
    };
    log_request(&method, &path, route_label, &resp, started.elapsed());
    to_axum(resp)
}

async fn read_body(state: &AppState, headers: &axum::http::HeaderMap, body: AxumBody) -> Result<Vec<u8>, ApiError> {
    let limit = state.config.max_body_bytes;
    let too_large = || ApiError::new(ErrorCode::PayloadTooLarge, format!("request body exceeds {limit} bytes"));
    let declared = headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, limit).await.map(|b| b.to_vec()).map_err(|_| too_large())
}

fn to_axum(resp: Response<Body>) -> AxumResponse {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(s) => s.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let mut out = AxumResponse::from_parts(parts, AxumBody::from(bytes));
    out.headers_mut().entry("server").or_insert(HeaderValue::from_static("golfiq-dispatcher"));
    out
}
