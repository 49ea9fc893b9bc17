//! When the frames seen so far hold a flight: a ball that moved, a flight with every point the
//! launch fit uses, or a ball that left without one. These decide where the dense pass stops.

use models::Detection;

use super::AnalysisParams;
use crate::pipeline::kinematics::flight_points;
use crate::pipeline::launch_fit::FIT_POINTS;
use crate::pipeline::shot::{analyze_shot, near_edge, NoShotReason, ShotParams, MIN_FLIGHT_POINTS};
use crate::pipeline::tracking::{track_ball, Gate, TrackPoint, MAX_GAP};

/// Whether these frames hold a ball that has moved: a track that left its start.
pub(super) fn has_moving_ball(frames: &[Vec<Detection>]) -> bool {
    let detected = detected_flight(frames);
    match (detected.first(), detected.last()) {
        (Some(a), Some(b)) if detected.len() >= 2 => (a.x - b.x).hypot(a.y - b.y) >= Gate::default().moving_px,
        _ => false,
    }
}

/// The detected points of the ball track's flight in these frames, without the ball at rest
/// ([`flight_points`]).
pub(super) fn detected_flight(frames: &[Vec<Detection>]) -> Vec<TrackPoint> {
    flight_points(&track_ball(frames, &Gate::default()))
}

/// Whether the shot is over in these frames: a ball flight has been tracked that moved and either
/// has the points the launch fit uses ([`FIT_POINTS`] and two spare), or has at least
/// [`MIN_FLIGHT_POINTS`] points or ended at the frame's edge and has not been seen for longer than
/// the tracker bridges. Nothing after that can change the metrics (launch comes from
/// the flight's first points, club speed from the frames before impact), so the rest of the
/// footage need not be decoded: most of a phone clip is follow-through and an empty sky.
pub fn flight_is_over(frames: &[Vec<Detection>], size: (u32, u32)) -> bool {
    let detected = detected_flight(frames);
    let (Some(a), Some(b)) = (detected.first(), detected.last()) else { return false };
    let moved = (a.x - b.x).hypot(a.y - b.y) >= Gate::default().moving_px;
    let at_edge = near_edge(b, size);
    let enough = detected.len() >= MIN_FLIGHT_POINTS || (detected.len() >= 2 && at_edge);
    // The launch fit uses the flight's first FIT_POINTS detections: two more (for a dropped
    // outlier or a trimmed false start) and nothing later can change the metrics.
    let fitted = detected.len() >= FIT_POINTS + 2;
    moved && (fitted || (enough && b.frame + MAX_GAP + 2 < frames.len()))
}

/// Whether the ball left its place in these frames for good without a flight to measure (it left
/// the picture at launch, or flew too few frames): a verdict in itself, not a false alarm.
pub(super) fn ball_left_unseen(frames: &[Vec<Detection>], params: &AnalysisParams, size: (u32, u32)) -> bool {
    let p = ShotParams {
        clock: params.clock.clone(),
        m_per_px: params.m_per_px,
        smoothing_window: params.smoothing_window,
        frame_size: size,
        first_frame: 0,
    };
    matches!(analyze_shot(frames, &p).shot.reason, Some(NoShotReason::LeftFrameAtLaunch | NoShotReason::FlightTooShort))
}
