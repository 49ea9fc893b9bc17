//! Runs the original server wrote (`<RUN_STORE_DIR>/<uuid4>/run.json`, epoch-float times), imported
//! by the dispatcher at startup (RUN_STORE_IMPORT_LEGACY=1): they list in created_ts order among
//! runs created here, filter, page, get and prune like them, the original files stay untouched, and
//! importing again (a restart) changes nothing, not even for runs pruned since.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use common::runs::{ModelVariant, RunKind, RunStatus};
use common::state::AppState;
use golfiq_tests::original::OriginalRun;
use golfiq_tests::{config_with, seed_run, spawn_with_state, TestApp};
use serde_json::{json, Value};

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let resp = app.client.get(app.url(path)).send().await.expect("get");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

/// Every run id of a filtered listing, paging `limit` at a time.
async fn list_all(app: &TestApp, query: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/runs/v1?limit={limit}{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = get(app, &path).await;
        assert_eq!(status, 200, "{path}: {page}");
        ids.extend(
            page["items"].as_array().expect("items").iter().map(|r| r["run_id"].as_str().expect("id").to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

fn snapshot(files: &[PathBuf]) -> BTreeMap<PathBuf, Vec<u8>> {
    files.iter().map(|f| (f.clone(), std::fs::read(f).expect("original file"))).collect()
}

async fn start(dir: tempfile::TempDir, extra: &[(&str, &str)]) -> TestApp {
    let state = AppState::from_config(config_with(dir.path(), extra)).await.expect("state");
    spawn_with_state(state, dir).await
}

fn store_dir(dir: &Path) -> PathBuf {
    dir.join("runs")
}

#[tokio::test]
async fn imported_runs_list_filter_page_get_and_prune_like_native_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let now = Utc::now();
    let secs = |days_ago: f64| {
        (now - Duration::milliseconds((days_ago * 86_400_000.0) as i64)).timestamp_micros() as f64 / 1e6
    };

    // The original's runs, at times between the native ones below (days ago: 0.5 .. 45).
    let mut originals = vec![
        OriginalRun { status: "succeeded", ..OriginalRun::video(secs(0.5)) },
        OriginalRun { status: "failed", source_type: "analyze", ..OriginalRun::video(secs(2.5)) },
        OriginalRun { variant: Some("yolov11"), ..OriginalRun::video(secs(4.5)) },
        OriginalRun { source_type: "range", ..OriginalRun::video(secs(6.5)) },
        OriginalRun { source_type: "mobile", variant: None, ..OriginalRun::video(secs(8.5)) },
        OriginalRun { status: "processing", ..OriginalRun::video(secs(40.0)) },
        OriginalRun { status: "failed", ..OriginalRun::video(secs(45.0)) },
    ];
    // Two with the same created_ts: the original ordered ties by run_id, descending.
    originals.push(OriginalRun { status: "succeeded", ..OriginalRun::video(originals[2].created_ts) });
    let files: Vec<PathBuf> = originals.iter().map(|o| o.write(&store_dir(dir.path()))).collect();
    // What the original accepted but this store cannot key, and a torn write.
    let odd = OriginalRun { run_id: "deadbeef".into(), ..OriginalRun::video(secs(1.0)) }.write(&store_dir(dir.path()));
    let torn = store_dir(dir.path()).join("0b1e4c2a-7f7d-4c58-9d43-7a0c3e5f1b20/run.json");
    std::fs::create_dir_all(torn.parent().expect("parent")).expect("dir");
    std::fs::write(&torn, "{\"run_id\": \"0b1e4c2a-7f7d-4c58-9d43-7a0c3e5f1b20\", \"created_ts\": 17").expect("torn");
    let before = snapshot(&[files.clone(), vec![odd.clone(), torn.clone()]].concat());

    // Runs created here, interleaved in time.
    let config = config_with(dir.path(), &[]);
    let native_store = AppState::from_config(config).await.expect("state").runs;
    let mut expected: Vec<(i64, String)> = Vec::new();
    for days_ago in [1.5, 3.5, 7.5, 30.0] {
        let at = now - Duration::milliseconds((days_ago * 86_400_000.0) as i64);
        let run = seed_run(&native_store, at, RunKind::Image, ModelVariant::Yolov10, RunStatus::Succeeded).await;
        expected.push((run.created_at.timestamp_millis(), run.run_id.to_string()));
    }
    expected.extend(originals.iter().map(|o| (o.created_at().timestamp_millis(), o.run_id.clone())));
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    let app = start(dir, &[("RUN_STORE_IMPORT_LEGACY", "1")]).await;
    // Newest first by created_ts (then run_id), across both kinds of run, in pages of 3.
    assert_eq!(list_all(&app, "", 3).await, expected);
    assert_eq!(list_all(&app, "", 200).await, expected);

    // Filters see the original's kinds (derived as it did), statuses and variants.
    let ids_where = |pred: &dyn Fn(&OriginalRun) -> bool| -> Vec<String> {
        expected.iter().filter(|id| originals.iter().any(|o| &o.run_id == *id && pred(o))).cloned().collect()
    };
    assert_eq!(list_all(&app, "&status=failed", 2).await, ids_where(&|o| o.status == "failed"));
    assert_eq!(list_all(&app, "&model_variant=yolov11", 2).await, ids_where(&|o| o.variant == Some("yolov11")));
    let ranges = ids_where(&|o| o.source_type == "range");
    assert_eq!(list_all(&app, "&kind=range", 2).await, ranges);
    let videos = list_all(&app, "&kind=video", 2).await;
    assert_eq!(videos, ids_where(&|o| o.source_type == "analyze_video"), "the mobile run has no kind");

    // Get by the UUIDv4 id: the original's fields in this server's shape.
    let failed = &originals[1];
    let (status, run) = get(&app, &format!("/runs/v1/{}", failed.run_id)).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["created_at"], common::runs::format_ts(&failed.created_at()));
    assert_eq!((run["status"].as_str(), run["kind"].as_str()), (Some("failed"), Some("image")));
    assert_eq!(run["error_code"], "VIDEO_DECODE_ERROR");
    assert_eq!(run["inference_timing"]["frame_count"], 128);
    assert_eq!(run["legacy"]["mode"], "detector");
    let (_, mobile) = get(&app, &format!("/runs/v1/{}", originals[4].run_id)).await;
    assert_eq!((mobile["kind"].clone(), mobile["model_variant_selected"].clone()), (Value::Null, Value::Null));
    assert_eq!(mobile["override_source"], "none");
    let (status, missing) = get(&app, "/runs/v1/3f2b8c1e-9a4d-4c61-8e0f-2a7b5d9c1e44").await;
    assert_eq!((status, missing["error_code"].as_str()), (404, Some("RUN_NOT_FOUND")));

    // Prune by age: terminal runs created over 35 days ago go, the old processing one stays.
    let resp =
        app.client.post(app.url("/runs/v1/prune")).json(&json!({"max_age_days": 35})).send().await.expect("prune");
    let summary: Value = resp.json().await.expect("json");
    assert_eq!(summary["deleted"], 1, "{summary}");
    let (status, _) = get(&app, &format!("/runs/v1/{}", originals[6].run_id)).await;
    assert_eq!(status, 404, "the 45-day-old failed run is pruned");
    // Prune by count keeps the newest terminal runs, ranked by created_ts across both kinds.
    let resp = app.client.post(app.url("/runs/v1/prune")).json(&json!({"max_runs": 3})).send().await.expect("prune");
    assert_eq!(resp.status(), 200);
    let left = list_all(&app, "", 50).await;
    let terminal_left: Vec<&String> = left.iter().filter(|id| **id != originals[5].run_id).collect();
    assert_eq!(terminal_left, expected.iter().take(3).collect::<Vec<_>>());
    assert!(left.contains(&originals[5].run_id), "the processing run is never pruned");

    // The original files are exactly as they were; a restart imports nothing again, so pruned runs
    // stay pruned.
    assert_eq!(snapshot(&before.keys().cloned().collect::<Vec<_>>()), before);
    let dir = app.into_dir().await;
    let again = start(dir, &[("RUN_STORE_IMPORT_LEGACY", "1")]).await;
    assert_eq!(list_all(&again, "", 50).await, left);
}

#[tokio::test]
async fn without_the_switch_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = OriginalRun::video(Utc::now().timestamp() as f64);
    original.write(&store_dir(dir.path()));
    let app = start(dir, &[]).await;
    assert_eq!(list_all(&app, "", 10).await, Vec::<String>::new());
    let (status, _) = get(&app, &format!("/runs/v1/{}", original.run_id)).await;
    assert_eq!(status, 404);
}
