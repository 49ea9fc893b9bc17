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
//! starting at the impact frame's timestamp (`tests/src/scene/` renders exactly that).

mod solver;
#[cfg(test)]
mod tests;

use solver::{closest_approach, solve, Dynamics, Frame, Obs, State};

use super::clock::Clock;
use super::kinematics::{FlightModel, Velocity};
use super::tracking::TrackPoint;

pub use super::kinematics::GRAVITY_MPS2;
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
    /// The launch time in seconds after the first fitted point (negative: before it).
    pub launch_dt: f64,
    /// The fitted path itself, for drawing it.
    pub path: FittedPath,
}

/// A fitted flight as a path in image pixels: where the model puts the ball any time after (or
/// before) the first fitted point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FittedPath {
    state: State,
    frame: Frame,
    dynamics: Dynamics,
    /// The frame of the first fitted point (time 0).
    pub first_frame: usize,
}

impl FittedPath {
    /// The ball's image position `dt` seconds after the first fitted point.
    pub fn at(&self, dt: f64) -> (f64, f64) {
        let s = self.dynamics.propagate(self.state, dt);
        self.frame.to_px(s.x, s.y)
    }

    /// Positions every `step` seconds from `from` on, `(dt, x, y)`, while `keep(x, y)` holds, at
    /// most `max` of them (each propagated from the one before: linear in their number).
    pub fn samples(&self, from: f64, step: f64, max: usize, keep: impl Fn(f64, f64) -> bool) -> Vec<(f64, f64, f64)> {
        let mut out = Vec::new();
        if !(step.is_finite() && step > 0.0 && from.is_finite()) {
            return out;
        }
        let mut s = self.dynamics.propagate(self.state, from);
        for k in 0..max {
            let (x, y) = self.frame.to_px(s.x, s.y);
            if !(x.is_finite() && y.is_finite() && keep(x, y)) {
                break;
            }
            out.push((from + k as f64 * step, x, y));
            s = self.dynamics.propagate(s, step);
        }
        out
    }
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
        launch_dt: t_launch,
        path: FittedPath { state: fit.state, frame, dynamics: dyn_, first_frame: first.frame },
    })
}
