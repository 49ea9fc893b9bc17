//! Route tables and matching: every function declares one table of `(method, path template,
//! guard, endpoint)`, where the endpoint is that crate's own enum, so the code a route runs is one
//! exhaustive `match` away and a route without a handler does not compile.
//!
//! The Lambda entry of a crate matches its own table ([`route_request`]); the dispatcher matches
//! the union of every table once and hands the matched endpoint and path parameters straight to
//! the crate's `serve`, which does not match again.

use std::collections::HashMap;

use http::Method;
use lambda_http::{Body, Request, Response};

use crate::auth::Guard;
use crate::error::{ApiError, ErrorCode};

/// Declares a function's `Endpoint` enum and its `ROUTES` table from one list of rows, so adding a
/// route is one row here and one arm in the crate's exhaustive `serve` match (a row without its
/// arm does not compile). Each row is `Variant => METHOD "/path/{param}", Guard;` after its doc
/// comment; the variant's rustdoc starts with the method and path.
///
/// ```ignore
/// common::routes! {
///     /// A page of runs.
///     List => GET "/runs/v1", ApiKey;
/// }
/// ```
#[macro_export]
macro_rules! routes {
    ($( $(#[$doc:meta])* $endpoint:ident => $method:ident $path:literal, $guard:ident; )+) => {
        /// What each route of this function runs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Endpoint {
            $(
                #[doc = concat!("`", stringify!($method), " ", $path, "`")]
                #[doc = ""]
                $(#[$doc])*
                $endpoint,
            )+
        }

        /// The routes this function serves.
        pub const ROUTES: &[$crate::routing::Route<Endpoint>] = &[
            $(
                $crate::routing::Route::new(
                    $crate::lambda_http::http::Method::$method,
                    $path,
                    $crate::auth::Guard::$guard,
                    Endpoint::$endpoint,
                ),
            )+
        ];
    };
}

/// One route: method, path template (`{name}` segments are parameters), guard, and the endpoint it
/// runs (the owning crate's enum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<E> {
    /// HTTP method.
    pub method: Method,
    /// Path template, e.g. `/runs/v1/{run_id}`.
    pub path: &'static str,
    /// Who may call it.
    pub guard: Guard,
    /// What it runs.
    pub endpoint: E,
}

impl<E> Route<E> {
    /// A route (usable in `const` tables).
    pub const fn new(method: Method, path: &'static str, guard: Guard, endpoint: E) -> Self {
        Route { method, path, guard, endpoint }
    }

    /// The same route with its endpoint wrapped (the dispatcher's table of every crate's routes).
    pub fn map<F>(&self, wrap: impl FnOnce(E) -> F) -> Route<F>
    where
        E: Copy,
    {
        Route { method: self.method.clone(), path: self.path, guard: self.guard, endpoint: wrap(self.endpoint) }
    }
}

/// A request's route, found and let through its guard: the endpoint and the path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<E> {
    /// What to run.
    pub endpoint: E,
    /// The route's path template (the request log and the metrics label requests by it).
    pub template: &'static str,
    /// Path parameters by name, percent-decoded.
    pub params: HashMap<String, String>,
}

impl<E> Matched<E> {
    /// A path parameter, empty when the template has none by that name.
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
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

/// How literal a template is: its literal segments count before its parameters, so
/// `/runs/v1/uploads` is the route of that path, not `/runs/v1/{run_id}` with `run_id = uploads`.
fn specificity(template: &str) -> usize {
    template.split('/').filter(|s| !s.starts_with('{')).count()
}

/// Finds the route for `method` and `path` in `routes`: among the templates that match the path,
/// the most literal ones own it; 404 when none matches, 405 (with the methods they take, for the
/// `Allow` header) when none of them takes `method`.
pub fn find_route<'a, E>(
    routes: &'a [Route<E>],
    method: &Method,
    path: &str,
) -> Result<(&'a Route<E>, HashMap<String, String>), ApiError> {
    let matching: Vec<(&Route<E>, HashMap<String, String>)> =
        routes.iter().filter_map(|r| match_template(r.path, path).map(|p| (r, p))).collect();
    let Some(best) = matching.iter().map(|(r, _)| specificity(r.path)).max() else {
        return Err(ApiError::new(ErrorCode::NotFound, format!("no route for {path}")));
    };
    let owners = matching.into_iter().filter(|(r, _)| specificity(r.path) == best);
    let mut allowed = Vec::new();
    for (route, params) in owners {
        if route.method == *method {
            return Ok((route, params));
        }
        allowed.push(route.method.to_string());
    }
    Err(ApiError::new(ErrorCode::MethodNotAllowed, format!("method {method} is not allowed on {path}"))
        .with_allow(allowed.join(", ")))
}

/// Finds the request's route in `routes` (404/405 otherwise) and applies its guard.
pub fn route_request<E: Copy>(
    config: &crate::config::Config,
    routes: &[Route<E>],
    req: &Request,
) -> Result<Matched<E>, ApiError> {
    let (route, params) = find_route(routes, req.method(), req.uri().path())?;
    crate::auth::check(config, route.guard, req)?;
    Ok(Matched { endpoint: route.endpoint, template: route.path, params })
}

/// A function crate's Lambda entry: finds the request's route in `routes` (404, 405 or the guard's
/// 401 otherwise), then hands it to the crate's `serve`.
pub async fn handle<E: Copy, Fut: std::future::Future<Output = Response<Body>>>(
    config: &crate::config::Config,
    routes: &[Route<E>],
    req: Request,
    serve: impl FnOnce(Request, Matched<E>) -> Fut,
) -> Response<Body> {
    match route_request(config, routes, &req) {
        Ok(matched) => serve(req, matched).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Endpoint {
        List,
        Get,
    }

    const ROUTES: &[Route<Endpoint>] = &[
        Route::new(Method::GET, "/runs/v1", Guard::ApiKey, Endpoint::List),
        Route::new(Method::GET, "/runs/v1/{run_id}", Guard::ApiKey, Endpoint::Get),
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
    fn unknown_paths_are_404_wrong_methods_405_and_a_match_names_its_endpoint() {
        assert_eq!(find_route(ROUTES, &Method::GET, "/nope").expect_err("404").code, ErrorCode::NotFound);
        assert_eq!(find_route(ROUTES, &Method::DELETE, "/runs/v1").expect_err("405").code, ErrorCode::MethodNotAllowed);
        let (route, params) = find_route(ROUTES, &Method::GET, "/runs/v1/x").expect("ok");
        assert_eq!((route.endpoint, params["run_id"].as_str()), (Endpoint::Get, "x"));
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter_and_405_names_the_allowed_methods() {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum E {
            Get,
            Upload,
        }
        let routes = [
            Route::new(Method::GET, "/runs/v1/{run_id}", Guard::ApiKey, E::Get),
            Route::new(Method::POST, "/runs/v1/uploads", Guard::ApiKey, E::Upload),
        ];
        let e = find_route(&routes, &Method::GET, "/runs/v1/uploads").expect_err("not a run id");
        assert_eq!((e.code, e.allow.as_deref()), (ErrorCode::MethodNotAllowed, Some("POST")));
        assert_eq!(find_route(&routes, &Method::POST, "/runs/v1/uploads").expect("ok").0.endpoint, E::Upload);
        assert_eq!(find_route(&routes, &Method::GET, "/runs/v1/abc").expect("ok").0.endpoint, E::Get);
    }
}
