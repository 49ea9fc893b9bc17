//! The whole shot from per-frame detections: tracks → smoothing → launch velocity → impact, club
//! speed, carry, confidence, and the tracking figures; or, when the detections hold no measurable
//! shot, the reason why ([`NoShotReason`]) and no ball metric at all. The analyze endpoints call
//! this once per run.
//!
//! Where the ball rests before the shot (the tee, a ball at rest, balls on the club face) is found
//! in `rest`.

mod rest;
#[cfg(test)]
mod tests;

pub use rest::resting_ball;
use rest::{
    behind_the_tee_dropped, rest_position, resting_ball_before, teed_ball_before, without_balls_on_the_club,
    without_balls_too_wide,
};

use models::{Class, Detection};
use serde::Serialize;

use super::clock::Clock;
use super::kinematics::{
    carry_m, impact_frame, launch_frame, robust_velocity, smooth, split_rest, trim_false_start, FlightModel, Velocity,
    LAUNCH_WINDOW, METRICS_VERSION, MPS_TO_MPH,
};
use super::launch_fit::{fit_launch, FittedPath, FIT_POINTS};
use super::tracking::{point, stats, track_ball, track_club, Gate, TrackPoint, TrackingStats, MAX_GAP};

/// Ball speeds a golf shot can have, m/s: under 5 is a putt or a nudge (no flight to measure),
/// over 95 is faster than any recorded drive (~88 m/s). Outside, the number is tracking noise.
pub const BALL_SPEED_RANGE_MPS: (f64, f64) = (5.0, 95.0);
/// Launch angles a golf shot can have, degrees above the horizontal: a topped ball starts a little
/// down, a lob wedge up to ~60.
pub const LAUNCH_RANGE_DEG: (f64, f64) = (-10.0, 70.0);
/// A track whose every detection scored under this is not a ball the detector was sure of: an
/// empty tee scores ~0.2 as a ball, a teed ball ~0.9. Such a track is `no_ball`, never a flight.
pub const CONFIDENT_BALL_SCORE: f64 = 0.4;
/// Detected flight points needed to measure a launch.
pub const MIN_FLIGHT_POINTS: usize = 4;

/// Why the detections hold no measurable shot. The set is stable: clients branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoShotReason {
    /// No ball was detected anywhere.
    NoBall,
    /// A ball was found but it never left where it was.
    BallDidNotMove,
    /// The ball flew but too few flight points were detected to measure it.
    FlightTooShort,
    /// The ball left the picture within a few frames of launch.
    LeftFrameAtLaunch,
    /// What was measured is not a golf shot from the ball at rest: outside [`BALL_SPEED_RANGE_MPS`]
    /// or [`LAUNCH_RANGE_DEG`], or a fitted path that misses where the ball sat.
    ImplausibleLaunch,
    /// The analysis ran out of detector calls (`ANALYZE_MAX_DETECTOR_CALLS`) before it found a shot,
    /// or gave up after balls vanished three times without a flight (`flow::MAX_FAILED_WINDOWS`).
    AnalysisLimit,
}

impl NoShotReason {
    /// The stable name clients see.
    pub fn as_str(self) -> &'static str {
        match self {
            NoShotReason::NoBall => "no_ball",
            NoShotReason::BallDidNotMove => "ball_did_not_move",
            NoShotReason::FlightTooShort => "flight_too_short",
            NoShotReason::LeftFrameAtLaunch => "left_frame_at_launch",
            NoShotReason::ImplausibleLaunch => "implausible_launch",
            NoShotReason::AnalysisLimit => "analysis_limit",
        }
    }
}

/// Whether a shot was found, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShotVerdict {
    /// A shot was measured.
    pub detected: bool,
    /// Why not (None when detected).
    pub reason: Option<NoShotReason>,
}

impl ShotVerdict {
    /// A measured shot.
    pub const DETECTED: ShotVerdict = ShotVerdict { detected: true, reason: None };

