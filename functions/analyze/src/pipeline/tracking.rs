//! Tracks from per-frame detections.
//!
//! Ball: every ball detection not yet claimed seeds a track that is extended frame by frame with the
//! detection most consistent with a constant-velocity prediction; the gate around the prediction
//! grows with the ball's speed and with the frames since the last accepted point, so a fast ball or
//! a short dropout is followed while a stray white blob off the path is rejected. A track ends after
//! more than [`MAX_GAP`] missing frames. A ball at rest on the tee and the same ball in flight are two
//! tracks (the jump at impact is outside any gate), and the kept track is, among those that
//! move, net, at least [`Gate::moving_px`] and [`Gate::moving_px_per_frame`] over its span, the one
//! whose points that moved from the point before carry the most detection score (a static white
//! marking, a slowly drifting stray or a stray that jumped once between two false blobs never wins
//! over a flight, and a golfer's hands read as a ball at 0.1-0.4 for ten frames do not outweigh a
//! flight seen at 0.6-0.9 for six), else the longest. Gaps of up to
//! [`MAX_GAP`] frames are filled linearly and marked interpolated.
//! Club: the best-scored club head per frame, sticky (near the previous one) when several compete.

use models::{Class, Detection};
use serde::Serialize;

/// The longest run of missing frames a track bridges by interpolation.
pub const MAX_GAP: usize = 4;

/// One point of a track, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrackPoint {
    /// Frame index.
    pub frame: usize,
    /// Centre x.
    pub x: f64,
    /// Centre y (image down).
    pub y: f64,
    /// Box width.
    pub w: f64,
    /// Box height.
    pub h: f64,
    /// Detection score (0 for interpolated points).
    pub score: f64,
    /// Filled in across a gap rather than detected.
    pub interpolated: bool,
}

/// Gate parameters for the ball tracker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// Radius around the prediction with no motion, in pixels.
    pub base_px: f64,
    /// Extra radius per pixel/frame of speed.
    pub per_speed: f64,
    /// Extra radius per frame of gap.
    pub per_gap_px: f64,
    /// Radius for the second point of a track, when no velocity is known yet.
    pub init_px: f64,
    /// Net displacement that makes a track "moving".
    pub moving_px: f64,
    /// Net displacement per frame of the track's span that a "moving" track also needs: a ball
    /// in flight covers pixels every frame, while a stray that stays put (an emptied tee scored as
    /// a ball after launch) can drift past `moving_px` over hundreds of frames, and by length alone
    /// would beat the flight.
    pub moving_px_per_frame: f64,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            base_px: 24.0,
            per_speed: 0.6,
            per_gap_px: 12.0,
            init_px: 160.0,
            moving_px: 20.0,
            moving_px_per_frame: 1.0,
        }
    }
}

/// A detection in frame `frame` as a track point.
pub(crate) fn point(frame: usize, d: &Detection) -> TrackPoint {
    let (x, y) = d.bbox.center();
    TrackPoint {
        frame,
        x: f64::from(x),
        y: f64::from(y),
        w: f64::from(d.bbox.width()),
        h: f64::from(d.bbox.height()),
        score: f64::from(d.score),
        interpolated: false,
    }
}

/// Euclidean distance between two points.
pub(crate) fn dist(ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt()
}

/// The ball detections of one frame whose centre lies within `reach` pixels of `(x, y)`.
pub(crate) fn balls_near(frame: &[Detection], (x, y): (f64, f64), reach: f64) -> impl Iterator<Item = &Detection> {
    frame.iter().filter(move |d| {
        let (cx, cy) = d.bbox.center();
        d.class == Class::GolfBall && dist(f64::from(cx), f64::from(cy), x, y) <= reach
    })
}

/// Predicts the position at `frame` from the last two points (constant velocity), or holds still.
fn predict(track: &[TrackPoint], frame: usize) -> (f64, f64, f64) {
    match track {
        [.., a, b] => {
            let dt = (b.frame - a.frame).max(1) as f64;
            let (vx, vy) = ((b.x - a.x) / dt, (b.y - a.y) / dt);
            let ahead = (frame - b.frame) as f64;
            (b.x + vx * ahead, b.y + vy * ahead, (vx * vx + vy * vy).sqrt())
        }
        [b] => (b.x, b.y, 0.0),
        [] => (0.0, 0.0, 0.0),
    }
}

/// Linearly fills frames between consecutive points that are at most [`MAX_GAP`] apart.
fn fill_gaps(points: &[TrackPoint]) -> Vec<TrackPoint> {
    let mut out: Vec<TrackPoint> = Vec::with_capacity(points.len());
    for p in points {
        if let Some(prev) = out.last().copied() {
            let gap = p.frame - prev.frame;
            for k in 1..gap {
                let t = k as f64 / gap as f64;
                out.push(TrackPoint {
                    frame: prev.frame + k,
                    x: prev.x + (p.x - prev.x) * t,
                    y: prev.y + (p.y - prev.y) * t,
                    w: prev.w + (p.w - prev.w) * t,
                    h: prev.h + (p.h - prev.h) * t,
                    score: 0.0,
                    interpolated: true,
                });
            }
        }
        out.push(*p);
    }
    out
}

