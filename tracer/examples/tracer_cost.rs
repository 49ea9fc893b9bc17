//! What a tracer clip frame costs, by step: drawing the line, RGB to YUV with the encode, at 720p
//! and 1080p on a textured frame.
//!
//!   cargo run --release -p tracer --example tracer_cost

use std::time::Instant;

use image::{Rgb, RgbImage};
use tracer::draw::{draw_flight, Style};
use tracer::{Flight, FlightPoint};

fn main() {
    // A 4K source is drawn at 1080p: its frames are shrunk first.
    let uhd = pattern(3840, 2160);
    let flight =
        Flight { launch: FlightPoint { frame: 0.0, x: 400.0, y: 1800.0 }, measured: vec![], extrapolated: vec![] };
    let plan = tracer::ClipPlan { first: 0, last: 100, fps: 60.0, flight_end: 0.0 };
    let painter = tracer::TracerClip::new(plan, &flight, None, 3840, 2160).expect("clip").painter();
    let n = 20;
    let frames: Vec<RgbImage> = (0..n).map(|_| uhd.clone()).collect();
    let t = Instant::now();
    for (i, f) in frames.into_iter().enumerate() {
        painter.paint(i, f).expect("painted");
    }
    println!(
        "3840x2160 -> 1920x1080: {:.2} ms a frame to shrink and paint",
        t.elapsed().as_secs_f64() * 1000.0 / f64::from(n as u32)
    );
    for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
        let s = f64::from(w) / 1280.0;
        let frame = pattern(w, h);
        let pts: Vec<FlightPoint> = (0..40)
            .map(|i| {
                let t = f64::from(i);
                FlightPoint { frame: 10.0 + t, x: (200.0 + 25.0 * t) * s, y: (600.0 - 20.0 * t + 0.3 * t * t) * s }
            })
            .collect();
        let flight = Flight {
            launch: FlightPoint { frame: 10.0, x: 200.0 * s, y: 600.0 * s },
            measured: pts,
            extrapolated: vec![],
        };
        let style = Style::for_frame(w, h);
        let n = 60;
        let t = Instant::now();
        let mut drawn = Vec::new();
        for i in 0..n {
            let mut img = frame.clone();
            draw_flight(&mut img, &flight, 10.0 + f64::from(i % 40), &style);
            drawn.push(img);
        }
        let draw_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
        let t = Instant::now();
        let mut clones = Vec::new();
        for _ in 0..n {
            clones.push(frame.clone());
        }
        let clone_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
        drop(clones);
        let t = Instant::now();
        let mut enc =
            avencode::Mp4Encoder::new(w, h, 120.0, avencode::EncodeOptions { keyint: 120, qp: (20, 30), fast: true })
                .expect("encoder");
        for img in &drawn {
            enc.push(img).expect("push");
        }
        let bytes = enc.finish().expect("mp4").len();
        let enc_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
        println!("{w}x{h}: clone {clone_ms:.2} ms, clone+draw {draw_ms:.2} ms, rgb->yuv+encode {enc_ms:.2} ms a frame ({} KB for {n} frames)", bytes / 1024);
    }
}

/// A busy synthetic frame (no flat areas for the encoder to skip).
fn pattern(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb([(x % 61) as u8 + 40, 100 + (y % 37) as u8, ((x ^ y) % 29) as u8]))
}
