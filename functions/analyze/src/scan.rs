//! Finding the launch in a long clip without running the detector on every frame: the detector
//! finds the ball at rest once, then every decoded frame is compared with that ball's pixels (a
//! few dozen luma samples), and the detector is asked again only when they change. When it no
//! longer sees the ball where it sat, the launch is within the frames since the pixels last
//! matched, and the dense pass (`flow`) takes over from a little before that.
//!
//! A phone clip is mostly a golfer addressing the ball: seconds of frames in which nothing but a
//! waggle moves. Watching the ball's own pixels costs microseconds a frame where the detector
//! costs ~100 ms, so where the shot happens in the clip no longer decides the cost or the answer.
//! Safety probes every [`WatchConfig::probe_stride`] frames (a second of footage) catch what the pixels cannot (a ball
//! that barely contrasts with the ground, a ball placed on the tee mid-clip), and every detector
//! call counts against the analysis budget.

use models::{Class, Detection};

use crate::frames::DecodedFrame;

/// A ball the scan watches: where the detector last saw it at rest and its pixels then.
#[derive(Debug, Clone)]
struct Watched {
    /// Centre, frame pixels.
    centre: (f64, f64),
    /// Box size, pixels (the larger side).
    size: f64,
    /// Luma samples over the ball's box when it was last confirmed there.
    reference: Vec<f32>,
    /// Luma change that means "something covers or uncovered the ball".
    threshold: f32,
    /// The first frame whose pixels differed since the last confirmation.
    first_change: Option<usize>,
    /// The frame of the last detector call that saw this ball here.
    confirmed_at: usize,
}

/// Tuning of the watch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatchConfig {
    /// A detector call every this many frames whatever the pixels say.
    pub probe_stride: usize,
    /// At least this many frames between two detector calls prompted by changed pixels.
    pub confirm_gap: usize,
    /// At most this many balls watched (the best-scored).
    pub max_watched: usize,
}

impl WatchConfig {
    /// The defaults for a clip at `fps`: a safety probe every second (at least 8 frames; the
    /// pixels do the watching, the probes only catch what they cannot), a confirmation at most every 20 ms of footage (at least every other
    /// frame), four balls.
    pub fn for_fps(fps: f64) -> WatchConfig {
        let fps = if fps.is_finite() && fps > 0.0 { fps } else { 120.0 };
        WatchConfig {
            probe_stride: (fps.round() as usize).max(8),
            confirm_gap: ((0.02 * fps).round() as usize).max(2),
            max_watched: 4,
        }
    }
}

/// What made the scan stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanEnd {
    /// A watched ball is gone: the launch is at or after `since` and at or before `gone`.
    Launch {
        /// The first frame whose pixels changed since the ball was last seen at rest.
        since: usize,
        /// The frame in which the detector no longer saw it.
        gone: usize,
    },
    /// The clip ended with no ball gone.
    EndOfClip,
    /// The detector budget ran out.
    Budget,
}

/// The scan's result.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Why it stopped.
    pub end: ScanEnd,
    /// Frames read.
    pub frames_read: usize,
    /// Every detector call: frame index and detections.
    pub calls: Vec<(usize, Vec<Detection>)>,
    /// Whether any detector call saw a ball.
    pub saw_ball: bool,
    /// Detector calls spent, native windows included (at least one per entry of `calls`).
    pub detector_calls: usize,
    /// At a launch: where the ball that left sat, and its size (frame pixels).
    pub vanished: Option<((f64, f64), f64)>,
}

/// Luma of the pixels of a box (clamped to the frame), sampled on a grid of at most 8x8 points.
fn luma_samples(frame: &DecodedFrame, centre: (f64, f64), size: f64) -> Vec<f32> {
    let (w, h) = (frame.width as f64, frame.height as f64);
    let half = (size / 2.0).max(3.0);
    let (x0, x1) = ((centre.0 - half).max(0.0), (centre.0 + half).min(w - 1.0));
    let (y0, y1) = ((centre.1 - half).max(0.0), (centre.1 + half).min(h - 1.0));
    if x1 <= x0 || y1 <= y0 {
        return Vec::new();
    }
    let n = 8usize;
    let mut out = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            let x = (x0 + (x1 - x0) * (i as f64 + 0.5) / n as f64) as usize;
            let y = (y0 + (y1 - y0) * (j as f64 + 0.5) / n as f64) as usize;
            let p = (y * frame.width as usize + x) * 3;
            match frame.rgb.get(p..p + 3) {
                Some(px) => out.push(0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2])),
                None => return Vec::new(),
            }
        }
    }
    out
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> Option<f32> {
    (a.len() == b.len() && !a.is_empty())
        .then(|| a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32)
}

