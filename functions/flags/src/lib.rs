//! The flags function: the admin config (GET/PUT /api/admin/feature-flags/config, with ETag and
//! If-Match), its audit log, and public per-user evaluation (GET /api/feature-flags).

use common::auth::{Guard, ADMIN_IDENTITY};
use common::error::{ApiError, ErrorCode};
use common::flag_store::etag;
use common::flags::{evaluate_all, FlagsConfig};
use common::http::{json_response, query_param, respond, route_request, Route};
use common::lambda_http::http::{HeaderValue, Method, StatusCode};
use common::lambda_http::{Body, Request, Response};
use common::state::AppState;
use serde_json::{json, Value};

const CONFIG: &str = "/api/admin/feature-flags/config";
const AUDIT: &str = "/api/admin/feature-flags/audit";
const PUBLIC: &str = "/api/feature-flags";

/// The routes this function serves.
pub const ROUTES: &[Route] = &[
    Route::new(Method::GET, CONFIG, Guard::Admin),
    Route::new(Method::PUT, CONFIG, Guard::Admin),
    Route::new(Method::GET, AUDIT, Guard::Admin),
    Route::new(Method::GET, PUBLIC, Guard::ApiKey),
];

/// Audit entries returned when `limit` is absent.
pub const DEFAULT_AUDIT_LIMIT: usize = 50;
/// Most audit entries one call returns.
pub const MAX_AUDIT_LIMIT: usize = 500;

/// Serves one request (Lambda, dispatcher and tests all call this).
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    respond(route(state, &req).await)
}

async fn route(state: &AppState, req: &Request) -> Result<Response<Body>, ApiError> {
    let (route, _) = route_request(&state.config, ROUTES, req)?;
    match (route.method.clone(), route.path) {
        (Method::GET, CONFIG) => Ok(config_response(&state.flags.load().await?)),
        (Method::PUT, CONFIG) => put_config(state, req).await,
        (Method::GET, AUDIT) => audit(state, req).await,
        _ => public(state, req).await,
    }
}

fn config_response(cfg: &FlagsConfig) -> Response<Body> {
    let mut resp = json_response(StatusCode::OK, &cfg.to_json());
    if let Ok(v) = HeaderValue::from_str(&etag(cfg.meta.version)) {
        resp.headers_mut().insert("etag", v);
    }
    resp
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// Who made an admin change: `x-admin-user` when it is a plain identity, else `admin`. Never the
/// token (the reference server wrote the token into the config file).
fn admin_identity(req: &Request) -> String {
    header(req, "x-admin-user")
        .filter(|u| u.len() <= 64 && u.chars().all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c)))
        .unwrap_or(ADMIN_IDENTITY)
        .to_string()
}

async fn put_config(state: &AppState, req: &Request) -> Result<Response<Body>, ApiError> {
    let body: Value = serde_json::from_slice(req.body().as_ref())
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body is not valid JSON: {e}")))?;
    let force = query_param(req, "force").is_some_and(|f| f == "true" || f == "1");
    let by = admin_identity(req);
    let cfg = state.flags.update(&body, &by, header(req, "if-match"), force).await?;
    tracing::info!(version = cfg.meta.version, by = by.as_str(), "feature flag config updated");
    Ok(config_response(&cfg))
}

async fn audit(state: &AppState, req: &Request) -> Result<Response<Body>, ApiError> {
    let limit = match query_param(req, "limit") {
        None => DEFAULT_AUDIT_LIMIT,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n.min(MAX_AUDIT_LIMIT),
            _ => {
                return Err(ApiError::new(
                    ErrorCode::InvalidLimit,
                    format!("limit {v:?} must be an integer from 1 to {MAX_AUDIT_LIMIT}"),
                ))
            }
        },
    };
    let entries = state.flags.audit(limit).await?;
    Ok(json_response(StatusCode::OK, &json!({"items": entries})))
}

async fn public(state: &AppState, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = header(req, "x-user-id").unwrap_or("anonymous");
    let cfg = state.flags.load().await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"version": cfg.meta.version, "user": user, "flags": evaluate_all(&cfg, user)}),
    ))
}
