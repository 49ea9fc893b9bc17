//! Storage faults: the S3 backend behind a fault-injecting proxy (5xx, SlowDown, connections
//! dropped before and after the request lands, latency, a backend that hangs), and the file
//! backend on a filesystem that fills up. Goal: no run lost or corrupted; a request that cannot
//! complete fails fast with a stable code (503 STORAGE_UNAVAILABLE, 507 STORAGE_FULL).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::flag_store::FlagStore;
use common::run_store::{RunFilter, RunStore, RunStoreError};
use common::runs::{ModelVariant, RunId, RunKind, RunStatus};
use common::state::AppState;
use common::storage::s3::{Resilience, S3BlobStore};
use common::storage::{Key, SharedBlobStore, StorageError};
use futures::StreamExt;
use golfiq_tests::fault_proxy::{Fault, FaultProxy};
use golfiq_tests::process::{dispatcher_command, free_port, DispatcherProcess};
use golfiq_tests::{config_with, finish, new_run, s3, seed_run, spawn_with_state};
use serde_json::{json, Value};

/// The production retry policy with a short first backoff and deadline, so the test is quick.
fn quick() -> Resilience {
    Resilience { max_attempts: 4, timeout: Duration::from_secs(3), initial_backoff: Duration::from_millis(20) }
}

/// What one writer was told about its run.
#[derive(Debug, Default)]
struct Told {
    /// The run, once `create` said it exists.
    id: Option<RunId>,
    /// The last status a write was acknowledged for.
    acknowledged: Option<RunStatus>,
    /// The status of a write that failed with `Unavailable` (it may or may not have landed).
    attempted: Option<RunStatus>,
    /// Any answer other than success or `Unavailable`: a bug.
    wrong: Option<String>,
}

