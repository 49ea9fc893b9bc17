//! The whole shot from per-frame detections: tracks → smoothing → launch velocity → impact, club
//! speed, carry, confidence, and the tracking figures; or, when the detections hold no measurable
//! shot, the reason why ([`NoShotReason`]) and no ball metric at all. The analyze endpoints call
//! this once per run.

use models::{Class, Detection};
use serde::Serialize;

use super::clock::Clock;
use super::kinematics::{
    carry_m, impact_frame, launch_frame, robust_velocity, smooth, split_rest, trim_false_start, FlightModel, Velocity,
    LAUNCH_WINDOW, METRICS_VERSION, MPS_TO_MPH,
};
use super::launch_fit::fit_launch;
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
    })
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
        }
    }
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Drops leading flight points that lie behind the ball at rest, along the flight's direction:
/// a ball cannot fly backwards through its tee, so such a point is the detector seeing a "ball"
/// on the club face before impact (measured: two such points on a rendered 240 fps swing read
/// 24 m/s as 28).
fn behind_the_tee_dropped(flight: &[TrackPoint], tee: Option<(f64, f64)>) -> &[TrackPoint] {
    let (Some(tee), Some(far)) = (tee, flight.get(flight.len().min(LAUNCH_WINDOW).saturating_sub(1))) else {
        return flight;
    };
    let (dx, dy) = (far.x - tee.0, far.y - tee.1);
    let len = dx.hypot(dy);
    if len < 1.0 {
        return flight;
    }
    let behind = flight.iter().take_while(|p| ((p.x - tee.0) * dx + (p.y - tee.1) * dy) / len <= 0.0).count();
    if flight.len() - behind >= 3 {
        &flight[behind..]
    } else {
        flight
    }
}

/// A ball at rest in `frames`: the position where confident ball detections (score at least
/// [`CONFIDENT_BALL_SCORE`]) agree within 3 px in the most frames, at least two.
pub fn resting_ball(frames: &[Vec<Detection>]) -> Option<(f64, f64)> {
    resting_balls(frames).into_iter().max_by_key(|(n, _)| *n).map(|(_, c)| c)
}

/// Every position where confident ball detections agree within 3 px in at least two frames, with
/// how many agree there.
fn resting_balls(frames: &[Vec<Detection>]) -> Vec<(usize, (f64, f64))> {
    let centres: Vec<(f64, f64)> = frames
        .iter()
        .flat_map(|f| f.iter().filter(|d| d.class == Class::GolfBall && f64::from(d.score) >= CONFIDENT_BALL_SCORE))
        .map(|d| {
            let (x, y) = d.bbox.center();
            (f64::from(x), f64::from(y))
        })
        .collect();
    let near = |a: &(f64, f64)| centres.iter().filter(|b| (a.0 - b.0).hypot(a.1 - b.1) <= 3.0).count();
    centres.iter().map(|c| (near(c), *c)).filter(|(n, _)| *n >= 2).collect()
}

/// The resting ball nearest the flight's first point (a white marking elsewhere rests too).
fn resting_ball_before(frames: &[Vec<Detection>], flight: &[TrackPoint]) -> Option<(f64, f64)> {
    let first = flight.first()?;
    let before = &frames[..(first.frame + 1).min(frames.len())];
    let d = |c: &(f64, f64)| (c.0 - first.x).hypot(c.1 - first.y);
    resting_balls(before).into_iter().map(|(_, c)| c).min_by(|a, b| d(a).total_cmp(&d(b)))
}

/// The frames with every ball detection whose centre lies inside a club-head box of the same
/// frame removed: near impact the detector also reads the club face (or the whole blurred head)
/// as a ball, and such a track moves with the club through the swing's arc, more points than the
/// real flight of a small fast ball (measured: a 55 px "ball" along the downswing taken for the
/// flight of a 13 px ball at 50 m/s). The ball itself is inside the head's box only at impact,
/// where the frames on the tee and in flight around it carry the measurement.
fn without_balls_on_the_club(frames: &[Vec<Detection>]) -> Vec<Vec<Detection>> {
    frames
        .iter()
        .map(|f| {
            let clubs: Vec<&Detection> = f.iter().filter(|d| d.class == Class::ClubHead).collect();
            f.iter()
                .filter(|d| {
                    let (x, y) = d.bbox.center();
                    d.class != Class::GolfBall
                        || !clubs
                            .iter()
                            .any(|c| (c.bbox.x1..=c.bbox.x2).contains(&x) && (c.bbox.y1..=c.bbox.y2).contains(&y))
                })
                .copied()
                .collect()
        })
        .collect()
}

