//! The fit's machinery: the flight's equations of motion integrated by RK4, Gauss-Newton on the
//! pixel residuals from a gravity-only start, and the launch moment closest to the tee.

use super::{GRAVITY_MPS2, MAX_LAUNCH_BACK_FRAMES};
use crate::pipeline::kinematics::FlightModel;

/// Image pixels to fit metres: origin at the first point, x mirrored by `sx`, y up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Frame {
    pub(super) sx: f64,
    pub(super) m_per_px: f64,
    pub(super) origin: (f64, f64),
}

impl Frame {
    pub(super) fn to_m(self, x: f64, y: f64) -> (f64, f64) {
        (self.sx * (x - self.origin.0) * self.m_per_px, -(y - self.origin.1) * self.m_per_px)
    }

    /// The inverse of [`Frame::to_m`].
    pub(super) fn to_px(self, x: f64, y: f64) -> (f64, f64) {
        (self.origin.0 + self.sx * x / self.m_per_px, self.origin.1 - y / self.m_per_px)
    }
}

/// One observed point: seconds after the first point, metres (fit frame).
#[derive(Debug, Clone, Copy)]
pub(super) struct Obs {
    pub(super) t: f64,
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) frame: usize,
}

/// Position and velocity, metres and m/s (fit frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct State {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) vx: f64,
    pub(super) vy: f64,
}

/// The flight's equations of motion ([`FlightModel::accel`]) and their integrator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Dynamics {
    pub(super) air: FlightModel,
    /// Largest RK4 step, seconds.
    pub(super) h_max: f64,
}

impl Dynamics {
    pub(super) fn new(air: &FlightModel, fps: f64) -> Dynamics {
        // 1 ms or a quarter frame, whichever is finer: RK4's error at these step sizes is far
        // below a micrometre over a flight's first half second.
        Dynamics { air: *air, h_max: (0.25 / fps).min(0.001) }
    }

    pub(super) fn accel(&self, vx: f64, vy: f64) -> (f64, f64) {
        self.air.accel(vx, vy)
    }

    /// At 1 ms a step, 20 s of flight: the most steps one propagation takes.
    pub(super) const MAX_RK4_STEPS: usize = 20_000;

    /// RK4 steps for a span of `dt`: at most `h_max` each, but bounded whatever the frame times
    /// say (past [`Dynamics::MAX_RK4_STEPS`] the step grows instead; a flight is over in seconds,
    /// so such a span is no launch anyway).
    pub(super) fn steps(&self, dt: f64) -> usize {
        let n = (dt.abs() / self.h_max).ceil();
        if n.is_nan() {
            1
        } else {
            n.clamp(1.0, Self::MAX_RK4_STEPS as f64) as usize
        }
    }

    /// The state `dt` seconds later (earlier when negative).
    pub(super) fn propagate(&self, s: State, dt: f64) -> State {
        if dt == 0.0 {
            return s;
        }
        let n = self.steps(dt);
        let h = dt / n as f64;
        let mut s = s;
        for _ in 0..n {
            s = self.rk4(s, h);
        }
        s
    }

    pub(super) fn rk4(&self, s: State, h: f64) -> State {
        let d = |s: State| {
            let (ax, ay) = self.accel(s.vx, s.vy);
            (s.vx, s.vy, ax, ay)
        };
        let add = |s: State, k: (f64, f64, f64, f64), f: f64| State {
            x: s.x + k.0 * f,
            y: s.y + k.1 * f,
            vx: s.vx + k.2 * f,
            vy: s.vy + k.3 * f,
        };
        let k1 = d(s);
        let k2 = d(add(s, k1, h / 2.0));
        let k3 = d(add(s, k2, h / 2.0));
        let k4 = d(add(s, k3, h));
        State {
            x: s.x + h / 6.0 * (k1.0 + 2.0 * k2.0 + 2.0 * k3.0 + k4.0),
            y: s.y + h / 6.0 * (k1.1 + 2.0 * k2.1 + 2.0 * k3.1 + k4.1),
            vx: s.vx + h / 6.0 * (k1.2 + 2.0 * k2.2 + 2.0 * k3.2 + k4.2),
            vy: s.vy + h / 6.0 * (k1.3 + 2.0 * k2.3 + 2.0 * k3.3 + k4.3),
        }
    }

    /// Positions at each observation's time from `s` at t = 0 (observations in time order).
    pub(super) fn track(&self, s: State, obs: &[Obs]) -> Vec<(f64, f64)> {
        let (mut cur, mut t) = (s, 0.0);
        obs.iter()
            .map(|o| {
                cur = self.propagate(cur, o.t - t);
                t = o.t;
                (cur.x, cur.y)
            })
            .collect()
    }
}

/// A converged fit: the state at the first point's time and the per-point residual distances.
pub(super) struct Solved {
    pub(super) state: State,
    pub(super) residuals_m: Vec<f64>,
    pub(super) rms_m: f64,
}

