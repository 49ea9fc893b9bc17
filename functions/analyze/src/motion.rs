//! Motion candidates in the dense window, and the flight points they add: a golf ball in flight is
//! a small bright blob on a ballistic path, so the frames themselves say where it is even where the
//! detector lost it. This module owns the three-frame difference that finds the blobs
//! ([`MotionField`]) and the rule that admits a blob into the ball's track ([`extend_flight`]).
//!
//! A blob of frame `t` is a connected set of pixels brighter than the same pixels in frames `t-1`
//! *and* `t+1` by [`MotionConfig::min_rise`] grey levels: a white ball that arrived there and left
//! again. The background, a ball at rest and slow movers (a golfer's body, a shadow) do not rise
//! against both neighbours; a frame in which a large share of the pixels changed (the camera moved,
//! the exposure jumped) gives no evidence at all rather than hundreds of candidates, and so does a
//! frame with more candidates than a scene holds movers (sensor grain, rain, leaves).
//!
//! Candidates alone are not balls: a club shaft's glint, a white glove or a shoe rise the same
//! way. A blob becomes a track point only when the detector vouches for where the ball is: it
//! continues the detector's own flight, within a gate around the prediction from the flight's
//! last points; it fills a gap between two detected flight points where the interpolation already
//! says the ball was; or, when the detector saw the ball at rest and then nothing, it is one of
//! three blobs that leave the rest on a straight line. The detector anchors the flight; the physics
//! and the pixels carry it through the frames where a small, blurred or faint ball scored under
//! the threshold. Motion points are used for the shot's metrics only: the run's per-frame
//! detections stay the detector's.

use models::{BBox, Class, Detection};

use crate::frames::DecodedFrame;
use crate::pipeline::kinematics::flight_points;
use crate::pipeline::shot::{resting_ball, shot_candidates, CONFIDENT_BALL_SCORE};
use crate::pipeline::tracking::{balls_near, track_ball, Gate, TrackPoint, MAX_GAP};

/// What counts as a motion candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionConfig {
    /// Grey levels a pixel must rise against both neighbouring frames.
    pub min_rise: u8,
    /// Frames whose long side is larger are averaged down to at most this many pixels first: the
    /// cost stays that of a 720p frame, and a 4K ball still spans several pixels.
    pub max_side: usize,
    /// A frame where more than this share of the pixels changed by `min_rise` (camera shake, an
    /// exposure step) gives no evidence.
    pub max_changed: f64,
    /// Blobs larger than this share of the frame's short side (in either direction) are bodies, not
    /// balls (a streak of a ball at 70 m/s in a 240 fps frame is well under it).
    pub max_blob_side: f64,
    /// Blobs of fewer working pixels are sensor noise (a 6 px ball averaged down by 2 still covers
    /// about 7).
    pub min_pixels: usize,
    /// A frame with more candidates than this is noise throughout (grain, rain, leaves): no
    /// evidence, since something would lie in any gate.
    pub max_blobs: usize,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            min_rise: 18,
            max_side: 1280,
            max_changed: 0.15,
            max_blob_side: 0.25,
            min_pixels: 3,
            max_blobs: 64,
        }
    }
}

/// One motion candidate, frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    /// Centre x (of the blob's box: a streak's midpoint, as the detector boxes streaks).
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// Box width.
    pub w: f64,
    /// Box height.
    pub h: f64,
    /// Mean rise over the blob's pixels, grey levels.
    pub rise: f64,
}

/// A frame's luma at working resolution.
#[derive(Debug, Clone)]
pub struct Luma {
    width: usize,
    height: usize,
    /// Frame pixels per working pixel.
    scale: usize,
    data: Vec<u8>,
}

impl Luma {
    /// The frame's luma (BT.601), box-averaged by the smallest integer factor that brings its long
    /// side within `max_side`.
    pub fn of(frame: &DecodedFrame, max_side: usize) -> Luma {
        let (fw, fh) = (frame.width as usize, frame.height as usize);
        let scale = fw.max(fh).div_ceil(max_side.max(1)).max(1);
        let (width, height) = (fw / scale, fh / scale);
        let mut data = vec![0u8; width * height];
        let n = (scale * scale) as u32;
        for y in 0..height {
            for x in 0..width {
                let mut sum = 0u32;
                for dy in 0..scale {
                    let row = (y * scale + dy) * fw;
                    for dx in 0..scale {
                        let i = 3 * (row + x * scale + dx);
                        let (r, g, b) = (frame.rgb[i] as u32, frame.rgb[i + 1] as u32, frame.rgb[i + 2] as u32);
                        sum += (77 * r + 150 * g + 29 * b) >> 8;
                    }
                }
                data[y * width + x] = (sum / n) as u8;
            }
        }
        Luma { width, height, scale, data }
    }
}

