//! MP4/MOV H.264 video for `/cv/analyze/video`: the container facts of an upload ([`probe`]) and
//! its frames decoded to upright RGB one at a time, from the start ([`decode_frames`]) or from any
//! frame ([`decode_range`]); a whole clip is never held decoded. Test clips are written by the
//! `clipkit` crate (a dev-dependency), not here.
//!
//! The work is split by job:
//! - `boxes`: walking the ISO-BMFF box tree, choosing the video track's boxes, `avcC`.
//! - `demux`: the chosen track's sample tables through the `mp4` crate: where each sample lies,
//!   its decode and presentation times, sync samples, the rotation matrix, and where decoding has
//!   to start to reach a given frame.
//! - `decode`: feeding OpenH264 Annex B access units, YUV to RGB, rotation, the [`VideoFrames`]
//!   iterator.
//!
//! Demuxing: the box tree is walked here to find the video track, name its codec and read its
//! `avcC`; the `mp4` crate then parses that track alone (timing, sample sizes, chunk tables, sync
//! samples, matrix). `mp4::Mp4Reader::read_header` is not used because it parses every track and
//! fails the whole file on things a video decoder does not care about: a QuickTime `.mov` with an
//! AAC track (version-1 sound description, as cameras and ffmpeg write it) is rejected outright,
//! and so is an `avc1` entry whose `avcC` is not its first child box. Its sample lookup also
//! panics or allocates a sample's claimed size before checking it (`read_sample`), so sample
//! offsets and sizes are resolved here against the bytes received. Edit lists are ignored: every
//! coded frame is decoded, including any an edit list hides.
//!
//! Frames: frame `k` is the `k`-th picture in presentation order (the decoder's output order),
//! named `frame_{k:06}`. Its presentation time comes from `stts` + `ctts` in the media timescale,
//! relative to frame 0 ([`VideoFrames::last_pts_s`]).
//!
//! Decoding: OpenH264 (compiled from its bundled source) gets Annex B access units: each
//! length-prefixed NAL unit of a sample gets a start code, and the `avcC` parameter sets go in
//! front of the first sample and of every IDR. OpenH264 reorders B-frame streams into
//! presentation order itself (by picture order count); frames it still holds at the end are
//! flushed, so none are lost. [`decode_range`] starts at the latest IDR sync sample that the
//! requested frame and every later one are decoded after (an IDR closes the GOP, so exactly the
//! frames before it in decode order are the frames before it in presentation order), decodes the
//! frames in between without converting them, and yields from the requested frame on.
//!
//! Every failure is a [`VideoError`] (API code `VIDEO_DECODE_FAILED`); nothing here panics on
//! input, and the third-party parsing and decoding runs under `catch_unwind` as a second line.

mod boxes;
mod decode;
mod demux;
#[cfg(test)]
mod tests;

use std::panic::catch_unwind;

pub use decode::VideoFrames;

/// The largest width or height accepted, in pixels (8K is 7680 wide). Checked on the container
/// before decoding starts and on every decoded picture before its RGB buffer is allocated.
pub const MAX_DIMENSION: u32 = 8192;

/// Frame rates above this are treated as nonsense in the container (fastest cameras: a few kHz).
const MAX_FPS: f64 = 10_000.0;

/// What the container says about the video track.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Width of the frames as they come out of [`decode_frames`], i.e. after `rotation_deg` is
    /// applied (a portrait phone clip stored as 1920x1080 with a 90° matrix reads 1080 here).
    pub width: u32,
    /// Height of the frames as they come out, after rotation.
    pub height: u32,
    /// Frames per second from the container: timescale / sample delta when every sample has the
    /// same duration, else samples / summed durations. `None` when absent or nonsensical.
    pub fps: Option<f64>,
    /// Samples (coded frames) in the video track.
    pub frame_count: u64,
    /// The codec, e.g. `"h264 (avc1)"`.
    pub codec: String,
    /// Duration of the video track in seconds (`mdhd`, else the summed sample durations).
    pub duration_s: Option<f64>,
    /// Clockwise rotation (0, 90, 180 or 270) from the track matrix that a player applies, and
    /// that [`decode_frames`] applies, so frames come out upright. Mirroring matrices read as 0.
    pub rotation_deg: u32,
}

