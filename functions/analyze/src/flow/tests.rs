//! The analysis over drawn clips and a scripted detector: the launch search, the dense pass, the
//! verdicts, and the stop rules.

use std::sync::atomic::{AtomicUsize, Ordering};

use models::{BBox, Frame, ModelError};

use super::detect::lower_priority;
use super::*;
use crate::pipeline::launch_fit::FIT_POINTS;
use crate::source::FrameIter;

#[cfg(target_os = "linux")]
#[test]
fn a_detector_thread_lowers_only_its_own_priority() {
    use rustix::process::getpriority_process;
    let before = getpriority_process(None).expect("nice");
    let inside = std::thread::spawn(|| {
        lower_priority();
        getpriority_process(None).expect("nice")
    })
    .join()
    .expect("thread");
    assert_eq!(inside, (before + DETECTOR_NICE_OFFSET).min(19));
    assert_eq!(getpriority_process(None).expect("nice"), before, "the caller keeps its priority");
}

const W: u32 = 320;
const H: u32 = 180;
const BALL_PX: f64 = 6.0;
const M_PER_PX: f64 = 0.04267 / BALL_PX;

/// A clip drawn on demand: grey ground, a white ball at rest at (40, 150) until `launch` and
/// then flying at `speed` m/s and `angle` degrees under gravity; no ball at all when `ball` is
/// false. Counts the frames decoded.
struct Drawn {
    n: usize,
    fps: f64,
    launch: Option<usize>,
    speed: f64,
    angle: f64,
    ball: bool,
    decoded: usize,
}

impl Drawn {
    fn centre(&self, i: usize) -> Option<(f64, f64)> {
        if !self.ball {
            return None;
        }
        let (x0, y0) = (40.0, 150.0);
        let Some(launch) = self.launch.filter(|l| i > *l) else { return Some((x0, y0)) };
        let t = (i - launch) as f64 / self.fps;
        let (vx, vy) = (self.speed * self.angle.to_radians().cos(), self.speed * self.angle.to_radians().sin());
        let (x, y) = (x0 + vx * t / M_PER_PX, y0 - (vy * t - 4.905 * t * t) / M_PER_PX);
        (x > 0.0 && x < f64::from(W) && y > 0.0 && y < f64::from(H)).then_some((x, y))
    }

    fn draw(&self, i: usize) -> DecodedFrame {
        let mut rgb = vec![80u8; (W * H * 3) as usize];
        if let Some((cx, cy)) = self.centre(i) {
            for y in 0..H {
                for x in 0..W {
                    if (f64::from(x) + 0.5 - cx).hypot(f64::from(y) + 0.5 - cy) <= BALL_PX / 2.0 {
                        let p = ((y * W + x) * 3) as usize;
                        rgb[p..p + 3].copy_from_slice(&[250, 250, 250]);
                    }
                }
            }
        }
        DecodedFrame { name: format!("frame_{i}"), width: W, height: H, rgb }
    }
}

impl FrameSource for Drawn {
    fn len(&self) -> usize {
        self.n
    }

    fn frames(&mut self, indices: Vec<usize>) -> FrameIter<'_> {
        let n = self.n;
        Box::new(indices.into_iter().filter(move |i| *i < n).map(move |i| {
            self.decoded += 1;
            Ok(self.draw(i))
        }))
    }
}

/// Where the scripted detector does not look.
#[derive(Debug, Default, Clone, Copy)]
enum Blind {
    /// It sees every white pixel.
    #[default]
    Never,
    /// Right of this x: a detector that loses a small ball once it has flown a few frames.
    RightOf(f32),
    /// On frames larger than its input: a ball too small for the letterboxed frame, seen only
    /// through native windows.
    OnLargeFrames,
}

/// A detector that reports the bounding box of the white pixels as a ball, and counts its calls.
#[derive(Default)]
struct WhitePixels {
    calls: AtomicUsize,
    blind: Blind,
}