/// Gauss-Newton from a gravity-only linear start. Position enters linearly (drag and lift depend on
/// velocity only), so its Jacobian columns are exact; the velocity columns are finite differences.
pub(super) fn solve(obs: &[Obs], dyn_: &Dynamics) -> Option<Solved> {
    let mut s = gravity_line(obs)?;
    let mut converged = false;
    for _ in 0..30 {
        let pred = dyn_.track(s, obs);
        let eps = 1e-6 * (1.0 + s.vx.hypot(s.vy));
        let dvx = dyn_.track(State { vx: s.vx + eps, ..s }, obs);
        let dvy = dyn_.track(State { vy: s.vy + eps, ..s }, obs);
        // Normal equations over the 2n residuals, parameters (x0, y0, vx0, vy0).
        let mut a = [[0.0f64; 4]; 4];
        let mut b = [0.0f64; 4];
        for (i, o) in obs.iter().enumerate() {
            let rx = pred[i].0 - o.x;
            let ry = pred[i].1 - o.y;
            let jx = [1.0, 0.0, (dvx[i].0 - pred[i].0) / eps, (dvy[i].0 - pred[i].0) / eps];
            let jy = [0.0, 1.0, (dvx[i].1 - pred[i].1) / eps, (dvy[i].1 - pred[i].1) / eps];
            for r in 0..4 {
                for c in 0..4 {
                    a[r][c] += jx[r] * jx[c] + jy[r] * jy[c];
                }
                b[r] -= jx[r] * rx + jy[r] * ry;
            }
        }
        let d = solve4(a, b)?;
        s = State { x: s.x + d[0], y: s.y + d[1], vx: s.vx + d[2], vy: s.vy + d[3] };
        // Converged to well under a micrometre and a micrometre per second; the finite-difference
        // Jacobian leaves steps of ~1e-10 m/s of round-off, so do not ask for less.
        if d[2].hypot(d[3]) <= 1e-8 * (1.0 + s.vx.hypot(s.vy)) && d[0].hypot(d[1]) <= 1e-8 {
            converged = true;
            break;
        }
    }
    if !converged || ![s.x, s.y, s.vx, s.vy].iter().all(|v| v.is_finite()) {
        return None;
    }
    let pred = dyn_.track(s, obs);
    let residuals_m: Vec<f64> = obs.iter().zip(&pred).map(|(o, p)| (p.0 - o.x).hypot(p.1 - o.y)).collect();
    let rms_m = (residuals_m.iter().map(|r| r * r).sum::<f64>() / residuals_m.len() as f64).sqrt();
    Some(Solved { state: s, residuals_m, rms_m })
}

/// Least squares of x = x0 + vx t and y = y0 + vy t − g t²/2: the starting point of the fit.
pub(super) fn gravity_line(obs: &[Obs]) -> Option<State> {
    let n = obs.len() as f64;
    let mt = obs.iter().map(|o| o.t).sum::<f64>() / n;
    let stt: f64 = obs.iter().map(|o| (o.t - mt).powi(2)).sum();
    // NaN as well as zero: no spread in time, no slope.
    if stt.is_nan() || stt <= 0.0 {
        return None;
    }
    let line = |f: &dyn Fn(&Obs) -> f64| {
        let mv = obs.iter().map(f).sum::<f64>() / n;
        let slope = obs.iter().map(|o| (o.t - mt) * (f(o) - mv)).sum::<f64>() / stt;
        (mv - slope * mt, slope)
    };
    let (x0, vx) = line(&|o| o.x);
    let (y0, vy) = line(&|o| o.y + 0.5 * GRAVITY_MPS2 * o.t * o.t);
    Some(State { x: x0, y: y0, vx, vy })
}

/// Solves a 4x4 system by Gaussian elimination with partial pivoting; `None` when singular.
pub(super) fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    let scale = (0..4).map(|i| a[i][i].abs()).fold(0.0, f64::max);
    if scale.is_nan() || scale <= 0.0 {
        return None;
    }
    for col in 0..4 {
        let piv = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        let pivot = a[piv][col].abs();
        if pivot.is_nan() || pivot <= 1e-13 * scale {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for r in col + 1..4 {
            let f = a[r][col] / a[col][col];
            let pivot_row = a[col];
            for (cell, above) in a[r].iter_mut().zip(pivot_row).skip(col) {
                *cell -= f * above;
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = [0.0; 4];
    for r in (0..4).rev() {
        let s: f64 = (r + 1..4).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// The time in `[t_min, 0]` at which the fitted path (integrated backwards from the first point)
/// is closest to `tee`, and that distance. The path's along-track offset from the tee,
/// `(p − tee)·v`, falls through zero there; sampled in steps of 1/50 frame and interpolated.
pub(super) fn closest_approach(fit: &Solved, dyn_: &Dynamics, tee: (f64, f64), t_min: f64) -> (f64, f64) {
    let along = |s: &State| (s.x - tee.0) * s.vx + (s.y - tee.1) * s.vy;
    let dist = |s: &State| (s.x - tee.0).hypot(s.y - tee.1);
    let steps = (MAX_LAUNCH_BACK_FRAMES * 50.0) as usize;
    let h = t_min / steps as f64;
    let mut s = fit.state;
    let mut f = along(&s);
    if f <= 0.0 {
        // The tee lies at or beyond the first point along the path: launch cannot be later.
        return (0.0, dist(&s));
    }
    for i in 1..=steps {
        let next = dyn_.propagate(s, h);
        let g = along(&next);
        if g <= 0.0 {
            let u = f / (f - g);
            let t = h * ((i - 1) as f64 + u);
            let at = dyn_.propagate(fit.state, t);
            return (t, dist(&at));
        }
        (s, f) = (next, g);
    }
    (t_min, dist(&s))
}
