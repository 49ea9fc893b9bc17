//! Launch velocity from physics: a ballistic fit of a flight's first detected points, evaluated at
//! the moment of launch.
//!
//! Why: the mean velocity over the first frames of a flight is the velocity at the middle of that
//! window, not at launch, and gravity, drag and lift bend the path in between. At 60 fps a ball
//! launched at 31 m/s and 14° averages 12.7° over 8 frames; a 75 m/s drive loses ~3 % of its speed
//! to drag across a 30 fps window. Fitting the path with its physics and evaluating the fitted
//! velocity at launch removes both biases.
//!
//! The model is the one `kinematics::carry_m` flies: gravity (9.81 m/s², known in pixels from the
//! scale), quadratic drag against the velocity and lift perpendicular to it, with the constants of
//! a [`FlightModel`]. The unknowns are the ball's position and velocity at its first point (four
//! numbers), found by Gauss-Newton on the pixel residuals with the flight integrated by RK4 (1 ms
//! steps or finer). Drag and lift are *constrained* (the model's coefficients), not free: a
//! free acceleration (a quadratic per axis) needs more points than a phone sees at 30-60 fps and
//! multiplies the noise when extrapolated back to launch, while gravity-only leaves drag and lift
//! as a bias of up to several percent at driver speeds (see the tests and docs/PERFORMANCE.md,
//! "Launch from physics: the accuracy grid", for the measured comparison).
//!
//! Conventions: image x to the right, image y down; the returned velocity is in m/s with y up, and
//! keeps the sign of x (a ball crossing the frame leftwards has `vx < 0`). A flight that travels
//! leftwards is fitted mirrored, so backspin lift always points "up and back" against its travel.
//! Time is the frame's on the clip's [`Clock`] (its sample timestamps, else `frame / fps`); a point's position is the ball's centre at that time (mid-exposure).
//!
//! Launch time: with the teed ball's position known, the moment the fitted path passes closest to
//! it (searched up to [`MAX_LAUNCH_BACK_FRAMES`] before the first point, clamped to that interval);
//! without it, one frame interval before the first point. This matches footage where the ball sits
//! on the tee in frames ≤ the impact frame and is in flight from the next frame on, the flight
//! starting at the impact frame's timestamp (`tests/src/scene.rs` renders exactly that).

use super::clock::Clock;
use super::kinematics::{FlightModel, Velocity};
use super::tracking::TrackPoint;

/// Gravity, m/s².
pub const GRAVITY_MPS2: f64 = 9.81;
/// Detected points of the flight that the fit uses (its first ones). Long enough that ±0.5 px of
/// detector noise moves speed and angle by well under the tolerances at any rate from 30 to 240
/// fps, short enough that a flight model off by 20 % in drag or lift barely shows (tests below).
pub const FIT_POINTS: usize = 10;
/// How far before the first flight point, in frames, the launch may lie when a tee is given: a
/// detector can miss the first frames of a flight (the ball blurred against the club).
pub const MAX_LAUNCH_BACK_FRAMES: f64 = 8.0;
/// A point whose residual exceeds this many pixels (and 4x the rest's RMS) is an outlier: the fit
/// is redone without it.
pub const OUTLIER_PX: f64 = 3.0;

/// A ballistic fit of a flight's first points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaunchFit {
    /// Velocity at the launch time, m/s, y up.
    pub velocity: Velocity,
    /// When the ball left the tee, in frames (fractional; `frame / fps` is seconds).
    pub launch_time_frames: f64,
    /// RMS over the points used of the distance between each point and the fitted path, pixels.
    pub rms_residual_px: f64,
    /// Points the final fit used (one fewer than given when an outlier was dropped).
    pub points_used: usize,
    /// The frame of the point dropped as an outlier, if any.
    pub dropped_frame: Option<usize>,
    /// With a tee: its distance from the fitted path at the launch time, pixels. Small (about the
    /// detection noise) when the tee and the flight belong together; large when the launch time
    /// was clamped or the "tee" is not where this flight started.
    pub tee_miss_px: Option<f64>,
}