/// The frames with every ball detection at least twice as wide, across its shorter side, as the
/// ball at rest removed (when a ball rests in them): motion blur stretches a flying ball along
/// its path but never widens it, while the blurred club head read as a "ball" is several balls
/// wide (measured: 47-55 px boxes beside a 13 px ball, tracked through the downswing as its flight).
fn without_balls_too_wide(frames: &[Vec<Detection>]) -> Vec<Vec<Detection>> {
    let Some((_, (x, y))) = resting_balls(frames).into_iter().max_by_key(|(n, _)| *n) else {
        return frames.to_vec();
    };
    let rest_size = frames
        .iter()
        .flatten()
        .filter(|d| d.class == Class::GolfBall)
        .find(|d| {
            let (cx, cy) = d.bbox.center();
            (f64::from(cx) - x).hypot(f64::from(cy) - y) <= 3.0
        })
        .map_or(0.0, |d| d.bbox.width().max(d.bbox.height()));
    if rest_size <= 0.0 {
        return frames.to_vec();
    }
    frames
        .iter()
        .map(|f| {
            f.iter()
                .filter(|d| d.class != Class::GolfBall || d.bbox.width().min(d.bbox.height()) < 2.0 * rest_size)
                .copied()
                .collect()
        })
        .collect()
}

/// The median position of a ball at rest.
fn rest_position(rest: &[TrackPoint]) -> Option<(f64, f64)> {
    if rest.is_empty() {
        return None;
    }
    let mut xs: Vec<f64> = rest.iter().map(|p| p.x).collect();
    let mut ys: Vec<f64> = rest.iter().map(|p| p.y).collect();
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    Some((xs[xs.len() / 2], ys[ys.len() / 2]))
}

/// A ball detected in the 8 frames before the flight that lies behind the flight's first point on
/// its line (within a few ball widths of it): the teed ball, when the tracker kept it apart.
fn teed_ball_before(frames: &[Vec<Detection>], flight: &[TrackPoint]) -> Option<(f64, f64)> {
    let first = flight.first()?;
    let next = flight.get(1)?;
    let (dx, dy) = (next.x - first.x, next.y - first.y);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        return None;
    }
    let size = first.w.max(first.h).max(4.0);
    (first.frame.saturating_sub(8)..first.frame).rev().find_map(|i| {
        frames.get(i)?.iter().filter(|d| d.class == models::Class::GolfBall).find_map(|d| {
            let (cx, cy) = d.bbox.center();
            let (ox, oy) = (first.x - f64::from(cx), first.y - f64::from(cy));
            let along = (ox * dx + oy * dy) / len;
            let across = (ox * dy - oy * dx).abs() / len;
            let frames_back = (first.frame - i) as f64;
            (along > 0.0 && along <= len * frames_back + 2.0 * size && across <= 1.5 * size)
                .then_some((f64::from(cx), f64::from(cy)))
        })
    })
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

