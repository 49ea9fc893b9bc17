//! HTTP plumbing shared by every handler, the Lambda entry and the dispatcher: route tables and
//! matching, building a `lambda_http::Request` from raw parts, JSON responses, query helpers, and the
//! one-line request log.

use std::collections::HashMap;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::auth::Guard;
use crate::error::{ApiError, ErrorCode};
use crate::runs::RunId;

/// Response header that carries the run a request created or touched (the request log reads it).
pub const RUN_ID_HEADER: &str = "x-run-id";

/// One route: method, path template (`{name}` segments are parameters) and guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path template, e.g. `/runs/v1/{run_id}`.
    pub path: &'static str,
    /// Who may call it.
    pub guard: Guard,
}

impl Route {
    /// A route (usable in `const` tables).
    pub const fn new(method: Method, path: &'static str, guard: Guard) -> Self {
        Route { method, path, guard }
    }
}

/// Matches `path` against a template, returning the path parameters.
pub fn match_template(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    let mut t = template.trim_end_matches('/').split('/');
    let mut p = path.trim_end_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.insert(name.to_string(), percent_decode(ps));
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Finds the route for a request in `routes`: 404 when no template matches the path, 405 when one
/// matches with another method.
pub fn find_route<'a>(
    routes: &'a [Route],
    method: &Method,
    path: &str,
) -> Result<(&'a Route, HashMap<String, String>), ApiError> {
    let mut path_matched = false;
    for route in routes {
        if let Some(params) = match_template(route.path, path) {
            if route.method == *method {
                return Ok((route, params));
            }
            path_matched = true;
        }
    }
    if path_matched {
        Err(ApiError::new(ErrorCode::MethodNotAllowed, format!("method {method} is not allowed on {path}")))
    } else {
        Err(ApiError::new(ErrorCode::NotFound, format!("no route for {path}")))
    }
}

/// Finds the request's route in `routes` (404/405 otherwise) and applies its guard: the first two
/// steps of every function's `handle`.
pub fn route_request<'a>(
    config: &crate::config::Config,
    routes: &'a [Route],
    req: &Request,
) -> Result<(&'a Route, HashMap<String, String>), ApiError> {
    let (route, params) = find_route(routes, req.method(), req.uri().path())?;
    crate::auth::check(config, route.guard, req)?;
    Ok((route, params))
}

/// Builds the request a Lambda would receive from raw HTTP parts: query parameters (repeated keys
/// kept) and path parameters set, binary bodies kept binary.
pub fn build_request(method: Method, uri: Uri, headers: HeaderMap, body: Vec<u8>) -> Request {
    let textual = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        ct.starts_with("text/") || ct.contains("json") || ct.starts_with("application/x-www-form-urlencoded")
    });
    let body = if body.is_empty() {
        Body::Empty
    } else if textual {
        match String::from_utf8(body) {
            Ok(s) => Body::Text(s),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    } else {
        Body::Binary(body)
    };
    let query = parse_query(uri.query().unwrap_or(""));
    let path = uri.path().to_string();
    let mut builder = http::Request::builder().method(method).uri(uri);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    let req = builder.body(body).unwrap_or_default();
    req.with_query_string_parameters(query).with_raw_http_path(path)
}

/// Records the caller's address where API Gateway puts it (`requestContext.http.sourceIp`), so
/// handlers read one place on Lambda and in the dispatcher (which takes it from the socket).
pub fn with_source_ip(req: Request, ip: std::net::IpAddr) -> Request {
    let mut ctx = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    ctx.http.method = req.method().clone();
    ctx.http.path = Some(req.uri().path().to_string());
    ctx.http.source_ip = Some(ip.to_string());
    req.with_request_context(lambda_http::request::RequestContext::ApiGatewayV2(ctx))
}

/// Parses a query string into repeated-key form.
pub fn parse_query(q: &str) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        map.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    map
}

/// The first value of a query parameter, empty values included.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::to_string)
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let bytes = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut resp = Response::new(Body::Text(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Tags a response with its run id.
pub fn set_run_id_header(resp: &mut Response<Body>, id: RunId) {
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        resp.headers_mut().insert(RUN_ID_HEADER, v);
    }
}

/// The largest request body a Lambda function accepts: 4.5 MiB, the biggest binary body that fits
/// Lambda's 6 MB synchronous payload once API Gateway base64-encodes it. Anything larger goes
/// through the upload flow.
pub const LAMBDA_MAX_BODY_BYTES: usize = 4_718_592;

/// On the Lambda path, refuses bodies over [`LAMBDA_MAX_BODY_BYTES`] with a 413 that says how to
/// send them instead (bodies past 6 MB never reach the function: API Gateway refuses them itself).
pub fn lambda_body_guard(req: &Request) -> Result<(), ApiError> {
    let len = req.body().as_ref().len();
    if len <= LAMBDA_MAX_BODY_BYTES {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "request body of {len} bytes is over the {LAMBDA_MAX_BODY_BYTES}-byte limit of this deployment; POST \
             /runs/v1/uploads for an upload URL, PUT the file there, then send {{\"upload_key\": \"...\"}} instead of the file"
        ),
    ))
}

/// Turns a handler result into the response: errors map to HTTP here, and only here.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}

