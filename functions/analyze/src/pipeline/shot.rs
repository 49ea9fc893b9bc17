//! The whole shot from per-frame detections: tracks → smoothing → launch velocity → impact, club
//! speed, carry, confidence, and the tracking figures. The analyze endpoints call this once per run.

use models::Detection;
use serde::Serialize;

use super::kinematics::{
    carry_m, impact_frame, launch_frame, robust_velocity, smooth, split_rest, trim_false_start, FlightModel,
    LAUNCH_WINDOW, METRICS_VERSION, MPS_TO_MPH,
};
use super::tracking::{stats, track_ball, track_club, Gate, TrackPoint, TrackingStats};

/// Inputs besides the detections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShotParams {
    /// Frames per second of the footage.
    pub fps: f64,
    /// Metres per pixel.
    pub m_per_px: f64,
    /// Centred moving-average window (1 = none).
    pub smoothing_window: usize,
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
    /// Tracking figures.
    pub tracking: TrackingStats,
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
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

/// Analyses one shot.
pub fn analyze_shot(frames: &[Vec<Detection>], p: &ShotParams) -> ShotMetrics {
    let track = track_ball(frames, &Gate::default());
    let (rest, flight) = split_rest(&track);
    let flight = trim_false_start(flight).to_vec();
    let club = track_club(frames);
    let tracking = stats(&track, frames.len());
    let smoothed = smooth(&flight, p.smoothing_window);
    let launch: Vec<TrackPoint> = smoothed.iter().take(LAUNCH_WINDOW).copied().collect();
    let velocity = robust_velocity(&launch, p.fps, p.m_per_px);
    // Where the ball sat before it flew: the track's own rest segment, else a ball detected in the
    // frames just before the flight, behind it on its line.
    let tee = rest_position(rest).or_else(|| teed_ball_before(frames, &flight));
    let impact = tee.and_then(|t| launch_frame(&flight, t)).or_else(|| impact_frame(&flight, &club));
    // Club speed over the ~6 frames up to impact, smoothed as one track first so the window's ends
    // are interior points where the track continues.
    let club_smoothed = smooth(&club, p.smoothing_window);
    let club_speed = impact.and_then(|f| {
        let before: Vec<TrackPoint> =
            club_smoothed.iter().filter(|c| c.frame <= f && c.frame + 6 > f).copied().collect();
        robust_velocity(&before, p.fps, p.m_per_px).map(|v| v.speed())
    });
    let ball_speed = velocity.map(|v| v.speed());
    let launch_deg = velocity.map(|v| v.launch_deg());
    let carry = match (ball_speed, launch_deg) {
        (Some(s), Some(a)) => Some(carry_m(s, a, &FlightModel::default())),
        _ => None,
    };
    let detected: Vec<&TrackPoint> = flight.iter().filter(|t| !t.interpolated).collect();
    let mean_score =
        if detected.is_empty() { 0.0 } else { detected.iter().map(|t| t.score).sum::<f64>() / detected.len() as f64 };
    let completeness = if flight.is_empty() { 0.0 } else { detected.len() as f64 / flight.len() as f64 };
    let length = (flight.len() as f64 / LAUNCH_WINDOW as f64).min(1.0);
    ShotMetrics {
        ball_speed_mps: ball_speed.map(|v| round(v, 2)),
        ball_speed_mph: ball_speed.map(|v| round(v * MPS_TO_MPH, 2)),
        club_speed_mps: club_speed.map(|v| round(v, 2)),
        club_speed_mph: club_speed.map(|v| round(v * MPS_TO_MPH, 2)),
        launch_deg: launch_deg.map(|v| round(v, 2)),
        side_angle_deg: None,
        carry_m: carry.map(|v| round(v, 1)),
        impact_frame: impact,
        confidence: round(mean_score * completeness * length, 3),
        metrics_version: METRICS_VERSION,
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
            let m = analyze_shot(&frames, &ShotParams { fps, m_per_px: mpp, smoothing_window: 3 });
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
        let m = analyze_shot(&frames, &ShotParams { fps: 120.0, m_per_px: 0.01, smoothing_window: 3 });
        assert_eq!((m.ball_speed_mps, m.launch_deg, m.carry_m, m.impact_frame), (None, None, None, None));
        assert_eq!(m.confidence, 0.0);
        assert_eq!(m.tracking.n_frames, 10);
    }
}
