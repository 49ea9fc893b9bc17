//! HTTP plumbing shared by every handler, the Lambda entry and the dispatcher: building a
//! `lambda_http::Request` from raw parts, JSON responses, query helpers, CORS, and the one-line
//! request log. Route tables and matching are [`crate::routing`]'s.

use std::collections::HashMap;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::runs::RunId;

/// Response header that carries the run a request created or touched (the request log reads it).
pub const RUN_ID_HEADER: &str = "x-run-id";

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

/// A request header's value, trimmed; `None` when absent, empty or not text.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// A JSON number that is a whole number, as JSON Schema counts one: `10` and `10.0` alike (a
/// client's JSON encoder may write either), within the range a double holds exactly.
pub fn whole_number(n: &serde_json::Number) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT).map(|f| f as i64))
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