    /// No shot, for `reason`.
    pub fn none(reason: NoShotReason) -> ShotVerdict {
        ShotVerdict { detected: false, reason: Some(reason) }
    }
}

/// Inputs besides the detections.
#[derive(Debug, Clone, PartialEq)]
pub struct ShotParams {
    /// When each frame of the clip was captured (clip frame numbers; `first_frame` shifts it).
    pub clock: Clock,
    /// Metres per pixel.
    pub m_per_px: f64,
    /// Centred moving-average window (1 = none).
    pub smoothing_window: usize,
    /// Frame width and height, pixels (a flight that ends at an edge left the picture).
    pub frame_size: (u32, u32),
    /// The clip index of `frames[0]` (reported frame indices are the clip's).
    pub first_frame: usize,
}

/// The launch velocity and how well the flight fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Launch {
    velocity: Velocity,
    rms_residual_px: f64,
    /// When the ball left the tee, in frames of `frames` (fractional).
    time_frames: f64,
    /// How far the fitted path passes from the ball at rest, pixels (with a rest position).
    tee_miss_px: Option<f64>,
    /// The launch time, seconds after the path's first point.
    launch_dt: f64,
    /// The fitted path.
    path: FittedPath,
}

/// The velocity at launch from a ballistic fit of the flight's first detected points
/// ([`fit_launch`]: gravity from the scale, drag and lift from the flight model), evaluated at the
/// moment the fitted path leaves `tee` when the ball was seen at rest.
fn launch_velocity(flight: &[TrackPoint], tee: Option<(f64, f64)>, p: &ShotParams) -> Option<Launch> {
    let fit = fit_launch(flight, &p.clock.from_frame(p.first_frame), p.m_per_px, tee)?;
    Some(Launch {
        velocity: fit.velocity,
        rms_residual_px: fit.rms_residual_px,
        time_frames: fit.launch_time_frames,
        tee_miss_px: fit.tee_miss_px,
        launch_dt: fit.launch_dt,
        path: fit.path,
    })
}

/// The dashed continuation of a tracer is sampled this many times a frame.
const TRACE_SAMPLES_PER_FRAME: f64 = 2.0;
/// ... for at most this long after the last measured point, seconds.
const TRACE_EXTRAPOLATE_S: f64 = 1.5;

/// The flight as the tracer draws it ([`tracer::Flight`], clip frames): the launch point (the
/// ball at rest, else the fitted path at launch), the detected flight points, and the ballistic
/// path after the last of them until it leaves the picture. The continuation is a fit of the
/// flight's *last* points (the launch fit's first ten can drift from a long flight's end), shifted
/// onto the last point so the dashes start where the line ends.
fn flight_trace(
    flight: &[TrackPoint],
    launch: &Launch,
    tee: Option<(f64, f64)>,
    p: &ShotParams,
) -> Option<tracer::Flight> {
    let clock = p.clock.from_frame(p.first_frame);
    let detected: Vec<&TrackPoint> = flight.iter().filter(|t| !t.interpolated).collect();
    let last = **detected.last()?;
    let clip = |f: f64| f + p.first_frame as f64;
    let measured: Vec<tracer::FlightPoint> =
        detected.iter().map(|t| tracer::FlightPoint { frame: clip(t.frame as f64), x: t.x, y: t.y }).collect();
    let launch_frame = clip(launch.time_frames).min(measured[0].frame);
    let (lx, ly) = tee.unwrap_or_else(|| launch.path.at(launch.launch_dt));
    let tail: Vec<TrackPoint> = detected[detected.len().saturating_sub(FIT_POINTS)..].iter().map(|t| **t).collect();
    let path = fit_launch(&tail, &clock, p.m_per_px, None).map_or(launch.path, |f| f.path);
    let dt_last = clock.between(path.first_frame, last.frame);
    let (px, py) = path.at(dt_last);
    let (ox, oy) = (last.x - px, last.y - py);
    let (w, h) = (f64::from(p.frame_size.0), f64::from(p.frame_size.1));
    let fps = clock.fps();
    let step = 1.0 / (fps * TRACE_SAMPLES_PER_FRAME);
    let max = (TRACE_EXTRAPOLATE_S * fps * TRACE_SAMPLES_PER_FRAME).ceil().min(10_000.0) as usize + 1;
    // Until the shifted path is a ball's width outside the picture.
    let margin = last.w.max(last.h).max(4.0);
    let inside = |x: f64, y: f64| {
        let (x, y) = (x + ox, y + oy);
        x > -margin && y > -margin && x < w + margin && y < h + margin
    };
    let extrapolated = path
        .samples(dt_last, step, max, inside)
        .into_iter()
        .map(|(dt, x, y)| tracer::FlightPoint {
            frame: clip(clock.frame_after(path.first_frame, dt)),
            x: x + ox,
            y: y + oy,
        })
        .collect();
    let trace =
        tracer::Flight { launch: tracer::FlightPoint { frame: launch_frame, x: lx, y: ly }, measured, extrapolated };
    trace.is_valid().then_some(trace)
}

