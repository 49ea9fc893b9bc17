//! Scores the committed weights on the golden frames (`models/train/golden/`) with the Rust
//! pipeline, against the criterion issue #3 sets (see `models::golden`): the best-scoring ball
//! within 3 px of the true centre, the best-scoring club head with IoU >= 0.5. Exits 1 when any
//! frame misses, so it is the check to run after exporting new weights.
//!
//! `cargo run --release -p models --example golden -- [--variant yolov10|yolov11] [--score S] [--models-dir DIR]`
//! (`--models-dir`: a candidate's weights folder, laid out as `models/weights`, instead of the committed one)
//! (default score: each variant's calibrated threshold, as the server uses)

use std::process::ExitCode;

use models::{golden, ModelRegistry, ModelVariant, SessionOptions, Thresholds};

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("golden: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let mut args = std::env::args().skip(1);
    let (mut variants, mut score, mut root) = (ModelVariant::ALL.to_vec(), None, models::default_root());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--variant" => variants = vec![args.next().ok_or("--variant needs a value")?.parse()?],
            "--score" => score = Some(args.next().and_then(|s| s.parse().ok()).ok_or("--score needs a number")?),
            "--models-dir" => root = args.next().ok_or("--models-dir needs a folder")?.into(),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let registry = ModelRegistry::new(
        root,
        SessionOptions { sessions: 1, ..SessionOptions::default() },
        Thresholds { score, ..Thresholds::default() },
    );
    let mut all_pass = true;
    for variant in variants {
        let detector = registry.get(variant).map_err(|e| e.to_string())?;
        let reports = golden::check(detector.as_ref(), &golden::golden_dir())?;
        for r in &reports {
            println!("{variant} {}", r.line());
        }
        let count = |f: &dyn Fn(&golden::FrameReport) -> Option<bool>| {
            let seen: Vec<bool> = reports.iter().filter_map(f).collect();
            (seen.iter().filter(|ok| **ok).count(), seen.len())
        };
        let (balls_ok, balls) = count(&|r| r.ball.as_ref().map(|(_, _, v)| v.passed()));
        let (heads_ok, heads) = count(&|r| r.head.as_ref().map(|v| v.passed()));
        let min = detector.thresholds().describe();
        println!("{variant}: balls {balls_ok}/{balls}, heads {heads_ok}/{heads} (score >= {min})");
        all_pass &= reports.iter().all(golden::FrameReport::passed);
    }
    Ok(all_pass)
}
