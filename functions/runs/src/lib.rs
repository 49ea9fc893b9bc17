//! The runs function: GET /runs/v1 (newest-first listing with filters and cursors) and
//! GET /runs/v1/{run_id}, the run's preview (the tracer still, as JPEG or PNG) and tracer clip, and
//! upload tickets for files too large to send through Lambda (POST /runs/v1/uploads;
//! PUT /runs/v1/uploads/{upload_key} stores the bytes where no presigned S3 URL is available).

use chrono::{DateTime, NaiveDate, Utc};
use common::error::{respond, ApiError, ErrorCode};
use common::http::{json_response, query_param, set_run_id_header};
use common::lambda_http::http::HeaderValue;
use common::lambda_http::http::StatusCode;
use common::lambda_http::{Body, Request, Response};
use common::routing::{self, Matched};
use common::run_store::{Cursor, RunFilter};
use common::runs::{
    ModelVariant, RunId, RunKind, RunStatus, LEGACY_PREVIEW_ARTIFACT, PREVIEW_ARTIFACT, TRACER_ARTIFACT,
};
use common::state::AppState;
use common::uploads::TicketRefusal;
use serde_json::json;

common::routes! {
    /// A page of runs.
    List => GET "/runs/v1", ApiKey;
    /// One run.
    Get => GET "/runs/v1/{run_id}", ApiKey;
    /// Its preview as a JPEG (the tracer still of a measured shot).
    PreviewJpeg => GET "/runs/v1/{run_id}/preview.jpg", ApiKey;
    /// The same as a PNG, for the clients written before the tracer.
    Preview => GET "/runs/v1/{run_id}/preview.png", ApiKey;
    /// Its tracer clip.
    Tracer => GET "/runs/v1/{run_id}/tracer.mp4", ApiKey;
    /// An upload ticket.
    CreateUpload => POST "/runs/v1/uploads", ApiKey;
    /// The upload's bytes.
    PutUpload => PUT "/runs/v1/uploads/{upload_key}", ApiKey;
}

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page; larger requests are clamped to it.
pub const MAX_LIMIT: usize = 200;

/// Serves one request (the Lambda entry and the tests): finds its route, then [`serve`].
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    routing::handle(&state.config, ROUTES, req, |req, matched| serve(state, req, matched)).await
}

/// Runs a matched route (the dispatcher calls this directly with its own match).
pub async fn serve(state: &AppState, req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    respond(run(state, &req, &matched).await)
}

async fn run(state: &AppState, req: &Request, matched: &Matched<Endpoint>) -> Result<Response<Body>, ApiError> {
    match matched.endpoint {
        Endpoint::List => list(state, req).await,
        Endpoint::Get => get(state, run_id(matched)?).await,
        Endpoint::PreviewJpeg => preview_jpeg(state, run_id(matched)?).await,
        Endpoint::Preview => preview_png(state, run_id(matched)?).await,
        Endpoint::Tracer => tracer_clip(state, run_id(matched)?).await,
        Endpoint::CreateUpload => create_upload(state, req).await,
        Endpoint::PutUpload => put_upload(state, req, matched.param("upload_key")).await,
    }
}

fn run_id(matched: &Matched<Endpoint>) -> Result<RunId, ApiError> {
    let raw = matched.param("run_id");
    RunId::parse(raw).map_err(|_| ApiError::new(ErrorCode::InvalidRunId, format!("run_id {raw:?} is not a UUID")))
}

/// Listing parameters parsed from the query string.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Filters.
    pub filter: RunFilter,
    /// Page size (1..=200).
    pub limit: usize,
    /// Where to start.
    pub cursor: Option<Cursor>,
}

fn filter_value<T: std::str::FromStr<Err = String>>(req: &Request, name: &str) -> Result<Option<T>, ApiError> {
    match query_param(req, name) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|e| ApiError::new(ErrorCode::InvalidFilter, format!("{name}: {e}"))),
    }
}

fn date_filter(req: &Request, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(v) = query_param(req, name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&v) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidFilter,
                format!("{name}: {v:?} is not an RFC 3339 time or a YYYY-MM-DD date"),
            )
        })
}

/// Parses and validates the listing query: unknown filter values, bad limits and foreign cursors
/// are 400s naming the parameter.
pub fn parse_list_query(req: &Request) -> Result<ListQuery, ApiError> {
    let filter = RunFilter {
        status: filter_value::<RunStatus>(req, "status")?,
        kind: filter_value::<RunKind>(req, "kind")?,
        model_variant: match query_param(req, "model_variant").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                ModelVariant::parse_loose(&v)
                    .map_err(|e| ApiError::new(ErrorCode::InvalidFilter, format!("model_variant: {e}")))?,
            ),
        },
        created_after: date_filter(req, "created_after")?,
        created_before: date_filter(req, "created_before")?,
    };
    let limit = match query_param(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(0) | Err(_) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidLimit,
                    format!("limit {v:?} must be an integer from 1 to {MAX_LIMIT}"),
                ))
            }
            Ok(n) => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
        },
    };
    let cursor = match query_param(req, "cursor").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<Cursor>().map_err(|e| ApiError::new(ErrorCode::InvalidCursor, e.to_string()))?),
    };
    Ok(ListQuery { filter, limit, cursor })
}

async fn list(state: &AppState, req: &Request) -> Result<Response<Body>, ApiError> {
    let q = parse_list_query(req)?;
    let page = state.runs.list(&q.filter, q.limit, q.cursor).await?;
    let next = page.next_cursor.map(|c| c.to_string());
    Ok(json_response(StatusCode::OK, &json!({"items": page.items, "next_cursor": next})))
}

