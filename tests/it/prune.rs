//! Retention: exact counts over a seeded store for every policy combination, request parsing and
//! precedence, the lock, the scheduled EventBridge path, and concurrent writers during a prune.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use common::run_store::{RunFilter, RunStore, RunStoreError};
use common::runs::{ModelVariant, Run, RunKind, RunStatus, Transition};
use common::storage::file::FileBlobStore;
use golfiq_tests::{new_run, seed_run, spawn_app, TestApp};
use prune::{prune, Policy};
use serde_json::{json, Value};

/// 100 runs: run i was created i days (and an hour) ago, with status i % 4 (queued, processing,
/// succeeded, failed), so 50 are terminal.
async fn seeded_store(dir: &std::path::Path) -> (RunStore, Vec<Run>) {
    let store = RunStore::new(Arc::new(FileBlobStore::new(dir).without_fsync()));
    let now = Utc::now();
    let mut runs = Vec::new();
    for i in 0..100i64 {
        let at = now - Duration::days(i) - Duration::hours(1);
        let kind = RunKind::ALL[i as usize % 3];
        runs.push(seed_run(&store, at, kind, ModelVariant::Yolov10, RunStatus::ALL[i as usize % 4]).await);
    }
    (store, runs)
}

/// The rule written out independently of the implementation.
fn expected_deleted(runs: &[Run], policy: Policy) -> HashSet<common::runs::RunId> {
    let mut terminal: Vec<&Run> = runs.iter().filter(|r| r.status.is_terminal()).collect();
    terminal.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let cutoff = policy.max_age_days.map(|d| Utc::now() - Duration::days(d as i64));
    terminal
        .iter()
        .enumerate()
        .filter(|(rank, r)| {
            policy.max_runs.is_some_and(|n| *rank as u64 >= n) || cutoff.is_some_and(|c| r.created_at < c)
        })
        .map(|(_, r)| r.run_id)
        .collect()
}

#[tokio::test]
async fn every_policy_combination_deletes_exactly_the_expected_terminal_runs() {
    // Hand-computed pins, so the model above cannot share a bug with the code.
    let pinned = [
        ((None, None), 0),
        ((Some(10), None), 40),
        ((Some(0), None), 50),
        ((None, Some(30)), 36),
        ((Some(10), Some(30)), 40),
        ((Some(60), Some(30)), 36),
        ((Some(60), None), 0),
        ((None, Some(200)), 0),
    ];
    for max_runs in [None, Some(0), Some(10), Some(60)] {
        for max_age_days in [None, Some(0), Some(30), Some(200)] {
            for dry_run in [true, false] {
                let dir = tempfile::tempdir().expect("tmp");
                let (store, runs) = seeded_store(dir.path()).await;
                let policy = Policy { max_runs, max_age_days };
                let expected = expected_deleted(&runs, policy);
                if let Some((_, n)) = pinned.iter().find(|(p, _)| *p == (max_runs, max_age_days)) {
                    assert_eq!(expected.len(), *n, "model disagrees with the pin for {policy:?}");
                }
                let summary = prune(&store, policy, Utc::now(), dry_run).await.expect("prune");
                let case = format!("{policy:?} dry_run={dry_run}");
                assert_eq!(summary.scanned, 100, "{case}");
                assert_eq!(summary.deleted, expected.len() as u64, "{case}");
                assert_eq!(summary.kept, 100 - expected.len() as u64, "{case}");
                assert_eq!(summary.dry_run, dry_run);
                let left: HashSet<_> = store.scan_ids(None).await.expect("scan").into_iter().collect();
                for r in &runs {
                    let should_remain = dry_run || !expected.contains(&r.run_id);
                    assert_eq!(left.contains(&r.run_id), should_remain, "{case}: run {} ({})", r.run_id, r.status);
                    assert_eq!(store.get(r.run_id).await.is_ok(), should_remain, "{case}");
                }
            }
        }
    }
}

#[tokio::test]
async fn pruning_twice_is_idempotent_and_takes_artifacts_along() {
    let dir = tempfile::tempdir().expect("tmp");
    let (store, runs) = seeded_store(dir.path()).await;
    let oldest_terminal = runs.iter().rev().find(|r| r.status.is_terminal()).expect("terminal");
    // Every artifact a run can have: the legacy PNG, the tracer still and the tracer clip.
    let names = ["preview.png", "preview.jpg", "tracer.mp4"];
    for name in names {
        store.put_artifact(oldest_terminal.run_id, name, name.as_bytes()).await.expect("artifact");
    }
    let policy = Policy { max_runs: Some(5), max_age_days: None };
    let first = prune(&store, policy, Utc::now(), false).await.expect("first");
    let second = prune(&store, policy, Utc::now(), false).await.expect("second");
    assert_eq!((first.deleted, second.deleted, second.scanned), (45, 0, 55));
    for name in names {
        assert_eq!(store.get_artifact(oldest_terminal.run_id, name).await.expect("read"), None, "{name}");
    }
    assert!(std::fs::read_dir(dir.path().join("artifacts")).map(|d| d.count()).unwrap_or(0) == 0);
}

