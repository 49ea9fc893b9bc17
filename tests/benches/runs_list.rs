//! GET /runs/v1?limit=50 through the runs handler over file stores of 1k, 10k and 100k runs
//! (1 % failed), unfiltered and `status=failed`: ms per page, and the ratio to the 1k store, which
//! is the baseline measured in the same run. Goal: the 100k page within 3x the 1k page. With 1 %
//! failed, the 1k store holds only 10 failed runs, so its filtered page is not full: the per-item
//! ratio is the like-for-like figure there.
//!
//! `cargo bench -p golfiq-tests --bench runs_list` (set RUNS_BENCH_SIZES=1000,10000 for a quick run).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use common::http::build_request;
use common::run_store::RunStore;
use common::runs::{ModelVariant, Run, RunId, RunKind, RunStatus};
use common::state::AppState;
use common::storage::file::FileBlobStore;
use futures::stream::{self, StreamExt, TryStreamExt};

async fn seed(store: &RunStore, n: usize) {
    let now = Utc::now();
    stream::iter(0..n)
        .map(|i| async move {
            // One run every 30 s going back in time; every 100th failed, the rest succeeded.
            let at = now - Duration::seconds(30 * i as i64);
            let kind = RunKind::ALL[i % 3];
            let mut run = Run::queued(RunId::at(at), golfiq_tests::new_run(kind, ModelVariant::Yolov10));
            run.status = if i % 100 == 0 { RunStatus::Failed } else { RunStatus::Succeeded };
            run.started_at = Some(at);
            run.finished_at = Some(at + Duration::milliseconds(180));
            run.result = Some(serde_json::json!({"ball_speed_mps": 61.2, "launch_deg": 12.5}));
            store.import(&run).await
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_or_else(|e| panic!("seeding failed: {e}"));
}

/// Median ms per page over `iterations` calls, and the number of runs on the page.
async fn ms_per_page(state: &AppState, query: &str, iterations: usize) -> (f64, usize) {
    let call = || async {
        let uri = format!("/runs/v1?{query}").parse().unwrap_or_else(|e| panic!("uri: {e}"));
        let req = build_request(http::Method::GET, uri, http::HeaderMap::new(), Vec::new());
        let resp = runs::handle(state, req).await;
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap_or_default();
        body["items"].as_array().map_or(0, Vec::len)
    };
    let mut items = 0;
    for _ in 0..5 {
        items = call().await;
    }
    let mut samples: Vec<f64> = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        call().await;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], items)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = std::env::var("RUNS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let cases = [("unfiltered", "limit=50"), ("status=failed (1%)", "limit=50&status=failed")];
    println!("GET /runs/v1 median ms per page over 50 calls (file backend, ratios vs the first size)");
    println!(
        "{:>8}  {:<20} {:>6} {:>9} {:>7} {:>9} {:>7}",
        "runs", "query", "items", "ms/page", "ratio", "ms/item", "ratio"
    );
    let mut baseline: Vec<(f64, f64)> = Vec::new();
    for n in sizes {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tmp: {e}"));
        let blobs = Arc::new(FileBlobStore::new(dir.path()).without_fsync());
        let state = AppState::with_blobs(common::config::Config::for_dir(dir.path()), blobs.clone())
            .unwrap_or_else(|e| panic!("state: {e}"));
        let t = Instant::now();
        seed(&state.runs, n).await;
        let seeded_s = t.elapsed().as_secs_f64();
        for (i, (name, query)) in cases.iter().enumerate() {
            let (ms, items) = ms_per_page(&state, query, 50).await;
            let per_item = ms / items.max(1) as f64;
            if baseline.len() <= i {
                baseline.push((ms, per_item));
            }
            let (base_ms, base_item) = baseline[i];
            println!(
                "{n:>8}  {name:<20} {items:>6} {ms:>9.3} {:>6.2}x {per_item:>9.4} {:>6.2}x",
                ms / base_ms,
                per_item / base_item
            );
        }
        eprintln!("  (seeded {n} runs in {seeded_s:.1}s)");
    }
}
