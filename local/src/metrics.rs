//! `GET /metrics`: the dispatcher's metrics in Prometheus text format, from the recorder installed
//! at start (`metrics-exporter-prometheus`; what is recorded and where: `common::metrics`). The
//! gauges that describe state rather than events, runs by status and the inference queue, are read
//! when scraped. Only the dispatcher serves it: a Lambda function sends the same numbers to
//! CloudWatch as EMF log lines instead. It takes the API key like the API (a scraper sends
//! `x-api-key`, or `?apiKey=`).

use std::sync::OnceLock;

use analyze::AnalyzeState;
use common::error::{respond, ApiError};
use common::lambda_http::http::{HeaderValue, StatusCode};
use common::lambda_http::{Body, Request, Response};
use common::routing::Matched;
use common::runs::RunStatus;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

common::routes! {
    /// The Prometheus text.
    Scrape => GET "/metrics", ApiKey;
}

/// Latency buckets, seconds: from a cached GET (ms) to a long video analysis (a minute).
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's Prometheus recorder, once (a second dispatcher in the same process, as
/// in the tests, shares it); `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(BUCKETS).ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics will be empty");
                    None
                }
            }
        })
        .as_ref()
}

/// Serves the matched metrics route.
pub async fn serve(state: &AnalyzeState, _req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    respond(match matched.endpoint {
        Endpoint::Scrape => scrape(state).await,
    })
}

async fn scrape(state: &AnalyzeState) -> Result<Response<Body>, ApiError> {
    for status in RunStatus::ALL {
        let n = state.app.runs.scan_ids(Some(*status)).await?.len();
        metrics::gauge!("runs", "status" => status.as_str()).set(n as f64);
    }
    let gate = state.engine.gate();
    metrics::gauge!("inference_queue_depth").set(gate.waiting() as f64);
    metrics::gauge!("inference_running").set(gate.running() as f64);
    let text = install().map(PrometheusHandle::render).unwrap_or_default();
    let mut resp = Response::new(Body::Text(text));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert("content-type", HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(resp)
}