async fn post(app: &TestApp, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.post(app.url(path)).header("x-api-key", "k");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("post");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

async fn seed_terminal(app: &TestApp, n: usize) {
    for i in 0..n {
        let at = Utc::now() - Duration::days(i as i64 * 10);
        seed_run(&app.state.runs, at, RunKind::Video, ModelVariant::Yolov10, RunStatus::Succeeded).await;
    }
    seed_run(
        &app.state.runs,
        Utc::now() - Duration::days(365),
        RunKind::Image,
        ModelVariant::Yolov10,
        RunStatus::Processing,
    )
    .await;
}

#[tokio::test]
async fn the_runbook_requests_with_overrides_env_defaults_and_precedence() {
    let app = spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", "k")]).await;
    seed_terminal(&app, 6).await;
    // Neither set anywhere: nothing deleted, counts still reported.
    assert_eq!(post(&app, "/runs/v1/prune", None).await, (200, json!({"scanned": 7, "deleted": 0, "kept": 7})));
    // Dry run reports without deleting.
    let (s, body) = post(&app, "/runs/v1/prune?max_runs=2&dry_run=true", None).await;
    assert_eq!((s, body), (200, json!({"scanned": 7, "deleted": 4, "kept": 3, "dry_run": true})));
    // Query wins over body: the body alone would delete everything terminal; the query deletes the
    // runs created 30, 40 and 50 days ago.
    let (s, body) = post(&app, "/runs/v1/prune?max_runs=500&max_age_days=30", Some(json!({"max_runs": 0}))).await;
    assert_eq!((s, body), (200, json!({"scanned": 7, "deleted": 3, "kept": 4})));
    let (s, body) = post(&app, "/runs/v1/prune", Some(json!({"max_runs": 1, "dry_run": false}))).await;
    assert_eq!((s, body), (200, json!({"scanned": 4, "deleted": 2, "kept": 2})));
    // The processing run survives any policy.
    let left = app.state.runs.list(&RunFilter::default(), 10, None).await.expect("list").items;
    assert!(left.iter().any(|r| r.status == RunStatus::Processing));

    let env = spawn_app(&[("RUNS_PRUNE_MAX_RUNS", "2"), ("RUNS_PRUNE_MAX_AGE_DAYS", "15")]).await;
    seed_terminal(&env, 6).await;
    // From the environment: keep 2 newest, and nothing older than 15 days (runs at 0 and 10 days).
    let (s, body) = post(&env, "/runs/v1/prune", None).await;
    assert_eq!((s, body), (200, json!({"scanned": 7, "deleted": 4, "kept": 3})));
}

#[tokio::test]
async fn invalid_overrides_are_400s_naming_the_field() {
    let app = spawn_app(&[]).await;
    let cases: Vec<(&str, Option<Value>, &str, &str)> = vec![
        ("/runs/v1/prune?max_runs=-1", None, "INVALID_PRUNE_PARAMETER", "max_runs"),
        ("/runs/v1/prune?max_runs=1.5", None, "INVALID_PRUNE_PARAMETER", "max_runs"),
        ("/runs/v1/prune?max_age_days=abc", None, "INVALID_PRUNE_PARAMETER", "max_age_days"),
        ("/runs/v1/prune?dry_run=maybe", None, "INVALID_PRUNE_PARAMETER", "dry_run"),
        ("/runs/v1/prune", Some(json!({"max_runs": 1.5})), "INVALID_PRUNE_PARAMETER", "max_runs"),
        ("/runs/v1/prune", Some(json!({"max_runs": -2})), "INVALID_PRUNE_PARAMETER", "max_runs"),
        ("/runs/v1/prune", Some(json!({"max_age_days": "30"})), "INVALID_PRUNE_PARAMETER", "max_age_days"),
        ("/runs/v1/prune", Some(json!({"max_age_days": true})), "INVALID_PRUNE_PARAMETER", "max_age_days"),
        ("/runs/v1/prune", Some(json!({"keep": 3})), "INVALID_PRUNE_PARAMETER", "keep"),
        ("/runs/v1/prune", Some(json!([1])), "INVALID_JSON", "JSON object"),
    ];
    for (path, body, code, needle) in cases {
        let (status, resp) = post(&app, path, body.clone()).await;
        assert_eq!((status, resp["error_code"].as_str()), (400, Some(code)), "{path} {body:?}");
        assert!(resp["message"].as_str().is_some_and(|m| m.contains(needle)), "{path}: {resp}");
    }
    let resp = app.client.post(app.url("/runs/v1/prune")).body("{max_runs").send().await.expect("post");
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.json::<Value>().await.expect("json")["error_code"], "INVALID_JSON");
}