/// The metrics summary of one shot. Speeds and angles are `None` when the footage does not support
/// them (no ball flight found, too few points).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShotMetrics {
    /// Ball speed at launch, m/s.
    pub ball_speed_mps: Option<f64>,
    /// The same in mph.
    pub ball_speed_mph: Option<f64>,
    /// Club-head speed just before impact, m/s.
    pub club_speed_mps: Option<f64>,
    /// The same in mph.
    pub club_speed_mph: Option<f64>,
    /// Launch angle above the horizontal, degrees.
    pub launch_deg: Option<f64>,
    /// Side angle; a single side-on camera cannot see it.
    pub side_angle_deg: Option<f64>,
    /// Carry from launch speed and angle (kinematics::FlightModel).
    pub carry_m: Option<f64>,
    /// The frame of impact.
    pub impact_frame: Option<usize>,
    /// 0..1, from detection scores and track completeness.
    pub confidence: f64,
    /// Version of these definitions.
    pub metrics_version: &'static str,
    /// Whether a shot was measured, and if not, why (the response lifts it to its top-level `shot`).
    #[serde(skip)]
    pub shot: ShotVerdict,
    /// Tracking figures.
    pub tracking: TrackingStats,
    /// The flight for the tracer (None without a shot).
    #[serde(skip)]
    pub flight: Option<tracer::Flight>,
}