/// The ball track over `frames` (detections per frame, in frame order).
pub fn track_ball(frames: &[Vec<Detection>], gate: &Gate) -> Vec<TrackPoint> {
    let balls: Vec<Vec<TrackPoint>> = frames
        .iter()
        .enumerate()
        .map(|(i, d)| d.iter().filter(|d| d.class == Class::GolfBall).map(|d| point(i, d)).collect())
        .collect();
    let mut claimed: Vec<Vec<bool>> = balls.iter().map(|b| vec![false; b.len()]).collect();
    let mut tracks: Vec<Vec<TrackPoint>> = Vec::new();
    for seed_frame in 0..balls.len() {
        for seed in 0..balls[seed_frame].len() {
            if claimed[seed_frame][seed] {
                continue;
            }
            claimed[seed_frame][seed] = true;
            let mut track = vec![balls[seed_frame][seed]];
            for i in seed_frame + 1..balls.len() {
                let last = track[track.len() - 1];
                let gap = (i - last.frame) as f64;
                if i - last.frame > MAX_GAP + 1 {
                    break;
                }
                let (px, py, speed) = predict(&track, i);
                let radius = if track.len() == 1 {
                    gate.init_px + gate.per_gap_px * (gap - 1.0)
                } else {
                    gate.base_px + gate.per_speed * speed * gap + gate.per_gap_px * (gap - 1.0)
                };
                // Nearest to the prediction, scores breaking near-ties.
                let best = (0..balls[i].len())
                    .filter(|&j| !claimed[i][j] && dist(balls[i][j].x, balls[i][j].y, px, py) <= radius)
                    .min_by(|&a, &b| {
                        let key = |j: usize| dist(balls[i][j].x, balls[i][j].y, px, py) - 5.0 * balls[i][j].score;
                        key(a).total_cmp(&key(b))
                    });
                if let Some(j) = best {
                    claimed[i][j] = true;
                    track.push(balls[i][j]);
                }
            }
            tracks.push(track);
        }
    }
    let span = |t: &Vec<TrackPoint>| t.last().map_or(0, |l| l.frame + 1) - t.first().map_or(0, |f| f.frame);
    // The per-frame rate counts from the last point before the track leaves its start (half of
    // moving_px away), so a teed ball that sat for seconds and then flew in the same track still
    // moves, while a stray drifting slowly away from its start does not.
    let moves = |t: &Vec<TrackPoint>| match (t.first(), t.last()) {
        (Some(a), Some(b)) => {
            let left = t.iter().position(|p| dist(a.x, a.y, p.x, p.y) > gate.moving_px / 2.0).unwrap_or(0);
            let from = t[left.saturating_sub(1)];
            let rate_frames = (b.frame - from.frame) as f64;
            dist(a.x, a.y, b.x, b.y) >= gate.moving_px
                && dist(from.x, from.y, b.x, b.y) >= gate.moving_px_per_frame * rate_frames
        }
        _ => false,
    };
    // Among moving tracks, the one with the most points that moved from the point before (at the
    // moving rate, and past a resting ball's jitter): a flight moves at every point, while a stray that jumped once between two
    // false blobs and then sat for dozens of frames (a "ball" in the trees) moves at one.
    let moving_points = |t: &Vec<TrackPoint>| {
        t.windows(2)
            .filter(|w| {
                let frames = (w[1].frame - w[0].frame) as f64;
                dist(w[0].x, w[0].y, w[1].x, w[1].y) >= gate.moving_px_per_frame.max(2.0) * frames
            })
            .count()
    };
    // Each moving point counts by its detection score: a golfer's hands or a white glove read as a
    // "ball" at 0.1-0.4 move at every frame too, and over a longer span than a fast ball's flight
    // (measured: 8 hand points at 0.1-0.47 against a flight of 2 detections at 0.6-0.8 and 4
    // motion points).
    let moving_mass = |t: &Vec<TrackPoint>| {
        t.windows(2)
            .filter(|w| {
                let frames = (w[1].frame - w[0].frame) as f64;
                dist(w[0].x, w[0].y, w[1].x, w[1].y) >= gate.moving_px_per_frame.max(2.0) * frames
            })
            .map(|w| w[1].score)
            .sum::<f64>()
    };
    let best = tracks
        .iter()
        .filter(|t| t.len() >= 3 && moves(t))
        .max_by(|a, b| {
            moving_mass(a)
                .total_cmp(&moving_mass(b))
                .then(moving_points(a).cmp(&moving_points(b)))
                .then((a.len(), span(a)).cmp(&(b.len(), span(b))))
        })
        .or_else(|| tracks.iter().max_by_key(|t| (t.len(), span(t))));
    best.map(|t| fill_gaps(t)).unwrap_or_default()
}