async fn get(state: &AppState, id: RunId) -> Result<Response<Body>, ApiError> {
    let run = state.runs.get(id).await?;
    let mut resp = json_response(StatusCode::OK, &run);
    set_run_id_header(&mut resp, id);
    Ok(resp)
}

fn binary(id: RunId, bytes: Vec<u8>, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::Binary(bytes));
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    // Artifacts never change once the run is terminal.
    headers.insert("cache-control", HeaderValue::from_static("private, max-age=86400, immutable"));
    set_run_id_header(&mut resp, id);
    resp
}

fn no_preview(id: RunId) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("run {id} has no preview image"))
}

async fn preview_jpeg(state: &AppState, id: RunId) -> Result<Response<Body>, ApiError> {
    // A 404 for the run itself first, so a missing run and a run without preview read differently.
    state.runs.get(id).await?;
    let jpeg = state.runs.get_artifact(id, PREVIEW_ARTIFACT).await?.ok_or_else(|| no_preview(id))?;
    Ok(binary(id, jpeg, "image/jpeg"))
}

/// The PNG clients asked for before the tracer: a run's own PNG when it predates the tracer, else
/// its JPEG preview converted (the JPEG is what is stored; a PNG of a 1080p frame weighs ~3 MB).
async fn preview_png(state: &AppState, id: RunId) -> Result<Response<Body>, ApiError> {
    state.runs.get(id).await?;
    if let Some(png) = state.runs.get_artifact(id, LEGACY_PREVIEW_ARTIFACT).await? {
        return Ok(binary(id, png, "image/png"));
    }
    let jpeg = state.runs.get_artifact(id, PREVIEW_ARTIFACT).await?.ok_or_else(|| no_preview(id))?;
    let png = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let img = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).map_err(|e| e.to_string())?;
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).map_err(|e| e.to_string())?;
        Ok(png)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .map_err(|e| ApiError::new(ErrorCode::Internal, "the preview could not be converted").with_cause(e))?;
    Ok(binary(id, png, "image/png"))
}

async fn tracer_clip(state: &AppState, id: RunId) -> Result<Response<Body>, ApiError> {
    let run = state.runs.get(id).await?;
    let Some(mp4) = state.runs.get_artifact(id, TRACER_ARTIFACT).await? else {
        let why = match run.result.as_ref().and_then(|r| r.get("shot")).and_then(|s| s.get("detected")) {
            Some(serde_json::Value::Bool(false)) => "no shot was measured",
            _ if !run.status.is_terminal() => "it has not finished",
            _ => "it has no measured shot with a tracer",
        };
        return Err(ApiError::new(ErrorCode::NoTracer, format!("run {id} has no tracer clip: {why}")));
    };
    Ok(binary(id, mp4, "video/mp4"))
}

/// The origin clients reached us at, for upload URLs that point back to the dispatcher.
fn origin(req: &Request) -> String {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("host").unwrap_or("localhost:8000");
    format!("{scheme}://{host}")
}

async fn create_upload(state: &AppState, req: &Request) -> Result<Response<Body>, ApiError> {
    let body: serde_json::Value = match req.body().as_ref() {
        b if b.iter().all(u8::is_ascii_whitespace) => json!({}),
        b => serde_json::from_slice(b)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body is not valid JSON: {e}")))?,
    };
    if !body.is_object() {
        return Err(ApiError::new(ErrorCode::InvalidJson, "body must be a JSON object"));
    }
    // A field of the wrong type is refused, not read as absent: the ticket would promise a type
    // the client did not ask for.
    let text = |field: &str| match body.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(ApiError::new(ErrorCode::InvalidUpload, format!("{field} must be a string, got {other}"))),
    };
    let filename = text("filename")?;
    let content_type = text("content_type")?.unwrap_or("application/octet-stream");
    if content_type.len() > 128 || !content_type.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(ApiError::new(ErrorCode::InvalidUpload, "content_type must be a plain MIME type"));
    }
    let ticket = state.uploads.ticket(filename, content_type, &origin(req)).await.map_err(ApiError::from)?;
    Ok(json_response(StatusCode::CREATED, &ticket))
}

async fn put_upload(state: &AppState, req: &Request, raw_key: &str) -> Result<Response<Body>, ApiError> {
    let key = common::uploads::parse_upload_key(raw_key)
        .map_err(|e| ApiError::new(ErrorCode::InvalidUploadKey, e.to_string()))?;
    if state.uploads.presigned() {
        return Err(ApiError::new(
            ErrorCode::InvalidUpload,
            "this deployment takes uploads at the presigned URL of the ticket",
        ));
    }
    state.uploads.check_ticket(&key).await.map_err(|refusal| match refusal {
        TicketRefusal::Unknown => ApiError::new(ErrorCode::UploadNotFound, refusal.to_string()),
        TicketRefusal::Expired(_) => ApiError::new(ErrorCode::UploadExpired, refusal.to_string()),
        TicketRefusal::Storage(e) => ApiError::from(e),
    })?;
    let bytes = req.body().as_ref();
    if bytes.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidUpload, "the upload body is empty"));
    }
    state.uploads.put(&key, bytes).await.map_err(ApiError::from)?;
    Ok(json_response(StatusCode::OK, &json!({"upload_key": key, "bytes": bytes.len()})))
}
