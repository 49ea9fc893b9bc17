//! Capture quality: whether the footage can carry a measurement, with the reasons a user can act on.
//!
//! | signal | good | warning | below that | reason |
//! |---|---|---|---|---|
//! | frame rate | ≥ 100 fps | ≥ 60 fps | bad | `fps_low` |
//! | mean luma (BT.601, 0–255) | ≥ 120 | ≥ 60 | bad | `light_low` |
//! | resolution | ≥ 0.9 MP | ≥ 0.2 MP | bad | `mpx_low` |
//! | sharpness (variance of the Laplacian of luma) | ≥ 100 | ≥ 30 | bad | `blur_high` |
//!
//! The level is the worst signal's; the score starts at 1 and loses 0.15 per warning and 0.35 per
//! bad signal.

use serde::Serialize;

/// good / warning / bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fine.
    Good,
    /// Usable, less accurate.
    Warning,
    /// Measurements are unreliable.
    Bad,
}

/// The quality verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    /// 0..1.
    pub score: f64,
    /// The worst signal's level.
    pub level: Level,
    /// What to fix: `fps_low`, `light_low`, `mpx_low`, `blur_high`.
    pub reasons: Vec<&'static str>,
    /// Frames per second.
    pub fps: f64,
    /// Mean luma, 0..255.
    pub mean_luma: f64,
    /// Megapixels.
    pub megapixels: f64,
    /// Variance of the Laplacian (higher is sharper).
    pub sharpness: f64,
}

fn grade(value: f64, good: f64, warn: f64) -> Level {
    if value >= good {
        Level::Good
    } else if value >= warn {
        Level::Warning
    } else {
        Level::Bad
    }
}

/// Luma of an RGB pixel.
fn luma(px: &[u8]) -> f64 {
    0.299 * f64::from(px[0]) + 0.587 * f64::from(px[1]) + 0.114 * f64::from(px[2])
}

/// Mean luma of an RGB frame, sampling every `step`-th pixel of every `step`-th row.
pub fn mean_luma(rgb: &[u8], width: usize, height: usize, step: usize) -> f64 {
    let step = step.max(1);
    let (mut sum, mut n) = (0.0, 0usize);
    for y in (0..height).step_by(step) {
        for x in (0..width).step_by(step) {
            let i = (y * width + x) * 3;
            if let Some(px) = rgb.get(i..i + 3) {
                sum += luma(px);
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Variance of the 4-neighbour Laplacian of luma over interior pixels (every `step`-th).
pub fn laplacian_variance(rgb: &[u8], width: usize, height: usize, step: usize) -> f64 {
    if width < 3 || height < 3 || rgb.len() < width * height * 3 {
        return 0.0;
    }
    let l = |x: usize, y: usize| luma(&rgb[(y * width + x) * 3..(y * width + x) * 3 + 3]);
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0usize);
    for y in (1..height - 1).step_by(step.max(1)) {
        for x in (1..width - 1).step_by(step.max(1)) {
            let v = l(x - 1, y) + l(x + 1, y) + l(x, y - 1) + l(x, y + 1) - 4.0 * l(x, y);
            sum += v;
            sq += v * v;
            n += 1;
        }
    }
    let mean = sum / n as f64;
    sq / n as f64 - mean * mean
}

/// Grades the capture.
pub fn assess(fps: f64, width: u32, height: u32, mean_luma: f64, sharpness: f64) -> Quality {
    let megapixels = f64::from(width) * f64::from(height) / 1e6;
    let signals = [
        (grade(fps, 100.0, 60.0), "fps_low"),
        (grade(mean_luma, 120.0, 60.0), "light_low"),
        (grade(megapixels, 0.9, 0.2), "mpx_low"),
        (grade(sharpness, 100.0, 30.0), "blur_high"),
    ];
    let level = signals.iter().map(|(l, _)| *l).max().unwrap_or(Level::Good);
    let penalty: f64 = signals
        .iter()
        .map(|(l, _)| match l {
            Level::Good => 0.0,
            Level::Warning => 0.15,
            Level::Bad => 0.35,
        })
        .sum();
    let reasons = signals.iter().filter(|(l, _)| *l != Level::Good).map(|(_, r)| *r).collect();
    Quality { score: (1.0 - penalty).clamp(0.0, 1.0), level, reasons, fps, mean_luma, megapixels, sharpness }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        let mut v = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let g = f(x, y);
                v.extend_from_slice(&[g, g, g]);
            }
        }
        v
    }

    #[test]
    fn grades_each_signal_at_its_thresholds() {
        let good = assess(120.0, 1280, 720, 140.0, 300.0);
        assert_eq!((good.level, good.reasons.len(), good.score), (Level::Good, 0, 1.0));
        let warn = assess(60.0, 1280, 720, 140.0, 300.0);
        assert_eq!((warn.level, warn.reasons.clone()), (Level::Warning, vec!["fps_low"]));
        let bad = assess(30.0, 640, 360, 40.0, 10.0);
        assert_eq!(bad.level, Level::Bad);
        assert_eq!(bad.reasons, vec!["fps_low", "light_low", "mpx_low", "blur_high"], "0.23 MP is a warning too");
        assert!(bad.score < warn.score && warn.score < good.score);
        assert_eq!(assess(240.0, 320, 240, 200.0, 500.0).reasons, vec!["mpx_low"]);
    }

    #[test]
    fn luma_and_sharpness_are_measured_from_pixels() {
        let flat = frame(64, 48, |_, _| 100);
        assert!((mean_luma(&flat, 64, 48, 1) - 100.0).abs() < 1e-9);
        assert!(laplacian_variance(&flat, 64, 48, 1) < 1e-9, "a flat frame has no edges");
        let checker = frame(64, 48, |x, y| if (x / 2 + y / 2) % 2 == 0 { 0 } else { 255 });
        assert!(laplacian_variance(&checker, 64, 48, 1) > 1000.0, "a checkerboard is sharp");
        assert_eq!(laplacian_variance(&checker[..10], 64, 48, 1), 0.0);
    }
}
