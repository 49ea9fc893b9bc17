//! Runs a detector on one image, prints the detections, and optionally writes the image with boxes,
//! labels and scores drawn.
//!
//! `cargo run -p models --example detect -- IMAGE [--variant yolov10|yolov11] [--out annotated.png]
//!  [--score S (default: the variant's calibrated threshold)] [--models-dir models/weights]`

use std::process::ExitCode;

use models::{annotate, Frame, ModelRegistry, SessionOptions, Thresholds};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("detect: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut image, mut variant, mut out, mut score, mut dir) = (None, models::ModelVariant::Yolov10, None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--variant" => variant = args.next().ok_or("--variant needs a value")?.parse()?,
            "--out" => out = Some(args.next().ok_or("--out needs a path")?),
            "--score" => score = Some(args.next().and_then(|s| s.parse().ok()).ok_or("--score needs a number")?),
            "--models-dir" => dir = Some(args.next().ok_or("--models-dir needs a path")?),
            "-h" | "--help" => {
                println!("usage: detect IMAGE [--variant yolov10|yolov11] [--out annotated.png] [--score S (default: the variant's calibrated threshold)] [--models-dir DIR]");
                return Ok(());
            }
            other if image.is_none() && !other.starts_with("--") => image = Some(other.to_string()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let image = image.ok_or("usage: detect IMAGE [--variant yolov10|yolov11] [--out annotated.png]")?;
    let mut img = image::open(&image).map_err(|e| format!("{image}: {e}"))?.to_rgb8();
    let root = dir.map(Into::into).unwrap_or_else(models::default_root);
    let thresholds = Thresholds { score, ..Thresholds::default() };
    let registry = ModelRegistry::new(root, SessionOptions { sessions: 1, ..SessionOptions::default() }, thresholds);
    let detector = registry.get(variant).map_err(|e| e.to_string())?;
    let (dets, t) = detector.detect_timed(&Frame::from_image(&img)).map_err(|e| e.to_string())?;
    println!(
        "{image}: {}x{}, {variant}, {} detections at score >= {} (pre {:.1} ms, run {:.1} ms, post {:.1} ms)",
        img.width(),
        img.height(),
        dets.len(),
        detector.thresholds().describe(),
        t.preprocess.as_secs_f64() * 1e3,
        t.inference.as_secs_f64() * 1e3,
        t.postprocess.as_secs_f64() * 1e3
    );
    for d in &dets {
        let (cx, cy) = d.bbox.center();
        println!(
            "  {:<9} {:.3}  box [{:.1}, {:.1}, {:.1}, {:.1}]  centre ({cx:.1}, {cy:.1})",
            d.class.as_str(),
            d.score,
            d.bbox.x1,
            d.bbox.y1,
            d.bbox.x2,
            d.bbox.y2
        );
    }
    if let Some(out) = out {
        annotate::draw_detections(&mut img, &dets);
        img.save(&out).map_err(|e| format!("{out}: {e}"))?;
        println!("wrote {out}");
    }
    Ok(())
}