/// The blobs of the middle frame of three, or `None` when the frames give no evidence (sizes
/// differ, or too much of the picture changed).
pub fn blobs(prev: &Luma, cur: &Luma, next: &Luma, config: &MotionConfig) -> Option<Vec<Blob>> {
    let (w, h) = (cur.width, cur.height);
    if [prev, next].iter().any(|l| (l.width, l.height, l.scale) != (w, h, cur.scale)) || w == 0 || h == 0 {
        return None;
    }
    let rise = |i: usize| -> i32 {
        let c = i32::from(cur.data[i]);
        (c - i32::from(prev.data[i])).min(c - i32::from(next.data[i]))
    };
    let min_rise = i32::from(config.min_rise);
    let mut changed = 0usize;
    let mut mask = vec![false; w * h];
    for (i, m) in mask.iter_mut().enumerate() {
        if (i32::from(cur.data[i]) - i32::from(prev.data[i])).abs() >= min_rise {
            changed += 1;
        }
        *m = rise(i) >= min_rise;
    }
    if changed as f64 > config.max_changed * (w * h) as f64 {
        return None;
    }
    let max_side = (config.max_blob_side * h.min(w) as f64).max(2.0);
    let scale = cur.scale as f64;
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] {
            continue;
        }
        mask[start] = false;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        let (mut count, mut total) = (0usize, 0i64);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            count += 1;
            total += i64::from(rise(i));
            let mut visit = |j: usize| {
                if mask[j] {
                    mask[j] = false;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        let (bw, bh) = ((x1 - x0 + 1) as f64, (y1 - y0 + 1) as f64);
        if bw > max_side || bh > max_side || count < config.min_pixels {
            continue;
        }
        out.push(Blob {
            x: (x0 as f64 + bw / 2.0) * scale,
            y: (y0 as f64 + bh / 2.0) * scale,
            w: bw * scale,
            h: bh * scale,
            rise: total as f64 / count as f64,
        });
        if out.len() > config.max_blobs {
            return None;
        }
    }
    Some(out)
}

/// Streams frames in clip order and yields each frame's blobs once its successor has arrived.
#[derive(Debug, Default)]
pub struct MotionField {
    config: MotionConfig,
    /// The last two frames' luma.
    held: Vec<Luma>,
    /// Blobs per frame pushed so far (`None`: no evidence, including the first and last frame).
    evidence: Vec<Option<Vec<Blob>>>,
}

impl MotionField {
    /// An empty field.
    pub fn new(config: MotionConfig) -> MotionField {
        MotionField { config, held: Vec::with_capacity(3), evidence: Vec::new() }
    }

    /// Adds the next frame of the window.
    pub fn push(&mut self, frame: &DecodedFrame) {
        let luma = Luma::of(frame, self.config.max_side);
        self.evidence.push(None);
        if let [prev, cur] = &self.held[..] {
            let k = self.evidence.len() - 2;
            self.evidence[k] = blobs(prev, cur, &luma, &self.config);
        }
        if self.held.len() == 2 {
            self.held.remove(0);
        }
        self.held.push(luma);
    }

    /// The blobs of every frame pushed, in order.
    pub fn finish(self) -> Vec<Option<Vec<Blob>>> {
        self.evidence
    }
}

/// The shot pipeline's input after motion: the detections with the motion points added, and how
/// many were added.
#[derive(Debug, Clone)]
pub struct MotionFill {
    /// Per frame: the detector's detections plus a ball box for each admitted blob.
    pub detections: Vec<Vec<Detection>>,
    /// Blobs admitted into the flight.
    pub added: usize,
}

