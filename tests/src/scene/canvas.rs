//! The raster canvas and the anti-aliased shapes composited onto it: ellipses, polygons (by signed
//! distance) and round-capped segments, with the box and colour helpers they share.

/// Linear-ish RGB in 0..1, premultiplied "over" compositing.
pub(super) struct Canvas {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) px: Vec<[f32; 3]>,
}

impl Canvas {
    /// `colour` is premultiplied by `alpha`.
    pub(super) fn over(&mut self, x: usize, y: usize, colour: [f64; 3], alpha: f64) {
        if alpha <= 0.0 {
            return;
        }
        let p = &mut self.px[y * self.w + x];
        for c in 0..3 {
            p[c] = (f64::from(p[c]) * (1.0 - alpha) + colour[c]) as f32;
        }
    }

    /// Pixel range covering `[x0, x1] x [y0, y1]`, clipped to the canvas.
    pub(super) fn clip(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> Option<(usize, usize, usize, usize)> {
        let xa = x0.floor().max(0.0);
        let ya = y0.floor().max(0.0);
        let xb = x1.ceil().min(self.w as f64);
        let yb = y1.ceil().min(self.h as f64);
        (xa < xb && ya < yb).then_some((xa as usize, ya as usize, xb as usize, yb as usize))
    }
}

pub(super) fn clamp01(v: f64) -> f64 {
    v.clamp(0.0, 1.0)
}

pub(super) fn hsv(h: f64, s: f64, v: f64) -> [f64; 3] {
    let i = (h * 6.0).floor() as i64;
    let f = h * 6.0 - i as f64;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    match i.rem_euclid(6) {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// An axis-aligned soft ellipse.
pub(super) fn stamp_ellipse(canvas: &mut Canvas, c: (f64, f64), ax: f64, ay: f64, col: [f64; 3], alpha: f64) {
    let Some((x0, y0, x1, y1)) = canvas.clip(c.0 - ax - 2.0, c.1 - ay - 2.0, c.0 + ax + 2.0, c.1 + ay + 2.0) else {
        return;
    };
    for y in y0..y1 {
        for x in x0..x1 {
            let a = ellipse_cover((x as f64 + 0.5, y as f64 + 0.5), c, ax, ay, 0.0) * alpha;
            canvas.over(x, y, [col[0] * a, col[1] * a, col[2] * a], a);
        }
    }
}

/// Anti-aliased coverage of a rotated ellipse (approximate signed distance).
pub(super) fn ellipse_cover(p: (f64, f64), c: (f64, f64), ax: f64, ay: f64, ang: f64) -> f64 {
    let (dx, dy) = (p.0 - c.0, p.1 - c.1);
    let (ca, sa) = (ang.cos(), ang.sin());
    let (u, v) = (dx * ca + dy * sa, -dx * sa + dy * ca);
    let k = ((u / ax).powi(2) + (v / ay).powi(2)).sqrt();
    clamp01(0.5 - (k - 1.0) * ax.min(ay))
}

/// Signed distance from `p` to a polygon (negative inside).
pub(super) fn poly_sd(p: (f64, f64), poly: &[(f64, f64)]) -> f64 {
    let mut best = f64::INFINITY;
    let mut inside = false;
    let n = poly.len();
    for i in 0..n {
        let a = poly[i];
        let b = poly[(i + 1) % n];
        best = best.min(seg_dist(p, a, b));
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
    }
    if inside {
        -best
    } else {
        best
    }
}

fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let l2 = abx * abx + aby * aby;
    let t = if l2 > 0.0 { clamp01(((p.0 - a.0) * abx + (p.1 - a.1) * aby) / l2) } else { 0.0 };
    let (dx, dy) = (p.0 - a.0 - t * abx, p.1 - a.1 - t * aby);
    (dx * dx + dy * dy).sqrt() // not hypot: libm's is slow and this is the hot loop
}

pub(super) type BBoxF = (f64, f64, f64, f64);

pub(super) fn bounds(pts: impl IntoIterator<Item = (f64, f64)>, pad: f64) -> BBoxF {
    let mut b = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
    for p in pts {
        b = (b.0.min(p.0), b.1.min(p.1), b.2.max(p.0), b.3.max(p.1));
    }
    (b.0 - pad, b.1 - pad, b.2 + pad, b.3 + pad)
}

pub(super) fn in_box(p: (f64, f64), b: &BBoxF) -> bool {
    p.0 >= b.0 && p.0 <= b.2 && p.1 >= b.1 && p.1 <= b.3
}

/// A round-capped segment.
pub(super) struct Capsule {
    a: (f64, f64),
    b: (f64, f64),
    width: f64,
    pub(super) colour: [f64; 3],
    pub(super) bbox: BBoxF,
}

impl Capsule {
    pub(super) fn new(a: (f64, f64), b: (f64, f64), width: f64, colour: [f64; 3]) -> Capsule {
        Capsule { a, b, width, colour, bbox: bounds([a, b], width / 2.0 + 1.0) }
    }

    pub(super) fn cover(&self, p: (f64, f64)) -> f64 {
        if !in_box(p, &self.bbox) {
            return 0.0;
        }
        clamp01(self.width / 2.0 - seg_dist(p, self.a, self.b) + 0.5)
    }
}
