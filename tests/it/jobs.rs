//! Asynchronous analyses: `Prefer: respond-async` / `?async=true` answer 202 at once and a worker
//! finishes the run as the synchronous path would, through the dispatcher's in-process queue and
//! through SQS (moto on 127.0.0.1): redelivery of a finished run is a no-op, and a message whose
//! run another worker holds goes to the dead-letter queue after the redrive count.

use std::sync::Arc;
use std::time::Duration;

use analyze::jobs::{InstalledQueue, SqsQueue, REQUEST_ARTIFACT};
use common::runs::{RunId, RunStatus, Transition};
use common::state::AppState;
use golfiq_tests::scene::{render_swing, SwingSpec};
use golfiq_tests::{config_with, poll_until, s3, spawn_app, spawn_with_services, TestApp};
use serde_json::Value;

fn frame_jpeg() -> Vec<u8> {
    let (frames, truth) = render_swing(&SwingSpec::preset(640, 360, 120.0));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(frames[truth.impact_frame + 2].clone())
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .expect("jpeg");
    jpeg
}

async fn post(app: &TestApp, path: &str, prefer: bool, body: Vec<u8>) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).header("content-type", "image/jpeg").body(body);
    if prefer {
        req = req.header("prefer", "wait=10, respond-async");
    }
    req.send().await.expect("post")
}

async fn terminal(app: &TestApp, id: &str) -> Value {
    poll_until(Duration::from_secs(60), || async {
        let run: Value = app.client.get(app.url(&format!("/runs/v1/{id}"))).send().await.ok()?.json().await.ok()?;
        matches!(run["status"].as_str(), Some("succeeded" | "failed")).then_some(run)
    })
    .await
    .unwrap_or_else(|| panic!("run {id} did not finish"))
}

