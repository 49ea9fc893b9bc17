//! The prune function: POST /runs/v1/prune (manual, with overrides and dry runs) and the scheduled
//! EventBridge prune (the same rule with the environment's retention settings).
//!
//! Both arrive through one Lambda binary: API Gateway events as HTTP requests, the EventBridge
//! "Scheduled Event" through lambda_http's pass-through (a request whose context is `PassThrough`
//! and whose body is the raw event). The dispatcher can never produce a pass-through request, so
//! the scheduled path is not reachable over HTTP.

pub mod reaper;
pub mod retention;

use common::error::{respond, ApiError, ErrorCode};
use common::http::{json_response, query_param};
use common::lambda_http::http::StatusCode;
use common::lambda_http::request::RequestContext;
use common::lambda_http::{Body, Request, RequestExt, Response};
use common::routing::{self, Matched};
use common::state::AppState;
use serde_json::{json, Value};

pub use reaper::{reap, Reaped};
pub use retention::{days_before, prune, Policy, Summary};

common::routes! {
    /// The retention rule now, with overrides or as a dry run.
    Prune => POST "/runs/v1/prune", ApiKey;
}

/// Serves one Lambda event (and the tests): the EventBridge schedule, or an HTTP request whose
/// route is found, then [`serve`]d.
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    if matches!(req.request_context_ref(), Some(RequestContext::PassThrough)) {
        return scheduled(state, &req).await;
    }
    routing::handle(&state.config, ROUTES, req, |req, matched| serve(state, req, matched)).await
}

/// Runs a matched route (the dispatcher calls this directly with its own match).
pub async fn serve(state: &AppState, req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    respond(match matched.endpoint {
        Endpoint::Prune => manual(state, &req).await,
    })
}

async fn manual(state: &AppState, req: &Request) -> Result<Response<Body>, ApiError> {
    if state.config.prune_locked() {
        return Err(ApiError::new(
            ErrorCode::PruneLocked,
            "pruning is locked on this deployment (RUNS_PRUNE_LOCKED or PROD_LOCK is set)",
        ));
    }
    let (policy, dry_run) = parse_request(state, req)?;
    let summary = prune(&state.runs, policy, common::runs::now(), dry_run).await?;
    tracing::info!(scanned = summary.scanned, deleted = summary.deleted, kept = summary.kept, dry_run, "manual prune");
    Ok(json_response(StatusCode::OK, &summary))
}

fn invalid(field: &str, got: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidPruneParameter, format!("{field} must be a non-negative integer, got {got}"))
}

/// The effective policy: query parameters win over the JSON body, which wins over the environment.
pub fn parse_request(state: &AppState, req: &Request) -> Result<(Policy, bool), ApiError> {
    let body: serde_json::Map<String, Value> = match req.body().as_ref() {
        b if b.iter().all(u8::is_ascii_whitespace) => serde_json::Map::new(),
        b => match serde_json::from_slice::<Value>(b) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(ApiError::new(ErrorCode::InvalidJson, "body must be a JSON object")),
            Err(e) => return Err(ApiError::new(ErrorCode::InvalidJson, format!("body is not valid JSON: {e}"))),
        },
    };
    if let Some(unknown) = body.keys().find(|k| !["max_runs", "max_age_days", "dry_run"].contains(&k.as_str())) {
        return Err(ApiError::new(
            ErrorCode::InvalidPruneParameter,
            format!("unknown field {unknown:?} (allowed: max_runs, max_age_days, dry_run)"),
        ));
    }
    let number = |field: &str, env: Option<u64>| -> Result<Option<u64>, ApiError> {
        if let Some(q) = query_param(req, field) {
            return q.trim().parse::<u64>().map(Some).map_err(|_| invalid(field, format!("{q:?}")));
        }
        match body.get(field) {
            None | Some(Value::Null) => Ok(env),
            Some(Value::Number(n)) => common::http::whole_number(n)
                .and_then(|v| u64::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| invalid(field, n)),
            Some(other) => Err(invalid(field, other)),
        }
    };
    let policy = Policy {
        max_runs: number("max_runs", state.config.runs_prune_max_runs)?,
        max_age_days: number("max_age_days", state.config.runs_prune_max_age_days)?,
    };
    let dry_run = match query_param(req, "dry_run") {
        Some(q) => match q.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" | "" => false,
            _ => {
                return Err(ApiError::new(
                    ErrorCode::InvalidPruneParameter,
                    format!("dry_run must be true or false, got {q:?}"),
                ))
            }
        },
        None => match body.get("dry_run") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidPruneParameter,
                    format!("dry_run must be true or false, got {other}"),
                ))
            }
        },
    };
    Ok((policy, dry_run))
}

