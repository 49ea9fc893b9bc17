//! The Lambda path in process: real API Gateway HTTP API (v2) events, parsed by
//! `lambda_http::request::from_str`, handed to the same `handle` functions the binaries run.

use chrono::Utc;
use common::lambda_http::request::from_str;
use common::runs::{ModelVariant, RunKind, RunStatus};
use golfiq_tests::{config_with, seed_run};
use serde_json::Value;

fn event(name: &str) -> String {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/events").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn body(resp: &common::lambda_http::Response<common::lambda_http::Body>) -> Value {
    serde_json::from_slice(resp.body().as_ref()).expect("json body")
}

#[tokio::test]
async fn api_gateway_v2_events_reach_the_runs_and_health_handlers() {
    let dir = tempfile::tempdir().expect("tmp");
    let state = common::state::AppState::from_config(config_with(
        dir.path(),
        &[("REQUIRE_API_KEY", "1"), ("API_KEY", "fixture-key")],
    ))
    .await
    .expect("state");
    let failed = seed_run(&state.runs, Utc::now(), RunKind::Image, ModelVariant::Yolov10, RunStatus::Failed).await;
    seed_run(&state.runs, Utc::now(), RunKind::Image, ModelVariant::Yolov10, RunStatus::Processing).await;

    let req = from_str(&event("apigw-v2-get-runs.json")).expect("parse list event");
    let resp = runs::handle(&state, req).await;
    assert_eq!(resp.status(), 200);
    // `status=failed&status=succeeded` arrives as repeated keys in rawQueryString: the first wins.
    let items = body(&resp)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["run_id"], failed.run_id.to_string());

    let get = event("apigw-v2-get-run.json").replace("RUN_ID", &failed.run_id.to_string());
    let resp = runs::handle(&state, from_str(&get).expect("parse get event")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(&resp)["error_code"], "INVALID_ZIP");
    assert_eq!(resp.headers()["x-run-id"], failed.run_id.to_string().as_str());

    let wrong_key = event("apigw-v2-get-runs.json").replace("fixture-key", "stolen");
    let resp = runs::handle(&state, from_str(&wrong_key).expect("parse")).await;
    assert_eq!(resp.status(), 401);

    let resp = health::handle(
        &health::HealthState::new(state.clone()),
        from_str(&event("apigw-v2-get-health.json")).expect("parse health"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(&resp)["status"], "ok");
}
