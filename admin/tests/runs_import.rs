//! `golfiq-admin runs import` as an operator runs it: the binary, the environment naming the store,
//! the original's files from a directory or JSON lines on stdin.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::run_store::{RunFilter, RunStore};
use common::storage::file::FileBlobStore;
use golfiq_tests::original::OriginalRun;
use serde_json::Value;

/// The id of a record with nothing but an id.
const NO_TIME_ID: &str = "5c0e7f7a-3b1d-4f8e-9a2c-1d4b6e8f0a13";

fn admin(store: &Path, args: &[&str], stdin: Option<&str>) -> (i32, Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_golfiq-admin"))
        .args(args)
        .env_clear()
        .env("RUN_STORE_DIR", store)
        .env("FEATURE_FLAGS_CONFIG_PATH", store.join("config/feature_flags.json"))
        .env("RUNS_UPLOAD_DIR", store.join("uploads"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("golfiq-admin runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.unwrap_or("").as_bytes()).expect("write stdin");
    drop(input);
    let Output { status, stdout, stderr } = child.wait_with_output().expect("golfiq-admin exits");
    let report = serde_json::from_slice(&stdout).unwrap_or(Value::Null);
    (status.code().unwrap_or(-1), report, String::from_utf8_lossy(&stderr).into_owned())
}

async fn listed(store: &Path) -> Vec<String> {
    let runs = RunStore::new(std::sync::Arc::new(FileBlobStore::new(store)));
    let page = runs.list(&RunFilter::default(), 100, None).await.expect("list");
    page.items.iter().map(|r| r.run_id.to_string()).collect()
}

#[tokio::test]
async fn imports_a_directory_once_keeping_ids_and_order() {
    let (old, new) = (tempfile::tempdir().expect("old"), tempfile::tempdir().expect("new"));
    let originals: Vec<OriginalRun> =
        [1_700_000_300.25, 1_700_000_100.5, 1_700_000_200.125].into_iter().map(OriginalRun::video).collect();
    for o in &originals {
        o.write(old.path());
    }
    let (code, report, stderr) = admin(new.path(), &["runs", "import", &old.path().display().to_string()], None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((report["found"].as_u64(), report["imported"].as_u64()), (Some(3), Some(3)), "{report}");
    let newest_first: Vec<String> = [0, 2, 1].iter().map(|&i| originals[i].run_id.clone()).collect();
    assert_eq!(listed(new.path()).await, newest_first);

    let (code, again, _) = admin(new.path(), &["runs", "import", &old.path().display().to_string()], None);
    assert_eq!(code, 0);
    assert_eq!((again["imported"].as_u64(), again["already_imported"].as_u64()), (Some(0), Some(3)), "{again}");
    assert_eq!(listed(new.path()).await, newest_first, "idempotent");
}

#[tokio::test]
async fn imports_json_lines_from_stdin_and_names_what_it_skipped() {
    let store = tempfile::tempdir().expect("store");
    let (a, b) = (OriginalRun::video(1_700_000_000.0), OriginalRun::video(1_700_000_050.0));
    let lines = format!("{}\n\n{}\nnot json\n{{\"run_id\": \"{NO_TIME_ID}\"}}\n", a.record(), b.record());
    let (code, report, stderr) = admin(store.path(), &["runs", "import", "-"], Some(&lines));
    assert_eq!(code, 2, "some records were skipped: {stderr}");
    assert_eq!((report["found"].as_u64(), report["imported"].as_u64()), (Some(4), Some(2)), "{report}");
    let skipped = report["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.iter().map(|s| s["source"].as_str().unwrap_or("")).collect::<Vec<_>>(), ["stdin:4", "stdin:5"]);
    assert!(skipped[1]["reason"].as_str().is_some_and(|r| r.contains("created_ts")), "{report}");
    assert_eq!(listed(store.path()).await, [b.run_id.clone(), a.run_id.clone()]);
}

#[test]
fn refuses_a_source_it_cannot_read() {
    let store = tempfile::tempdir().expect("store");
    let (code, _, stderr) = admin(store.path(), &["runs", "import", "/nonexistent/runs"], None);
    assert_eq!(code, 1);
    assert!(stderr.contains("not a directory"), "{stderr}");
    let (code, _, stderr) = admin(store.path(), &["runs", "export"], None);
    assert_eq!(code, 2, "clap's usage error: {stderr}");
}