/// Why a video could not be read. Every variant is the API error `VIDEO_DECODE_FAILED` (see
/// [`VideoError::code`]); the messages tell the client what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    /// The bytes are not an MP4/MOV file at all (empty, an image, random bytes, ...).
    #[error("not an MP4/MOV video: {0}; upload an H.264 MP4 or MOV file")]
    NotMp4(String),
    /// An MP4 whose structure is broken or cut short.
    #[error("the MP4 is corrupt or truncated: {0}")]
    Corrupt(String),
    /// An MP4 without a video track (e.g. audio only).
    #[error("the MP4 has no video track")]
    NoVideoTrack,
    /// A video track in a codec other than H.264, named (e.g. `HEVC/H.265 (hvc1)`).
    #[error(
        "the video is {0}; only H.264 (AVC) video is supported: record or export the clip as H.264 \
         (on iPhone: Settings > Camera > Formats > Most Compatible)"
    )]
    UnsupportedCodec(String),
    /// A container feature not supported (fragmented MP4, compact sample sizes).
    #[error("{0} is not supported; upload a regular (non-fragmented) MP4 or MOV")]
    Unsupported(String),
    /// Frames larger than [`MAX_DIMENSION`] on a side.
    #[error("the video is {width}x{height}; the largest supported is {max} pixels a side", max = MAX_DIMENSION)]
    TooLarge {
        /// Width found.
        width: u32,
        /// Height found.
        height: u32,
    },
    /// The H.264 bitstream could not be decoded.
    #[error("the H.264 video could not be decoded: {0}")]
    Decode(String),
}

impl VideoError {
    /// The stable API error code: `VIDEO_DECODE_FAILED` for every variant.
    pub fn code(&self) -> common::error::ErrorCode {
        common::error::ErrorCode::VideoDecodeFailed
    }
}

/// Reads the container facts of an MP4/MOV upload without decoding any frame.
pub fn probe(bytes: &[u8]) -> Result<VideoInfo, VideoError> {
    guarded(|| demux::demux(bytes)).map(|track| track.info)
}

/// Opens an MP4/MOV upload for decoding: its [`VideoInfo`] and an iterator over its frames in
/// presentation order, upright, as RGB, decoded one at a time and stopping after `max_frames`.
/// The same as [`decode_range`] from frame 0.
pub fn decode_frames(bytes: &[u8], max_frames: Option<usize>) -> Result<(VideoInfo, VideoFrames<'_>), VideoError> {
    decode_range(bytes, 0, max_frames)
}

/// Opens an MP4/MOV upload for decoding from frame `first` (in presentation order): the iterator
/// yields frames `first`, `first + 1`, ... (named `frame_{index:06}`; [`VideoFrames::last_index`]
/// says which came last), at most `max_frames` of them, and nothing when `first` is at or past
/// the end of the track.
///
/// Decoding starts at the last sync sample (`stss`; without one every sample is sync) that holds
/// an IDR picture, whose presentation index is at most `first`, and that no frame from `first` on
/// is decoded before; failing that, at the first sample. The frames between it and `first` are
/// decoded but neither converted to RGB nor yielded ([`VideoFrames::decoded_count`] counts them),
/// so a seek costs at most one GOP of decoding (about a second of video on phone clips). B-frames
/// are handled: the plan uses the composition offsets (`ctts`), and the decoder reorders.
pub fn decode_range(
    bytes: &[u8],
    first: usize,
    max_frames: Option<usize>,
) -> Result<(VideoInfo, VideoFrames<'_>), VideoError> {
    let (track, start) = guarded(|| {
        let track = demux::demux(bytes)?;
        let start = track.seek_start(bytes, first);
        Ok((track, start))
    })?;
    let info = track.info.clone();
    let frames = VideoFrames::new(bytes, track, start, first, max_frames.unwrap_or(usize::MAX))?;
    Ok((info, frames))
}

/// Runs the demuxer with any panic in the third-party box parsers turned into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, VideoError> + std::panic::UnwindSafe) -> Result<T, VideoError> {
    catch_unwind(f).unwrap_or_else(|_| Err(VideoError::Corrupt("the MP4 structure could not be parsed".to_string())))
}