/// The club-head track: per frame the best-scored head, preferring one near the previous head when
/// several score within 0.1 of the best; gaps filled like the ball's.
pub fn track_club(frames: &[Vec<Detection>]) -> Vec<TrackPoint> {
    let mut out: Vec<TrackPoint> = Vec::new();
    for (i, dets) in frames.iter().enumerate() {
        let heads: Vec<TrackPoint> = dets.iter().filter(|d| d.class == Class::ClubHead).map(|d| point(i, d)).collect();
        let Some(best) = heads.iter().map(|p| p.score).reduce(f64::max) else { continue };
        let contenders = heads.iter().filter(|p| p.score >= best - 0.1);
        let chosen = match out.last() {
            Some(prev) => {
                contenders.min_by(|a, b| dist(a.x, a.y, prev.x, prev.y).total_cmp(&dist(b.x, b.y, prev.x, prev.y)))
            }
            None => contenders.max_by(|a, b| a.score.total_cmp(&b.score)),
        };
        if let Some(p) = chosen {
            if out.last().is_some_and(|l| i - l.frame > MAX_GAP + 1) {
                out.clear();
            }
            out.push(*p);
        }
    }
    fill_gaps(&out)
}

/// Tracking figures for the metrics summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrackingStats {
    /// Frames analysed.
    pub n_frames: usize,
    /// Frames where the ball was detected (not interpolated) on the kept track.
    pub n_detections: usize,
    /// Frames of the track's span without a detection.
    pub n_missing: usize,
    /// Longest run of missing frames inside the track.
    pub max_gap: usize,
}