#[tokio::test]
async fn a_202_at_once_then_the_same_result_as_a_synchronous_call() {
    let app = spawn_app(&[]).await;
    let jpeg = frame_jpeg();
    let sync: Value = post(&app, "/cv/analyze", false, jpeg.clone()).await.json().await.expect("json");
    let sync_run = terminal(&app, sync["run_id"].as_str().expect("id")).await;

    let resp = post(&app, "/cv/analyze", true, jpeg.clone()).await;
    assert_eq!(resp.status().as_u16(), 202);
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.expect("json");
    let id = body["run_id"].as_str().expect("run_id").to_string();
    assert_eq!(body["status"], "queued");
    assert_eq!(body["status_url"], format!("/runs/v1/{id}"));
    assert_eq!(headers["location"], format!("/runs/v1/{id}").as_str());
    assert_eq!(headers["preference-applied"], "respond-async");
    assert_eq!(headers["x-run-id"], id.as_str());
    let run = terminal(&app, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["result"]["detections"], sync_run["result"]["detections"], "the same analysis");
    assert_eq!(run["model_variant_selected"], sync_run["model_variant_selected"]);
    // The worker deletes the stored request right after the terminal write (never before: a crash
    // in between must leave it for the resubmit), so it is gone shortly after the run ends.
    let run_id = RunId::parse(&id).expect("id");
    let removed = poll_until(Duration::from_secs(30), || async {
        app.state.runs.get_artifact(run_id, REQUEST_ARTIFACT).await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(removed.is_some(), "the queued request is removed once the run is done");

    // ?async=true works too, without Preference-Applied (no Prefer was sent).
    let resp = post(&app, "/cv/analyze?async=true", false, jpeg).await;
    assert_eq!(resp.status().as_u16(), 202);
    assert!(resp.headers().get("preference-applied").is_none());
    let id = resp.json::<Value>().await.expect("json")["run_id"].as_str().expect("id").to_string();
    assert_eq!(terminal(&app, &id).await["status"], "succeeded");

    // Input known to be bad when it arrives is refused at once, whatever was preferred, and its
    // run ends failed; bytes that only fail to decode later end their queued run failed.
    let resp = app
        .client
        .post(app.url("/cv/analyze"))
        .header("content-type", "image/jpeg")
        .header("prefer", "respond-async")
        .header("x-model-variant", "yolov99")
        .body(b"x".to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error_code"], "INVALID_MODEL_VARIANT");
    let run = terminal(&app, body["run_id"].as_str().expect("id")).await;
    assert_eq!((run["status"].as_str(), run["error_code"].as_str()), (Some("failed"), Some("INVALID_MODEL_VARIANT")));
    let resp = post(&app, "/cv/analyze", true, b"not an image".to_vec()).await;
    assert_eq!(resp.status().as_u16(), 202);
    let id = resp.json::<Value>().await.expect("json")["run_id"].as_str().expect("id").to_string();
    let run = terminal(&app, &id).await;
    assert_eq!((run["status"].as_str(), run["error_code"].as_str()), (Some("failed"), Some("INVALID_IMAGE")), "{run}");
}

#[tokio::test]
async fn with_every_inference_slot_busy_a_202_still_comes_at_once_and_a_full_queue_is_429() {
    let app = spawn_app(&[("INFERENCE_CONCURRENCY", "1"), ("INFERENCE_QUEUE_DEPTH", "1")]).await;
    let engine = app.services.analyze.engine.clone();
    let held = engine.gate().try_acquire().expect("the only slot");
    let jpeg = frame_jpeg();
    // The first job is taken by the consumer, which waits for the slot; the second waits in the
    // queue; the third finds it full.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let resp = post(&app, "/cv/analyze", true, jpeg.clone()).await;
        assert_eq!(resp.status().as_u16(), 202, "answered while the slot is held");
        ids.push(resp.json::<Value>().await.expect("json")["run_id"].as_str().expect("id").to_string());
        // Let the consumer pick the first job up before the next submit.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let resp = post(&app, "/cv/analyze", true, jpeg).await;
    assert_eq!(resp.status().as_u16(), 429);
    let refused: Value = resp.json().await.expect("json");
    assert_eq!(refused["error_code"], "OVERLOADED");
    assert_eq!(terminal(&app, refused["run_id"].as_str().expect("id")).await["status"], "failed");
    for id in &ids {
        let run: Value =
            app.client.get(app.url(&format!("/runs/v1/{id}"))).send().await.expect("get").json().await.expect("json");
        assert!(matches!(run["status"].as_str(), Some("queued" | "processing")), "{run}");
    }
    drop(held);
    for id in &ids {
        assert_eq!(terminal(&app, id).await["status"], "succeeded");
    }
}

async fn sqs_app(queue_url: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let state = AppState::from_config(config_with(dir.path(), &[])).await.expect("state");
    let queue = Arc::new(SqsQueue::with_client(queue_url, s3::sqs_client()));
    let analyze = analyze::AnalyzeState::new(state).with_queue(InstalledQueue::sqs(queue));
    spawn_with_services(local::Services::with_analyze(analyze), dir).await
}

async fn queue_depth(client: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("attributes");
    let get = |a: A| out.attributes().and_then(|m| m.get(&a)).and_then(|v| v.parse().ok()).unwrap_or(0);
    (get(A::ApproximateNumberOfMessages), get(A::ApproximateNumberOfMessagesNotVisible))
}

#[tokio::test]
async fn through_sqs_a_worker_finishes_the_run_redelivery_is_a_no_op_and_a_held_run_ends_in_the_dlq() {
    let client = s3::sqs_client();
    let (url, dlq) = s3::queue_with_dlq(&client, 2, 1).await;
    let app = sqs_app(&url).await;

    let resp = post(&app, "/cv/analyze", true, frame_jpeg()).await;
    assert_eq!(resp.status().as_u16(), 202);
    let id = resp.json::<Value>().await.expect("json")["run_id"].as_str().expect("id").to_string();
    let run = terminal(&app, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let done =
        poll_until(Duration::from_secs(20), || async { (queue_depth(&client, &url).await == (0, 0)).then_some(()) })
            .await;
    assert!(done.is_some(), "the message was deleted once done");

    // A redelivered (duplicate) message for the finished run changes nothing and is acknowledged.
    client.send_message().queue_url(&url).message_body(format!(r#"{{"run_id":"{id}"}}"#)).send().await.expect("send");
    let drained =
        poll_until(Duration::from_secs(20), || async { (queue_depth(&client, &url).await == (0, 0)).then_some(()) })
            .await;
    assert!(drained.is_some(), "the duplicate was consumed");
    let again: Value =
        app.client.get(app.url(&format!("/runs/v1/{id}"))).send().await.expect("get").json().await.expect("json");
    assert_eq!(again["updated_at"], run["updated_at"], "the finished run was not touched");

    // A run another worker holds under a live lease: every delivery is left for later, and after
    // the redrive count the message is in the dead-letter queue; the run is untouched.
    let held = app
        .state
        .runs
        .create(golfiq_tests::new_run(common::runs::RunKind::Image, common::runs::ModelVariant::Yolov10))
        .await
        .expect("create");
    let lease_expires_at = common::runs::now() + chrono::Duration::hours(1);
    app.state.runs.transition(held.run_id, Transition::Claim { lease_expires_at }).await.expect("claimed elsewhere");
    client
        .send_message()
        .queue_url(&url)
        .message_body(format!(r#"{{"run_id":"{}"}}"#, held.run_id))
        .send()
        .await
        .expect("send");
    let in_dlq =
        poll_until(Duration::from_secs(40), || async { (queue_depth(&client, &dlq).await.0 == 1).then_some(()) }).await;
    assert!(in_dlq.is_some(), "the message reached the DLQ");
    let run = app.state.runs.get(held.run_id).await.expect("run");
    assert_eq!((run.status, run.lease_expires_at), (RunStatus::Processing, Some(lease_expires_at)));
}