/// [`fit_launch_with`] under the default [`FlightModel`] (the one `carry_m` uses).
pub fn fit_launch(points: &[TrackPoint], clock: &Clock, m_per_px: f64, tee: Option<(f64, f64)>) -> Option<LaunchFit> {
    fit_launch_with(points, clock, m_per_px, tee, &FlightModel::default())
}

/// Fits the ballistic path of the first [`FIT_POINTS`] detected points of `points` (interpolated
/// points are skipped: they lie on a straight line the ball never flew) and returns its velocity at
/// launch. `tee` is where the ball sat before launch (image pixels), if known; see the module doc for
/// how the launch time follows from it. `air` gives drag and lift; `FlightModel { cd: 0.0, cl: 0.0,
/// .. }` fits gravity alone.
///
/// Each point's time is its frame's on `clock` (measured sample times where the clip has them).
///
/// `None` when fewer than 3 points remain, the clock's rate or `m_per_px` is not a positive number, a point is
/// not finite, two points share a frame, or the fit is degenerate (singular, not converging, or a
/// ball moving under 1 px per frame: that is not a flight).
pub fn fit_launch_with(
    points: &[TrackPoint],
    clock: &Clock,
    m_per_px: f64,
    tee: Option<(f64, f64)>,
    air: &FlightModel,
) -> Option<LaunchFit> {
    let fps = clock.fps();
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !positive(fps) || !positive(m_per_px) {
        return None;
    }
    let mut pts: Vec<&TrackPoint> = points.iter().filter(|p| !p.interpolated).collect();
    pts.sort_by_key(|p| p.frame);
    pts.truncate(FIT_POINTS);
    if pts.len() < 3
        || pts.iter().any(|p| !p.x.is_finite() || !p.y.is_finite())
        || pts.windows(2).any(|w| w[0].frame == w[1].frame)
    {
        return None;
    }
    if tee.is_some_and(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return None;
    }
    let first = pts[0];
    let last = pts[pts.len() - 1];
    // Mirror a leftward flight so that it travels +x and lift is "up" relative to its travel.
    let sx = if last.x < first.x { -1.0 } else { 1.0 };
    let frame = Frame { sx, m_per_px, origin: (first.x, first.y) };
    let obs: Vec<Obs> = pts
        .iter()
        .map(|p| {
            let (x, y) = frame.to_m(p.x, p.y);
            Obs { t: clock.between(first.frame, p.frame), x, y, frame: p.frame }
        })
        .collect();
    let dyn_ = Dynamics::new(air, fps);

    let mut fit = solve(&obs, &dyn_)?;
    let mut dropped_frame = None;
    if obs.len() >= 4 {
        let (worst, worst_px) = fit
            .residuals_m
            .iter()
            .enumerate()
            .map(|(i, r)| (i, r / m_per_px))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("at least four points");
        if worst_px > OUTLIER_PX {
            let rest: Vec<Obs> = obs.iter().enumerate().filter(|(i, _)| *i != worst).map(|(_, o)| *o).collect();
            if let Some(refit) = solve(&rest, &dyn_) {
                // The dropped point judged against the path fitted without it.
                let o = obs[worst];
                let at = dyn_.propagate(refit.state, o.t);
                let off_px = (at.x - o.x).hypot(at.y - o.y) / m_per_px;
                if off_px > OUTLIER_PX.max(4.0 * refit.rms_m / m_per_px) {
                    fit = refit;
                    dropped_frame = Some(o.frame);
                }
            }
        }
    }

    // A ball that does not move is no flight: gravity alone would "fit" a still ball as one
    // thrown up, so judge the points themselves as well as the fitted speed.
    let span_frames = (last.frame - first.frame) as f64;
    let moved_px_per_frame = (last.x - first.x).hypot(last.y - first.y) / span_frames;
    let speed_px_per_frame =
        fit.state.vx.hypot(fit.state.vy) / m_per_px * clock.between(first.frame, last.frame) / span_frames;
    if !(speed_px_per_frame >= 1.0 && moved_px_per_frame >= 1.0) {
        return None;
    }
    let (t_launch, tee_miss_px) = match tee {
        Some((tx, ty)) => {
            let (tx, ty) = frame.to_m(tx, ty);
            let (t, miss_m) = closest_approach(&fit, &dyn_, (tx, ty), -MAX_LAUNCH_BACK_FRAMES / fps);
            (t, Some(miss_m / m_per_px))
        }
        None => (-1.0 / fps, None),
    };
    let at = dyn_.propagate(fit.state, t_launch);
    let velocity = Velocity { vx: sx * at.vx, vy: at.vy };
    if !velocity.vx.is_finite() || !velocity.vy.is_finite() {
        return None;
    }
    Some(LaunchFit {
        velocity,
        launch_time_frames: clock.frame_after(first.frame, t_launch),
        rms_residual_px: fit.rms_m / m_per_px,
        points_used: fit.residuals_m.len(),
        dropped_frame,
        tee_miss_px,
    })
}