/// Analyses one shot. Frame indices in `frames` count from `p.first_frame`.
pub fn analyze_shot(frames: &[Vec<Detection>], p: &ShotParams) -> ShotMetrics {
    let frames = &without_balls_on_the_club(frames);
    let frames = &without_balls_too_wide(frames);
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::{BBox, Class};

    /// A deterministic ±1 px jitter.
    fn jitter(i: usize, salt: usize) -> f32 {
        (((i * 7919 + salt * 104_729) % 17) as f32 / 8.0) - 1.0
    }

    /// Detections of a simulated swing: the club head sweeps into a teed ball, which then flies at
    /// `speed` m/s and `launch` degrees (drag-free over these few frames), filmed side-on at `fps`
    /// with `m_per_px`. One flight frame is missed and a static white marking is always present.
    fn swing(speed: f64, launch: f64, fps: f64, m_per_px: f64, club_mps: f64) -> (Vec<Vec<Detection>>, usize) {
        let (tee_x, tee_y) = (300.0f64, 520.0f64);
        let impact = 10usize;
        let (vx, vy) = (speed * launch.to_radians().cos(), speed * launch.to_radians().sin());
        let club_px_per_frame = club_mps / m_per_px / fps;
        let frames = (0..26)
            .map(|i| {
                let mut dets = vec![Detection {
                    class: Class::GolfBall,
                    score: 0.9,
                    bbox: BBox::from_center(60.0, 660.0, 12.0, 12.0),
                }];
                let (bx, by) = if i <= impact {
                    (tee_x, tee_y)
                } else {
                    let t = (i - impact) as f64 / fps;
                    (tee_x + vx * t / m_per_px, tee_y - (vy * t - 4.905 * t * t) / m_per_px)
                };
                if i != impact + 4 {
                    let (jx, jy) = (jitter(i, 1), jitter(i, 2));
                    dets.push(Detection {
                        class: Class::GolfBall,
                        score: 0.75,
                        bbox: BBox::from_center(bx as f32 + jx, by as f32 + jy, 12.0, 12.0),
                    });
                }
                if i <= impact + 2 {
                    let cx = tee_x - 20.0 - club_px_per_frame * (impact as f64 - i as f64);
                    dets.push(Detection {
                        class: Class::ClubHead,
                        score: 0.8,
                        bbox: BBox::from_center(cx as f32, tee_y as f32, 44.0, 30.0),
                    });
                }
                dets
            })
            .collect();
        (frames, impact)
    }

    #[test]
    fn recovers_speed_launch_and_impact_of_a_simulated_drive() {
        for (speed, launch, fps, mpp) in
            [(60.0, 12.0, 120.0, 0.005), (45.0, 20.0, 240.0, 0.004), (30.0, 28.0, 120.0, 0.003)]
        {
            let (frames, impact) = swing(speed, launch, fps, mpp, 40.0);
            let m = analyze_shot(
                &frames,
                &ShotParams {
                    clock: Clock::constant(fps),
                    m_per_px: mpp,
                    smoothing_window: 3,
                    frame_size: (1280, 720),
                    first_frame: 0,
                },
            );
            let got = m.ball_speed_mps.expect("speed");
            assert!((got - speed).abs() / speed < 0.05, "speed {got} vs {speed}");
            let angle = m.launch_deg.expect("launch");
            assert!((angle - launch).abs() < 1.5, "launch {angle} vs {launch}");
            let hit = m.impact_frame.expect("impact") as i64;
            assert!((hit - impact as i64).abs() <= 1, "impact {hit} vs {impact}");
            let club = m.club_speed_mps.expect("club speed");
            assert!((club - 40.0).abs() / 40.0 < 0.05, "club {club}");
            assert!(m.carry_m.is_some_and(|c| c > 0.0));
            assert!((m.ball_speed_mph.expect("mph") - got * MPS_TO_MPH).abs() < 0.02);
            assert_eq!(m.tracking.max_gap, 1, "the missed frame is bridged");
            assert!(m.confidence > 0.5 && m.confidence <= 1.0, "{}", m.confidence);
        }
    }

    #[test]
    fn no_ball_means_no_kinematics_and_zero_confidence() {
        let frames: Vec<Vec<Detection>> = vec![Vec::new(); 10];
        let m = analyze_shot(
            &frames,
            &ShotParams {
                clock: Clock::constant(120.0),
                m_per_px: 0.01,
                smoothing_window: 3,
                frame_size: (1280, 720),
                first_frame: 0,
            },
        );
        assert_eq!((m.ball_speed_mps, m.launch_deg, m.carry_m, m.impact_frame), (None, None, None, None));
        assert_eq!(m.confidence, 0.0);
        assert_eq!(m.tracking.n_frames, 10);
    }

    fn params() -> ShotParams {
        ShotParams {
            clock: Clock::constant(120.0),
            m_per_px: 0.002,
            smoothing_window: 3,
            frame_size: (1280, 720),
            first_frame: 0,
        }
    }

    fn at(x: f64, y: f64, score: f32) -> Detection {
        Detection { class: Class::GolfBall, score, bbox: BBox::from_center(x as f32, y as f32, 14.0, 14.0) }
    }

    #[test]
    fn given_a_resting_ball_with_detector_jitter_then_no_shot_because_it_did_not_move() {
        let frames: Vec<Vec<Detection>> = (0..60)
            .map(|i| vec![at(400.0 + f64::from(jitter(i, 1)) * 2.0, 500.0 + f64::from(jitter(i, 2)) * 2.0, 0.6)])
            .collect();
        let m = analyze_shot(&frames, &params());
        assert_eq!(m.shot, ShotVerdict::none(NoShotReason::BallDidNotMove));
        assert_eq!((m.ball_speed_mps, m.launch_deg, m.carry_m, m.club_speed_mps), (None, None, None, None));
        assert_eq!(m.confidence, 0.0);
    }

    #[test]
    fn given_a_ball_that_leaves_the_frame_within_three_frames_then_no_shot_because_it_left() {
        let mut frames: Vec<Vec<Detection>> = (0..20).map(|_| vec![at(1000.0, 500.0, 0.8)]).collect();
        frames.extend((1..=3).map(|k| vec![at(1000.0 + 90.0 * f64::from(k), 500.0 - 20.0 * f64::from(k), 0.8)]));
        frames.extend((0..10).map(|_| Vec::new()));
        let m = analyze_shot(&frames, &params());
        assert_eq!(m.shot, ShotVerdict::none(NoShotReason::LeftFrameAtLaunch));
        assert_eq!(m.ball_speed_mps, None);
    }

    #[test]
    fn given_no_detections_then_no_shot_because_no_ball() {
        let m = analyze_shot(&vec![Vec::new(); 30], &params());
        assert_eq!(m.shot, ShotVerdict::none(NoShotReason::NoBall));
    }

    #[test]
    fn given_a_flight_faster_than_any_golf_ball_then_no_shot_because_implausible() {
        // 150 px a frame at 120 fps and 6.7 mm a pixel: 120 m/s.
        let mut frames: Vec<Vec<Detection>> = (0..10).map(|_| vec![at(50.0, 600.0, 0.8)]).collect();
        frames.extend((1..=6).map(|k| vec![at(50.0 + 150.0 * f64::from(k), 600.0 - 20.0 * f64::from(k), 0.8)]));
        let m = analyze_shot(&frames, &ShotParams { m_per_px: 0.0067, ..params() });
        assert_eq!(m.shot, ShotVerdict::none(NoShotReason::ImplausibleLaunch));
        assert_eq!(m.ball_speed_mps, None);
    }

    #[test]
    fn impact_frames_count_from_the_first_frame_given() {
        let (frames, impact) = swing(45.0, 20.0, 240.0, 0.004, 40.0);
        let m = analyze_shot(&frames, &ShotParams { first_frame: 1000, ..params() });
        let m0 = analyze_shot(&frames, &params());
        assert_eq!(m0.impact_frame.map(|f| f + 1000), m.impact_frame);
        assert!(m.impact_frame.is_some_and(|f| f.abs_diff(1000 + impact) <= 1));
    }

    #[test]
    fn given_a_flight_whose_path_misses_the_ball_at_rest_then_no_shot_because_implausible() {
        // A ball rests at (100, 600) while a "flight" crosses the sky far from it.
        let mut frames: Vec<Vec<Detection>> = (0..12).map(|_| vec![at(100.0, 600.0, 0.9)]).collect();
        frames.extend((0..10).map(|k| vec![at(600.0 + 20.0 * f64::from(k), 300.0 - 5.0 * f64::from(k), 0.8)]));
        let m = analyze_shot(&frames, &params());
        assert_eq!(m.shot, ShotVerdict::none(NoShotReason::ImplausibleLaunch));
        assert_eq!(m.ball_speed_mps, None);
    }

    #[test]
    fn given_a_club_head_read_as_a_wide_ball_then_it_is_not_taken_for_the_flight() {
        // A 14 px ball rests; a 50 px "ball" (the blurred head) sweeps past it and up.
        let wide = |x: f64, y: f64| Detection {
            class: Class::GolfBall,
            score: 0.7,
            bbox: BBox::from_center(x as f32, y as f32, 50.0, 50.0),
        };
        let frames: Vec<Vec<Detection>> = (0..24)
            .map(|i| {
                let mut d = vec![at(400.0, 500.0, 0.9)];
                if (8..18).contains(&i) {
                    d.push(wide(200.0 + 40.0 * f64::from(i - 8), 520.0 - 25.0 * f64::from(i - 8)));
                }
                d
            })
            .collect();
        let m = analyze_shot(&frames, &params());
        assert_eq!(m.shot, ShotVerdict::none(NoShotReason::BallDidNotMove));
    }
}
