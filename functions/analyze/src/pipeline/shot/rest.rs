//! Where the ball rests before the shot: the teed ball, a ball at rest, and the detections that
//! are not the ball in play (a "ball" on the club face, boxes too wide to be a ball).

use models::{Class, Detection};

use super::CONFIDENT_BALL_SCORE;
use crate::pipeline::kinematics::LAUNCH_WINDOW;
use crate::pipeline::tracking::{balls_near, TrackPoint};

/// Drops leading flight points that lie behind the ball at rest, along the flight's direction:
/// a ball cannot fly backwards through its tee, so such a point is the detector seeing a "ball"
/// on the club face before impact (measured: two such points on a rendered 240 fps swing read
/// 24 m/s as 28).
pub(super) fn behind_the_tee_dropped(flight: &[TrackPoint], tee: Option<(f64, f64)>) -> &[TrackPoint] {
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
pub(super) fn resting_balls(frames: &[Vec<Detection>]) -> Vec<(usize, (f64, f64))> {
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
pub(super) fn resting_ball_before(frames: &[Vec<Detection>], flight: &[TrackPoint]) -> Option<(f64, f64)> {
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
pub(super) fn without_balls_on_the_club(frames: &[Vec<Detection>]) -> Vec<Vec<Detection>> {
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
/// ball at rest removed (when a ball rests in them), unless the ball has left its rest in that
/// frame and the box is a streak of the resting ball along the line from the rest
/// ([`streak_of`]). Motion blur stretches a flying ball along its path but never thickens it,
/// while the blurred club head read as a "ball" is several balls wide (measured: 47-55 px boxes
/// beside a 13 px ball, tracked through the downswing as its flight). A diagonal streak's box is
/// wide on both sides, though (a 20 px ball at 65 m/s and 240 fps, launched at 25 degrees: 72x47
/// px boxes), so after the launch the box is judged by its shape, not its shorter side.
pub(super) fn without_balls_too_wide(frames: &[Vec<Detection>]) -> Vec<Vec<Detection>> {
    let Some((_, (x, y))) = resting_balls(frames).into_iter().max_by_key(|(n, _)| *n) else {
        return frames.to_vec();
    };
    let rest_size = frames
        .iter()
        .find_map(|f| balls_near(f, (x, y), 3.0).next())
        .map_or(0.0, |d| d.bbox.width().max(d.bbox.height()));
    if rest_size <= 0.0 {
        return frames.to_vec();
    }
    let at_rest = |f: &[Detection]| balls_near(f, (x, y), 3.0).any(|d| f64::from(d.score) >= CONFIDENT_BALL_SCORE);
    frames
        .iter()
        .map(|f| {
            let resting = at_rest(f);
            f.iter()
                .filter(|d| {
                    d.class != Class::GolfBall
                        || d.bbox.width().min(d.bbox.height()) < 2.0 * rest_size
                        || (!resting && streak_of(&d.bbox, (x, y), f64::from(rest_size)))
                })
                .copied()
                .collect()
        })
        .collect()
}

/// Whether `bbox` is the box of a ball `ball` px across streaked along the line from `rest` to
/// the box's centre: a capsule of that thickness and some length `L` at that angle has the box
/// `(L |cos| + ball, L |sin| + ball)`; the best `L` must reproduce the box within half a ball or
/// 15 % of its long side. A club head's near-square box fails unless the line runs at 45 degrees.
pub(super) fn streak_of(bbox: &models::BBox, rest: (f64, f64), ball: f64) -> bool {
    let (cx, cy) = bbox.center();
    let (dx, dy) = (f64::from(cx) - rest.0, f64::from(cy) - rest.1);
    let d = dx.hypot(dy);
    if d < ball {
        return false;
    }
    let (c, s) = ((dx / d).abs(), (dy / d).abs());
    let (w, h) = (f64::from(bbox.width()), f64::from(bbox.height()));
    let length = ((w - ball) * c + (h - ball) * s).max(0.0);
    let miss = (w - (length * c + ball)).hypot(h - (length * s + ball));
    miss <= (0.5 * ball).max(0.15 * w.max(h))
}

/// The median position of a ball at rest.
pub(super) fn rest_position(rest: &[TrackPoint]) -> Option<(f64, f64)> {
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
pub(super) fn teed_ball_before(frames: &[Vec<Detection>], flight: &[TrackPoint]) -> Option<(f64, f64)> {
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
