//! The flags function: the admin config (GET/PUT /api/admin/feature-flags/config, with ETag and
//! If-Match), one user in or out of a flag's allowlist (POST .../{flag}/allowlist:add|remove), the
//! audit log, and public per-user evaluation (GET /api/feature-flags). Answers show every flag with
//! every field, the environment's fallbacks included (`FlagsConfig::effective`).

use common::auth::ADMIN_IDENTITY;
use common::error::respond;
use common::error::{ApiError, ErrorCode};
use common::flag_store::{etag, FlagStoreError};
use common::flags::{evaluate_all, FlagsConfig};
use common::http::{header, json_response, query_param};
use common::lambda_http::http::{HeaderValue, StatusCode};
use common::lambda_http::{Body, Request, Response};
use common::routing::{self, Matched};
use common::state::AppState;
use serde_json::{json, Value};

common::routes! {
    /// The config in effect.
    GetConfig => GET "/api/admin/feature-flags/config", Admin;
    /// Merge an update.
    PutConfig => PUT "/api/admin/feature-flags/config", Admin;
    /// Adds users to a flag's allowlist.
    AllowlistAdd => POST "/api/admin/feature-flags/{flag}/allowlist:add", Admin;
    /// Removes users from a flag's allowlist.
    AllowlistRemove => POST "/api/admin/feature-flags/{flag}/allowlist:remove", Admin;
    /// The change log.
    Audit => GET "/api/admin/feature-flags/audit", Admin;
    /// Every flag evaluated for the caller.
    Evaluate => GET "/api/feature-flags", ApiKey;
}

/// Audit entries returned when `limit` is absent.
pub const DEFAULT_AUDIT_LIMIT: usize = 50;
/// Most audit entries one call returns.
pub const MAX_AUDIT_LIMIT: usize = 500;

/// Serves one request (the Lambda entry and the tests): finds its route, then [`serve`].
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    routing::handle(&state.config, ROUTES, req, |req, matched| serve(state, req, matched)).await
}

/// Runs a matched route (the dispatcher calls this directly with its own match).
pub async fn serve(state: &AppState, req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    respond(match matched.endpoint {
        Endpoint::GetConfig => state.flags.effective().await.map(|c| config_response(&c)).map_err(ApiError::from),
        Endpoint::PutConfig => put_config(state, &req).await,
        Endpoint::AllowlistAdd => allowlist(state, &req, matched.param("flag"), true).await,
        Endpoint::AllowlistRemove => allowlist(state, &req, matched.param("flag"), false).await,
        Endpoint::Audit => audit(state, &req).await,
        Endpoint::Evaluate => public(state, &req).await,
    })
}

/// Adds `userId` to `flag`'s allowlist, or removes it, as one audited config change. The list
/// changed is the one in effect (the file's, else the environment's), so the environment's users
/// are kept; adding a user already there, or removing one who is not, changes nothing.
async fn allowlist(state: &AppState, req: &Request, flag: &str, add: bool) -> Result<Response<Body>, ApiError> {
    let body: Value = serde_json::from_slice(req.body().as_ref())
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body is not valid JSON: {e}")))?;
    let user = body
        .get("userId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidFlagsConfig, "body must be {\"userId\": \"<non-empty string>\"}")
        })?
        .to_string();
    let by = admin_identity(req);
    // Adding a user already there, or removing one who is not (from a flag that may not even
    // exist), writes nothing: no new version, no audit entry, no flag created by a remove.
    let effective = state.flags.effective().await?;
    let listed = effective.flags.get(flag).and_then(|f| f.allowlist.as_ref()).is_some_and(|l| l.contains(&user));
    if listed == add {
        return Ok(config_response(&effective));
    }
    let cfg = state
        .flags
        .update_with(&by, header(req, "if-match"), false, |current| {
            let mut list = current.flags.get(flag).and_then(|f| f.allowlist.clone()).unwrap_or_default();
            match (add, list.iter().position(|u| *u == user)) {
                (true, None) => list.push(user.clone()),
                (false, Some(at)) => {
                    list.remove(at);
                }
                _ => {}
            }
            Ok::<_, FlagStoreError>(json!({ flag: {"allowlist": list} }))
        })
        .await?;
    tracing::info!(flag, add, version = cfg.meta.version, by = by.as_str(), "feature flag allowlist changed");
    Ok(config_response(&state.flags.effective_of(&cfg)))
}

fn config_response(cfg: &FlagsConfig) -> Response<Body> {
    let mut resp = json_response(StatusCode::OK, &cfg.to_json());
    if let Ok(v) = HeaderValue::from_str(&etag(cfg.meta.version)) {
        resp.headers_mut().insert("etag", v);
    }
    resp
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
    Ok(config_response(&state.flags.effective_of(&cfg)))
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
    let cfg = state.flags.effective().await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"version": cfg.meta.version, "user": user, "flags": evaluate_all(&cfg, user)}),
    ))
}