impl Detector for WhitePixels {
    fn variant(&self) -> &str {
        "scripted"
    }

    fn input_size(&self) -> u32 {
        640
    }

    fn detect(&self, frame: &Frame<'_>) -> Result<Vec<Detection>, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if matches!(self.blind, Blind::OnLargeFrames) && frame.width.max(frame.height) > self.input_size() {
            return Ok(Vec::new());
        }
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for y in 0..frame.height {
            for x in 0..frame.width {
                if frame.rgb[((y * frame.width + x) * 3) as usize] > 200 {
                    (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
                }
            }
        }
        let bbox = BBox::new(x0 as f32, y0 as f32, x1 as f32, y1 as f32);
        let seen = match self.blind {
            Blind::RightOf(x_max) => bbox.center().0 < x_max,
            _ => true,
        };
        Ok(if x1 > x0 && seen { vec![Detection { class: Class::GolfBall, score: 0.9, bbox }] } else { Vec::new() })
    }
}

fn params(fps: f64) -> AnalysisParams {
    AnalysisParams {
        clock: Clock::constant(fps),
        m_per_px: M_PER_PX,
        smoothing_window: 3,
        frame_size: None,
        units: crate::tracer::Units::Metric,
    }
}

fn run(clip: &mut Drawn, budget: usize) -> (Analysis, usize) {
    let detector = WhitePixels::default();
    let fps = clip.fps;
    let a = analyze(&detector, clip, &params(fps), &Limits { max_detector_calls: budget }).expect("analyses");
    let calls = detector.calls.load(Ordering::SeqCst);
    (a, calls)
}

#[test]
fn given_a_shot_late_in_a_long_clip_then_the_launch_is_found_and_the_detector_runs_near_it_only() {
    for (fps, launch) in [(240.0, 1900usize), (120.0, 360), (60.0, 150)] {
        let mut clip = Drawn {
            n: (fps * 8.0) as usize,
            fps,
            launch: Some(launch),
            speed: 20.0,
            angle: 25.0,
            ball: true,
            decoded: 0,
        };
        let (a, calls) = run(&mut clip, 400);
        let m = a.metrics.as_ref().expect("metrics");
        assert!(m.shot.detected, "{fps} fps: {:?}", m.shot);
        let impact = m.impact_frame.expect("impact");
        assert!(impact.abs_diff(launch) <= 1, "{fps} fps: impact {impact}, launch {launch}");
        let speed = m.ball_speed_mps.expect("speed");
        assert!((speed - 20.0).abs() < 1.5, "{fps} fps: speed {speed}");
        // The watch's probes (every second), the confirmation, the lead and the flight.
        let flight = (0..clip.n).filter(|i| *i > launch && clip.centre(*i).is_some()).count();
        let bound = launch / fps as usize + 2 + LEAD_FRAMES + flight + 12;
        assert!(calls <= bound, "{fps} fps: {calls} detector calls, bound {bound}");
        assert_eq!(calls, a.scan.detector_calls);
        // The tracer reads its frames (from half a second before the launch) once more.
        let [t0, t1] = a.tracer.as_ref().expect("a tracer").frames;
        assert!(t0 <= launch && launch < t1 && t0 + (fps / 2.0) as usize + 1 >= launch, "{fps}: tracer {t0}..{t1}");
        assert!(
            a.scan.frames_total == clip.n && clip.decoded < clip.n + LEAD_FRAMES + flight + 40 + (t1 - t0 + 1),
            "{fps}: decoded {}",
            clip.decoded
        );
        let [first, last] = a.scan.dense_window.expect("a dense window");
        assert!(first <= launch && launch < last, "{fps}: window {first}..{last}");
    }
}

