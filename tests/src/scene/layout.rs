//! Where the scene's fixed elements sit in the frame: the horizon, the ground line and the ball on
//! its tee.

use super::SwingSpec;

/// Where the scene's fixed elements sit, as fractions of the frame.
const HORIZON_FRAC: f64 = 0.13;
pub(super) const GROUND_FRAC: f64 = 0.82;
const TEE_X_FRAC: f64 = 0.2;
/// Visible tee height between the ground and the ball, in ball diameters.
pub(super) const TEE_HEIGHT_D: f64 = 0.35;

/// Fixed positions in the frame.
pub(super) struct Layout {
    /// Scale of the look relative to a 640 px long side.
    pub(super) s: f64,
    pub(super) horizon_y: f64,
    pub(super) ground_y: f64,
    /// Ball centre on the tee.
    pub(super) tee: (f64, f64),
}

impl Layout {
    pub(super) fn new(spec: &SwingSpec) -> Layout {
        let (w, h) = (f64::from(spec.width), f64::from(spec.height));
        let ground_y = h * GROUND_FRAC;
        let d = spec.ball_diameter_px;
        Layout {
            s: w.max(h) / 640.0,
            horizon_y: h * HORIZON_FRAC,
            ground_y,
            tee: (w * TEE_X_FRAC, ground_y - d * TEE_HEIGHT_D - d / 2.0),
        }
    }
}