/// Flight points the detector missed, from the motion candidates.
///
/// The flight is anchored by the detector: its flight proper ([`flight_points`]: two points that
/// moved, off the ball's place at rest), or, when it saw the ball at rest and then lost it, three
/// blobs in consecutive frames that leave the rest on a straight line ([`seed_from_rest`]). Blobs
/// never start a flight on their own. Then:
/// - each frame inside the detected flight without a ball gets the blob nearest the line between
///   its neighbours (within a ball size, or a third of the step, of it);
/// - after the flight's last point, frames get the blob nearest the prediction from the flight's
///   last points ([`predict`]) within the tracker's gate, until [`MAX_GAP`] frames in a row have
///   neither a detection nor a blob there, or the prediction leaves the frame.
///
/// Only blobs about a ball across (and no longer than a frame's travel) and outside every detected
/// club head qualify. Admitted blobs take the flight's ball size (or the blob's, when a streak is
/// longer) and the lowest score among the detections that anchor them.
pub fn extend_flight(detections: &[Vec<Detection>], motion: &[Option<Vec<Blob>>], size: (u32, u32)) -> MotionFill {
    let unchanged = || MotionFill { detections: detections.to_vec(), added: 0 };
    if motion.is_empty() {
        return unchanged();
    }
    let gate = Gate::default();
    // The flight the shot pipeline would measure: its own filters first (a "ball" on the club
    // face, a box too wide for the ball), so that motion extends that flight and no other.
    let candidates = shot_candidates(detections);
    let detected = flight_points(&track_ball(&candidates, &gate));
    let rest = Rest::of(&candidates);
    let still = detected.first().map_or(3.0, |p| (p.w.max(p.h) / 2.0).max(3.0));
    let moved = match (detected.first(), detected.last()) {
        (Some(a), Some(b)) if detected.len() >= 2 => (b.x - a.x).hypot(b.y - a.y) >= still.max(gate.moving_px / 2.0),
        _ => false,
    };
    // With a ball at rest, only a flight that leaves it anchors: one that was moving while the ball
    // still sat (a golfer's hands, a glove read as a ball) is not its flight.
    let from_rest = match (&rest, &detected[..]) {
        (Some(r), [a, b, ..]) => a.frame + 1 >= r.last_frame && r.on_line_of(a, b),
        _ => true,
    };
    let evidence = Evidence { detections, motion };
    let (anchor, mut added) = if moved && from_rest {
        (detected, Vec::new())
    } else {
        match rest.as_ref().and_then(|r| seed_from_rest(r, &evidence, &gate)) {
            Some(seed) => seed,
            None => return unchanged(),
        }
    };
    let mut sizes: Vec<f64> = anchor.iter().map(|p| p.w.max(p.h)).collect();
    sizes.sort_by(f64::total_cmp);
    let ball = sizes[sizes.len() / 2].max(2.0);
    let score = anchor.iter().map(|p| p.score).fold(f64::INFINITY, f64::min) as f32;
    let speed = predict(&anchor, anchor.last().map_or(0, |p| p.frame)).2;
    let nearest = |frame: usize, x: f64, y: f64, radius: f64| evidence.nearest(frame, x, y, radius, ball, speed);
    // Gaps inside the flight: the ball was between its neighbours.
    for pair in anchor.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let gap = b.frame - a.frame;
        let step = (b.x - a.x).hypot(b.y - a.y) / gap as f64;
        for k in 1..gap {
            let t = k as f64 / gap as f64;
            let (x, y) = (a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t);
            if let Some(blob) = nearest(a.frame + k, x, y, ball.max(step / 3.0)) {
                added.push((a.frame + k, blob));
            }
        }
    }
    // After the flight's last point: follow the prediction while the pixels show the ball.
    let (w, h) = (f64::from(size.0), f64::from(size.1));
    let mut points = anchor.clone();
    let mut misses = 0;
    let mut frame = anchor.last().map_or(0, |p| p.frame) + 1;
    while frame < detections.len() && misses <= MAX_GAP {
        let (x, y, speed) = predict(&points, frame);
        if !(0.0..w).contains(&x) || !(0.0..h).contains(&y) {
            break;
        }
        let since = frame - points.last().map_or(frame, |p| p.frame);
        let radius = gate.base_px + gate.per_speed * speed + gate.per_gap_px * since.saturating_sub(1) as f64;
        let seen = balls_near(&detections[frame], (x, y), radius).next();
        if let Some(d) = seen {
            // The detector still sees it (a point the tracker did not chain): follow it.
            let (cx, cy) = d.bbox.center();
            points.push(TrackPoint { frame, x: f64::from(cx), y: f64::from(cy), ..points[points.len() - 1] });
            misses = 0;
        } else if let Some(blob) = nearest(frame, x, y, radius) {
            points.push(TrackPoint { frame, x: blob.x, y: blob.y, ..points[points.len() - 1] });
            added.push((frame, blob));
            misses = 0;
        } else {
            misses += 1;
        }
        frame += 1;
    }
    // A seed blob on a ball the detector did see is that detection, not a second ball.
    added.retain(|(frame, blob)| balls_near(&detections[*frame], (blob.x, blob.y), ball).next().is_none());
    if added.is_empty() {
        return unchanged();
    }
    let mut out = detections.to_vec();
    for (frame, blob) in &added {
        let (bw, bh) = (blob.w.max(ball), blob.h.max(ball));
        out[*frame].push(Detection {
            class: Class::GolfBall,
            bbox: BBox::from_center(blob.x as f32, blob.y as f32, bw as f32, bh as f32),
            score,
        });
    }
    MotionFill { detections: out, added: added.len() }
}

