//! Ground truth: what a rendered clip holds ([`Truth`], from the positions actually drawn) and the
//! ball's path alone ([`ball_path`], computed without drawing).

use super::flight::BallFrames;
use super::layout::Layout;
use super::{BallState, SwingSpec};

/// Ground truth of a rendered swing, from the positions actually drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// Ball centre (at mid-exposure) per frame, pixels (origin = top-left corner of the top-left
    /// pixel, y down); `None` when the centre is outside the frame or there is no ball.
    pub ball_centres: Vec<Option<(f64, f64)>>,
    /// What the ball is doing in each frame.
    pub ball_states: Vec<BallState>,
    /// Centre of [`Truth::club_boxes`] per frame (what a detector reports), pixels.
    pub club_centres: Vec<Option<(f64, f64)>>,
    /// Club-head box `(x1, y1, x2, y2)` per frame: pixels where the blurred head (with hosel,
    /// without shaft) covers ≥ 0.3, clipped to the frame; `None` when under 40 % of it is inside.
    pub club_boxes: Vec<Option<(f64, f64, f64, f64)>>,
    /// Launch speed (the spec's: the flight starts with exactly this velocity), m/s; 0 when the
    /// ball is not struck.
    pub ball_speed_mps: f64,
    /// Launch angle above the horizontal, degrees, image y up (the spec's); 0 when not struck.
    pub launch_deg: f64,
    /// Whether the ball was struck and flew.
    pub launched: bool,
    /// The frame in which the head reaches the ball (the last frame with the ball on the tee);
    /// for a whiff, the frame the head passes over it.
    pub impact_frame: usize,
    /// Speed of the head's centroid at impact along its drawn arc, m/s.
    pub club_speed_mps: f64,
    /// Ball centre on the tee, pixels.
    pub tee: (f64, f64),
}

impl Truth {
    /// Whether frame `i` has the ball in flight (launched, not landed) entirely inside the frame.
    pub fn ball_in_flight(&self, i: usize, spec: &SwingSpec) -> bool {
        let r = spec.ball_diameter_px / 2.0;
        self.ball_states.get(i) == Some(&BallState::Flying)
            && self.ball_centres.get(i).copied().flatten().is_some_and(|(x, y)| {
                x - r >= 0.0 && y - r >= 0.0 && x + r <= f64::from(spec.width) && y + r <= f64::from(spec.height)
            })
    }

    /// Frames with [`Truth::ball_in_flight`].
    pub fn flight_frames(&self, spec: &SwingSpec) -> usize {
        (0..self.ball_states.len()).filter(|&i| self.ball_in_flight(i, spec)).count()
    }
}

/// The ball's path alone (what [`Truth`] holds about it), computed without drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct BallPath {
    /// Centre per frame at mid-exposure, pixels; `None` outside the frame or with no ball.
    pub centres: Vec<Option<(f64, f64)>>,
    /// State per frame.
    pub states: Vec<BallState>,
    /// Ball centre on the tee, pixels.
    pub tee: (f64, f64),
}

impl BallPath {
    pub(super) fn in_flight_inside(&self, i: usize, spec: &SwingSpec) -> bool {
        let r = spec.ball_diameter_px / 2.0;
        self.states[i] == BallState::Flying
            && self.centres[i].is_some_and(|(x, y)| {
                x - r >= 0.0 && y - r >= 0.0 && x + r <= f64::from(spec.width) && y + r <= f64::from(spec.height)
            })
    }
}

/// The ball's centre and state per frame of `spec`, exactly as [`render_swing`](super::render_swing) draws them.
pub fn ball_path(spec: &SwingSpec) -> BallPath {
    spec.validate();
    let lay = Layout::new(spec);
    let balls = BallFrames::new(spec, &lay);
    let (centres, states) = (0..spec.frames)
        .map(|i| {
            let b = balls.frame(i);
            (b.centre, b.state)
        })
        .unzip();
    BallPath { centres, states, tee: lay.tee }
}
