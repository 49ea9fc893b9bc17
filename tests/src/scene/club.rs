//! Drawing the club: a driver head on a shaft with grip, hands and arms, posed at impact, swung
//! rigidly about a pivot above the frame and drawn motion-blurred along its arc, with the head's box.

use std::f64::consts::PI;

use super::canvas::{bounds, clamp01, ellipse_cover, hsv, in_box, poly_sd, BBoxF, Canvas, Capsule};
use super::layout::{Layout, TEE_HEIGHT_D};
use super::motion::{Motion, DOWNSWING_S, FOLLOW_S, MAX_SWING_RAD};
use super::random::Rng;
use super::{Ball, Swing, SwingSpec};

/// The club in its impact pose (image pixels), swung rigidly about `pivot`.
pub(super) struct Club {
    head: Vec<Vec<(f64, f64)>>,
    head_bbox: BBoxF,
    /// Head frame: heel x = 0, toe x = 1, sole y = 0 (up) ↔ image.
    hx: f64,
    hy: f64,
    width: f64,
    colour: [f64; 3],
    ramp: (f64, f64, f64),
    spec: (f64, f64, f64),
    /// Drawn under the head, bottom first.
    parts: Vec<Capsule>,
    hands: Vec<((f64, f64), f64, f64, f64)>,
    hand_colour: [f64; 3],
    pivot: (f64, f64),
    /// Swing rate at impact, radians per second (positive: the head moves right at the bottom).
    pub(super) omega: f64,
    pub(super) centroid_radius_px: f64,
    /// The club's angle over time.
    motion: Motion,
}