#[test]
fn given_a_ball_that_never_moves_then_no_shot_because_it_did_not_move_and_few_calls() {
    let mut clip = Drawn { n: 960, fps: 240.0, launch: None, speed: 0.0, angle: 0.0, ball: true, decoded: 0 };
    let (a, calls) = run(&mut clip, 400);
    let m = a.metrics.expect("metrics");
    assert_eq!(m.shot, ShotVerdict::none(NoShotReason::BallDidNotMove));
    assert_eq!((m.ball_speed_mps, m.launch_deg), (None, None));
    assert!(calls <= 960 / 240 + 1, "{calls} calls");
}

#[test]
fn given_no_ball_then_no_shot_because_no_ball() {
    let mut clip = Drawn { n: 480, fps: 120.0, launch: None, speed: 0.0, angle: 0.0, ball: false, decoded: 0 };
    let (a, _) = run(&mut clip, 400);
    assert_eq!(a.metrics.expect("metrics").shot, ShotVerdict::none(NoShotReason::NoBall));
}

#[test]
fn given_too_small_a_budget_then_no_shot_because_of_the_analysis_limit_and_the_budget_holds() {
    let mut clip = Drawn { n: 1920, fps: 240.0, launch: Some(1500), speed: 20.0, angle: 25.0, ball: true, decoded: 0 };
    let (a, calls) = run(&mut clip, 5);
    assert_eq!(a.metrics.expect("metrics").shot, ShotVerdict::none(NoShotReason::AnalysisLimit));
    assert!(calls <= 5, "{calls} calls");
}

#[test]
fn given_a_short_clip_that_starts_with_the_shot_then_it_is_measured() {
    let mut clip = Drawn { n: 60, fps: 120.0, launch: Some(3), speed: 15.0, angle: 10.0, ball: true, decoded: 0 };
    let (a, _) = run(&mut clip, 400);
    let m = a.metrics.expect("metrics");
    assert!(m.shot.detected, "{:?}", m.shot);
    assert!(m.impact_frame.is_some_and(|f| f.abs_diff(3) <= 1), "{:?}", m.impact_frame);
}

fn ball(x: f32, y: f32) -> Detection {
    Detection { class: Class::GolfBall, score: 0.8, bbox: BBox::from_center(x, y, 12.0, 12.0) }
}

#[test]
fn the_flight_is_over_once_a_flight_has_not_been_seen_for_longer_than_a_gap() {
    // Teed for 10 frames, `points` frames of flight, then `after` empty frames.
    let clip = |points: usize, after: usize| {
        let mut frames: Vec<Vec<Detection>> = (0..10).map(|_| vec![ball(100.0, 400.0)]).collect();
        frames.extend((1..=points).map(|k| vec![ball(100.0 + 30.0 * k as f32, 400.0 - 10.0 * k as f32)]));
        frames.extend((0..after).map(|_| Vec::new()));
        frames
    };
    let size = (1280, 720);
    assert!(!flight_is_over(&clip(8, 0), size), "the ball is still in view");
    assert!(!flight_is_over(&clip(8, 5), size), "a gap the tracker bridges");
    assert!(flight_is_over(&clip(8, 6), size));
    assert!(flight_is_over(&clip(FIT_POINTS + 2, 0), size), "every point the launch fit uses is in");
    assert!(!flight_is_over(&clip(3, 10), size), "three flight points in mid-frame are not a shot yet");
    assert!(flight_is_over(&clip(3, 10), (200, 720)), "three points that reach the edge: it left");
    let resting: Vec<Vec<Detection>> =
        (0..40).map(|i| if i < 20 { vec![ball(100.0, 400.0)] } else { vec![] }).collect();
    assert!(!flight_is_over(&resting, size), "a ball that never flew");
}