/// The EventBridge schedule: the environment's retention settings, no overrides, summary logged.
async fn scheduled(state: &AppState, req: &Request) -> Response<Body> {
    let event: Value = serde_json::from_slice(req.body().as_ref()).unwrap_or(Value::Null);
    let detail_type = event["detail-type"].as_str().unwrap_or("");
    if event["source"] != "aws.events" || detail_type != "Scheduled Event" {
        tracing::warn!(detail_type, "ignoring a non-HTTP event that is not an EventBridge schedule");
        return ApiError::new(ErrorCode::UnsupportedEvent, "only EventBridge scheduled events are handled")
            .into_response();
    }
    tracing::info!(event_time = event["time"].as_str(), "EventBridge schedule");
    if let Err(e) = reap_abandoned(state).await {
        tracing::error!(error = %e, "reaper pass failed");
    }
    match retention_run(state).await {
        Ok(Some(s)) => json_response(StatusCode::OK, &s),
        Ok(None) => json_response(StatusCode::OK, &json!({"skipped": "locked"})),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// One reaper pass over the deployment's store (runs nobody will finish end `failed`), logged.
/// The scheduled prune, the dispatcher's start and its timer run it; pruning locks do not stop it
/// (it deletes nothing).
pub async fn reap_abandoned(state: &AppState) -> Result<Reaped, common::run_store::RunStoreError> {
    // A request waits at most the queue timeout for a slot; one lease more is the margin.
    let wait = chrono::Duration::milliseconds(
        i64::try_from(state.config.analyze.inference_queue_timeout_ms).unwrap_or(30_000),
    ) + chrono::Duration::seconds(i64::try_from(state.config.run_lease_seconds).unwrap_or(120));
    let reaped = reap(&state.runs, common::runs::now(), wait).await?;
    if reaped.abandoned > 0 {
        tracing::warn!(examined = reaped.examined, abandoned = reaped.abandoned, "reaper ended abandoned runs");
    }
    Ok(reaped)
}

/// One scheduled application of the environment's retention settings (RUNS_PRUNE_MAX_RUNS,
/// RUNS_PRUNE_MAX_AGE_DAYS), then the upload sweep (uploads older than RUNS_TTL_DAYS), logged;
/// `None` when pruning is locked (RUNS_PRUNE_LOCKED, PROD_LOCK: a locked deployment deletes
/// nothing on a schedule). The EventBridge schedule on Lambda and the dispatcher's own timer
/// (RUNS_PRUNE_INTERVAL_MINUTES) both run this.
pub async fn retention_run(state: &AppState) -> Result<Option<Summary>, common::run_store::RunStoreError> {
    if state.config.prune_locked() {
        tracing::info!("scheduled prune skipped: pruning is locked");
        return Ok(None);
    }
    let policy =
        Policy { max_runs: state.config.runs_prune_max_runs, max_age_days: state.config.runs_prune_max_age_days };
    let now = common::runs::now();
    let mut s = prune(&state.runs, policy, now, false).await?;
    let ttl_days = state.config.runs_ttl_days;
    if ttl_days > 0 {
        s.uploads_deleted = Some(match retention::days_before(now, ttl_days) {
            Some(cutoff) => state.uploads.sweep(cutoff).await?,
            None => 0,
        });
    }
    tracing::info!(
        scanned = s.scanned,
        deleted = s.deleted,
        kept = s.kept,
        uploads_deleted = s.uploads_deleted,
        max_runs = policy.max_runs,
        max_age_days = policy.max_age_days,
        ttl_days,
        "scheduled prune"
    );
    Ok(Some(s))
}
