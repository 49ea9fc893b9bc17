//! Crash recovery: run leases renewed while an analysis lives, and the reaper that ends what a dead
//! process left; a `kill -9` of a real dispatcher mid-analysis loses no run.

use std::time::{Duration, Instant};

use golfiq_tests::process::{dispatcher_command, free_port, DispatcherProcess};
use golfiq_tests::scene::{render_swing, SwingSpec};
use golfiq_tests::{poll_until, post_video, spawn_app};
use serde_json::Value;

/// A phone-style H.264 clip long enough to keep an analysis busy for a while.
fn long_clip() -> Vec<u8> {
    let (frames, _) = render_swing(&SwingSpec::phone(480, 270, 120.0, 1.5, 1.0));
    clipkit::encode_mp4(frames.iter(), 120.0).expect("encode")
}

#[tokio::test]
async fn a_live_analysis_renews_its_lease_and_never_loses_its_run_to_the_reaper() {
    // A one-second lease, renewed every third of it, and the reaper every half second.
    let app = spawn_app(&[("RUN_LEASE_SECONDS", "1")]).await;
    let clip = long_clip();
    let watcher = {
        let (runs, started) = (app.state.runs.clone(), Instant::now());
        tokio::spawn(async move {
            let mut leases = std::collections::BTreeSet::new();
            while started.elapsed() < Duration::from_secs(120) {
                let page = runs.list(&Default::default(), 5, None).await.expect("list");
                for run in page.items.iter().filter(|r| r.status == common::runs::RunStatus::Processing) {
                    leases.extend(run.lease_expires_at);
                }
                if page.items.iter().any(|r| r.status.is_terminal()) {
                    return leases;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            leases
        })
    };
    let started = Instant::now();
    let (status, body) = post_video(&app, "", clip, &[("fps_fallback", "120")]).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    let leases = watcher.await.expect("watcher");
    let run = golfiq_tests::get_run(&app, "", body["run_id"].as_str().expect("id")).await;
    assert_eq!((run["status"].as_str(), run["error_code"].clone()), (Some("succeeded"), Value::Null));
    assert_eq!(run["lease_expires_at"], Value::Null, "a finished run holds no lease");
    if took > Duration::from_secs(2) {
        assert!(leases.len() >= 2, "the lease was renewed during a {took:?} analysis: {leases:?}");
    }
}

/// The dispatcher binary as a separate process on `port` over the store in `dir`, one inference
/// slot and `queue_depth` places in its queue.
fn start_dispatcher(dir: &std::path::Path, port: u16, queue_depth: u32) -> DispatcherProcess {
    let mut command = dispatcher_command(dir, port, &[]);
    command.env("INFERENCE_QUEUE_DEPTH", queue_depth.to_string());
    DispatcherProcess::start(command, port)
}

/// `GET http://127.0.0.1:{port}{path}` as JSON; `None` while the server cannot answer.
async fn get_json(client: &reqwest::Client, port: u16, path: &str) -> Option<Value> {
    client.get(format!("http://127.0.0.1:{port}{path}")).send().await.ok()?.json().await.ok()
}

#[tokio::test]
async fn a_kill_9_mid_analysis_loses_no_run() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let first = start_dispatcher(dir.path(), port, 2);
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/cv/analyze/video");
    let clip = long_clip();
    let form = |clip: Vec<u8>| {
        reqwest::multipart::Form::new().part("video", reqwest::multipart::Part::bytes(clip).file_name("swing.mp4"))
    };
    // Three asynchronous analyses (one slot: one runs, two wait in the in-process queue) and one
    // synchronous one, whose client is cut off by the kill.
    let mut async_ids = Vec::new();
    for _ in 0..3 {
        let resp = client.post(&url).header("prefer", "respond-async").multipart(form(clip.clone())).send().await;
        let body: Value = resp.expect("submit").json().await.expect("json");
        async_ids.push(body["run_id"].as_str().expect("run_id").to_string());
    }
    let sync = tokio::spawn({
        let (client, url, clip) = (client.clone(), url.clone(), clip.clone());
        async move { client.post(&url).multipart(form(clip)).send().await.map(|r| r.headers().get("x-run-id").cloned()) }
    });
    let busy = poll_until(Duration::from_secs(60), || async {
        let run = get_json(&client, port, &format!("/runs/v1/{}", async_ids[0])).await?;
        (run["status"] == "processing").then_some(())
    })
    .await;
    assert!(busy.is_some(), "an analysis is under way");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(first); // SIGKILL: no shutdown, no cleanup
    assert!(sync.await.expect("join").is_err(), "the synchronous client lost its connection");

    // Every run the store holds ends terminal after the restart: the asynchronous ones are
    // worked again, the synchronous one (its request died with the process) is abandoned.
    // A queue of one: the three runs to resubmit wait for room instead of being dropped.
    let _second = start_dispatcher(dir.path(), port, 1);
    let all = get_json(&client, port, "/runs/v1?limit=50").await.expect("list");
    let ids: Vec<String> =
        all["items"].as_array().expect("items").iter().map(|r| r["run_id"].as_str().expect("id").to_string()).collect();
    assert_eq!(ids.len(), 4, "{all}");
    let mut finished = Vec::new();
    for id in &ids {
        // Generous: three debug-build analyses run one after another, on 2 cores shared with the
        // rest of the suite.
        let run = poll_until(Duration::from_secs(420), || async {
            let run = get_json(&client, port, &format!("/runs/v1/{id}")).await?;
            matches!(run["status"].as_str(), Some("succeeded" | "failed")).then_some(run)
        })
        .await
        .unwrap_or_else(|| panic!("run {id} never finished after the restart"));
        finished.push(run);
    }
    for run in &finished {
        let id = run["run_id"].as_str().expect("id");
        if async_ids.iter().any(|a| a == id) {
            assert_eq!(run["status"], "succeeded", "asynchronous runs are worked again: {run}");
        } else {
            assert_eq!(
                (run["status"].as_str(), run["error_code"].as_str()),
                (Some("failed"), Some("RUN_ABANDONED")),
                "{run}"
            );
        }
    }
}

#[tokio::test]
async fn the_reaper_ends_dead_runs_and_leaves_live_and_queued_async_ones() {
    use chrono::Utc;
    use common::runs::{ModelVariant, RunKind, RunStatus, Transition, REQUEST_ARTIFACT};
    let app = spawn_app(&[]).await;
    let runs = &app.state.runs;
    let old = Utc::now() - chrono::Duration::minutes(10);
    let seed = |at| golfiq_tests::seed_run(runs, at, RunKind::Image, ModelVariant::Yolov10, RunStatus::Queued);
    let (dead_queue, async_queue, live, dead, unleased) =
        (seed(old).await, seed(old).await, seed(old).await, seed(old).await, seed(old).await);
    runs.put_artifact(async_queue.run_id, REQUEST_ARTIFACT, b"{}").await.expect("stored request");
    let lease = |secs| Transition::Claim { lease_expires_at: Utc::now() + chrono::Duration::seconds(secs) };
    runs.transition(live.run_id, lease(600)).await.expect("live lease");
    runs.transition(dead.run_id, lease(-1)).await.expect("passed lease");
    runs.transition(unleased.run_id, Transition::Start).await.expect("no lease");
    let reaped = prune::reap(runs, Utc::now(), chrono::Duration::minutes(1)).await.expect("reap");
    assert_eq!(reaped.abandoned, 2, "{reaped:?}");
    for (run, status) in [
        (&dead_queue, RunStatus::Failed),
        (&dead, RunStatus::Failed),
        (&async_queue, RunStatus::Queued),
        (&live, RunStatus::Processing),
        (&unleased, RunStatus::Processing),
    ] {
        let now = runs.get(run.run_id).await.expect("run");
        assert_eq!(now.status, status, "{:?}", now.run_id);
        if status == RunStatus::Failed {
            assert_eq!(now.error_code.as_deref(), Some("RUN_ABANDONED"));
        }
    }
}