/// The detections and the motion candidates of one window.
struct Evidence<'a> {
    detections: &'a [Vec<Detection>],
    motion: &'a [Option<Vec<Blob>>],
}

impl Evidence<'_> {
    /// The ball-sized blobs of `frame` outside its detected club heads: a ball's blob is about a
    /// ball across and at most a frame's travel plus a ball long (a streak); a glove, a shaft's
    /// glint or a shadow's edge is not, and a club head is the detector's.
    fn candidates(&self, frame: usize, ball: f64, speed: f64) -> impl Iterator<Item = &Blob> {
        let heads: Vec<&BBox> = self
            .detections
            .get(frame)
            .into_iter()
            .flatten()
            .filter(|d| d.class == Class::ClubHead)
            .map(|d| &d.bbox)
            .collect();
        self.motion.get(frame).and_then(|m| m.as_deref()).unwrap_or(&[]).iter().filter(move |b| {
            b.w.min(b.h) <= 2.0 * ball + 2.0
                && b.w.max(b.h) <= 2.0 * ball + 1.5 * speed + 2.0
                && !heads.iter().any(|h| {
                    let (x, y) = (b.x as f32, b.y as f32);
                    x >= h.x1 && x <= h.x2 && y >= h.y1 && y <= h.y2
                })
        })
    }

    /// The candidate nearest `(x, y)` within `radius`.
    fn nearest(&self, frame: usize, x: f64, y: f64, radius: f64, ball: f64, speed: f64) -> Option<Blob> {
        self.candidates(frame, ball, speed)
            .map(|b| (b, (b.x - x).hypot(b.y - y)))
            .filter(|(_, d)| *d <= radius)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(b, _)| *b)
    }
}

/// The flight points motion extends, and the blobs (by frame) already admitted to make them.
type Anchor = (Vec<TrackPoint>, Vec<(usize, Blob)>);

/// The ball at rest, as the shot pipeline finds it ([`resting_ball`]).
#[derive(Debug, Clone, Copy)]
struct Rest {
    /// Centre, frame pixels.
    at: (f64, f64),
    /// The last frame it was detected there.
    last_frame: usize,
    /// Its box's longer side.
    size: f64,
    /// The lowest score it was detected there with.
    score: f64,
}

impl Rest {
    fn of(frames: &[Vec<Detection>]) -> Option<Rest> {
        let at = resting_ball(frames)?;
        let mut rest: Option<Rest> = None;
        for (i, f) in frames.iter().enumerate() {
            for d in balls_near(f, at, 3.0).filter(|d| f64::from(d.score) >= CONFIDENT_BALL_SCORE) {
                let (size, score) = (f64::from(d.bbox.width().max(d.bbox.height())), f64::from(d.score));
                rest = Some(match rest {
                    None => Rest { at, last_frame: i, size, score },
                    Some(r) => Rest { last_frame: i, size: r.size.max(size), score: r.score.min(score), ..r },
                });
            }
        }
        rest
    }

    /// Whether the line through two flight points passes within a ball and a half of the rest.
    fn on_line_of(&self, a: &TrackPoint, b: &TrackPoint) -> bool {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = dx.hypot(dy);
        len > 0.0 && ((self.at.0 - a.x) * dy - (self.at.1 - a.y) * dx).abs() / len <= 1.5 * self.size + 3.0
    }
}

/// Frames after the ball's last point at rest in which its first flight blob is looked for.
const SEED_FRAMES: usize = 3;
/// Largest turn between the seed's two steps, degrees.
const SEED_TURN_DEG: f64 = 20.0;

