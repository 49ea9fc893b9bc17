//! Process start-up shared by every binary: tracing (JSON on Lambda), configuration and state, and
//! the Lambda event loop around a function crate's `handle`.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::state::AppState;

/// Installs the global subscriber: JSON lines on Lambda (CloudWatch parses them), compact text
/// elsewhere. `RUST_LOG` filters, default `info`.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    // try_init: a second call (tests) keeps the first subscriber instead of panicking.
    if on_lambda() {
        builder.json().flatten_event(true).without_time().try_init().ok();
    } else {
        builder.compact().try_init().ok();
    }
}

/// Whether this process is a Lambda function (the runtime sets `AWS_LAMBDA_FUNCTION_NAME`).
pub fn on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
}

/// Loads configuration and builds state, or exits the process with a message naming every problem.
pub async fn state_or_exit() -> AppState {
    let state = match Config::from_env() {
        Ok(config) => AppState::from_config(config).await,
        Err(e) => Err(e.to_string()),
    };
    match state {
        Ok(state) => state,
        Err(e) => {
            tracing::error!("{e}");
            std::process::exit(2);
        }
    }
}

/// The whole of a function binary's `main`: tracing, state, then the Lambda loop calling `handle`
/// with one log line per request. Bodies too large for Lambda get a 413 pointing to the upload flow.
pub async fn run_lambda<F, Fut>(handle: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Arc<AppState>, Request) -> Fut + Send + Sync,
    Fut: Future<Output = Response<Body>> + Send,
{
    run_lambda_with(|state| state, handle).await
}

/// [`run_lambda`] with a start-up step that builds the function's own state once per cold start
/// (the analyze function's holds its inference engine, the health function's its weights catalog).
pub async fn run_lambda_with<S, P, F, Fut>(prepare: P, handle: F) -> Result<(), lambda_http::Error>
where
    S: Send + Sync + 'static,
    P: FnOnce(AppState) -> S,
    F: Fn(Arc<S>, Request) -> Fut + Send + Sync,
    Fut: Future<Output = Response<Body>> + Send,
{
    init_tracing();
    let app = state_or_exit().await;
    let cors = crate::http::cors_layer(&app.config);
    let state = Arc::new(prepare(app));
    let handle = &handle;
    lambda_http::run(tower::Layer::layer(
        &cors,
        service_fn(move |req: Request| {
            let state = state.clone();
            async move {
                let (method, path, started) = (req.method().clone(), req.uri().path().to_string(), Instant::now());
                // API Gateway's route key ("GET /runs/v1/{run_id}") names the route template.
                let route = match req.request_context_ref() {
                    Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx
                        .route_key
                        .as_deref()
                        .and_then(|k| k.split_once(' '))
                        .map_or_else(|| "unmatched".to_string(), |(_, p)| p.to_string()),
                    _ => "event".to_string(),
                };
                let resp = match lambda_body_guard(&req) {
                    Ok(()) => handle(state, req).await,
                    Err(e) => e.into_response(),
                };
                crate::http::log_request(&method, &path, &route, &resp, started.elapsed());
                Ok::<_, std::convert::Infallible>(resp)
            }
        }),
    ))
    .await
}

/// The largest request body a Lambda function accepts: 4.5 MiB, the biggest binary body that fits
/// Lambda's 6 MB synchronous payload once API Gateway base64-encodes it. Anything larger goes
/// through the upload flow.
pub const LAMBDA_MAX_BODY_BYTES: usize = 4_718_592;

/// On the Lambda path, refuses bodies over [`LAMBDA_MAX_BODY_BYTES`] with a 413 that says how to
/// send them instead (bodies past 6 MB never reach the function: API Gateway refuses them itself).
pub fn lambda_body_guard(req: &Request) -> Result<(), crate::error::ApiError> {
    let len = req.body().as_ref().len();
    if len <= LAMBDA_MAX_BODY_BYTES {
        return Ok(());
    }
    Err(crate::error::ApiError::new(
        crate::error::ErrorCode::PayloadTooLarge,
        format!(
            "request body of {len} bytes is over the {LAMBDA_MAX_BODY_BYTES}-byte limit of this deployment; POST \
             /runs/v1/uploads for an upload URL, PUT the file there, then send {{\"upload_key\": \"...\"}} instead of the file"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::http::build_request;
    use http::{HeaderMap, Method};

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
}