async fn write_one(store: RunStore, i: usize) -> Told {
    let mut told = Told::default();
    let run = match store.create(new_run(RunKind::Video, ModelVariant::Yolov10)).await {
        Ok(run) => run,
        Err(RunStoreError::Storage(StorageError::Unavailable(_))) => return told,
        Err(e) => {
            told.wrong = Some(format!("create: {e}"));
            return told;
        }
    };
    told.id = Some(run.run_id);
    told.acknowledged = Some(RunStatus::Queued);
    let status = if i.is_multiple_of(3) { RunStatus::Failed } else { RunStatus::Succeeded };
    for t in finish(status) {
        let target = t.target();
        match store.transition(run.run_id, t).await {
            Ok(run) => told.acknowledged = Some(run.status),
            Err(RunStoreError::Storage(StorageError::Unavailable(_))) => {
                told.attempted = Some(target);
                return told;
            }
            Err(e) => {
                told.wrong = Some(format!("transition to {target}: {e}"));
                return told;
            }
        }
    }
    told
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_written_through_a_faulty_s3_stay_whole_and_readable() {
    let clean = s3::client();
    let bucket = s3::bucket(&clean).await;
    // 30 % of requests faulted: SlowDown, 500, dropped before, dropped after landing, latency.
    let proxy = FaultProxy::start(&s3::moto().endpoint, 0.3, 27).await;
    let faulty = RunStore::new(Arc::new(S3BlobStore::new(s3::client_at(&proxy.endpoint, quick()), &bucket, "app/")));
    let truth = RunStore::new(Arc::new(S3BlobStore::new(clean, &bucket, "app/")));

    let told: Vec<Told> =
        futures::stream::iter(0..24).map(|i| write_one(faulty.clone(), i)).buffer_unordered(8).collect().await;

    let wrong: Vec<&String> = told.iter().filter_map(|t| t.wrong.as_ref()).collect();
    assert!(wrong.is_empty(), "answers other than success or STORAGE_UNAVAILABLE: {wrong:?}");
    for fault in [Fault::SlowDown, Fault::InternalError, Fault::ResetBefore, Fault::ResetAfter, Fault::Latency] {
        assert!(proxy.count(fault) > 0, "the proxy injected no {fault:?}: {} requests", proxy.log().len());
    }
    // The SDK's retries carry nearly every write through: a run fails only where one request
    // met four faults in a row.
    let complete = told.iter().filter(|t| t.acknowledged.is_some_and(|s| s.is_terminal())).count();
    assert!(complete >= 20, "only {complete} of 24 runs were written through 30 % faults");

    // Read back without faults: every acknowledged run is there, parses, and holds what its writer
    // was told (or the write it attempted, when only the answer was lost).
    let listed = truth.list(&RunFilter::default(), 100, None).await.expect("list without faults");
    for t in &told {
        let Some(id) = t.id else { continue };
        let run = truth.get(id).await.unwrap_or_else(|e| panic!("run {id} unreadable: {e}"));
        let allowed = [t.acknowledged, t.attempted];
        assert!(allowed.contains(&Some(run.status)), "run {id} is {} but its writer was told {allowed:?}", run.status);
        assert!(listed.items.iter().any(|r| r.run_id == id), "run {id} is missing from the listing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dispatcher_over_a_faulty_s3_answers_or_says_503_and_never_hangs() {
    let clean = s3::client();
    let bucket = s3::bucket(&clean).await;
    let seeded = RunStore::new(Arc::new(S3BlobStore::new(clean, &bucket, "app/")));
    let mut ids = Vec::new();
    for status in [RunStatus::Succeeded, RunStatus::Failed, RunStatus::Succeeded] {
        ids.push(seed_run(&seeded, Utc::now(), RunKind::Image, ModelVariant::Yolov10, status).await.run_id);
    }
    let proxy = FaultProxy::start(&s3::moto().endpoint, 0.25, 99).await;
    let blobs: SharedBlobStore = Arc::new(S3BlobStore::new(s3::client_at(&proxy.endpoint, quick()), &bucket, "app/"));
    let flags = FlagStore::new(blobs.clone(), Key::parse("config/feature_flags.json").expect("key"));
    let dir = tempfile::tempdir().expect("tmp");
    let state = AppState::assemble(config_with(dir.path(), &[("ADMIN_TOKEN", "t")]), blobs, flags);
    let app = spawn_with_state(state, dir).await;

    let mut answers: std::collections::BTreeMap<String, usize> = Default::default();
    for round in 0..12 {
        let id = ids[round % ids.len()];
        let requests = [
            app.client.get(app.url(&format!("/runs/v1/{id}"))),
            app.client.get(app.url("/runs/v1?limit=10")),
            app.client.get(app.url("/api/feature-flags")),
            app.client
                .put(app.url("/api/admin/feature-flags/config"))
                .header("x-admin-token", "t")
                .body(json!({"roundFlowV2": {"rolloutPercent": round * 5}}).to_string()),
            app.client.get(app.url("/ready")),
        ];
        for request in requests {
            let resp = request.send().await.expect("the dispatcher answers");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            match status {
                200..=299 => {}
                503 if body["error_code"] == "STORAGE_UNAVAILABLE" => {}
                // /ready reports a failing store as a failed check, not an error code.
                503 if body["checks"].is_array() => {}
                other => panic!("round {round}: {other} {body}"),
            }
            *answers.entry(status.to_string()).or_default() += 1;
        }
    }
    assert!(answers.get("200").copied().unwrap_or(0) >= 50, "retries should carry most requests: {answers:?}");

    // A backend that stops answering: the request fails within its deadline, not never.
    proxy.set_hang(true);
    let started = Instant::now();
    let resp = app.client.get(app.url(&format!("/runs/v1/{}", ids[0]))).send().await.expect("answer");
    let took = started.elapsed();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error_code"], "STORAGE_UNAVAILABLE", "{body}");
    assert!(took < Duration::from_secs(10), "a hung backend held the request {took:?}");
    proxy.set_hang(false);

    // Nothing was lost or torn: every seeded run reads back as it was, and the flag config parses.
    for id in &ids {
        let run = seeded.get(*id).await.expect("seeded run intact");
        assert!(run.status.is_terminal());
    }
    let resp = app.client.get(app.url("/api/admin/feature-flags/config")).header("x-admin-token", "t").send().await;
    assert_eq!(resp.expect("config").status().as_u16(), 200);
}

/// Writes into `path` until the filesystem refuses, first in large chunks, then in small ones, so
/// not even one more page is free.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    for (n, chunk) in [(1usize << 20, "big"), (4096, "small")] {
        let mut file = std::fs::File::create(path.with_extension(chunk)).expect("filler");
        let block = vec![0x5a_u8; n];
        loop {
            if let Err(e) = file.write_all(&block).and_then(|()| file.sync_all()) {
                assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "filling: {e}");
                break;
            }
        }
    }
}

/// Temp files (`.tmp-*`) anywhere under `dir`: a torn write would leave one.
fn temp_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            found.push(path);
        }
    }
    found
}