#[tokio::test]
async fn the_lock_is_enforced_by_the_server() {
    for lock in ["RUNS_PRUNE_LOCKED", "PROD_LOCK", "VITE_PROD_LOCK", "VITE_RUNS_PRUNE_LOCKED"] {
        let app = spawn_app(&[(lock, "true")]).await;
        seed_terminal(&app, 3).await;
        let (status, body) = post(&app, "/runs/v1/prune?max_runs=0", None).await;
        assert_eq!((status, body["error_code"].as_str()), (403, Some("PRUNE_LOCKED")), "{lock}");
        assert_eq!(app.state.runs.scan_ids(None).await.expect("scan").len(), 4, "{lock}: nothing deleted");
    }
}

fn scheduled_event() -> String {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/events/eventbridge-scheduled.json");
    std::fs::read_to_string(p).expect("fixture")
}

#[tokio::test]
async fn the_scheduled_eventbridge_event_prunes_with_the_environment_settings() {
    let app = spawn_app(&[("RUNS_PRUNE_MAX_RUNS", "2")]).await;
    seed_terminal(&app, 5).await;
    let req = common::lambda_http::request::from_str(&scheduled_event()).expect("EventBridge event parses");
    let resp = prune::handle(&app.state, req).await;
    assert_eq!(resp.status(), 200);
    let body: Value = serde_json::from_slice(resp.body().as_ref()).expect("json");
    assert_eq!(body, json!({"scanned": 6, "deleted": 3, "kept": 3, "uploads_deleted": 0}));
    assert_eq!(app.state.runs.scan_ids(None).await.expect("scan").len(), 3);

    let locked = spawn_app(&[("RUNS_PRUNE_MAX_RUNS", "0"), ("PROD_LOCK", "1")]).await;
    seed_terminal(&locked, 2).await;
    let req = common::lambda_http::request::from_str(&scheduled_event()).expect("parse");
    let resp = prune::handle(&locked.state, req).await;
    let body: Value = serde_json::from_slice(resp.body().as_ref()).expect("json");
    assert_eq!(body, json!({"skipped": "locked"}));
    assert_eq!(locked.state.runs.scan_ids(None).await.expect("scan").len(), 3);

    // Another non-HTTP event is refused, and the scheduled path is unreachable over HTTP.
    let req = common::lambda_http::request::from_str(r#"{"source": "aws.s3", "detail-type": "Object Created"}"#)
        .expect("parse");
    assert_eq!(prune::handle(&app.state, req).await.status(), 400);
    let resp = app.client.post(app.url("/events")).body(scheduled_event()).send().await.expect("post");
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prune_never_deletes_a_run_that_is_being_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = RunStore::new(Arc::new(FileBlobStore::new(dir.path())));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (store, stop) = (store.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut finished = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // The analyze shape: create, start, write the preview, then succeed.
                let run = store.create(new_run(RunKind::Video, ModelVariant::Yolov11)).await?;
                store.transition(run.run_id, Transition::Start).await?;
                tokio::time::sleep(std::time::Duration::from_millis(3 + w)).await;
                store.put_artifact(run.run_id, "preview.png", b"png").await?;
                let done = Transition::Succeed { timing: None, result: json!({}), frame_count: None };
                store.transition(run.run_id, done).await?;
                finished += 1;
            }
            Ok::<u32, RunStoreError>(finished)
        }));
    }
    // Prune over and over while the writers run: at least 25 rounds, and on until a prune has
    // deleted finished runs (a slow, loaded machine finishes runs late), within a deadline.
    let mut pruned = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut rounds = 0;
    while (rounds < 25 || pruned == 0) && std::time::Instant::now() < deadline {
        pruned += prune(&store, Policy { max_runs: Some(0), max_age_days: None }, Utc::now(), false)
            .await
            .expect("prune")
            .deleted;
        rounds += 1;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut finished = 0;
    for w in writers {
        finished += w.await.expect("writer task").expect("no writer lost its run to prune");
    }
    assert!(pruned > 0 && finished > 0, "both sides made progress (pruned {pruned}, finished {finished})");
    let last = prune(&store, Policy { max_runs: Some(0), max_age_days: None }, Utc::now(), false).await.expect("prune");
    assert_eq!(last.kept, 0, "every finished run is terminal and goes");
    assert_eq!(u64::from(finished), pruned + last.deleted);
}

