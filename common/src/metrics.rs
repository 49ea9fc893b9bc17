//! Operational metrics, recorded through the `metrics` crate's macros wherever they happen and
//! exported where the process can serve them: the dispatcher installs a Prometheus recorder and
//! serves `GET /metrics` (local/src/metrics.rs); on Lambda, where nothing could scrape a function,
//! the same numbers go to CloudWatch as embedded-metric-format (EMF) log lines that CloudWatch turns
//! into metrics without an agent. Without a recorder (tests, tools) the macros cost nothing.
//!
//! Names (Prometheus): `requests_total{route,method,status}`, `request_latency_seconds{route,method}`
//! (histogram), `analysis_seconds{endpoint,outcome}` (histogram), and, set when scraped,
//! `runs{status}` and `inference_queue_depth`.

use std::time::Duration;

/// One served request. `route` is the route template (`/runs/v1/{run_id}`), never the raw path,
/// so the label set stays small; `unmatched` for a path no route has.
pub fn record_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let status = status.to_string();
    metrics::counter!("requests_total", "route" => route.to_string(), "method" => method.to_string(), "status" => status.clone())
        .increment(1);
    metrics::histogram!("request_latency_seconds", "route" => route.to_string(), "method" => method.to_string())
        .record(elapsed.as_secs_f64());
    if crate::bootstrap::on_lambda() {
        emf(
            &[("route", route), ("method", method), ("status", &status)],
            &[("requests", 1.0, "Count"), ("request_latency", elapsed.as_secs_f64() * 1000.0, "Milliseconds")],
        );
    }
}

/// One analysis from start to its terminal state; `outcome` is `succeeded` or the error code.
pub fn record_analysis(endpoint: &str, outcome: &str, elapsed: Duration) {
    metrics::histogram!("analysis_seconds", "endpoint" => endpoint.to_string(), "outcome" => outcome.to_string())
        .record(elapsed.as_secs_f64());
    if crate::bootstrap::on_lambda() {
        emf(
            &[("endpoint", endpoint), ("outcome", outcome)],
            &[("analysis_time", elapsed.as_secs_f64() * 1000.0, "Milliseconds")],
        );
    }
}

/// Prints one CloudWatch embedded-metric-format line (namespace `golfiq`) to stdout, which Lambda
/// sends to CloudWatch Logs.
fn emf(dimensions: &[(&str, &str)], values: &[(&str, f64, &str)]) {
    let mut line = serde_json::Map::new();
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let metrics: Vec<serde_json::Value> =
        values.iter().map(|(name, _, unit)| serde_json::json!({"Name": name, "Unit": unit})).collect();
    line.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{"Namespace": "golfiq", "Dimensions": [names], "Metrics": metrics}],
        }),
    );
    for (k, v) in dimensions {
        line.insert((*k).into(), serde_json::Value::from(*v));
    }
    for (name, value, _) in values {
        line.insert((*name).into(), serde_json::Value::from(*value));
    }
    println!("{}", serde_json::Value::Object(line));
}
