//! The backdrop drawn once per clip: mown grass with perspective stripes, blades and divots, under a
//! strip of sky and a tree line.

use std::f64::consts::PI;

use super::canvas::{clamp01, hsv, stamp_ellipse, Canvas};
use super::layout::Layout;
use super::random::{hash01, Rng};

/// Smooth zero-mean noise with features of about `cell` pixels.
fn lowfreq(rng: &mut Rng, w: usize, h: usize, cell: f64) -> Vec<f32> {
    let cell = cell.max(1.0);
    let gw = (w as f64 / cell) as usize + 3;
    let gh = (h as f64 / cell) as usize + 3;
    let grid: Vec<f64> = (0..gw * gh).map(|_| rng.normal() * 1.5).collect();
    let smooth = |t: f64| t * t * (3.0 - 2.0 * t);
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let gy = y as f64 / cell;
        let (iy, fy) = (gy as usize, smooth(gy.fract()));
        for x in 0..w {
            let gx = x as f64 / cell;
            let (ix, fx) = (gx as usize, smooth(gx.fract()));
            let g = |i: usize, j: usize| grid[j * gw + i];
            let top = g(ix, iy) * (1.0 - fx) + g(ix + 1, iy) * fx;
            let bot = g(ix, iy + 1) * (1.0 - fx) + g(ix + 1, iy + 1) * fx;
            out[y * w + x] = (top * (1.0 - fy) + bot * fy) as f32;
        }
    }
    out
}

pub(super) fn background(rng: &mut Rng, w: usize, h: usize, lay: &Layout) -> Vec<[f32; 3]> {
    let s = lay.s;
    let hz = lay.horizon_y;
    // Grass.
    let base = hsv(rng.range(0.21, 0.29), rng.range(0.45, 0.7), rng.range(0.36, 0.52));
    let big_cell = w.max(h) as f64 / rng.range(2.0, 5.0);
    let big = lowfreq(rng, w, h, big_cell);
    let mid = lowfreq(rng, w, h, 18.0 * s);
    let red = lowfreq(rng, w, h, 60.0 * s);
    let blade_rows = (rng.range(2.0, 4.0) * s).round().max(2.0) as usize;
    let bw = w;
    let bh = h / blade_rows + 2;
    let blades: Vec<f32> = (0..bw * bh).map(|_| rng.normal() as f32).collect();
    let blade_amp = rng.range(0.07, 0.12);
    let fine_amp = 0.03;
    let stripe_amp = rng.range(0.05, 0.1);
    let stripe_period = rng.range(110.0, 220.0) * s; // at the bottom row
    let stripe_phase = rng.range(0.0, 1.0);
    let wobble = lowfreq(rng, w, 1, 90.0 * s);
    let haze = [0.62, 0.72, 0.74];
    // Sky and tree line.
    let sky_top = [0.30 * rng.range(0.9, 1.1), 0.50 * rng.range(0.9, 1.1), 0.86];
    let sky_bot = [0.74, 0.83, 0.93];
    let tree_h = hz * rng.range(0.45, 0.8);
    let tree_cell = rng.range(12.0, 40.0) * s;
    let tree_prof = lowfreq(rng, w, 1, tree_cell);
    let tree_fine = lowfreq(rng, w, 1, 3.0 * s);
    let tree_rows = h.min(hz as usize + 2);
    let tree_tex: Vec<f32> = lowfreq(rng, w, tree_rows, 2.5 * s)
        .iter()
        .zip(lowfreq(rng, w, tree_rows, 8.0 * s))
        .map(|(a, b)| 0.6 * a + 0.5 * b)
        .collect();
    let tree_col = hsv(rng.range(0.24, 0.38), rng.range(0.4, 0.7), rng.range(0.12, 0.24));

    let mut px = vec![[0f32; 3]; w * h];
    let depth_span = (h as f64 - hz).max(1.0);
    for y in 0..h {
        let yc = y as f64 + 0.5;
        // 0 at the horizon, 1 at the bottom.
        let depth = clamp01((yc - hz) / depth_span);
        // Mowing stripes across the view, narrowing towards the horizon (perspective).
        let phase = (yc - hz).max(0.0).powi(2) / (2.0 * stripe_period * depth_span) + stripe_phase;
        for x in 0..w {
            let i = y * w + x;
            let sky = {
                let f = clamp01(yc / hz.max(1.0));
                let mut c = [0.0; 3];
                for k in 0..3 {
                    c[k] = sky_top[k] * (1.0 - f) + sky_bot[k] * f;
                }
                c
            };
            let by = y as f64 / blade_rows as f64;
            let (byi, byf) = (by as usize, by.fract() as f32);
            let blade = blades[byi * bw + x] * (1.0 - byf) + blades[(byi + 1) * bw + x] * byf;
            let fine = (hash01(x as i64, y as i64, 77) - 0.5) * 2.0;
            let stripe = (4.0 * (2.0 * PI * phase + 0.6 * f64::from(wobble[x])).sin()).tanh();
            let t = 0.12 * f64::from(big[i])
                + 0.05 * f64::from(mid[i])
                + blade_amp * (0.35 + 0.65 * depth) * f64::from(blade)
                + fine_amp * fine
                + stripe_amp * depth.sqrt() * stripe;
            let mut g = [0.0; 3];
            for k in 0..3 {
                g[k] = base[k] * (1.0 + t);
            }
            g[0] *= 1.0 + 0.05 * f64::from(red[i]);
            let hf = 0.4 * (1.0 - depth).powi(4);
            for k in 0..3 {
                g[k] = g[k] * (1.0 - hf) + haze[k] * hf;
            }
            // Ground edge at the horizon (anti-aliased), trees above it.
            let ground = clamp01(yc - hz + 0.5);
            let top = hz - tree_h * (0.6 + 0.4 * f64::from(tree_prof[x]).tanh() + 0.06 * f64::from(tree_fine[x]));
            let tree = clamp01(yc - top + 0.5) * (1.0 - ground);
            let tt = if y < tree_tex.len() / w { 1.0 + 0.3 * f64::from(tree_tex[y * w + x]) } else { 1.0 };
            let mut c = [0f32; 3];
            for k in 0..3 {
                let above = sky[k] * (1.0 - tree / (1.0 - ground).max(1e-9))
                    + tree_col[k] * tt * (tree / (1.0 - ground).max(1e-9));
                let v = if ground >= 1.0 { g[k] } else { above * (1.0 - ground) + g[k] * ground };
                c[k] = v as f32;
            }
            px[i] = c;
        }
    }
    let mut canvas = Canvas { w, h, px };
    // A divot or two on the ground, clear of the tee.
    let n_divots = rng.pick(&[0usize, 1, 1, 2]);
    for _ in 0..n_divots {
        let cx = rng.range(0.35, 0.95) * w as f64;
        let cy = rng.range(lay.ground_y + 8.0 * s, h as f64 - 4.0 * s);
        let col = hsv(rng.range(0.06, 0.12), rng.range(0.3, 0.55), rng.range(0.18, 0.35));
        let (ax, ay) = (rng.range(8.0, 22.0) * s, rng.range(2.5, 6.0) * s);
        let alpha = rng.range(0.6, 0.9);
        stamp_ellipse(&mut canvas, (cx, cy), ax, ay, col, alpha);
    }
    canvas.px
}