/// The one observation per request, in the dispatcher and on Lambda alike: a log line (method,
/// path, status, milliseconds, and the run id when the response names one) and the request
/// metrics under the route template `route` (`crate::metrics::record_request`).
pub fn log_request(method: &Method, path: &str, route: &str, resp: &Response<Body>, elapsed: Duration) {
    let run_id = resp.headers().get(RUN_ID_HEADER).and_then(|v| v.to_str().ok());
    let ms = (elapsed.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let status = resp.status().as_u16();
    tracing::info!(method = %method, path, status, ms, run_id, "request");
    crate::metrics::record_request(route, method.as_str(), status, elapsed);
}

/// Request headers a web client may send across origins.
pub const CORS_ALLOWED_HEADERS: [&str; 6] =
    ["x-api-key", "x-admin-token", "x-user-id", "x-model-variant", "if-match", "content-type"];

/// CORS for every route, in the dispatcher and around every Lambda function alike (tower-http's
/// `CorsLayer`): an origin in CORS_ALLOW_ORIGINS (exact match) gets itself back in
/// `Access-Control-Allow-Origin`, with credentials allowed and the API's headers and methods on
/// preflight (answered before routing, so every path has one); any other origin gets no CORS
/// header at all (tower-http sends `Access-Control-Expose-Headers` whatever the origin; an outer
/// step takes it off where no origin was allowed). On AWS the HttpApi has no CORS configuration of
/// its own: its `OPTIONS /{proxy+}` route reaches a function, which answers the preflight here.
/// `B` is the response body type of the service it wraps.
pub fn cors_layer<B>(config: &crate::config::Config) -> CorsLayers<B> {
    tower::ServiceBuilder::new()
        .map_response(only_for_allowed_origins as fn(http::Response<B>) -> http::Response<B>)
        .layer(cors_rules(config))
        .into_inner()
}

/// The layers [`cors_layer`] returns.
pub type CorsLayers<B> = tower::layer::util::Stack<
    tower_http::cors::CorsLayer,
    tower::layer::util::Stack<
        tower::util::MapResponseLayer<fn(http::Response<B>) -> http::Response<B>>,
        tower::layer::util::Identity,
    >,
>;

/// Drops every CORS header from a response that does not allow its origin.
fn only_for_allowed_origins<B>(mut resp: http::Response<B>) -> http::Response<B> {
    if !resp.headers().contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        let names: Vec<http::HeaderName> =
            resp.headers().keys().filter(|k| k.as_str().starts_with("access-control-")).cloned().collect();
        for name in names {
            resp.headers_mut().remove(name);
        }
    }
    resp
}

fn cors_rules(config: &crate::config::Config) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};
    let origins: std::collections::HashSet<HeaderValue> =
        config.cors_allow_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let origins = std::sync::Arc::new(origins);
    let allowed = {
        let origins = origins.clone();
        move |origin: &HeaderValue, _: &http::request::Parts| origins.contains(origin)
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(allowed.clone()))
        .allow_credentials(AllowCredentials::predicate(allowed))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers(CORS_ALLOWED_HEADERS.map(http::HeaderName::from_static))
        .expose_headers([http::header::ETAG, http::header::LOCATION, http::HeaderName::from_static("x-run-id")])
        .max_age(std::time::Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route] = &[
        Route::new(Method::GET, "/runs/v1", Guard::ApiKey),
        Route::new(Method::GET, "/runs/v1/{run_id}", Guard::ApiKey),
    ];

    #[test]
    fn templates_bind_parameters_and_respect_segments() {
        let p = match_template("/runs/v1/{run_id}", "/runs/v1/abc").expect("match");
        assert_eq!(p["run_id"], "abc");
        assert_eq!(match_template("/runs/v1/{run_id}", "/runs/v1/..%2F..").expect("match")["run_id"], "../..");
        assert!(match_template("/runs/v1/{run_id}", "/runs/v1/").is_none());
        assert!(match_template("/runs/v1/{run_id}", "/runs/v1/a/b").is_none());
        assert!(match_template("/runs/v1", "/runs/v1/").is_some());
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert_eq!(find_route(ROUTES, &Method::GET, "/nope").expect_err("404").code, ErrorCode::NotFound);
        assert_eq!(find_route(ROUTES, &Method::DELETE, "/runs/v1").expect_err("405").code, ErrorCode::MethodNotAllowed);
        assert_eq!(find_route(ROUTES, &Method::GET, "/runs/v1/x").expect("ok").0.path, "/runs/v1/{run_id}");
    }

    #[test]
    fn the_lambda_guard_points_large_bodies_to_the_upload_flow() {
        let small = build_request(Method::POST, "/x".parse().expect("uri"), HeaderMap::new(), vec![0; 1024]);
        assert!(lambda_body_guard(&small).is_ok());
        let edge =
            build_request(Method::POST, "/x".parse().expect("uri"), HeaderMap::new(), vec![0; LAMBDA_MAX_BODY_BYTES]);
        assert!(lambda_body_guard(&edge).is_ok());
        let big = build_request(
            Method::POST,
            "/x".parse().expect("uri"),
            HeaderMap::new(),
            vec![0; LAMBDA_MAX_BODY_BYTES + 1],
        );
        let err = lambda_body_guard(&big).expect_err("too large");
        assert_eq!((err.status().as_u16(), err.code), (413, ErrorCode::PayloadTooLarge));
        assert!(err.message.contains("/runs/v1/uploads") && err.message.contains("upload_key"), "{}", err.message);
    }

    #[test]
    fn built_requests_keep_repeated_query_keys_and_binary_bodies() {
        let uri: Uri = "/runs/v1?status=failed&status=succeeded&limit=5".parse().expect("uri");
        let req = build_request(Method::GET, uri, HeaderMap::new(), vec![0xff, 0x00]);
        let q = req.query_string_parameters();
        assert_eq!(q.all("status"), Some(vec!["failed", "succeeded"]));
        assert_eq!(query_param(&req, "limit").as_deref(), Some("5"));
        assert!(matches!(req.body(), Body::Binary(b) if b == &vec![0xff, 0x00]));
    }
}
