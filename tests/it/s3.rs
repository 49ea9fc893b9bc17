//! The S3 backend against a real S3-compatible server (moto on 127.0.0.1): the conformance suite,
//! conditional-write CAS under races, paging, flags and prune on S3, and the dispatcher serving
//! from a bucket.

use std::sync::Arc;

use chrono::{Duration, Utc};
use common::flag_store::FlagStore;
use common::run_store::{Cursor, RunFilter, RunStore, RunStoreError};
use common::runs::{ModelVariant, RunKind, RunStatus, Transition};
use common::state::AppState;
use common::storage::s3::S3BlobStore;
use common::storage::{BlobStore, Key, SharedBlobStore};
use golfiq_tests::conformance::blob_store_conformance;
use golfiq_tests::{config_with, new_run, s3, seed_run, spawn_with_state};
use serde_json::json;

async fn store(prefix: &str) -> S3BlobStore {
    let client = s3::client();
    let bucket = s3::bucket(&client).await;
    S3BlobStore::new(client, bucket, prefix)
}

#[tokio::test]
async fn s3_backend_passes_the_conformance_suite() {
    blob_store_conformance(&store("").await).await;
    blob_store_conformance(&store("deep/prefix/").await).await;
}

#[tokio::test]
async fn keys_under_another_prefix_are_invisible() {
    let client = s3::client();
    let bucket = s3::bucket(&client).await;
    let a = S3BlobStore::new(client.clone(), bucket.clone(), "a");
    let b = S3BlobStore::new(client, bucket, "b/");
    a.put(&Key::parse("conf/x").expect("key"), b"1").await.expect("put");
    assert!(b.list("conf/", None, 10).await.expect("list").keys.is_empty());
    assert_eq!(a.list("conf/", None, 10).await.expect("list").keys.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_writes_serialise_racing_transitions() {
    let blobs: SharedBlobStore = Arc::new(store("runs-race/").await);
    let runs = RunStore::new(blobs);
    for trial in 0..3 {
        let run = runs.create(new_run(RunKind::Video, ModelVariant::Yolov10)).await.expect("create");
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (runs, id) = (runs.clone(), run.run_id);
            tasks.push(tokio::spawn(async move {
                let t = if i % 2 == 0 {
                    Transition::Succeed { timing: None, result: json!({"by": i}), frame_count: None }
                } else {
                    Transition::Fail { error_code: format!("E{i}"), message: "m".into(), timing: None }
                };
                runs.transition(id, t).await
            }));
        }
        let mut wins = Vec::new();
        for t in tasks {
            match t.await.expect("task") {
                Ok(r) => wins.push(r),
                Err(RunStoreError::InvalidTransition(_)) => {}
                Err(e) => panic!("trial {trial}: {e}"),
            }
        }
        assert_eq!(wins.len(), 1, "trial {trial}: exactly one terminal transition");
        assert_eq!(runs.get(run.run_id).await.expect("get"), wins[0]);
    }
}

#[tokio::test]
async fn paging_on_s3_is_newest_first_without_duplicates() {
    let blobs: SharedBlobStore = Arc::new(store("paging/").await);
    let runs = RunStore::new(blobs);
    let now = Utc::now();
    let mut all = Vec::new();
    for i in 0..40i64 {
        let status = RunStatus::ALL[(i % 4) as usize];
        all.push(
            seed_run(
                &runs,
                now - Duration::minutes(i * 7),
                RunKind::ALL[(i % 3) as usize],
                ModelVariant::Yolov11,
                status,
            )
            .await,
        );
    }
    for (filter, limit) in [
        (RunFilter::default(), 7),
        (RunFilter { status: Some(RunStatus::Failed), ..Default::default() }, 3),
        (RunFilter { kind: Some(RunKind::Range), status: Some(RunStatus::Succeeded), ..Default::default() }, 2),
    ] {
        let expected: Vec<_> = all
            .iter()
            .filter(|r| filter.status.is_none_or(|s| r.status == s) && filter.kind.is_none_or(|k| r.kind == Some(k)))
            .map(|r| r.run_id)
            .collect();
        let mut got = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = runs.list(&filter, limit, cursor).await.expect("page");
            got.extend(page.items.iter().map(|r| r.run_id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(got, expected, "{filter:?}");
    }
    let deleted = prune::prune(&runs, prune::Policy { max_runs: Some(5), max_age_days: None }, Utc::now(), false).await;
    assert_eq!(deleted.expect("prune on s3").deleted, 15, "20 terminal runs, keep 5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flags_live_in_the_bucket_with_no_lost_update() {
    let blobs: SharedBlobStore = Arc::new(store("flags/").await);
    let flags = FlagStore::new(blobs, Key::parse("config/feature_flags.json").expect("key"));
    let mut tasks = Vec::new();
    for i in 0..6 {
        let flags = flags.clone();
        tasks.push(tokio::spawn(async move {
            flags.update(&json!({format!("f{i}"): {"rolloutPercent": i}}), "admin", None, false).await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("update");
    }
    let cfg = flags.load().await.expect("load");
    assert_eq!(cfg.meta.version, 6);
    assert!((0..6).all(|i| cfg.flags[&format!("f{i}")].rollout_percent == Some(i as u8)));
    assert_eq!(flags.audit(100).await.expect("audit").len(), 6);
    flags.probe_write().await.expect("probe");
}

#[tokio::test]
async fn the_dispatcher_serves_runs_and_readiness_from_a_bucket() {
    let client = s3::client();
    let bucket = s3::bucket(&client).await;
    let blobs: SharedBlobStore = Arc::new(S3BlobStore::new(client, bucket, "app/"));
    let flags = FlagStore::new(blobs.clone(), Key::parse("config/feature_flags.json").expect("key"));
    let dir = tempfile::tempdir().expect("tmp");
    let state = AppState::assemble(config_with(dir.path(), &[("ADMIN_TOKEN", "t")]), blobs, flags);
    let run = seed_run(&state.runs, Utc::now(), RunKind::Image, ModelVariant::Yolov10, RunStatus::Failed).await;
    let app = spawn_with_state(state, dir).await;

    let health: serde_json::Value =
        app.client.get(app.url("/health")).send().await.expect("get").json().await.expect("json");
    assert_eq!(health["run_store_backend"], "s3");
    let resp = app.client.get(app.url("/ready")).send().await.expect("ready");
    assert_eq!(resp.status().as_u16(), 200);
    let page: serde_json::Value =
        app.client.get(app.url("/runs/v1?status=failed")).send().await.expect("get").json().await.expect("json");
    assert_eq!(page["items"][0]["run_id"], run.run_id.to_string());
    let put = app
        .client
        .put(app.url("/api/admin/feature-flags/config"))
        .header("x-admin-token", "t")
        .body(r#"{"roundFlowV2": {"rolloutPercent": 10}}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status().as_u16(), 200);
    assert_eq!(app.client.get(app.url("/ready")).send().await.expect("ready").status().as_u16(), 200);
}

#[tokio::test]
async fn upload_tickets_on_s3_are_presigned_puts_into_the_bucket() {
    let store = store("app/").await;
    let uploads = common::uploads::UploadStore::s3(store);
    let ticket = uploads.ticket(Some("clip.mp4"), "video/mp4", "http://unused").await.expect("ticket");
    assert!(ticket.url.starts_with(&s3::moto().endpoint), "{}", ticket.url);
    assert!(ticket.url.contains("X-Amz-Signature="), "presigned: {}", ticket.url);
    let body = vec![7u8; 512 * 1024];
    let mut put = reqwest::Client::new().put(&ticket.url).body(body.clone());
    for (k, v) in &ticket.headers {
        put = put.header(k, v);
    }
    let resp = put.send().await.expect("put to presigned url");
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(uploads.get(&ticket.upload_key).await.expect("read back"), body);
    uploads.delete(&ticket.upload_key).await.expect("delete");
    assert!(matches!(uploads.get(&ticket.upload_key).await, Err(common::storage::StorageError::NotFound(_))));
}

#[tokio::test]
async fn the_upload_sweep_on_s3_deletes_by_last_modified_under_uploads_only() {
    let store = store("app/").await;
    let uploads = common::uploads::UploadStore::s3(store.clone());
    let mut keys = Vec::new();
    for _ in 0..3 {
        let ticket = uploads.ticket(Some("clip.mp4"), "video/mp4", "http://unused").await.expect("ticket");
        store.put(&Key::parse(format!("uploads/{}", ticket.upload_key)).expect("key"), b"v").await.expect("put");
        keys.push(ticket.upload_key);
    }
    let run_record = Key::parse("runs/keep.json").expect("key");
    store.put(&run_record, b"{}").await.expect("put");
    // Nothing is a day old yet; everything under uploads/ is older than a minute from now.
    assert_eq!(uploads.sweep(Utc::now() - Duration::days(1)).await.expect("sweep"), 0);
    assert_eq!(uploads.get(&keys[0]).await.expect("kept"), b"v");
    assert_eq!(uploads.sweep(Utc::now() + Duration::minutes(1)).await.expect("sweep"), 3);
    for k in &keys {
        assert!(matches!(uploads.get(k).await, Err(common::storage::StorageError::NotFound(_))));
    }
    assert!(store.get(&run_record).await.is_ok(), "only uploads/ is swept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_rate_limit_windows_hold_under_racing_instances_on_s3() {
    let blobs: SharedBlobStore = Arc::new(store("live-race/").await);
    let now_ms = Utc::now().timestamp_millis();
    let mut tasks = Vec::new();
    for _ in 0..14 {
        // Each task is another instance: its own store handle on the same bucket.
        let live = live::state::LiveStore::new(blobs.clone());
        tasks.push(tokio::spawn(async move { live.admit_exchange("evt1", "203.0.113.7", now_ms, 10, 60_000).await }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.expect("join").expect("admit"));
    }
    assert_eq!(admitted, 10, "exactly the limit, however the writes interleave");
}