#[test]
fn given_a_detector_that_loses_the_ball_in_flight_then_motion_carries_the_flight() {
    // 23 px a frame from x = 40: blind right of 110 the detector sees the ball at rest and at
    // x = 61, 82 and 103; blind right of 45, only at rest.
    for x_max in [110.0, 45.0] {
        let mut clip =
            Drawn { n: 240, fps: 120.0, launch: Some(100), speed: 20.0, angle: 25.0, ball: true, decoded: 0 };
        let detector = WhitePixels { blind: Blind::RightOf(x_max), ..WhitePixels::default() };
        let a = analyze(&detector, &mut clip, &params(120.0), &Limits { max_detector_calls: 400 }).expect("analyses");
        let m = a.metrics.as_ref().expect("metrics");
        assert!(m.shot.detected, "blind right of {x_max}: {:?}, {} motion points", m.shot, a.motion_points);
        assert!(a.motion_points >= 2, "blind right of {x_max}: {} motion points", a.motion_points);
        let speed = m.ball_speed_mps.expect("speed");
        assert!((speed - 20.0).abs() < 1.5, "blind right of {x_max}: speed {speed}");
        let launch = m.launch_deg.expect("launch");
        assert!((launch - 25.0).abs() < 3.0, "blind right of {x_max}: launch {launch}");
        assert!(m.impact_frame.is_some_and(|f| f.abs_diff(100) <= 1), "{:?}", m.impact_frame);
        // The detections the run keeps are the detector's: on those alone there is no flight.
        let p = ShotParams {
            clock: Clock::constant(120.0),
            m_per_px: M_PER_PX,
            smoothing_window: 3,
            frame_size: (W, H),
            first_frame: a.frames[0],
        };
        let alone = analyze_shot(&a.detections, &p).shot;
        assert!(!alone.detected, "blind right of {x_max}: {alone:?}");
    }
}

/// A drawn clip scaled up `k` times (nearest neighbour): 1920x1080 from the 320x180 drawing.
struct Scaled {
    inner: Drawn,
    k: u32,
}

impl FrameSource for Scaled {
    fn len(&self) -> usize {
        self.inner.n
    }

    fn frames(&mut self, indices: Vec<usize>) -> FrameIter<'_> {
        let k = self.k;
        Box::new(self.inner.frames(indices).map(move |f| {
            f.map(|f| {
                let (w, h) = (f.width * k, f.height * k);
                let mut rgb = Vec::with_capacity((w * h * 3) as usize);
                for y in 0..h {
                    for x in 0..w {
                        let p = (((y / k) * f.width + x / k) * 3) as usize;
                        rgb.extend_from_slice(&f.rgb[p..p + 3]);
                    }
                }
                DecodedFrame { name: f.name, width: w, height: h, rgb }
            })
        }))
    }
}

#[test]
fn given_a_1080p_clip_whose_ball_only_native_windows_show_then_the_search_finds_it_and_the_shot_is_measured() {
    // 10 m/s is 140 px a frame here: a dozen flight frames in the picture.
    let inner = Drawn { n: 180, fps: 60.0, launch: Some(90), speed: 10.0, angle: 20.0, ball: true, decoded: 0 };
    let mut clip = Scaled { inner, k: 6 };
    let detector = WhitePixels { blind: Blind::OnLargeFrames, ..WhitePixels::default() };
    let p = AnalysisParams { m_per_px: M_PER_PX / 6.0, ..params(60.0) };
    let a = analyze(&detector, &mut clip, &p, &Limits { max_detector_calls: 400 }).expect("analyses");
    let m = a.metrics.as_ref().expect("metrics");
    assert!(m.shot.detected, "{:?}", m.shot);
    let speed = m.ball_speed_mps.expect("speed");
    assert!((speed - 10.0).abs() < 0.75, "speed {speed}");
    assert!(m.impact_frame.is_some_and(|f| f.abs_diff(90) <= 1), "{:?}", m.impact_frame);
    let calls = detector.calls.load(Ordering::SeqCst);
    assert_eq!(calls, a.scan.detector_calls, "every window counts against the budget");
    // The same clip at 320x180 needs no windows; at 1080p the search paid for them, within bounds.
    assert!(calls <= 400, "{calls} calls");
}