async fn post_clip(client: &reqwest::Client, server: &DispatcherProcess, clip: &[u8]) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(clip.to_vec()).file_name("swing.mp4");
    let form = reqwest::multipart::Form::new().part("video", part).text("fps_fallback", "60");
    let resp = client.post(server.url("/cv/analyze/video")).multipart(form).send().await.expect("analyze");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_full_filesystem_answers_507_keeps_every_record_and_recovers() {
    // The store on a 16 MiB tmpfs of the dispatcher's own (a user and mount namespace: no root
    // needed), filled and emptied from outside through /proc/PID/root.
    let dir = tempfile::tempdir().expect("dir");
    let mount = dir.path().join("store");
    std::fs::create_dir_all(&mount).expect("mount point");
    let port = free_port();
    let script = r#"mount -t tmpfs -o size=16m golfiq-full "$0" && exec "$@""#;
    let wrapper =
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, mount.to_str().expect("utf-8")];
    let mut command = dispatcher_command(&mount, port, &wrapper);
    command.env("ADMIN_TOKEN", "t");
    let server = DispatcherProcess::start(command, port);
    let inside = std::path::PathBuf::from(format!("/proc/{}/root{}", server.pid(), mount.display()));
    let mounts = std::fs::read_to_string(format!("/proc/{}/mounts", server.pid())).expect("mounts");
    assert!(mounts.contains("golfiq-full"), "the store is on its own tmpfs: {mounts}");

    let client = reqwest::Client::new();
    let (frames, _) =
        golfiq_tests::scene::render_swing(&golfiq_tests::scene::SwingSpec::phone(320, 180, 60.0, 0.5, 0.25));
    let clip = clipkit::encode_mp4(frames.iter(), 60.0).expect("clip");
    let (status, first) = post_clip(&client, &server, &clip).await;
    assert_eq!(status, 200, "{first}");
    let id = first["run_id"].as_str().expect("run_id").to_string();
    let before: Value =
        client.get(server.url(&format!("/runs/v1/{id}"))).send().await.expect("get").json().await.expect("json");
    let put_flags = |percent: u32| {
        client
            .put(server.url("/api/admin/feature-flags/config"))
            .header("x-admin-token", "t")
            .body(json!({"roundFlowV2": {"rolloutPercent": percent}}).to_string())
            .send()
    };
    assert_eq!(put_flags(10).await.expect("flags").status().as_u16(), 200);

    fill(&inside.join("filler"));

    let ready = client.get(server.url("/ready")).send().await.expect("ready");
    assert_eq!(ready.status().as_u16(), 503);
    let ready: Value = ready.json().await.expect("json");
    let check = ready["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "run_store:write").cloned();
    assert!(check.as_ref().is_some_and(|c| c["detail"].as_str().unwrap_or("").contains("STORAGE_FULL")), "{ready}");

    let (status, refused) = post_clip(&client, &server, &clip).await;
    assert_eq!((status, refused["error_code"].as_str()), (507, Some("STORAGE_FULL")), "{refused}");
    let ticket = client.post(server.url("/runs/v1/uploads")).json(&json!({"filename": "a.mp4"})).send().await;
    let ticket = ticket.expect("ticket");
    assert_eq!(ticket.status().as_u16(), 507);
    let flags = put_flags(20).await.expect("flags");
    assert_eq!(flags.status().as_u16(), 507);
    assert_eq!(flags.json::<Value>().await.expect("json")["error_code"], "STORAGE_FULL");

    // Nothing stored was lost or torn.
    let after: Value =
        client.get(server.url(&format!("/runs/v1/{id}"))).send().await.expect("get").json().await.expect("json");
    assert_eq!(after, before);
    let config: Value = client
        .get(server.url("/api/admin/feature-flags/config"))
        .header("x-admin-token", "t")
        .send()
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    assert_eq!(config["roundFlowV2"]["rolloutPercent"], 10, "{config}");
    assert_eq!(temp_files(&inside), Vec::<std::path::PathBuf>::new(), "partial writes left behind");

    // Space returns: ready again, and analyses work.
    for chunk in ["big", "small"] {
        std::fs::remove_file(inside.join("filler").with_extension(chunk)).expect("free space");
    }
    let ready = client.get(server.url("/ready")).send().await.expect("ready");
    assert_eq!(ready.status().as_u16(), 200, "{}", ready.text().await.unwrap_or_default());
    let (status, again) = post_clip(&client, &server, &clip).await;
    assert_eq!(status, 200, "{again}");
    // The refused analysis never got a run: its first write, the run record, was the one refused.
    assert_eq!(refused.get("run_id"), None, "{refused}");
    let page: Value = client.get(server.url("/runs/v1")).send().await.expect("list").json().await.expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "{page}");
}
