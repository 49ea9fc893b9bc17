//! The analyze function (in progress): the shot-analysis pipeline, pure functions from per-frame
//! detections to tracks, kinematics, carry and capture quality. The HTTP endpoints
//! (`/cv/analyze`, `/cv/analyze/video`, `/range/practice/analyze`) come on top of it.
//!
//! # Layout
//! - [`frames`]: zip / image / npy ingestion with the zip-bomb and size limits.
//! - [`pipeline::tracking`]: ball and club tracks from detections.
//! - [`pipeline::kinematics`]: scale, smoothing, robust velocity, launch, carry, impact.
//! - [`pipeline::quality`]: capture quality (fps, light, resolution, blur).
//! - [`pipeline::shot`]: the whole shot, detections to metrics.

pub mod frames;
pub mod pipeline;