/// Statistics of a ball track over `n_frames` frames.
pub fn stats(track: &[TrackPoint], n_frames: usize) -> TrackingStats {
    let n_detections = track.iter().filter(|p| !p.interpolated).count();
    let (mut max_gap, mut run) = (0, 0);
    for p in track {
        run = if p.interpolated { run + 1 } else { 0 };
        max_gap = max_gap.max(run);
    }
    TrackingStats { n_frames, n_detections, n_missing: track.len() - n_detections, max_gap }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::BBox;

    fn ball(x: f32, y: f32, score: f32) -> Detection {
        Detection { class: Class::GolfBall, score, bbox: BBox::from_center(x, y, 10.0, 10.0) }
    }

    fn head(x: f32, y: f32, score: f32) -> Detection {
        Detection { class: Class::ClubHead, score, bbox: BBox::from_center(x, y, 40.0, 30.0) }
    }

    #[test]
    fn follows_a_fast_ball_and_rejects_a_distractor_off_its_path() {
        // 20 px/frame to the right and up; a brighter distractor sits still at (100, 100).
        let frames: Vec<Vec<Detection>> = (0..12)
            .map(|i| vec![ball(200.0 + 20.0 * i as f32, 400.0 - 8.0 * i as f32, 0.6), ball(100.0, 100.0, 0.9)])
            .collect();
        let track = track_ball(&frames[1..], &Gate::default());
        assert_eq!(track.len(), 11);
        assert!(track.iter().all(|p| p.x > 150.0), "the distractor never joins the track: {track:?}");
        assert!((track[10].x - 420.0).abs() < 1e-6);
    }

    #[test]
    fn a_long_slowly_drifting_stray_does_not_beat_a_short_flight() {
        // 200 frames of a stray drifting 0.2 px/frame (40 px net, past moving_px), and a 12-frame
        // flight at 25 px/frame after frame 20.
        let frames: Vec<Vec<Detection>> = (0..200)
            .map(|i| {
                let mut f = vec![ball(600.0 + 0.2 * i as f32, 500.0, 0.2)];
                if (20..32).contains(&i) {
                    f.push(ball(100.0 + 25.0 * (i - 20) as f32, 300.0 - 10.0 * (i - 20) as f32, 0.8));
                }
                f
            })
            .collect();
        let track = track_ball(&frames, &Gate::default());
        assert_eq!(track.len(), 12, "the flight is kept: {:?}", track.first());
        assert_eq!(track[0].frame, 20);
    }

    #[test]
    fn a_ball_that_rests_long_then_flies_in_one_track_still_moves() {
        // 300 frames on the tee, then 10 frames at 20 px/frame (inside the rest gate, so one track),
        // and a short fast stray elsewhere that would win if the long rest made the track "static".
        let frames: Vec<Vec<Detection>> = (0..310)
            .map(|i| {
                let x = if i < 300 { 300.0 } else { 300.0 + 20.0 * (i - 299) as f32 };
                let mut f = vec![ball(x, 400.0, 0.8)];
                if (100..104).contains(&i) {
                    f.push(ball(900.0 + 30.0 * (i - 100) as f32, 100.0, 0.5));
                }
                f
            })
            .collect();
        let track = track_ball(&frames, &Gate::default());
        assert_eq!(track.len(), 310, "the tee-and-flight track is kept: {:?}", track.first());
    }

    #[test]
    fn short_gaps_are_interpolated_and_long_ones_split_keeping_the_longest_segment() {
        let mut frames: Vec<Vec<Detection>> = (0..30).map(|i| vec![ball(10.0 * i as f32, 300.0, 0.8)]).collect();
        // A 3-frame dropout (bridged), then a 7-frame one (splits the track).
        frames[5..8].iter_mut().for_each(Vec::clear);
        frames[10..17].iter_mut().for_each(Vec::clear);
        let track = track_ball(&frames, &Gate::default());
        assert_eq!(track.first().map(|p| p.frame), Some(17), "the longer, later segment is kept");
        assert_eq!(track.len(), 13);
        let short = track_ball(&frames[..10], &Gate::default());
        assert_eq!(short.len(), 10);
        assert!(short[5].interpolated && short[6].interpolated && short[7].interpolated);
        assert!((short[6].x - 60.0).abs() < 1e-6);
        let s = stats(&short, 10);
        assert_eq!((s.n_detections, s.n_missing, s.max_gap), (7, 3, 3));
    }

    #[test]
    fn a_teed_ball_and_its_flight_are_split_at_impact_and_the_flight_is_kept() {
        // At rest for 8 frames at (300, 500), then 45 px/frame up and right; a white marking stays
        // at (50, 650) all along with a higher score.
        let frames: Vec<Vec<Detection>> = (0..20)
            .map(|i| {
                let b = if i < 8 {
                    ball(300.0, 500.0, 0.7)
                } else {
                    ball(300.0 + 45.0 * (i - 7) as f32, 500.0 - 15.0 * (i - 7) as f32, 0.6)
                };
                vec![b, ball(50.0, 650.0, 0.95)]
            })
            .collect();
        let track = track_ball(&frames, &Gate::default());
        assert_eq!(track.first().map(|p| p.frame), Some(8), "{track:?}");
        assert_eq!(track.len(), 12);
        assert!(track.windows(2).all(|w| w[1].x > w[0].x), "the kept track moves");
        // With no flight at all, the longest still track is kept.
        let still: Vec<Vec<Detection>> = (0..5).map(|_| vec![ball(300.0, 500.0, 0.7)]).collect();
        assert_eq!(track_ball(&still, &Gate::default()).len(), 5);
        assert!(track_ball(&[], &Gate::default()).is_empty());
    }

    #[test]
    fn the_club_track_sticks_to_the_head_it_follows() {
        let frames: Vec<Vec<Detection>> =
            (0..6).map(|i| vec![head(100.0 + 15.0 * i as f32, 300.0, 0.7), head(600.0, 100.0, 0.75)]).collect();
        let track = track_club(&frames);
        assert_eq!(track.len(), 6);
        // Frame 0 takes the best; later frames prefer the head near the previous one.
        assert!((track[0].x - 600.0).abs() < 1e-6);
        assert!(track.iter().all(|p| (p.x - 600.0).abs() < 1e-6));
        let single: Vec<Vec<Detection>> = (0..4).map(|i| vec![head(100.0 + 15.0 * i as f32, 300.0, 0.7)]).collect();
        assert!((track_club(&single)[3].x - 145.0).abs() < 1e-6);
    }

    #[test]
    fn a_flight_beats_a_longer_stray_that_jumped_once_between_two_false_blobs() {
        // Seen on a rendered 720p clip: a false "ball" in the trees at (59, 29) for two frames,
        // then another at (122, 39) for the rest of the window, linked into one 38-point track
        // that moves 64 px net; the real flight has 27 points, 37 px a frame.
        let ball = |x: f64, y: f64| Detection {
            class: Class::GolfBall,
            score: 0.3,
            bbox: models::BBox::from_center(x as f32, y as f32, 20.0, 20.0),
        };
        let frames: Vec<Vec<Detection>> = (0..54)
            .map(|i| {
                let mut d = Vec::new();
                match i {
                    15 | 16 => d.push(ball(59.0, 29.0)),
                    21.. => d.push(ball(122.0, 39.0)),
                    _ => {}
                }
                if (12..39).contains(&i) {
                    d.push(ball(294.0 + 37.0 * f64::from(i - 12), 561.0 - 10.0 * f64::from(i - 12)));
                }
                d
            })
            .collect();
        let track = track_ball(&frames, &Gate::default());
        assert_eq!((track.first().map(|p| p.frame), track.len()), (Some(12), 27), "{track:?}");
    }
}