impl Club {
    pub(super) fn new(rng: &mut Rng, spec: &SwingSpec, lay: &Layout) -> Club {
        let mpp = spec.m_per_px;
        // A driver (the ball is on a tee): head 110-120 mm heel to toe, crown colours as drivers
        // come (mostly black; blue, grey, red). Irons (72-80 mm, chrome) were tried: the current
        // detector finds almost none of them at these sizes, see scene_recall.
        let width = rng.range(0.11, 0.12) / mpp;
        let colour = rng.pick(&[
            [0.06, 0.06, 0.07],
            [0.06, 0.06, 0.07],
            [0.06, 0.06, 0.07],
            [0.10, 0.25, 0.72],
            [0.10, 0.25, 0.72],
            [0.40, 0.40, 0.42],
            [0.76, 0.10, 0.10],
        ]);
        let k = rng.range(0.9, 1.1);
        let colour = colour.map(|c| c * k);
        // Local shape (models/train/synth/club.py's head_polygon): heel x = 0, toe x = 1, sole y = 0, y up.
        let hr = rng.range(0.5, 0.75);
        let body: Vec<(f64, f64)> = (0..36)
            .map(|i| {
                let t = 2.0 * PI * f64::from(i) / 36.0;
                let x = 0.5 + 0.5 * t.cos();
                let y = hr * 0.5 * (1.0 + t.sin()) * (0.75 + 0.3 * x);
                (x, if t.sin() < 0.0 { y * 0.7 } else { y })
            })
            .collect();
        let top = body.iter().map(|p| p.1).fold(0.0, f64::max);
        let hosel = vec![(0.06, top * 0.55), (0.16, top * 0.55), (0.13, top * 1.05), (0.08, top * 1.05)];
        let (local, hosel_local) = (vec![body, hosel], (0.105, top * 1.05));
        // A whiff raises the whole arc so that the sole passes a ball diameter over the ball's top.
        let lift = if spec.ball == Ball::Unstruck && spec.swing != Swing::Address {
            2.0 * spec.ball_diameter_px + TEE_HEIGHT_D * spec.ball_diameter_px
        } else {
            0.0
        };
        let target = (lay.tee.0, lay.tee.1 - lift);
        // Impact pose: sole on the ground, toe towards the target (right), toe touching the ball.
        let hy = lay.ground_y - lift - 0.25 * width;
        let to_img = |hx: f64, p: (f64, f64)| (hx + (p.0 - 0.5) * width, hy - (p.1 - 0.25) * width);
        let r = spec.ball_diameter_px / 2.0;
        let clearance = |hx: f64| {
            local
                .iter()
                .map(|poly| {
                    let img: Vec<(f64, f64)> = poly.iter().map(|&p| to_img(hx, p)).collect();
                    poly_sd(target, &img)
                })
                .fold(f64::INFINITY, f64::min)
                - r
        };
        // Slide the head in from the left until it touches the ball.
        let (mut lo, mut hi) = (target.0 - 3.0 * width - r, target.0 - r);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if clearance(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let hx = lo;
        let head: Vec<Vec<(f64, f64)>> =
            local.iter().map(|poly| poly.iter().map(|&p| to_img(hx, p)).collect()).collect();
        let head_bbox = bounds(head.iter().flatten().copied(), 1.0);
        let hosel = to_img(hx, hosel_local);
        // Shaft from the hosel up and back towards the heel (lie 95-105°), hands near its end,
        // arms on to the pivot (lead shoulder) above the frame.
        let lie = rng.range(95.0f64, 105.0).to_radians();
        let dir = (lie.cos(), -lie.sin());
        let along = |m: f64| (hosel.0 + dir.0 * m / mpp, hosel.1 + dir.1 * m / mpp);
        let club_len = 1.12;
        let shaft_w = (0.011 / mpp).max(1.5);
        let shaft_col = rng.pick(&[[0.1, 0.1, 0.11], [0.45, 0.45, 0.5], [0.72, 0.72, 0.75]]);
        let grip_col = [rng.range(0.04, 0.2); 3];
        let sleeve = rng.pick(&[[0.12, 0.14, 0.25], [0.85, 0.85, 0.86], [0.5, 0.1, 0.12], [0.2, 0.2, 0.2]]);
        let hand_colour = if rng.chance(0.5) { [0.93, 0.93, 0.9] } else { hsv(rng.range(0.03, 0.08), 0.45, 0.75) };
        let pivot = along(club_len + 0.62);
        let parts = vec![
            Capsule::new(along(club_len - 0.05), pivot, 0.09 / mpp, sleeve),
            Capsule::new(hosel, along(club_len), shaft_w, shaft_col),
            Capsule::new(along(club_len - 0.27), along(club_len), shaft_w * 1.7, grip_col),
        ];
        let ang = dir.1.atan2(dir.0);
        let hs = 0.05 / mpp;
        let hands = vec![(along(club_len - 0.12), hs, hs * 0.7, ang), (along(club_len - 0.04), hs, hs * 0.7, ang)];
        let cx = head[0].iter().map(|p| p.0).sum::<f64>() / head[0].len() as f64;
        let cy = head[0].iter().map(|p| p.1).sum::<f64>() / head[0].len() as f64;
        let centroid_radius_px = (cx - pivot.0).hypot(cy - pivot.1);
        let omega = spec.club_speed_mps / (centroid_radius_px * mpp);
        // At address the head waits a ball's width behind the ball.
        let addr = -spec.ball_diameter_px / centroid_radius_px;
        let motion = match spec.swing {
            Swing::Sweep => Motion::Sweep { omega },
            Swing::Full if omega > 0.0 => {
                let top = (omega * DOWNSWING_S / 2.0).min(MAX_SWING_RAD);
                let fin = (omega * FOLLOW_S / 2.0).min(MAX_SWING_RAD);
                Motion::Full { omega, addr, top, down_s: 2.0 * top / omega, fin, follow_s: 2.0 * fin / omega }
            }
            Swing::Full | Swing::Address => Motion::Still { addr },
        };
        Club {
            head,
            head_bbox,
            hx,
            hy,
            width,
            colour,
            ramp: (rng.range(0.0, 2.0 * PI), rng.range(0.2, 0.5), 0.0),
            spec: (rng.range(0.3, 0.7), rng.range(0.15, 0.45), rng.range(0.15, 0.4)),
            parts,
            hands,
            hand_colour,
            pivot,
            omega,
            centroid_radius_px,
            motion,
        }
    }

    /// Rotates an impact-pose point to the pose `theta` radians later (image coordinates), given
    /// as `(cos theta, sin theta)`; `(c, -s)` rotates back.
    fn rotate(&self, p: (f64, f64), (c, s): (f64, f64)) -> (f64, f64) {
        let (x, y) = (p.0 - self.pivot.0, p.1 - self.pivot.1);
        (self.pivot.0 + x * c + y * s, self.pivot.1 - x * s + y * c)
    }

    fn head_cover(&self, q: (f64, f64)) -> f64 {
        if !in_box(q, &self.head_bbox) {
            return 0.0;
        }
        let sd = self.head.iter().map(|poly| poly_sd(q, poly)).fold(f64::INFINITY, f64::min);
        clamp01(0.5 - sd)
    }

    fn head_colour(&self, q: (f64, f64)) -> [f64; 3] {
        let lx = (q.0 - self.hx) / self.width + 0.5;
        let ly = -(q.1 - self.hy) / self.width + 0.25;
        let (ga, gain, _) = self.ramp;
        let shade = 0.85 + gain * ((lx - 0.5) * ga.cos() + (ly - 0.25) * ga.sin());
        let (sx, sy, k) = self.spec;
        let spec = k * (-((lx - sx).powi(2) + (ly - sy).powi(2)) / (2.0 * 0.12f64.powi(2))).exp();
        self.colour.map(|c| (c * shade + spec).clamp(0.0, 1.2))
    }

    /// The club's angles at `n` instants spread over the exposure of `shutter_s` seconds around
    /// `t` seconds after impact, `n` from how far the toe travels meanwhile (1 when it is still).
    pub(super) fn exposure_thetas(&self, t: f64, shutter_s: f64) -> Vec<f64> {
        let (a, b) = (self.motion.theta(t - shutter_s / 2.0), self.motion.theta(t + shutter_s / 2.0));
        let toe_px = (b - a).abs() * self.centroid_radius_px * 1.3; // the toe moves faster
        let n = ((toe_px * 1.5).ceil() as usize + 1).min(32);
        (0..n)
            .map(|k| {
                let f = if n == 1 { 0.0 } else { k as f64 / (n - 1) as f64 - 0.5 };
                self.motion.theta(t + f * shutter_s)
            })
            .collect()
    }

    /// Draws the club blurred over the angles `thetas` (from [`Club::exposure_thetas`]); returns
    /// the head box (coverage ≥ 0.3, clipped; `None` when under 40 % of it is in the frame).
    pub(super) fn draw(&self, canvas: &mut Canvas, thetas: &[f64]) -> Option<BBoxF> {
        let n = thetas.len();
        let thetas: Vec<(f64, f64)> = thetas.iter().map(|t| (t.cos(), t.sin())).collect();
        let back: Vec<(f64, f64)> = thetas.iter().map(|&(c, s)| (c, -s)).collect();
        let corners = |b: &BBoxF| [(b.0, b.1), (b.2, b.1), (b.0, b.3), (b.2, b.3)];
        let mut all: Vec<(f64, f64)> = Vec::new();
        let mut head_pts: Vec<(f64, f64)> = Vec::new();
        for &th in &thetas {
            head_pts.extend(corners(&self.head_bbox).map(|p| self.rotate(p, th)));
            for c in &self.parts {
                all.extend(corners(&c.bbox).map(|p| self.rotate(p, th)));
            }
        }
        all.extend(&head_pts);
        let hands_bbox: Vec<BBoxF> = self.hands.iter().map(|h| bounds([h.0], h.1 + 1.0)).collect();
        for &th in &thetas {
            for b in &hands_bbox {
                all.extend(corners(b).map(|p| self.rotate(p, th)));
            }
        }
        let ub = bounds(all, 1.0);
        let nf = n as f64;
        if let Some((x0, y0, x1, y1)) = canvas.clip(ub.0, ub.1, ub.2, ub.3) {
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = (x as f64 + 0.5, y as f64 + 0.5);
                    let (mut acc, mut acc_a) = ([0.0f64; 3], 0.0f64);
                    for &th in &back {
                        let q = self.rotate(p, th);
                        let (mut c, mut a) = ([0.0f64; 3], 0.0f64);
                        let mut layer = |cov: f64, col: [f64; 3]| {
                            if cov > 0.0 {
                                for ch in 0..3 {
                                    c[ch] = c[ch] * (1.0 - cov) + col[ch] * cov;
                                }
                                a = a * (1.0 - cov) + cov;
                            }
                        };
                        for part in &self.parts {
                            layer(part.cover(q), part.colour);
                        }
                        for (i, h) in self.hands.iter().enumerate() {
                            if in_box(q, &hands_bbox[i]) {
                                layer(
                                    ellipse_cover(q, h.0, h.1, h.2, h.3),
                                    self.hand_colour.map(|v| v * (0.95 + 0.05 * i as f64)),
                                );
                            }
                        }
                        let hc = self.head_cover(q);
                        if hc > 0.0 {
                            layer(hc, self.head_colour(q));
                        }
                        for ch in 0..3 {
                            acc[ch] += c[ch];
                        }
                        acc_a += a;
                    }
                    canvas.over(x, y, [acc[0] / nf, acc[1] / nf, acc[2] / nf], acc_a / nf);
                }
            }
        }
        // Head box from the blurred head coverage, over the unclipped extent.
        let hb = bounds(head_pts, 1.0);
        let (mut bx0, mut by0, mut bx1, mut by1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for y in hb.1.floor() as i64..hb.3.ceil() as i64 {
            for x in hb.0.floor() as i64..hb.2.ceil() as i64 {
                let p = (x as f64 + 0.5, y as f64 + 0.5);
                let cov: f64 = back.iter().map(|&th| self.head_cover(self.rotate(p, th))).sum::<f64>() / nf;
                if cov >= 0.3 {
                    (bx0, by0, bx1, by1) = (bx0.min(x), by0.min(y), bx1.max(x + 1), by1.max(y + 1));
                }
            }
        }
        if bx0 > bx1 {
            return None;
        }
        let full = ((bx1 - bx0) * (by1 - by0)) as f64;
        let (w, h) = (canvas.w as f64, canvas.h as f64);
        let cb = ((bx0 as f64).max(0.0), (by0 as f64).max(0.0), (bx1 as f64).min(w), (by1 as f64).min(h));
        if cb.2 <= cb.0 || cb.3 <= cb.1 {
            return None;
        }
        let vis = (cb.2 - cb.0) * (cb.3 - cb.1) / full.max(1e-9);
        (vis >= 0.4).then_some(cb)
    }
}
