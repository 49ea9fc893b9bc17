//! What the motion candidates cost beside the detector, on the same frames: each frame of the clip
//! named on the command line (every frame, up to `FRAMES`, default 60) through
//! `motion::MotionField::push` and through the default detector; prints both per-frame medians
//! and their ratio (docs/PERFORMANCE.md). Needs ONNX Runtime as the tests find it.
//!
//! `cargo run --release -p analyze --example motion_cost -- clip.mp4`

use std::time::Instant;

use analyze::motion::{MotionConfig, MotionField};
use models::{Detector, Frame, ModelRegistry, SessionOptions, Thresholds};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let limit: usize = std::env::var("FRAMES").ok().and_then(|r| r.parse().ok()).unwrap_or(60);
    let registry = ModelRegistry::new(
        models::default_root(),
        SessionOptions { sessions: 1, ..SessionOptions::default() },
        Thresholds::default(),
    );
    let detector = registry.get(models::ModelVariant::ALL[0]).unwrap_or_else(|e| panic!("detector: {e}"));
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (_, decoded) = analyze::video::decode_frames(&bytes, None).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut field = MotionField::new(MotionConfig::default());
        let (mut motion_ms, mut detect_ms) = (Vec::new(), Vec::new());
        let mut size = (0, 0);
        for frame in decoded.take(limit) {
            let frame = frame.unwrap_or_else(|e| panic!("{path}: {e}"));
            size = (frame.width, frame.height);
            let t = Instant::now();
            field.push(&frame);
            motion_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let found = detector.detect(&Frame { width: frame.width, height: frame.height, rgb: &frame.rgb });
            detect_ms.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(found.ok());
        }
        let candidates: usize = field.finish().iter().flatten().map(Vec::len).sum();
        let frames = detect_ms.len();
        let (m, d) = (median(motion_ms), median(detect_ms));
        println!(
            "{path} {}x{} frames {} motion {m:.2} ms detector {d:.1} ms ratio {:.3} candidates {candidates}",
            size.0,
            size.1,
            frames,
            m / d
        );
    }
}
