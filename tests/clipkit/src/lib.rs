//! Test and benchmark support, never linked into a function: H.264 MP4 clips written with
//! OpenH264 ([`avencode`], re-exported here: [`encode_mp4`] turns RGB frames into a Constrained
//! Baseline MP4 with an IDR keyframe every second or so, [`encode_mp4_keyint`] sets the interval,
//! and [`write_mp4`] muxes already-coded H.264 samples, B-frame timing included), so tests can
//! build the clips they need (a fixture's GOP twice over, say).
//!
//! [`phone`] writes the formats phones record (HEVC, MOV, fragmented MP4, display matrices,
//! audio, jittering timestamps, slow-motion edit lists) with Debian's `ffmpeg` program.

pub mod phone;

pub use avencode::{
    default_keyint, encode_mp4, encode_mp4_keyint, write_mp4, AvcTrack, EncodeError, EncodeOptions, Mp4Encoder, Sample,
    MAX_FPS,
};