/// When the detector saw the ball at rest (two points or more in one place) and no flight: the
/// three blobs in consecutive frames, starting within [`SEED_FRAMES`] of the last rest point and
/// the tracker's first-step gate of the rest, whose steps leave the rest on one line (each step
/// turns by at most [`SEED_TURN_DEG`], the second is within a quarter of the first's length, and
/// the line back through them passes within a ball and a half of the rest). They become flight
/// points with the rest's size and lowest score; `None` without such a chain.
fn seed_from_rest(rest: &Rest, evidence: &Evidence<'_>, gate: &Gate) -> Option<Anchor> {
    let (ball, score) = (rest.size.max(2.0), rest.score);
    let (rx, ry) = rest.at;
    let mut best: Option<(f64, [(usize, Blob); 3])> = None;
    for f1 in rest.last_frame + 1..=rest.last_frame + SEED_FRAMES {
        // The step from the rest is unknown (the launch fell somewhere since the last rest
        // frame): candidates are ball-sized at up to the first-step gate's length a frame.
        let loose = gate.init_px / 0.6;
        for b1 in evidence.candidates(f1, ball, loose) {
            let d1 = (b1.x - rx).hypot(b1.y - ry);
            if d1 < ball || d1 > gate.init_px * (f1 - rest.last_frame) as f64 {
                continue;
            }
            for b2 in evidence.candidates(f1 + 1, ball, loose) {
                let step = (b2.x - b1.x, b2.y - b1.y);
                let len = step.0.hypot(step.1);
                if len < ball.min(d1) / 2.0 || turn_deg((b1.x - rx, b1.y - ry), step) > SEED_TURN_DEG {
                    continue;
                }
                // The line back through b1 and b2 passes by the rest.
                let miss = ((rx - b1.x) * step.1 - (ry - b1.y) * step.0).abs() / len;
                if miss > 1.5 * ball {
                    continue;
                }
                let (px, py) = (b2.x + step.0, b2.y + step.1);
                let radius = (0.25 * len).max(gate.base_px / 2.0);
                for b3 in evidence.candidates(f1 + 2, ball, len) {
                    let err = (b3.x - px).hypot(b3.y - py);
                    if err > radius || turn_deg(step, (b3.x - b2.x, b3.y - b2.y)) > SEED_TURN_DEG {
                        continue;
                    }
                    if best.as_ref().is_none_or(|(e, _)| err < *e) {
                        best = Some((err, [(f1, *b1), (f1 + 1, *b2), (f1 + 2, *b3)]));
                    }
                }
            }
        }
        if best.is_some() {
            break;
        }
    }
    let (_, chain) = best?;
    let points = chain
        .iter()
        .map(|(frame, b)| TrackPoint {
            frame: *frame,
            x: b.x,
            y: b.y,
            w: rest.size,
            h: rest.size,
            score,
            interpolated: false,
        })
        .collect();
    Some((points, chain.to_vec()))
}

/// The angle between two steps, degrees (180 for a zero step).
fn turn_deg(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la, lb) = (a.0.hypot(a.1), b.0.hypot(b.1));
    if la == 0.0 || lb == 0.0 {
        return 180.0;
    }
    ((a.0 * b.0 + a.1 * b.1) / (la * lb)).clamp(-1.0, 1.0).acos().to_degrees()
}

/// Position at `frame` at the velocity of the last three points (two when there are two), and
/// that speed in pixels per frame. Constant velocity rather than a fitted acceleration: gravity
/// moves a ball ~0.5 px a frame per frame at 60 fps, which the gate absorbs, while a second
/// difference of detector jitter over a gap would not be.
fn predict(points: &[TrackPoint], frame: usize) -> (f64, f64, f64) {
    let tail = &points[points.len().saturating_sub(3)..];
    let (Some(a), Some(c)) = (tail.first(), tail.last()) else { return (0.0, 0.0, 0.0) };
    let t = c.frame.saturating_sub(a.frame) as f64;
    if t == 0.0 {
        return (c.x, c.y, 0.0);
    }
    let (vx, vy) = ((c.x - a.x) / t, (c.y - a.y) / t);
    let dt = frame.saturating_sub(c.frame) as f64;
    (c.x + vx * dt, c.y + vy * dt, vx.hypot(vy))
}

#[cfg(test)]
mod tests;
