//! Rendered golf swings with exact ground truth, for end-to-end accuracy tests of the analyze
//! endpoints.
//!
//! The scene is a face-on view (camera perpendicular to the target line): mown grass under a strip
//! of sky and trees, a white ball on a tee, and a driver head (the silhouette
//! `models/train/synth/club.py` taught the detector) on a shaft with hands and arms, swung along
//! an arc about a pivot above the frame. It reaches the ball at [`SwingSpec::impact_frame`]. How
//! the club moves is [`Swing`]: [`SwingSpec::preset`] sweeps it at constant speed (its clips span
//! a tenth of a second either side of impact); [`SwingSpec::phone`] clips hold a whole swing
//! (address, backswing, downswing, follow-through, a held finish) anywhere in seconds of footage.
//!
//! **The ball flies under real physics**: from the tee at the impact frame's timestamp with the
//! spec's speed and launch angle, under gravity (9.81 m/s²), quadratic drag against the velocity
//! and backspin lift perpendicular to it, with the constants of
//! `analyze::pipeline::kinematics::FlightModel` (the model the pipeline's carry uses), integrated
//! by RK4 in 0.1 ms steps: positions are exact to far below a micrometre. So the truth is the
//! launch velocity itself, and a pipeline that averages velocity over its first flight frames reads
//! a gravity-bent path low (60 fps, 31 m/s at 14°: ~13° over 8 frames). Frame `i > impact_frame`
//! shows the flight at `t = (i − impact_frame) / fps` after launch; frames up to and including the
//! impact frame show the ball on the tee. A ball that comes back down to the ground stops where it
//! lands (no bounce, no roll). [`Ball`] also makes a ball nobody hits and no ball at all.
//!
//! Each frame is exposed for [`SHUTTER_S`] around its timestamp `i / fps`, so moving things are
//! motion-blurred: the ball is drawn at its positions along the exposure (a short streak whose
//! midpoint is its centre at mid-exposure, as the training labels put it), the club head along its
//! arc. Gaussian sensor noise of `noise_sigma` 8-bit levels is added last. Everything is
//! deterministic per [`SwingSpec::seed`] (own SplitMix64 generator). A frame in which nothing
//! moved since the previous one (address, the finish, an empty tee) reuses the previous frame's
//! composed picture and draws only fresh noise, so long phone clips cost little beyond their swing.
//!
//! [`Truth`] comes from the positions actually drawn: ball centres at mid-exposure with sub-pixel
//! precision, the club-head box where the blurred head coverage is at least 0.3 (the training
//! label rule), and the launch speed and angle the flight was started with.
//!
//! The parts: [`SwingSpec`] and its presets (`spec`), the flight and the ball per frame (`flight`),
//! [`Truth`] and [`ball_path`] (`truth`), the frame's layout (`layout`), the drawing of the
//! backdrop, ball and club (`background`, `ball`, `club`, `motion`, on `canvas`), the camera's
//! noise and response (`camera`), the clip itself ([`render_swing`], `render`) and its zip
//! ([`frames_zip`], `archive`); `random` is the seeded generator they all draw from.

mod archive;
mod background;
mod ball;
mod camera;
mod canvas;
mod club;
mod flight;
mod layout;
mod motion;
mod random;
mod render;
mod spec;
mod truth;

#[cfg(test)]
mod tests;

pub use archive::{frames_zip, ImageFormat};
pub use render::render_swing;
pub use spec::{Ball, BallState, Swing, SwingSpec};
pub use truth::{ball_path, BallPath, Truth};

/// Exposure time of every frame, seconds: a fast shutter, as swing footage is shot with. Moving
/// things blur by their speed times this.
pub const SHUTTER_S: f64 = 1.0 / 500.0;

/// Diameter of a golf ball, metres (the presets derive their scale from it).
pub const BALL_DIAMETER_M: f64 = 0.04267;