/// Image pixels to fit metres: origin at the first point, x mirrored by `sx`, y up.
struct Frame {
    sx: f64,
    m_per_px: f64,
    origin: (f64, f64),
}

impl Frame {
    fn to_m(&self, x: f64, y: f64) -> (f64, f64) {
        (self.sx * (x - self.origin.0) * self.m_per_px, -(y - self.origin.1) * self.m_per_px)
    }
}

/// One observed point: seconds after the first point, metres (fit frame).
#[derive(Debug, Clone, Copy)]
struct Obs {
    t: f64,
    x: f64,
    y: f64,
    frame: usize,
}

/// Position and velocity, metres and m/s (fit frame).
#[derive(Debug, Clone, Copy, PartialEq)]
struct State {
    x: f64,
    y: f64,
    vx: f64,
    vy: f64,
}

/// The flight's equations of motion and their integrator.
struct Dynamics {
    /// ½ρA/m, 1/m.
    k: f64,
    cd: f64,
    cl: f64,
    /// Largest RK4 step, seconds.
    h_max: f64,
}

impl Dynamics {
    fn new(air: &FlightModel, fps: f64) -> Dynamics {
        let area = std::f64::consts::PI * (air.diameter / 2.0).powi(2);
        // 1 ms or a quarter frame, whichever is finer: RK4's error at these step sizes is far
        // below a micrometre over a flight's first half second.
        Dynamics { k: 0.5 * air.air_density * area / air.mass, cd: air.cd, cl: air.cl, h_max: (0.25 / fps).min(0.001) }
    }

    fn accel(&self, vx: f64, vy: f64) -> (f64, f64) {
        let v = vx.hypot(vy);
        // Drag against the velocity, lift perpendicular to it (rotated towards +y for +x travel).
        (-self.k * v * (self.cd * vx + self.cl * vy), -GRAVITY_MPS2 + self.k * v * (self.cl * vx - self.cd * vy))
    }

    /// The state `dt` seconds later (earlier when negative).
    /// At 1 ms a step, 20 s of flight: the most steps one propagation takes.
    const MAX_RK4_STEPS: usize = 20_000;

    /// RK4 steps for a span of `dt`: at most `h_max` each, but bounded whatever the frame times
    /// say (past [`Dynamics::MAX_RK4_STEPS`] the step grows instead; a flight is over in seconds,
    /// so such a span is no launch anyway).
    fn steps(&self, dt: f64) -> usize {
        let n = (dt.abs() / self.h_max).ceil();
        if n.is_nan() {
            1
        } else {
            n.clamp(1.0, Self::MAX_RK4_STEPS as f64) as usize
        }
    }