/// The container has no EventBridge: with RUNS_PRUNE_INTERVAL_MINUTES the dispatcher applies the
/// retention rule itself, and a locked deployment keeps everything.
#[tokio::test]
async fn the_dispatcher_prunes_on_its_own_schedule_unless_locked() {
    use std::time::Duration;
    for (locked, want_left) in [(false, 1usize), (true, 3)] {
        let mut env = vec![("RUNS_PRUNE_MAX_RUNS", "1"), ("RUNS_PRUNE_INTERVAL_MINUTES", "0.01")];
        if locked {
            env.push(("RUNS_PRUNE_LOCKED", "1"));
        }
        let app = spawn_app(&env).await;
        let now = Utc::now();
        for age_min in [30, 20, 10] {
            let at = now - chrono::Duration::minutes(age_min);
            seed_run(&app.state.runs, at, RunKind::Video, ModelVariant::Yolov10, RunStatus::Succeeded).await;
        }
        let count = || async { app.state.runs.scan_ids(None).await.expect("scan").len() };
        if locked {
            // Three intervals (0.6 s each) pass without a deletion.
            tokio::time::sleep(Duration::from_millis(2000)).await;
            assert_eq!(count().await, want_left, "locked: nothing pruned");
        } else {
            let left = golfiq_tests::poll_until(Duration::from_secs(10), || async {
                let n = count().await;
                (n == want_left).then_some(n)
            })
            .await;
            assert_eq!(left, Some(want_left), "the newest run is kept, the two older pruned");
        }
        app.stop().await.expect("graceful shutdown");
    }
}

/// Sets a file's modification time `days` days back.
fn age(path: &std::path::Path, days: i64) {
    let file = std::fs::File::options().write(true).open(path).expect("open");
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(days as u64 * 86_400);
    file.set_modified(t).expect("set mtime");
}

#[tokio::test]
async fn the_schedule_deletes_uploads_older_than_runs_ttl_days() {
    for (ttl, expect_deleted) in [("30", true), ("0", false)] {
        let app = spawn_app(&[("RUNS_TTL_DAYS", ttl)]).await;
        let mut keys = Vec::new();
        for name in ["old.mp4", "fresh.mov"] {
            let resp = app.client.post(app.url("/runs/v1/uploads")).json(&json!({"filename": name})).send();
            let ticket: Value = resp.await.expect("ticket").json().await.expect("json");
            let put = app.client.put(ticket["url"].as_str().expect("url")).body(vec![7u8; 1024]).send().await;
            assert_eq!(put.expect("put").status().as_u16(), 200);
            keys.push(ticket["upload_key"].as_str().expect("key").to_string());
        }
        let dir = app.state.config.runs_upload_dir.clone();
        // The original server's layout: <slug of the run id>/<unix time>-<8 hex>.zip.
        let original_old = dir.join("legacy_run-7/1700000000-0a1b2c3d.zip");
        let original_fresh = dir.join("legacy_run-8/1790000000-4e5f6a7b.zip");
        for f in [&original_old, &original_fresh] {
            std::fs::create_dir_all(f.parent().expect("parent")).expect("dir");
            std::fs::write(f, b"PK").expect("write");
        }
        age(&dir.join(&keys[0]), 31);
        age(&dir.join(format!("tickets/{}.json", keys[0])), 31);
        age(&original_old, 40);

        let req = common::lambda_http::request::from_str(&scheduled_event()).expect("parse");
        let body: Value = serde_json::from_slice(prune::handle(&app.state, req).await.body().as_ref()).expect("json");
        let gone = |p: &std::path::Path| !p.exists();
        if expect_deleted {
            assert_eq!(body["uploads_deleted"], 3, "{body}: the old upload, its ticket, the original's old file");
            assert!(gone(&dir.join(&keys[0])) && gone(&original_old) && gone(original_old.parent().expect("dir")));
            let err = app.state.uploads.get(&keys[0]).await.expect_err("swept");
            assert!(matches!(err, common::storage::StorageError::NotFound(_)));
        } else {
            assert!(body.get("uploads_deleted").is_none(), "RUNS_TTL_DAYS=0 keeps uploads: {body}");
            assert!(!gone(&dir.join(&keys[0])) && !gone(&original_old));
        }
        assert!(!gone(&dir.join(&keys[1])) && !gone(&original_fresh), "younger uploads stay");
        assert_eq!(app.state.uploads.get(&keys[1]).await.expect("fresh upload"), vec![7u8; 1024]);
    }
}

#[tokio::test]
async fn an_age_beyond_any_date_deletes_nothing_and_does_not_overflow() {
    let app = spawn_app(&[]).await;
    seed_terminal(&app, 3).await;
    for days in ["99999999999", "18446744073709551615"] {
        let (status, body) = post(&app, &format!("/runs/v1/prune?max_age_days={days}"), None).await;
        assert_eq!((status, body["deleted"].as_u64()), (200, Some(0)), "{days}: {body}");
    }
}
