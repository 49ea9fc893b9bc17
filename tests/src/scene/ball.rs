//! Drawing the ball and its tee: the tee's silhouette, the ball's look (shading, dimples, highlight),
//! its shadow on the ground and its motion-blurred disc.

use super::canvas::{bounds, clamp01, poly_sd, Canvas};
use super::layout::Layout;
use super::random::{hash01, Rng};

pub(super) struct Tee {
    poly: Vec<(f64, f64)>,
    colour: [f64; 3],
}

impl Tee {
    pub(super) fn new(rng: &mut Rng, lay: &Layout, d: f64) -> Tee {
        let tw = (d * rng.range(0.16, 0.22)).max(1.2);
        let (x, ground) = (lay.tee.0, lay.ground_y);
        let top = lay.tee.1 + d / 2.0 - d * 0.06; // the cup hides under the ball
        let colour = rng.pick(&[[0.93, 0.93, 0.9], [0.95, 0.55, 0.12], [0.95, 0.85, 0.2], [0.62, 0.45, 0.28]]);
        let cup = top + tw * 0.9;
        let poly = vec![
            (x - tw / 2.0, ground + tw * 0.3),
            (x + tw / 2.0, ground + tw * 0.3),
            (x + tw / 2.0, cup),
            (x + tw * 1.3, top),
            (x - tw * 1.3, top),
            (x - tw / 2.0, cup),
        ];
        Tee { poly, colour }
    }

    pub(super) fn draw(&self, canvas: &mut Canvas) {
        let b = bounds(self.poly.iter().copied(), 1.0);
        let Some((x0, y0, x1, y1)) = canvas.clip(b.0, b.1, b.2, b.3) else {
            return;
        };
        let mid = (b.0 + b.2) / 2.0;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = (x as f64 + 0.5, y as f64 + 0.5);
                let a = clamp01(0.5 - poly_sd(p, &self.poly));
                let shade = 1.0 - 0.25 * clamp01((p.0 - mid) / (b.2 - mid).max(1.0));
                canvas.over(x, y, self.colour.map(|c| c * shade * a), a);
            }
        }
    }
}

/// Looks of the ball (fixed for the swing).
pub(super) struct BallLook {
    base: f64,
    tint: [f64; 3],
    ambient: f64,
    spec: f64,
    light: [f64; 3],
    salt: u64,
}

impl BallLook {
    pub(super) fn new(rng: &mut Rng) -> BallLook {
        let l = [rng.range(-0.6, 0.6), rng.range(-0.9, -0.4), rng.range(0.6, 1.0)];
        let n = (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt();
        BallLook {
            base: rng.range(0.88, 0.98),
            tint: [1.0, rng.range(0.98, 1.0), rng.range(0.93, 0.99)],
            ambient: rng.range(0.4, 0.55),
            spec: rng.range(0.15, 0.35),
            light: [l[0] / n, l[1] / n, l[2] / n],
            salt: rng.next_u64(),
        }
    }
}

/// Soft shadow of the teed ball on the ground, off to the side away from the light.
pub(super) fn draw_ball_shadow(canvas: &mut Canvas, c: (f64, f64), d: f64, ground_y: f64, look: &BallLook) {
    let r = d / 2.0;
    let cx = c.0 - look.light[0] * r * 0.8;
    let (ax, ay) = (r * 1.25, r * 0.38);
    let Some((x0, y0, x1, y1)) = canvas.clip(cx - ax - 3.0, ground_y - ay - 3.0, cx + ax + 3.0, ground_y + ay + 3.0)
    else {
        return;
    };
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = ((x as f64 + 0.5 - cx) / ax, (y as f64 + 0.5 - ground_y) / ay);
            let a = clamp01(1.0 - (dx * dx + dy * dy)) * 0.5;
            canvas.over(x, y, [0.0; 3], a);
        }
    }
}

/// Draws the ball blurred over its centres at instants spread evenly over the exposure (`None`:
/// gone by then, which leaves that share of the exposure to the background).
pub(super) fn draw_ball(canvas: &mut Canvas, samples: &[Option<(f64, f64)>], d: f64, look: &BallLook) {
    let r = d / 2.0;
    let n = samples.len();
    let centres: Vec<(f64, f64)> = samples.iter().flatten().copied().collect();
    if centres.is_empty() {
        return;
    }
    let reach = r + 2.0;
    let b = bounds(centres.iter().copied(), reach);
    let Some((x0, y0, x1, y1)) = canvas.clip(b.0, b.1, b.2, b.3) else {
        return;
    };
    let [lx, ly, lz] = look.light;
    for y in y0..y1 {
        for x in x0..x1 {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let (mut acc, mut acc_a) = ([0.0f64; 3], 0.0f64);
            for c in &centres {
                let (dx, dy) = (px - c.0, py - c.1);
                let dist = (dx * dx + dy * dy).sqrt();
                let a = clamp01(r - dist + 0.5);
                if a <= 0.0 {
                    continue;
                }
                let (nx, ny) = (dx / r.max(0.5), dy / r.max(0.5));
                let nz = (1.0 - nx * nx - ny * ny).max(0.0).sqrt();
                let lam = (nx * lx + ny * ly + nz * lz).max(0.0);
                let mut shade = look.ambient + (1.0 - look.ambient) * lam;
                if d > 10.0 {
                    // Dimples: fixed speckle in ball coordinates.
                    let u = hash01((dx * 1.5).floor() as i64, (dy * 1.5).floor() as i64, look.salt);
                    shade *= 1.0 - 0.07 * u;
                }
                let spec = clamp01(1.0 - ((nx - lx * 0.5).powi(2) + (ny - ly * 0.5).powi(2)) / 0.05) * look.spec;
                for (acc, tint) in acc.iter_mut().zip(look.tint) {
                    *acc += ((look.base * shade * tint) + spec).min(1.2) * a;
                }
                acc_a += a;
            }
            let nf = n as f64;
            canvas.over(x, y, [acc[0] / nf, acc[1] / nf, acc[2] / nf], acc_a / nf);
        }
    }
}
