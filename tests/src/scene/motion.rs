//! How the club's angle about its pivot changes over time: a constant-speed sweep, a club held
//! still, or a whole swing (address, backswing, pause, downswing, follow-through, finish).

/// The club's angle about the pivot over time (0 at impact, negative back): see [`Swing`](super::Swing).
#[derive(Debug, Clone, Copy)]
pub(super) enum Motion {
    Sweep { omega: f64 },
    Still { addr: f64 },
    Full { omega: f64, addr: f64, top: f64, down_s: f64, fin: f64, follow_s: f64 },
}

/// Backswing duration, seconds, and the pause at the top.
const BACKSWING_S: f64 = 0.8;
const TOP_PAUSE_S: f64 = 0.12;
/// Nominal downswing and follow-through durations, seconds, and the largest angle either reaches
/// (150°): a fast swing gets there sooner.
pub(super) const DOWNSWING_S: f64 = 0.3;
pub(super) const FOLLOW_S: f64 = 0.4;
pub(super) const MAX_SWING_RAD: f64 = 2.6;

impl Motion {
    pub(super) fn theta(&self, t: f64) -> f64 {
        let smooth = |s: f64| s * s * (3.0 - 2.0 * s);
        match *self {
            Motion::Sweep { omega } => omega * t,
            Motion::Still { addr } => addr,
            Motion::Full { omega, addr, top, down_s, fin, follow_s } => {
                if t >= follow_s {
                    fin
                } else if t >= 0.0 {
                    // Angular speed omega·(1 − smoothstep(s)): full at impact, 0 at the finish.
                    let s = t / follow_s;
                    omega * follow_s * (s - s.powi(3) + s.powi(4) / 2.0)
                } else if t >= -down_s {
                    // Angular speed omega·smoothstep(s): 0 at the top, full (and flat) at impact.
                    let s = (t + down_s) / down_s;
                    -top + omega * down_s * (s.powi(3) - s.powi(4) / 2.0)
                } else if t >= -down_s - TOP_PAUSE_S {
                    -top
                } else if t >= -down_s - TOP_PAUSE_S - BACKSWING_S {
                    let s = (t + down_s + TOP_PAUSE_S + BACKSWING_S) / BACKSWING_S;
                    addr + (-top - addr) * smooth(s)
                } else {
                    addr
                }
            }
        }
    }
}