impl ShotMetrics {
    /// No shot: every ball and club metric null, confidence 0.
    pub fn none(verdict: ShotVerdict, tracking: TrackingStats) -> ShotMetrics {
        ShotMetrics {
            ball_speed_mps: None,
            ball_speed_mph: None,
            club_speed_mps: None,
            club_speed_mph: None,
            launch_deg: None,
            side_angle_deg: None,
            carry_m: None,
            impact_frame: None,
            confidence: 0.0,
            metrics_version: METRICS_VERSION,
            shot: verdict,
            tracking,
            flight: None,
        }
    }
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Whether a flight moved: its detected points span at least the tracker's moving distance, and
/// cover at least its per-frame rate (a ball at rest with detector jitter does neither).
fn flight_moved(flight: &[TrackPoint]) -> bool {
    let detected: Vec<&TrackPoint> = flight.iter().filter(|p| !p.interpolated).collect();
    let (Some(a), Some(b)) = (detected.first(), detected.last()) else { return false };
    let gate = Gate::default();
    let net = (b.x - a.x).hypot(b.y - a.y);
    let span = b.frame.saturating_sub(a.frame).max(1) as f64;
    net >= gate.moving_px && net >= gate.moving_px_per_frame * span
}

/// Whether a point lies within one and a half ball sizes of the frame's edge.
pub(crate) fn near_edge(p: &TrackPoint, (w, h): (u32, u32)) -> bool {
    let m = 1.5 * p.w.max(p.h).max(4.0);
    p.x < m || p.y < m || p.x > f64::from(w) - m || p.y > f64::from(h) - m
}

/// For a track that never moved: whether the ball then left its place for good (no ball near it
/// in any later frame, and more frames after its last point than the tracker bridges), and if so
/// the balls detected elsewhere in the few frames after it left.
fn vanished(frames: &[Vec<Detection>], track: &[TrackPoint]) -> Option<Vec<TrackPoint>> {
    let last = track.last()?;
    if last.frame + MAX_GAP + 2 >= frames.len() {
        return None;
    }
    let still = (last.w.max(last.h) / 2.0).max(3.0) * 2.0;
    let balls = |i: usize| frames[i].iter().filter(|d| d.class == Class::GolfBall);
    let back = (last.frame + 1..frames.len()).any(|i| {
        balls(i).any(|d| {
            let (x, y) = d.bbox.center();
            (f64::from(x) - last.x).hypot(f64::from(y) - last.y) <= still
        })
    });
    if back {
        return None;
    }
    let after =
        (last.frame + 1..(last.frame + 4).min(frames.len())).flat_map(|i| balls(i).map(move |d| point(i, d))).collect();
    Some(after)
}

/// The verdict on a ball track before any velocity is computed.
fn flight_verdict(
    frames: &[Vec<Detection>],
    track: &[TrackPoint],
    flight: &[TrackPoint],
    p: &ShotParams,
) -> ShotVerdict {
    if track.iter().all(|t| t.score < CONFIDENT_BALL_SCORE) {
        return ShotVerdict::none(NoShotReason::NoBall);
    }
    if !flight_moved(flight) {
        return match vanished(frames, track) {
            Some(after) => {
                // The ball left its place for good without a flight the tracker could follow:
                // what was seen of it after leaving says whether it left the picture.
                let left = after.is_empty() || after.iter().any(|q| near_edge(q, p.frame_size));
                ShotVerdict::none(if left { NoShotReason::LeftFrameAtLaunch } else { NoShotReason::FlightTooShort })
            }
            None => ShotVerdict::none(NoShotReason::BallDidNotMove),
        };
    }
    let detected = flight.iter().filter(|t| !t.interpolated).count();
    if detected < MIN_FLIGHT_POINTS {
        let left = flight.last().is_some_and(|l| near_edge(l, p.frame_size));
        return ShotVerdict::none(if left { NoShotReason::LeftFrameAtLaunch } else { NoShotReason::FlightTooShort });
    }
    ShotVerdict::DETECTED
}

/// The ball detections that can be the ball in play: without the "balls" on a club head and the
/// boxes too wide for the ball at rest (`rest`).
pub(crate) fn shot_candidates(frames: &[Vec<Detection>]) -> Vec<Vec<Detection>> {
    without_balls_too_wide(&without_balls_on_the_club(frames))
}

/// Analyses one shot. Frame indices in `frames` count from `p.first_frame`.
pub fn analyze_shot(frames: &[Vec<Detection>], p: &ShotParams) -> ShotMetrics {
    let frames = &shot_candidates(frames);
    let track = track_ball(frames, &Gate::default());
    let (rest, flight) = split_rest(&track);
    // The ball at rest: the track's own rest segment, else the ball the frames before the flight
    // agree on (the tracker can start a flight on a "ball" seen on the club face before impact).
    let resting = rest_position(rest).or_else(|| resting_ball_before(frames, flight));
    let flight = behind_the_tee_dropped(trim_false_start(flight), resting).to_vec();
    let club = track_club(frames);
    let tracking = stats(&track, frames.len());
    let mut verdict = flight_verdict(frames, &track, &flight, p);
    // Where the ball sat before it flew: the track's own rest segment, else a ball detected in the
    // frames just before the flight, behind it on its line.
    let tee = resting.or_else(|| teed_ball_before(frames, &flight));
    let launch = if verdict.detected { launch_velocity(&flight, tee, p) } else { None };
    if verdict.detected && launch.is_none() {
        verdict = ShotVerdict::none(NoShotReason::FlightTooShort);
    }
    if let Some(l) = launch.as_ref() {
        let (speed, angle) = (l.velocity.speed(), l.velocity.launch_deg());
        // A flight whose fitted path misses the ball at rest by more than a ball and a half is
        // not that ball's flight (a stray track, or the ball's flight joined to a stray).
        let size = flight.iter().filter(|t| !t.interpolated).map(|t| t.w.max(t.h)).fold(0.0, f64::max);
        let from_rest = l.tee_miss_px.is_none_or(|m| m <= (1.5 * size).max(8.0));
        let plausible = from_rest
            && (BALL_SPEED_RANGE_MPS.0..=BALL_SPEED_RANGE_MPS.1).contains(&speed)
            && (LAUNCH_RANGE_DEG.0..=LAUNCH_RANGE_DEG.1).contains(&angle);
        if !plausible {
            verdict = ShotVerdict::none(NoShotReason::ImplausibleLaunch);
        }
    }
    if !verdict.detected {
        return ShotMetrics::none(verdict, tracking);
    }
    let launch = launch.expect("a detected shot has a launch velocity");
    // With the ball seen at rest, the fitted path's launch time is the impact: the last frame with
    // the ball still on the tee. Without it, the club's contact or the flight's first frame.
    let impact = match tee {
        Some(_) if launch.time_frames.is_finite() && launch.time_frames >= 0.0 => {
            Some((launch.time_frames + 0.1).floor() as usize)
        }
        Some(t) => launch_frame(&flight, t).or_else(|| impact_frame(&flight, &club)),
        None => impact_frame(&flight, &club),
    };
    // Club speed over the ~6 frames up to impact, smoothed as one track first so the window's ends
    // are interior points where the track continues.
    let club_smoothed = smooth(&club, p.smoothing_window);
    let club_speed = impact.and_then(|f| {
        let before: Vec<TrackPoint> =
            club_smoothed.iter().filter(|c| c.frame <= f && c.frame + 6 > f).copied().collect();
        robust_velocity(&before, &p.clock.from_frame(p.first_frame), p.m_per_px).map(|v| v.speed())
    });
    let ball_speed = launch.velocity.speed();
    let launch_deg = launch.velocity.launch_deg();
    let carry = carry_m(ball_speed, launch_deg, &FlightModel::default());
    let detected: Vec<&TrackPoint> = flight.iter().filter(|t| !t.interpolated).collect();
    let mean_score = detected.iter().map(|t| t.score).sum::<f64>() / detected.len().max(1) as f64;
    let completeness = detected.len() as f64 / flight.len().max(1) as f64;
    let length = (detected.len() as f64 / LAUNCH_WINDOW as f64).min(1.0);
    // A fit whose points sit half a ball off the ballistic path halves the confidence.
    let size = detected.iter().map(|t| t.w.max(t.h)).sum::<f64>() / detected.len().max(1) as f64;
    let fit = 1.0 / (1.0 + launch.rms_residual_px / (0.5 * size.max(4.0)));
    let trace = flight_trace(&flight, &launch, tee, p);
    ShotMetrics {
        ball_speed_mps: Some(round(ball_speed, 2)),
        ball_speed_mph: Some(round(ball_speed * MPS_TO_MPH, 2)),
        club_speed_mps: club_speed.map(|v| round(v, 2)),
        club_speed_mph: club_speed.map(|v| round(v * MPS_TO_MPH, 2)),
        launch_deg: Some(round(launch_deg, 2)),
        side_angle_deg: None,
        carry_m: Some(round(carry, 1)),
        impact_frame: impact.map(|f| f + p.first_frame),
        confidence: round(mean_score * completeness * length * fit, 3),
        metrics_version: METRICS_VERSION,
        shot: verdict,
        tracking,
        flight: trace,
    }
}
