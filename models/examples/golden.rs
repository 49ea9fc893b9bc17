//! Scores the committed weights on the golden frames (`models/train/golden/`) with the Rust
//! pipeline, against the criterion issue #3 sets: the best-scoring ball within 3 px of the true
//! centre, the best-scoring club head with IoU >= 0.5. Exits 1 when any frame misses, so it is the
//! check to run after exporting new weights.
//!
//! `cargo run --release -p models --example golden -- [--variant yolov10|yolov11] [--score S]`
//! (default score: each variant's calibrated threshold, as the server uses)

use std::path::PathBuf;
use std::process::ExitCode;

use models::{BBox, Class, Detector, Frame, ModelRegistry, SessionOptions, Thresholds, VARIANTS};
use serde::Deserialize;

/// The ball criterion: centre error in pixels of the original frame.
const BALL_MAX_CENTRE_ERROR_PX: f32 = 3.0;
/// The club-head criterion.
const HEAD_MIN_IOU: f32 = 0.5;

#[derive(Deserialize)]
struct GroundTruth {
    frames: Vec<GoldenFrame>,
}

#[derive(Deserialize)]
struct GoldenFrame {
    file: String,
    ball: Option<Ball>,
    club_head: Option<Head>,
}

#[derive(Deserialize)]
struct Ball {
    cx: f32,
    cy: f32,
    diameter: f32,
    streak_px: f32,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "box")]
    bbox: [f32; 4],
}

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
    let (mut variants, mut score) = (VARIANTS.iter().map(|v| v.to_string()).collect::<Vec<_>>(), None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--variant" => variants = vec![args.next().ok_or("--variant needs a value")?],
            "--score" => score = Some(args.next().and_then(|s| s.parse().ok()).ok_or("--score needs a number")?),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("train/golden");
    let truth: GroundTruth = serde_json::from_slice(
        &std::fs::read(golden.join("ground_truth.json")).map_err(|e| format!("ground_truth.json: {e}"))?,
    )
    .map_err(|e| format!("ground_truth.json: {e}"))?;
    let registry = ModelRegistry::new(
        ModelRegistry::default_root(),
        SessionOptions { sessions: 1, ..SessionOptions::default() },
        Thresholds { score, ..Thresholds::default() },
    );

    let mut all_pass = true;
    for variant in &variants {
        let detector = registry.get(variant).map_err(|e| e.to_string())?;
        let (mut balls_ok, mut balls, mut heads_ok, mut heads) = (0, 0, 0, 0);
        for frame in &truth.frames {
            let img = image::open(golden.join(&frame.file)).map_err(|e| format!("{}: {e}", frame.file))?.to_rgb8();
            let dets = detector.detect(&Frame::from_image(&img)).map_err(|e| e.to_string())?;
            let best =
                |class: Class| dets.iter().filter(|d| d.class == class).max_by(|a, b| a.score.total_cmp(&b.score));
            let mut line = format!("{variant} {}:", frame.file);
            if let Some(ball) = &frame.ball {
                balls += 1;
                let what = format!("ball {:.0} px streak {:.0}", ball.diameter, ball.streak_px);
                match best(Class::GolfBall) {
                    Some(d) => {
                        let (cx, cy) = d.bbox.center();
                        let err = ((cx - ball.cx).powi(2) + (cy - ball.cy).powi(2)).sqrt();
                        let ok = err <= BALL_MAX_CENTRE_ERROR_PX;
                        balls_ok += usize::from(ok);
                        line += &format!("  {what}: {} {err:.1} px (score {:.2})", verdict(ok), d.score);
                    }
                    None => line += &format!("  {what}: MISS none found"),
                }
            }
            if let Some(head) = &frame.club_head {
                heads += 1;
                let [x1, y1, x2, y2] = head.bbox;
                match best(Class::ClubHead) {
                    Some(d) => {
                        let iou = d.bbox.iou(&BBox::new(x1, y1, x2, y2));
                        let ok = iou >= HEAD_MIN_IOU;
                        heads_ok += usize::from(ok);
                        line += &format!("  head: {} IoU {iou:.2} (score {:.2})", verdict(ok), d.score);
                    }
                    None => line += "  head: MISS none found",
                }
            }
            println!("{line}");
        }
        let min = detector.thresholds().min_score();
        println!("{variant}: balls {balls_ok}/{balls}, heads {heads_ok}/{heads} (score >= {min})");
        all_pass &= balls_ok == balls && heads_ok == heads;
    }
    Ok(all_pass)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISS"
    }
}