    fn propagate(&self, s: State, dt: f64) -> State {
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

    fn rk4(&self, s: State, h: f64) -> State {
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
    fn track(&self, s: State, obs: &[Obs]) -> Vec<(f64, f64)> {
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
struct Solved {
    state: State,
    residuals_m: Vec<f64>,
    rms_m: f64,
}

/// Gauss-Newton from a gravity-only linear start. Position enters linearly (drag and lift depend on
/// velocity only), so its Jacobian columns are exact; the velocity columns are finite differences.
fn solve(obs: &[Obs], dyn_: &Dynamics) -> Option<Solved> {
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
fn gravity_line(obs: &[Obs]) -> Option<State> {
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
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
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
fn closest_approach(fit: &Solved, dyn_: &Dynamics, tee: (f64, f64), t_min: f64) -> (f64, f64) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact flight for the tests, integrated independently of the fit (Heun's method in 10 µs
    /// steps, from the launch): pixel positions at `t` seconds after launch, image y down.
    fn flight_px(
        speed: f64,
        launch_deg: f64,
        air: &FlightModel,
        tee: (f64, f64),
        m_per_px: f64,
        times: &[f64],
    ) -> Vec<(f64, f64)> {
        let area = std::f64::consts::PI * (air.diameter / 2.0).powi(2);
        let k = 0.5 * air.air_density * area / air.mass;
        let acc = |vx: f64, vy: f64| {
            let v = vx.hypot(vy);
            (-k * v * (air.cd * vx + air.cl * vy), -9.81 + k * v * (air.cl * vx - air.cd * vy))
        };
        let a = launch_deg.to_radians();
        let (mut x, mut y, mut vx, mut vy) = (0.0f64, 0.0f64, speed * a.cos(), speed * a.sin());
        let h = 1e-5;
        let mut t = 0.0;
        let mut out = Vec::new();
        for &target in times {
            while t + h <= target + 1e-12 {
                let (ax, ay) = acc(vx, vy);
                let (pvx, pvy) = (vx + h * ax, vy + h * ay);
                let (bx, by) = acc(pvx, pvy);
                x += h / 2.0 * (vx + pvx);
                y += h / 2.0 * (vy + pvy);
                vx += h / 2.0 * (ax + bx);
                vy += h / 2.0 * (ay + by);
                t += h;
            }
            // The remainder (under one step) to the exact time, by a single Euler step.
            let r = target - t;
            out.push((tee.0 + (x + vx * r) / m_per_px, tee.1 - (y + vy * r) / m_per_px));
        }
        out
    }

    /// Deterministic uniform noise in ±`amp`.
    struct Lcg(u64);
    impl Lcg {
        fn noise(&mut self, amp: f64) -> f64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amp
        }
    }

    /// A flight launched at frame `impact` from `tee`, seen from frame `first` for `n` frames, with
    /// ±`noise` px on every coordinate.
    #[allow(clippy::too_many_arguments)]
    fn track(
        speed: f64,
        launch_deg: f64,
        fps: f64,
        m_per_px: f64,
        impact: usize,
        first: usize,
        n: usize,
        noise: f64,
        rng: &mut Lcg,
        air: &FlightModel,
    ) -> Vec<TrackPoint> {
        let tee = (200.0, 600.0);
        let frames: Vec<usize> = (first..first + n).collect();
        let times: Vec<f64> = frames.iter().map(|&f| (f - impact) as f64 / fps).collect();
        flight_px(speed, launch_deg, air, tee, m_per_px, &times)
            .into_iter()
            .zip(frames)
            .map(|((x, y), frame)| TrackPoint {
                frame,
                x: x + rng.noise(noise),
                y: y + rng.noise(noise),
                w: 10.0,
                h: 10.0,
                score: 0.9,
                interpolated: false,
            })
            .collect()
    }

    /// A 10 px ball: 4.267 mm per pixel.
    const MPP: f64 = 0.04267 / 10.0;
    const TEE: (f64, f64) = (200.0, 600.0);

    fn errors(fit: &LaunchFit, speed: f64, launch_deg: f64) -> (f64, f64) {
        ((fit.velocity.speed() - speed).abs() / speed, (fit.velocity.launch_deg() - launch_deg).abs())
    }

    #[test]
    fn given_frames_a_lifetime_apart_when_propagated_then_the_integration_stays_bounded() {
        // Frame times come from the request (fps) or the container: 1e9 s between two frames
        // would be 1e12 steps of 1 ms.
        let dynamics = Dynamics::new(&FlightModel::default(), 120.0);
        assert_eq!(dynamics.steps(1.0 / 120.0), 9, "a frame gap at 120 fps: steps of at most 1 ms");
        assert_eq!(dynamics.steps(1e9), Dynamics::MAX_RK4_STEPS);
        assert_eq!(dynamics.steps(f64::INFINITY), Dynamics::MAX_RK4_STEPS);
    }

    #[test]
    fn given_exact_physics_tracks_with_half_pixel_noise_when_fitted_then_speed_and_angle_are_within_tolerance() {
        let mut rng = Lcg(42);
        let air = FlightModel::default();
        let mut worst = (0.0f64, 0.0f64);
        for fps in [30.0, 60.0, 120.0, 240.0] {
            for speed in [20.0, 35.0, 50.0, 65.0, 75.0] {
                for angle in [5.0, 15.0, 25.0, 40.0] {
                    for n in [6, FIT_POINTS] {
                        for tee in [Some(TEE), None] {
                            let pts = track(speed, angle, fps, MPP, 10, 11, n, 0.5, &mut rng, &air);
                            let tee = tee.map(|(x, y)| (x + rng.noise(0.5), y + rng.noise(0.5)));
                            let fit = fit_launch(&pts, &Clock::constant(fps), MPP, tee).expect("a fit");
                            let (ds, da) = errors(&fit, speed, angle);
                            let case = format!("{fps} fps {speed} m/s {angle}° {n} points tee {tee:?}: {fit:?}");
                            assert!(ds < 0.015 && da < 0.5, "{case}: speed {:.2} %, angle {da:.2}°", ds * 100.0);
                            assert!(fit.rms_residual_px < 1.0, "{case}");
                            assert_eq!(fit.points_used, n);
                            assert!((fit.launch_time_frames - 10.0).abs() < 0.2, "{case}");
                            worst = (worst.0.max(ds), worst.1.max(da));
                        }
                    }
                }
            }
        }
        // The worst case over the grid, for the record (cargo test -- --nocapture).
        println!("worst: speed {:.3} %, angle {:.3}°", worst.0 * 100.0, worst.1);
    }

    #[test]
    fn given_a_gravity_bent_flight_when_fitted_then_the_launch_angle_is_not_the_window_mean() {
        // The case: 60 fps, 31 m/s at 14°; the mean velocity of 8 frames reads 12.7°.
        let air = FlightModel::default();
        let pts = track(31.0, 14.0, 60.0, MPP, 10, 11, 8, 0.0, &mut Lcg(1), &air);
        let mean = crate::pipeline::kinematics::robust_velocity(&pts, &Clock::constant(60.0), MPP).expect("velocity");
        // (Gravity alone would read 12.7°; lift holds the ball up a little.)
        assert!(mean.launch_deg() < 13.2, "the window mean is biased: {mean:?}");
        let fit = fit_launch(&pts, &Clock::constant(60.0), MPP, Some(TEE)).expect("a fit");
        let (ds, da) = errors(&fit, 31.0, 14.0);
        assert!(ds < 1e-4 && da < 0.01, "{fit:?}");
        assert!((fit.launch_time_frames - 10.0).abs() < 1e-3, "{fit:?}");
        assert!(fit.tee_miss_px.is_some_and(|m| m < 0.01), "{fit:?}");
    }

    #[test]
    fn given_drag_and_lift_when_fitted_with_gravity_alone_then_a_fast_ball_reads_measurably_wrong() {
        // Why drag and lift are in the model: at 75 m/s they are ~3 g and ~2 g.
        let air = FlightModel::default();
        let vacuum = FlightModel { cd: 0.0, cl: 0.0, ..air };
        let pts = track(75.0, 15.0, 30.0, MPP, 10, 11, 6, 0.0, &mut Lcg(1), &air);
        let full = fit_launch_with(&pts, &Clock::constant(30.0), MPP, None, &air).expect("fit");
        let bare = fit_launch_with(&pts, &Clock::constant(30.0), MPP, None, &vacuum).expect("fit");
        let (ds_full, da_full) = errors(&full, 75.0, 15.0);
        let (ds_bare, da_bare) = errors(&bare, 75.0, 15.0);
        assert!(ds_full < 1e-4 && da_full < 0.01, "{full:?}");
        assert!(ds_bare > 0.02 && da_bare > 0.5, "gravity alone: {:.2} %, {da_bare:.2}°", ds_bare * 100.0);
    }

    #[test]
    fn given_a_ball_with_other_drag_and_lift_than_the_model_when_fitted_then_errors_stay_small() {
        // Spin changes cd and cl from shot to shot; the model's constants are typical, not exact.
        let mut rng = Lcg(9);
        let mut worst = (0.0f64, 0.0f64);
        for air in [
            FlightModel { cd: 0.30, cl: 0.20, ..FlightModel::default() },
            FlightModel { cd: 0.20, cl: 0.12, ..FlightModel::default() },
        ] {
            for fps in [30.0, 60.0, 240.0] {
                for (speed, angle) in [(75.0, 10.0), (50.0, 25.0), (20.0, 40.0)] {
                    let pts = track(speed, angle, fps, MPP, 10, 11, 6, 0.5, &mut rng, &air);
                    let fit = fit_launch(&pts, &Clock::constant(fps), MPP, Some(TEE))
                        .unwrap_or_else(|| panic!("fit {air:?} {fps} {speed} {angle} {pts:?}"));
                    let (ds, da) = errors(&fit, speed, angle);
                    assert!(ds < 0.015 && da < 0.5, "{air:?} {fps} {speed} {angle}: {:.2} %, {da:.2}°", ds * 100.0);
                    worst = (worst.0.max(ds), worst.1.max(da));
                }
            }
        }
        println!("worst with other drag and lift: speed {:.3} %, angle {:.3}°", worst.0 * 100.0, worst.1);
    }

    #[test]
    fn given_missed_first_frames_and_the_tee_when_fitted_then_the_launch_time_is_found() {
        // Launched at frame 20 (60 fps); the detector first sees the ball at frame 23.
        let air = FlightModel::default();
        let pts = track(45.0, 20.0, 60.0, MPP, 20, 23, 6, 0.5, &mut Lcg(3), &air);
        let fit = fit_launch(&pts, &Clock::constant(60.0), MPP, Some(TEE)).expect("fit");
        assert!((fit.launch_time_frames - 20.0).abs() < 0.1, "{fit:?}");
        let (ds, da) = errors(&fit, 45.0, 20.0);
        assert!(ds < 0.015 && da < 0.5, "{fit:?}");
        // Without the tee the launch is taken one frame before the first point: too late here,
        // and the speed reads the slower ball of frame 22.
        let blind = fit_launch(&pts, &Clock::constant(60.0), MPP, None).expect("fit");
        assert_eq!(blind.launch_time_frames, 22.0);
        assert!(blind.velocity.speed() < fit.velocity.speed());
        // A "tee" far beyond the allowed gap clamps the launch and says how far off it is.
        let far = fit_launch(&pts, &Clock::constant(60.0), MPP, Some((-2000.0, 1000.0))).expect("fit");
        assert_eq!(far.launch_time_frames, 23.0 - MAX_LAUNCH_BACK_FRAMES);
        assert!(far.tee_miss_px.is_some_and(|m| m > 100.0), "{far:?}");
    }

    #[test]
    fn given_one_wild_point_when_fitted_then_it_is_dropped_and_the_rest_measure_the_launch() {
        let air = FlightModel::default();
        for wild in [0, 3, 7] {
            let mut pts = track(50.0, 18.0, 120.0, MPP, 10, 11, 8, 0.5, &mut Lcg(5), &air);
            pts[wild].y += 15.0;
            pts[wild].x -= 6.0;
            let fit = fit_launch(&pts, &Clock::constant(120.0), MPP, Some(TEE)).expect("fit");
            assert_eq!((fit.dropped_frame, fit.points_used), (Some(11 + wild), 7), "{fit:?}");
            let (ds, da) = errors(&fit, 50.0, 18.0);
            assert!(ds < 0.015 && da < 0.5, "wild point {wild}: {fit:?}");
        }
        // Half-pixel noise alone drops nothing.
        let pts = track(50.0, 18.0, 120.0, MPP, 10, 11, 8, 0.5, &mut Lcg(5), &air);
        assert_eq!(fit_launch(&pts, &Clock::constant(120.0), MPP, Some(TEE)).expect("fit").dropped_frame, None);
    }

    #[test]
    fn given_a_flight_filmed_from_the_other_side_when_fitted_then_the_angle_is_the_same() {
        let air = FlightModel::default();
        let pts = track(40.0, 22.0, 60.0, MPP, 10, 11, 6, 0.0, &mut Lcg(1), &air);
        let mirrored: Vec<TrackPoint> = pts.iter().map(|p| TrackPoint { x: 1000.0 - p.x, ..*p }).collect();
        let a = fit_launch(&pts, &Clock::constant(60.0), MPP, Some(TEE)).expect("fit");
        let b = fit_launch(&mirrored, &Clock::constant(60.0), MPP, Some((1000.0 - TEE.0, TEE.1))).expect("fit");
        assert!(b.velocity.vx < 0.0);
        assert!((a.velocity.launch_deg() - b.velocity.launch_deg()).abs() < 1e-6, "{a:?} {b:?}");
        assert!((a.velocity.speed() - b.velocity.speed()).abs() < 1e-6);
    }

    #[test]
    fn given_too_little_or_bad_input_when_fitted_then_there_is_no_fit() {
        let air = FlightModel::default();
        let pts = track(40.0, 22.0, 60.0, MPP, 10, 11, 6, 0.0, &mut Lcg(1), &air);
        assert!(fit_launch(&pts[..2], &Clock::constant(60.0), MPP, None).is_none(), "two points");
        assert!(fit_launch(&pts[..3], &Clock::constant(60.0), MPP, None).is_some(), "three points");
        assert!(fit_launch(&pts, &Clock::constant(0.0), MPP, None).is_none());
        assert!(fit_launch(&pts, &Clock::constant(60.0), f64::NAN, None).is_none());
        // Interpolated points do not count.
        let mut gap = pts.clone();
        for p in &mut gap[1..5] {
            p.interpolated = true;
        }
        assert!(fit_launch(&gap, &Clock::constant(60.0), MPP, None).is_none());
        // Two points in one frame, a NaN, a ball at rest.
        let mut dup = pts.clone();
        dup[1].frame = dup[0].frame;
        assert!(fit_launch(&dup, &Clock::constant(60.0), MPP, None).is_none());
        let mut nan = pts.clone();
        nan[2].x = f64::NAN;
        assert!(fit_launch(&nan, &Clock::constant(60.0), MPP, None).is_none());
        let still: Vec<TrackPoint> = pts.iter().map(|p| TrackPoint { x: 300.0, y: 400.0, ..*p }).collect();
        assert!(fit_launch(&still, &Clock::constant(60.0), MPP, None).is_none());
    }

    #[test]
    fn jittering_frame_times_are_measured_not_assumed() {
        // A "120 fps" phone clip whose frames are stamped up to 1.5 ms off the grid: the points lie
        // where the ball was at the true times. Fitting them on those times recovers the launch;
        // assuming 1/120 s steps does not.
        let (speed, angle, fps, impact) = (30.0, 15.0, 120.0, 10usize);
        let stamp = |f: usize| f as f64 / fps + 0.0015 * (2.399963 * f as f64).sin();
        let frames: Vec<usize> = (impact + 1..impact + 11).collect();
        let times: Vec<f64> = frames.iter().map(|&f| stamp(f) - stamp(impact)).collect();
        let air = FlightModel::default();
        let pts: Vec<TrackPoint> = flight_px(speed, angle, &air, TEE, MPP, &times)
            .into_iter()
            .zip(&frames)
            .map(|((x, y), &frame)| TrackPoint { frame, x, y, w: 10.0, h: 10.0, score: 0.9, interpolated: false })
            .collect();
        let clock = Clock::from_times((0..40).map(stamp).collect(), fps);
        let measured = fit_launch(&pts, &clock, MPP, Some(TEE)).expect("fit");
        let assumed = fit_launch(&pts, &Clock::constant(fps), MPP, Some(TEE)).expect("fit");
        let (ds, da) = errors(&measured, speed, angle);
        assert!(ds < 0.005 && da < 0.2, "measured times: {:.2} %, {da:.2}°", ds * 100.0);
        let (ds_assumed, da_assumed) = errors(&assumed, speed, angle);
        eprintln!("measured: {:.3} % {da:.3}°; assumed: {:.3} % {da_assumed:.3}°", ds * 100.0, ds_assumed * 100.0);
        assert!(
            ds_assumed > 3.0 * ds.max(0.001),
            "assumed 1/120 s: {:.2} % vs {:.2} %",
            ds_assumed * 100.0,
            ds * 100.0
        );
    }
}