/// Luma contrast between a ball's box and the ring around it: what leaving the box would change.
fn contrast(frame: &DecodedFrame, centre: (f64, f64), size: f64) -> f32 {
    let inner = luma_samples(frame, centre, size * 0.6);
    let mean = |v: &[f32]| if v.is_empty() { 0.0 } else { v.iter().sum::<f32>() / v.len() as f32 };
    let ring: Vec<f32> = [(-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)]
        .iter()
        .flat_map(|(dx, dy)| luma_samples(frame, (centre.0 + dx * size * 1.5, centre.1 + dy * size * 1.5), size * 0.6))
        .collect();
    (mean(&inner) - mean(&ring)).abs()
}

/// A ball detection's centre and size.
fn ball_at(d: &Detection) -> ((f64, f64), f64) {
    let (cx, cy) = d.bbox.center();
    ((f64::from(cx), f64::from(cy)), f64::from(d.bbox.width().max(d.bbox.height())))
}

/// Whether `dets` has a ball where `w` sat.
fn still_there(w: &Watched, dets: &[Detection]) -> bool {
    let tol = (0.5 * w.size).max(4.0);
    dets.iter().filter(|d| d.class == Class::GolfBall).any(|d| {
        let ((x, y), _) = ball_at(d);
        (x - w.centre.0).hypot(y - w.centre.1) <= tol
    })
}

