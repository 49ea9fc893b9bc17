//! The file store: conformance, crash safety, CAS under races, paging under every filter.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as ChronoDuration, Utc};
use common::run_store::{Cursor, RunFilter, RunStore, RunStoreError};
use common::runs::{ModelVariant, Run, RunKind, RunStatus, Transition};
use common::storage::file::FileBlobStore;
use common::storage::SharedBlobStore;
use golfiq_tests::{conformance::blob_store_conformance, new_run, seed_run};

fn file_store(dir: &std::path::Path) -> RunStore {
    RunStore::new(Arc::new(FileBlobStore::new(dir)))
}

#[tokio::test]
async fn file_backend_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tmp");
    blob_store_conformance(&FileBlobStore::new(dir.path())).await;
}

#[tokio::test]
async fn a_writer_killed_mid_write_never_leaves_an_unreadable_run() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tmp");
    let crash_dir = dir.path().join("crash");
    for round in 0..10u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_store_writer"))
            .arg(dir.path())
            .args((round % 2 == 0).then_some("--no-fsync"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn writer");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("writer ready");
        assert_eq!(line.trim(), "ready");
        // Kill it at a different point of its write loop each round.
        tokio::time::sleep(Duration::from_millis(5 + 11 * round)).await;
        child.kill().expect("SIGKILL writer");
        child.wait().expect("reap writer");

        let records = files(&crash_dir);
        assert_eq!(records.len(), 4, "round {round}: every record still present");
        for path in records {
            let bytes = std::fs::read(&path).expect("read record");
            let run: Result<Run, _> = serde_json::from_slice(&bytes);
            assert!(run.is_ok(), "round {round}: {} is not a whole record ({} bytes)", path.display(), bytes.len());
        }
    }
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if !e.file_name().to_string_lossy().starts_with('.') {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_transitions_end_in_exactly_one_terminal_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = file_store(dir.path());
    for trial in 0..5 {
        let run = store.create(new_run(RunKind::Image, ModelVariant::Yolov10)).await.expect("create");
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (store, id) = (store.clone(), run.run_id);
            tasks.push(tokio::spawn(async move {
                let t = match i % 3 {
                    0 => Transition::Start,
                    1 => Transition::Succeed { timing: None, result: serde_json::json!({"by": i}), frame_count: None },
                    _ => Transition::Fail { error_code: format!("E{i}"), message: "m".into(), timing: None },
                };
                (i, store.transition(id, t).await)
            }));
        }
        let mut terminal_wins = Vec::new();
        let mut starts = 0;
        for t in tasks {
            let (i, result) = t.await.expect("task");
            match result {
                Ok(r) if r.status.is_terminal() => terminal_wins.push((i, r)),
                Ok(_) => starts += 1,
                Err(RunStoreError::InvalidTransition(_)) => {}
                Err(e) => panic!("trial {trial}: unexpected {e}"),
            }
        }
        assert_eq!(terminal_wins.len(), 1, "trial {trial}: exactly one terminal transition wins");
        assert!(starts <= 1, "trial {trial}: processing entered at most once");
        let (winner, won) = &terminal_wins[0];
        let stored = store.get(run.run_id).await.expect("get");
        assert_eq!(&stored, won, "trial {trial}: the winner's write is what is stored (no lost update)");
        match stored.status {
            RunStatus::Succeeded => assert_eq!(stored.result, Some(serde_json::json!({"by": winner}))),
            _ => assert_eq!(stored.error_code, Some(format!("E{winner}"))),
        }
        // Exactly one status marker remains: a status-filtered listing finds it once, others never.
        for s in RunStatus::ALL {
            let page = store.list(&RunFilter { status: Some(*s), ..Default::default() }, 10, None).await.expect("list");
            let hits = page.items.iter().filter(|r| r.run_id == run.run_id).count();
            assert_eq!(hits, usize::from(*s == stored.status), "trial {trial}: status {s}");
        }
    }
}

#[tokio::test]
async fn an_invalid_transition_changes_nothing_and_maps_to_409() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = file_store(dir.path());
    let run = seed_run(&store, Utc::now(), RunKind::Range, ModelVariant::Yolov11, RunStatus::Succeeded).await;
    let err = store.transition(run.run_id, Transition::Start).await.expect_err("terminal");
    let api = common::error::ApiError::from(err);
    assert_eq!((api.status().as_u16(), api.code.as_str()), (409, "INVALID_TRANSITION"));
    assert_eq!(store.get(run.run_id).await.expect("get"), run);
}

