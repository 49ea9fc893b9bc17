//! The ball's flight under gravity, quadratic drag and backspin lift (RK4), and where the ball is
//! in each frame: on the tee, along its exposure in flight, or at rest where it landed.

use analyze::pipeline::kinematics::FlightModel;

use super::layout::{Layout, TEE_HEIGHT_D};
use super::{Ball, BallState, SwingSpec, SHUTTER_S};

/// Step of the flight integration, seconds.
const FLIGHT_STEP_S: f64 = 1e-4;

/// The ball's flight from the tee: gravity, quadratic drag and backspin lift
/// ([`FlightModel::accel`] of the default model), RK4 in [`FLIGHT_STEP_S`] steps. States are stored per step (metres
/// and m/s from the tee, y up) until the ball lands, is well past a side of the frame, or `t_max`.
pub(super) struct Flight {
    tee: (f64, f64),
    m_per_px: f64,
    air: FlightModel,
    states: Vec<[f64; 4]>,
    /// When and where (metres along) the ball landed, if it did.
    landing: Option<(f64, f64)>,
    /// Height of the centre of a ball at rest on the ground, metres relative to the tee.
    rest_y: f64,
}

impl Flight {
    pub(super) fn new(spec: &SwingSpec, lay: &Layout, t_max: f64) -> Flight {
        let air = FlightModel::default();
        let a = spec.launch_deg.to_radians();
        let mut s = [0.0, 0.0, spec.ball_speed_mps * a.cos(), spec.ball_speed_mps * a.sin()];
        let mpp = spec.m_per_px;
        let rest_y = -TEE_HEIGHT_D * spec.ball_diameter_px * mpp;
        let margin_px = 2.0 * spec.ball_diameter_px;
        let (left, right) = (-lay.tee.0 - margin_px, f64::from(spec.width) - lay.tee.0 + margin_px);
        let mut flight = Flight { tee: lay.tee, m_per_px: mpp, air, states: vec![s], landing: None, rest_y };
        let steps = (t_max / FLIGHT_STEP_S).ceil() as usize;
        for k in 1..=steps {
            let next = flight.rk4(s, FLIGHT_STEP_S);
            if next[1] <= rest_y && next[3] < 0.0 {
                let u = (s[1] - rest_y) / (s[1] - next[1]);
                flight.landing = Some(((k as f64 - 1.0 + u) * FLIGHT_STEP_S, s[0] + u * (next[0] - s[0])));
                break;
            }
            s = next;
            flight.states.push(s);
            let x_px = s[0] / mpp;
            if (x_px > right && s[2] >= 0.0) || (x_px < left && s[2] <= 0.0) {
                break; // it cannot come back
            }
        }
        flight
    }

    fn rk4(&self, s: [f64; 4], h: f64) -> [f64; 4] {
        let d = |s: [f64; 4]| {
            let (ax, ay) = self.air.accel(s[2], s[3]);
            [s[2], s[3], ax, ay]
        };
        let add =
            |s: [f64; 4], k: [f64; 4], f: f64| [s[0] + k[0] * f, s[1] + k[1] * f, s[2] + k[2] * f, s[3] + k[3] * f];
        let k1 = d(s);
        let k2 = d(add(s, k1, h / 2.0));
        let k3 = d(add(s, k2, h / 2.0));
        let k4 = d(add(s, k3, h));
        let mut out = s;
        for i in 0..4 {
            out[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        out
    }

    pub(super) fn landed_by(&self, t: f64) -> bool {
        self.landing.is_some_and(|(tl, _)| t >= tl)
    }

    /// Ball centre in pixels `t` seconds after launch (the tee before it); `None` once it has left
    /// for good (or past the integrated time).
    pub(super) fn centre(&self, t: f64) -> Option<(f64, f64)> {
        let to_px = |x: f64, y: f64| (self.tee.0 + x / self.m_per_px, self.tee.1 - y / self.m_per_px);
        if t <= 0.0 {
            return Some(self.tee);
        }
        if let Some((tl, xl)) = self.landing {
            if t >= tl {
                return Some(to_px(xl, self.rest_y));
            }
        }
        let k = (t / FLIGHT_STEP_S).floor() as usize;
        let s = self.states.get(k)?;
        if k + 1 == self.states.len() && self.landing.is_none() && t - k as f64 * FLIGHT_STEP_S > 0.0 {
            return None; // past the last stored state: gone
        }
        let s = self.rk4(*s, t - k as f64 * FLIGHT_STEP_S);
        Some(to_px(s[0], s[1]))
    }
}

/// The ball as drawn in one frame.
pub(super) struct BallFrame {
    /// Centre at mid-exposure, when inside the frame.
    pub(super) centre: Option<(f64, f64)>,
    pub(super) state: BallState,
    /// Centres along the exposure (`None`: outside the frame by then, or no ball).
    pub(super) samples: Vec<Option<(f64, f64)>>,
    /// Where a resting ball casts its shadow.
    pub(super) shadow: Option<(f64, f64)>,
}

/// Per-frame ball positions of a spec.
pub(super) struct BallFrames<'a> {
    spec: &'a SwingSpec,
    flight: Option<Flight>,
    tee: (f64, f64),
}

impl<'a> BallFrames<'a> {
    pub(super) fn new(spec: &'a SwingSpec, lay: &Layout) -> BallFrames<'a> {
        let t_end = spec.since_impact_s(spec.frames) + SHUTTER_S;
        let flight = (spec.ball == Ball::Struck && t_end > 0.0).then(|| Flight::new(spec, lay, t_end));
        BallFrames { spec, flight, tee: lay.tee }
    }

    pub(super) fn frame(&self, i: usize) -> BallFrame {
        let spec = self.spec;
        let (w, h) = (f64::from(spec.width), f64::from(spec.height));
        let inside = |c: (f64, f64)| (0.0..w).contains(&c.0) && (0.0..h).contains(&c.1);
        let t = spec.since_impact_s(i);
        let at_rest = |c: (f64, f64), state| BallFrame {
            centre: inside(c).then_some(c),
            state,
            samples: vec![Some(c)],
            shadow: Some(c),
        };
        match (&self.flight, spec.ball) {
            (_, Ball::Absent) => BallFrame { centre: None, state: BallState::Absent, samples: vec![], shadow: None },
            (Some(f), Ball::Struck) if i > spec.impact_frame => {
                if f.landed_by(t - SHUTTER_S / 2.0) {
                    return at_rest(f.centre(t).expect("a landed ball has a place"), BallState::Landed);
                }
                let centre = f.centre(t);
                let (a, b) = (f.centre(t - SHUTTER_S / 2.0), f.centre(t + SHUTTER_S / 2.0));
                let len = match (a, b) {
                    (Some(a), Some(b)) => (a.0 - b.0).hypot(a.1 - b.1),
                    _ => spec.ball_speed_mps * SHUTTER_S / spec.m_per_px,
                };
                let n = ((len * 1.5).ceil() as usize + 1).min(48);
                let samples = (0..n)
                    .map(|k| {
                        let f_k = if n == 1 { 0.0 } else { k as f64 / (n - 1) as f64 - 0.5 };
                        f.centre(t + f_k * SHUTTER_S)
                    })
                    .collect();
                BallFrame { centre: centre.filter(|&c| inside(c)), state: BallState::Flying, samples, shadow: None }
            }
            _ => at_rest(self.tee, BallState::Teed),
        }
    }
}