/// Watches `frames` (consecutive from `first`) for a ball at rest to leave, calling `detect` on
/// the frames it needs to, at most `budget` times. `detect` gets the frame, its index and the
/// centres of the balls watched so far (where a caller that looks closer should look), and
/// returns the detections with the detector calls it spent on them (native windows count too).
pub fn watch<I, D>(
    first: usize,
    frames: I,
    config: &WatchConfig,
    budget: usize,
    mut detect: D,
) -> Result<Scan, common::error::ApiError>
where
    I: IntoIterator<Item = Result<DecodedFrame, common::error::ApiError>>,
    D: FnMut(usize, &DecodedFrame, &[(f64, f64)], usize) -> Result<(Vec<Detection>, usize), common::error::ApiError>,
{
    let mut watched: Vec<Watched> = Vec::new();
    let mut calls: Vec<(usize, Vec<Detection>)> = Vec::new();
    let mut last_call: Option<usize> = None;
    let mut frames_read = 0;
    let mut saw_ball = false;
    let mut spent = 0usize;
    for (offset, frame) in frames.into_iter().enumerate() {
        let frame = frame?;
        let i = first + offset;
        frames_read += 1;
        let mut changed = false;
        for w in &mut watched {
            let now = luma_samples(&frame, w.centre, w.size);
            if mean_abs_diff(&now, &w.reference).is_none_or(|d| d > w.threshold) {
                w.first_change.get_or_insert(i);
                changed = true;
            }
        }
        let probe_due = last_call.is_none_or(|l| i >= l + config.probe_stride);
        let confirm_due = changed && last_call.is_none_or(|l| i >= l + config.confirm_gap);
        if !(probe_due || confirm_due) {
            continue;
        }
        if spent >= budget {
            let end = ScanEnd::Budget;
            return Ok(Scan { end, frames_read, calls, saw_ball, detector_calls: spent, vanished: None });
        }
        let centres: Vec<(f64, f64)> = watched.iter().map(|w| w.centre).collect();
        let (dets, used) = detect(i, &frame, &centres, budget - spent)?;
        spent += used.max(1);
        last_call = Some(i);
        saw_ball |= dets.iter().any(|d| d.class == Class::GolfBall);
        // A watched ball the detector no longer sees where it sat: gone if its pixels changed
        // (or cannot be compared); a miss on unchanged pixels is the detector's, not the ball's.
        let gone = watched.iter().filter(|w| !still_there(w, &dets)).find_map(|w| match w.first_change {
            Some(since) => Some((since, w)),
            None if w.threshold.is_infinite() => Some((w.confirmed_at + 1, w)),
            None => None,
        });
        if let Some((since, w)) = gone {
            let vanished = Some((w.centre, w.size));
            calls.push((i, dets));
            let end = ScanEnd::Launch { since, gone: i };
            return Ok(Scan { end, frames_read, calls, saw_ball, detector_calls: spent, vanished });
        }
        // Re-baseline the balls still there, and watch new ones.
        for w in &mut watched {
            if still_there(w, &dets) {
                w.reference = luma_samples(&frame, w.centre, w.size);
                w.first_change = None;
                w.confirmed_at = i;
            }
        }
        let mut balls: Vec<&Detection> = dets.iter().filter(|d| d.class == Class::GolfBall).collect();
        balls.sort_by(|a, b| b.score.total_cmp(&a.score));
        for d in balls {
            if watched.len() >= config.max_watched {
                break;
            }
            let (centre, size) = ball_at(d);
            if watched.iter().any(|w| (w.centre.0 - centre.0).hypot(w.centre.1 - centre.1) <= (0.5 * w.size).max(4.0)) {
                continue;
            }
            let c = contrast(&frame, centre, size);
            // Under ~12 levels of contrast the pixels cannot tell the ball from the ground: the
            // probes alone watch it (an infinite threshold never fires).
            let threshold = if c >= 12.0 { (0.35 * c).max(6.0) } else { f32::INFINITY };
            watched.push(Watched {
                centre,
                size,
                reference: luma_samples(&frame, centre, size),
                threshold,
                first_change: None,
                confirmed_at: i,
            });
        }
        calls.push((i, dets));
    }
    Ok(Scan { end: ScanEnd::EndOfClip, frames_read, calls, saw_ball, detector_calls: spent, vanished: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::BBox;

    /// A 64x48 grey frame with a white 8 px ball at `ball`, if any.
    fn frame(ball: Option<(f64, f64)>) -> DecodedFrame {
        let (w, h) = (64u32, 48u32);
        let mut rgb = vec![90u8; (w * h * 3) as usize];
        if let Some((bx, by)) = ball {
            for y in 0..h {
                for x in 0..w {
                    if (f64::from(x) + 0.5 - bx).hypot(f64::from(y) + 0.5 - by) <= 4.0 {
                        let p = ((y * w + x) * 3) as usize;
                        rgb[p..p + 3].copy_from_slice(&[240, 240, 240]);
                    }
                }
            }
        }
        DecodedFrame { name: String::new(), width: w, height: h, rgb }
    }

    fn ball(x: f64, y: f64) -> Detection {
        Detection { class: Class::GolfBall, score: 0.9, bbox: BBox::from_center(x as f32, y as f32, 8.0, 8.0) }
    }

    /// A clip whose ball sits at (20, 30) until `launch` (exclusive) and is gone after.
    fn clip(n: usize, launch: usize) -> Vec<Result<DecodedFrame, common::error::ApiError>> {
        (0..n).map(|i| Ok(frame((i < launch).then_some((20.0, 30.0))))).collect()
    }

    /// A detector that sees exactly what is drawn (the ball when the frame has white pixels).
    fn seeing(
        _: usize,
        f: &DecodedFrame,
        _: &[(f64, f64)],
        _: usize,
    ) -> Result<(Vec<Detection>, usize), common::error::ApiError> {
        Ok((if f.rgb.contains(&240) { vec![ball(20.0, 30.0)] } else { Vec::new() }, 1))
    }

    #[test]
    fn given_a_ball_that_leaves_after_500_frames_when_watched_then_the_launch_is_found_with_few_detector_calls() {
        let config = WatchConfig::for_fps(120.0);
        let scan = watch(0, clip(800, 500), &config, 100, seeing).expect("scans");
        assert_eq!(scan.end, ScanEnd::Launch { since: 500, gone: 500 });
        // The first frame, a probe every 120 frames up to 500, and the confirming call.
        assert!(scan.calls.len() <= 1 + 500 / config.probe_stride + 1, "{} calls", scan.calls.len());
        assert_eq!(scan.frames_read, 501, "nothing after the launch is read");
    }

    #[test]
    fn given_a_detector_that_misses_the_resting_ball_when_its_pixels_are_unchanged_then_no_launch_is_called() {
        let config = WatchConfig::for_fps(120.0);
        let mut k = 0;
        let flaky = |i: usize, f: &DecodedFrame, w: &[(f64, f64)], b: usize| {
            k += 1;
            // Misses the ball on every other probe.
            if i > 0 && k % 2 == 0 {
                Ok((Vec::new(), 1))
            } else {
                seeing(i, f, w, b)
            }
        };
        let scan = watch(0, clip(300, 300), &config, 100, flaky).expect("scans");
        assert_eq!(scan.end, ScanEnd::EndOfClip);
        assert!(scan.saw_ball);
    }

    #[test]
    fn given_no_ball_when_watched_then_the_clip_ends_without_a_launch_and_without_a_ball() {
        let config = WatchConfig::for_fps(60.0);
        let scan = watch(0, clip(200, 0), &config, 100, seeing).expect("scans");
        assert_eq!(scan.end, ScanEnd::EndOfClip);
        assert!(!scan.saw_ball);
        assert_eq!(scan.calls.len(), 1 + (199 / config.probe_stride));
    }

    #[test]
    fn given_a_small_budget_when_it_runs_out_then_the_scan_says_so() {
        let config = WatchConfig { probe_stride: 1, confirm_gap: 1, max_watched: 4 };
        let scan = watch(0, clip(100, 100), &config, 5, seeing).expect("scans");
        assert_eq!(scan.end, ScanEnd::Budget);
        assert_eq!(scan.calls.len(), 5);
    }

    #[test]
    fn given_a_scan_that_starts_mid_clip_then_frame_indices_count_from_its_first_frame() {
        let config = WatchConfig::for_fps(120.0);
        let frames = clip(100, 70).into_iter().skip(40);
        let scan = watch(40, frames, &config, 100, seeing).expect("scans");
        assert_eq!(scan.end, ScanEnd::Launch { since: 70, gone: 70 });
        assert_eq!(scan.calls[0].0, 40);
    }
}
