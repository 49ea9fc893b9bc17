//! Decode speed of `analyze::video` on the clips named on the command line: every frame decoded
//! and converted to upright RGB, `ROUNDS` times (default 3); prints `<file> <frames> <best seconds>`
//! per clip. `scripts/bench-decode.sh` runs it beside `ffmpeg -threads 1 ... -f null -` on the same
//! clips and prints the ratios (docs/PERFORMANCE.md).
//!
//! `cargo run --release -p analyze --example decode_speed -- clip.mp4 [clip.mov ...]`

use std::time::Instant;

fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut best = f64::INFINITY;
        let mut frames = 0;
        for _ in 0..rounds {
            let start = Instant::now();
            let (_, decoded) = analyze::video::decode_frames(&bytes, None).unwrap_or_else(|e| panic!("{path}: {e}"));
            frames = 0;
            for frame in decoded {
                let frame = frame.unwrap_or_else(|e| panic!("{path}: {e}"));
                std::hint::black_box(&frame.rgb);
                frames += 1;
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("{path} {frames} {best:.4}");
    }
}
