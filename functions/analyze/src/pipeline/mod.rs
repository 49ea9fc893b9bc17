//! The analysis pipeline as pure functions: detections in, metrics out. No I/O, no HTTP.

pub mod clock;
pub mod kinematics;
pub mod launch_fit;
pub mod quality;
pub mod shot;
pub mod tracking;
