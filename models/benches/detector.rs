//! Per-frame latency of the detector pipeline (letterbox → session.run → decode/NMS → map back)
//! for both variants at 640, with 1 and 2 intra-op threads, split by stage, beside the same model
//! run by Python onnxruntime (bare `session.run`, same library version) in the same run; then
//! throughput of two concurrent workers under the session layouts we could choose from.
//!
//! `make bench` (or `cargo bench -p models --bench detector`; needs `scripts/setup-bench.sh`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use models::ModelVariant;
use models::{Frame, SessionOptions, StageTimings, Thresholds, YoloDetector};

const ITERS: usize = 30;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn python_baseline(model: &std::path::Path, threads: usize, spinning: bool) -> Option<f64> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/bench/bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/ort_baseline.py");
    let out = Command::new(python)
        .arg(script)
        .arg(model)
        .args([
            "--threads",
            &threads.to_string(),
            "--iters",
            &ITERS.to_string(),
            "--spinning",
            if spinning { "1" } else { "0" },
        ])
        .output()
        .ok()?;
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    line["median_ms"].as_f64()
}

fn main() {
    let weights = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights");
    let img = image::open(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("train/golden/golden_00.jpg"))
        .map(|i| i.to_rgb8())
        .unwrap_or_else(|_| image::RgbImage::from_pixel(1280, 720, image::Rgb([60, 120, 60])));
    let frame = Frame::from_image(&img);
    println!("per-frame latency on a {}x{} frame, median of {ITERS} (ms)", img.width(), img.height());
    println!(
        "{:<8} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8} {:>10} {:>7}",
        "variant", "threads", "spin", "pre", "run", "post", "total", "python_run", "ratio"
    );
    for variant in ModelVariant::ALL {
        for (threads, spinning) in [(1, false), (2, false), (2, true)] {
            let options = SessionOptions { sessions: 1, intra_threads: threads, spinning };
            let det = YoloDetector::load(&weights.join(variant.as_str()), options, Thresholds::default())
                .unwrap_or_else(|e| panic!("{variant}: {e}"));
            for _ in 0..3 {
                det.detect_timed(&frame).unwrap_or_else(|e| panic!("{e}"));
            }
            let runs: Vec<StageTimings> =
                (0..ITERS).map(|_| det.detect_timed(&frame).map(|(_, t)| t).unwrap_or_default()).collect();
            let pre = median(runs.iter().map(|t| ms(t.preprocess)).collect());
            let run = median(runs.iter().map(|t| ms(t.inference)).collect());
            let post = median(runs.iter().map(|t| ms(t.postprocess)).collect());
            let total = median(runs.iter().map(|t| ms(t.preprocess + t.inference + t.postprocess)).collect());
            let py = python_baseline(&weights.join(variant.as_str()).join("model.onnx"), threads, spinning);
            let (py_s, ratio) = match py {
                Some(p) => (format!("{p:.2}"), format!("{:.2}x", total / p)),
                None => ("n/a".into(), "n/a".into()),
            };
            println!(
                "{variant:<8} {threads:>7} {:>6} {pre:>8.2} {run:>8.2} {post:>8.2} {total:>8.2} {py_s:>10} {ratio:>7}",
                if spinning { "on" } else { "off" }
            );
        }
    }

    println!("\nthroughput, 2 concurrent workers x {ITERS} frames each (yolov10)");
    let layouts = [
        ("2 sessions x 1 thread, no spin", SessionOptions { sessions: 2, intra_threads: 1, spinning: false }),
        ("1 session x 2 threads, spinning", SessionOptions { sessions: 1, intra_threads: 2, spinning: true }),
        ("1 session x 2 threads, no spin", SessionOptions { sessions: 1, intra_threads: 2, spinning: false }),
    ];
    let mut baseline = None;
    for (name, options) in layouts {
        let det = Arc::new(
            YoloDetector::load(&weights.join("yolov10"), options, Thresholds::default())
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let rgb = Arc::new(img.clone());
        let t = Instant::now();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (det, rgb) = (det.clone(), rgb.clone());
                std::thread::spawn(move || {
                    for _ in 0..ITERS {
                        det.detect_timed(&Frame::from_image(&rgb)).ok();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().ok();
        }
        let fps = (2 * ITERS) as f64 / t.elapsed().as_secs_f64();
        let base = *baseline.get_or_insert(fps);
        println!("  {name:<34} {fps:>7.2} frames/s  {:.2}x", fps / base);
    }
}