/// 500 runs over every status, kind and variant, several sharing a millisecond, paged under every
/// filter combination: each matching run appears exactly once, newest first.
#[tokio::test]
async fn paging_yields_each_matching_run_once_in_order_under_every_filter() {
    let dir = tempfile::tempdir().expect("tmp");
    let blobs: SharedBlobStore = Arc::new(FileBlobStore::new(dir.path()).without_fsync());
    let store = RunStore::new(blobs);
    let base = Utc::now() - ChronoDuration::days(40);
    let mut all = Vec::new();
    for i in 0..500i64 {
        // Every 5th run shares its millisecond with the previous one; spread across ~40 days.
        let at = base + ChronoDuration::seconds(i / 5 * 7000) + ChronoDuration::milliseconds(i % 5);
        let at = if i % 5 == 4 { at - ChronoDuration::milliseconds(1) } else { at };
        let status = RunStatus::ALL[(i as usize * 7) % 4];
        let kind = RunKind::ALL[(i as usize * 5) % 3];
        let variant = ModelVariant::ALL[(i as usize / 3) % 2];
        all.push(seed_run(&store, at, kind, variant, status).await);
    }
    all.sort_by_key(|r| std::cmp::Reverse(r.run_id));

    let statuses = std::iter::once(None).chain(RunStatus::ALL.iter().copied().map(Some));
    let mut combos = 0;
    for status in statuses {
        for kind in std::iter::once(None).chain(RunKind::ALL.iter().copied().map(Some)) {
            for variant in std::iter::once(None).chain(ModelVariant::ALL.iter().copied().map(Some)) {
                let filter = RunFilter { status, kind, model_variant: variant, ..Default::default() };
                let expected: Vec<_> = all
                    .iter()
                    .filter(|r| status.is_none_or(|s| r.status == s))
                    .filter(|r| kind.is_none_or(|k| r.kind == Some(k)))
                    .filter(|r| variant.is_none_or(|v| r.model_variant_selected == Some(v)))
                    .map(|r| r.run_id)
                    .collect();
                let limit = [7, 50, 200][combos % 3];
                assert_eq!(page_through(&store, &filter, limit).await, expected, "{filter:?} limit {limit}");
                combos += 1;
            }
        }
    }
    assert_eq!(combos, 5 * 4 * 3);

    // Date range: created_after inclusive, created_before exclusive.
    let after = all[300].created_at;
    let before = all[100].created_at;
    let filter = RunFilter { created_after: Some(after), created_before: Some(before), ..Default::default() };
    let expected: Vec<_> =
        all.iter().filter(|r| r.created_at >= after && r.created_at < before).map(|r| r.run_id).collect();
    assert!(expected.len() > 150);
    assert_eq!(page_through(&store, &filter, 25).await, expected);
}

async fn page_through(store: &RunStore, filter: &RunFilter, limit: usize) -> Vec<common::runs::RunId> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut seen = HashSet::new();
    loop {
        let page = store.list(filter, limit, cursor).await.expect("page");
        assert!(page.items.len() <= limit);
        for r in &page.items {
            assert!(seen.insert(r.run_id), "{} listed twice", r.run_id);
            out.push(r.run_id);
        }
        match page.next_cursor {
            Some(c) => {
                assert_eq!(page.items.len(), limit, "a cursor only follows a full page");
                cursor = Some(c.to_string().parse().expect("cursor string round-trips"));
            }
            None => return out,
        }
    }
}

#[tokio::test]
async fn deleting_a_run_removes_record_markers_and_artifacts() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = file_store(dir.path());
    let keep = seed_run(&store, Utc::now(), RunKind::Video, ModelVariant::Yolov10, RunStatus::Failed).await;
    let gone = seed_run(&store, Utc::now(), RunKind::Video, ModelVariant::Yolov10, RunStatus::Failed).await;
    store.put_artifact(gone.run_id, "preview.png", b"png").await.expect("artifact");
    store.delete(gone.run_id).await.expect("delete");
    store.delete(gone.run_id).await.expect("delete is idempotent");
    assert!(matches!(store.get(gone.run_id).await, Err(RunStoreError::NotFound(_))));
    assert_eq!(store.get_artifact(gone.run_id, "preview.png").await.expect("artifact read"), None);
    let ids = store.scan_ids(None).await.expect("scan");
    assert_eq!(ids, vec![keep.run_id]);
    let failed = store.list(&RunFilter { status: Some(RunStatus::Failed), ..Default::default() }, 10, None).await;
    assert_eq!(failed.expect("list").items, vec![keep]);
}
