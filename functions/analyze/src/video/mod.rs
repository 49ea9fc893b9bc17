//! MP4/MOV video for `/cv/analyze/video`: the container facts of an upload ([`probe`]) and its
//! frames decoded to upright RGB one at a time, from the start ([`decode_frames`]) or from any
//! frame ([`decode_range`]); a whole clip is never held decoded. H.264 (`avc1`/`avc3`) and HEVC
//! (`hvc1`/`hev1`, Main and Main 10) in MP4, QuickTime MOV and fragmented MP4. Test clips are
//! written by ffmpeg and the `clipkit` crate (dev-dependencies), not here.
//!
//! The work is split by job:
//! - `boxes`: walking the ISO-BMFF box tree, choosing the video track's boxes, `avcC`/`hvcC`,
//!   edit lists.
//! - `demux`: the chosen track's sample tables through the `mp4` crate: where each sample lies,
//!   its decode and presentation times, sync samples, the display matrix, and where decoding has
//!   to start to reach a given frame.
//! - `fragments`: the same tables from the `moof`/`traf`/`trun` boxes of a fragmented MP4.
//! - `decode`: the [`VideoFrames`] iterator: samples in (to libavcodec, through the `avdecode`
//!   crate, which holds the FFI), oriented RGB frames out.
//!
//! Demuxing: the box tree is walked here to find the video track, name its codec and read its
//! decoder configuration; the `mp4` crate then parses that track alone (timing, sample sizes,
//! chunk tables, sync samples, matrix). `mp4::Mp4Reader::read_header` is not used because it
//! parses every track and fails the whole file on things a video decoder does not care about: a
//! QuickTime `.mov` with an AAC track (version-1 sound description, as cameras and ffmpeg write
//! it) is rejected outright, and so is an `avc1` entry whose `avcC` is not its first child box.
//! Its sample lookup also panics or allocates a sample's claimed size before checking it
//! (`read_sample`), so sample offsets and sizes are resolved here against the bytes received.
//! Audio, timecode and metadata tracks are never parsed beyond their handler type.
//!
//! Frames: frame `k` is the `k`-th picture in presentation order, named `frame_{k:06}`. Its time
//! is its sample's presentation timestamp (`stts` + `ctts`, or `trun` in a fragmented file) in the
//! media timescale, relative to frame 0 ([`VideoFrames::last_pts_s`], [`VideoInfo::frame_times_s`]):
//! a phone's jittering "120 fps" is measured, not assumed. Edit lists do not change it: an iPhone
//! slow-motion clip (240 fps samples that an edit list plays at a fraction of the rate) is
//! analysed at its capture rate, and [`VideoInfo::playback_fps`] says what a player shows.
//!
//! Decoding: each sample goes to libavcodec as it is stored (length-prefixed NAL units, the
//! `avcC`/`hvcC` record as extradata), tagged with its presentation index; pictures come out in
//! presentation order carrying that index. [`decode_range`] starts at the latest random-access
//! sample that the requested frame and every later one are decoded after, decodes the frames in
//! between without converting them, and yields from the requested frame on.
//!
//! Every failure is a [`VideoError`] with its own API code ([`VideoError::code`]); nothing here
//! panics on input, and the third-party box parsing runs under `catch_unwind` as a second line.

mod boxes;
mod decode;
mod demux;
mod fragments;
#[cfg(test)]
mod tests;

use crate::request::MAX_FPS;
use std::panic::catch_unwind;

pub use decode::VideoFrames;

/// The largest frames decoded: 4K (4096 on the long side, 2304 on the short one, so DCI 4K and
/// UHD in either orientation). Checked on the container before decoding starts and on every
/// decoded picture before its RGB buffer is allocated.
pub const MAX_LONG_SIDE: u32 = 4096;
/// See [`MAX_LONG_SIDE`].
pub const MAX_SHORT_SIDE: u32 = 2304;

/// Whether frames of this size are within [`MAX_LONG_SIDE`] x [`MAX_SHORT_SIDE`].
fn check_size(width: u32, height: u32) -> Result<(), VideoError> {
    if width.max(height) > MAX_LONG_SIDE || width.min(height) > MAX_SHORT_SIDE {
        return Err(VideoError::TooLarge { width, height });
    }
    Ok(())
}

/// How a player turns the stored pictures to show them: the track's display matrix rounded to
/// its signs. A stored pixel (x, y) is shown at (a·x + c·y, b·x + d·y), shifted into the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orientation {
    /// `[a, b, c, d]`, each -1, 0 or 1.
    pub matrix: [i8; 4],
}

impl Orientation {
    /// No turn, no mirror.
    pub const UPRIGHT: Orientation = Orientation { matrix: [1, 0, 0, 1] };

    /// From a matrix already reduced to signs; anything that is not one of the eight
    /// right-angle orientations is upright.
    pub fn from_signs(matrix: [i8; 4]) -> Orientation {
        let [a, b, c, d] = matrix;
        let axis_aligned = b == 0 && c == 0 && a != 0 && d != 0;
        let swapped = a == 0 && d == 0 && b != 0 && c != 0;
        if axis_aligned || swapped {
            Orientation { matrix }
        } else {
            Orientation::UPRIGHT
        }
    }

    /// From `tkhd`'s 16.16 fixed-point `a b c d`: the larger of |a| and |b| decides which pair
    /// counts, so rounding noise in a computed matrix does not matter.
    pub fn from_matrix(a: i32, b: i32, c: i32, d: i32) -> Orientation {
        let sign = |v: i32| v.signum() as i8;
        if a.unsigned_abs() >= b.unsigned_abs() {
            Orientation::from_signs([sign(a), 0, 0, sign(d)])
        } else {
            Orientation::from_signs([0, sign(b), sign(c), 0])
        }
    }

    /// Whether frames come out as stored.
    pub fn is_identity(self) -> bool {
        self == Orientation::UPRIGHT
    }

    /// Whether the picture is mirrored (the matrix's determinant is negative), as a front
    /// camera's can be.
    pub fn mirrored(self) -> bool {
        let [a, b, c, d] = self.matrix.map(i32::from);
        a * d - b * c < 0
    }

    /// The clockwise quarter turns after any mirroring (a mirror is a left-right flip applied
    /// first), in degrees: 0, 90, 180 or 270.
    pub fn rotation_deg(self) -> u32 {
        let [mut a, mut b, c, d] = self.matrix;
        if self.mirrored() {
            // Undo the flip (x -> -x) to leave the pure rotation.
            (a, b) = (-a, -b);
        }
        match (a, b, c, d) {
            (0, 1, -1, 0) => 90,
            (-1, 0, 0, -1) => 180,
            (0, -1, 1, 0) => 270,
            _ => 0,
        }
    }

    /// Whether width and height trade places.
    pub fn swaps_sides(self) -> bool {
        self.matrix[0] == 0
    }
}

/// What the container says about the video track.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Width of the frames as they come out of [`decode_frames`], i.e. after `orientation` is
    /// applied (a portrait phone clip stored as 1920x1080 with a 90° matrix reads 1080 here).
    pub width: u32,
    /// Height of the frames as they come out, after orientation.
    pub height: u32,
    /// Frames per second from the sample timestamps: timescale / sample duration when every
    /// sample lasts the same, else samples / summed durations. `None` when absent or nonsensical.
    pub fps: Option<f64>,
    /// What a player shows per second where an edit list plays the samples slower than they were
    /// captured (iPhone slow motion); `None` when it plays them as captured.
    pub playback_fps: Option<f64>,
    /// Samples (coded frames) in the video track.
    pub frame_count: u64,
    /// The codec, e.g. `"h264 (avc1)"`, `"hevc (hvc1)"`.
    pub codec: String,
    /// Duration of the video track in seconds (`mdhd`, else the summed sample durations).
    pub duration_s: Option<f64>,
    /// The display matrix that a player applies, and that [`decode_frames`] applies, so frames
    /// come out upright.
    pub orientation: Orientation,
    /// Whether the samples are in `moof` fragments.
    pub fragmented: bool,
    /// Every frame's presentation time in seconds after frame 0's, in presentation order, from
    /// the sample timestamps; empty when the track has no timescale.
    pub frame_times_s: Vec<f64>,
}

/// Why a video could not be read; [`VideoError::code`] is its API error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    /// The bytes are not an MP4/MOV file at all (empty, an image, random bytes, ...).
    #[error("not an MP4/MOV video: {0}; upload an MP4 or MOV file (H.264 or HEVC)")]
    NotMp4(String),
    /// An MP4 whose structure is broken or cut short.
    #[error("the video file is corrupt or truncated: {0}")]
    Corrupt(String),
    /// An MP4 without a video track (e.g. audio only).
    #[error("the file has no video track")]
    NoVideoTrack,
    /// A video track in a codec or pixel format this server does not decode, named.
    #[error("the video is {0}, which this server does not decode; H.264 (AVC) and HEVC (H.265) 8- or 10-bit are")]
    UnsupportedCodec(String),
    /// A container feature not supported (compact sample sizes).
    #[error("{0} is not supported; upload a regular MP4 or MOV")]
    Unsupported(String),
    /// Frames larger than 4K ([`MAX_LONG_SIDE`] x [`MAX_SHORT_SIDE`]).
    #[error(
        "the video is {width}x{height}; the largest decoded is 4K ({long}x{short}, either orientation): export it at 4K or less",
        long = MAX_LONG_SIDE,
        short = MAX_SHORT_SIDE
    )]
    TooLarge {
        /// Width found.
        width: u32,
        /// Height found.
        height: u32,
    },
    /// The bitstream could not be decoded.
    #[error("the video could not be decoded: {0}")]
    Decode(String),
    /// The decoder libraries are not installed on this server.
    #[error("video decoding is unavailable on this server: {0}")]
    DecoderUnavailable(String),
}

impl From<avdecode::Error> for VideoError {
    fn from(e: avdecode::Error) -> VideoError {
        match e {
            avdecode::Error::Unavailable(why) => VideoError::DecoderUnavailable(why),
            avdecode::Error::Decode(why) => VideoError::Decode(why),
            avdecode::Error::PixelFormat(name) => {
                VideoError::UnsupportedCodec(format!("video in the pixel format {name}"))
            }
        }
    }
}

impl VideoError {
    /// The stable API error code: `VIDEO_UNSUPPORTED` (415) for a codec or container feature not
    /// decoded, `VIDEO_TOO_LARGE` (413) above 4K, `VIDEO_DECODER_UNAVAILABLE` (503) without the
    /// decoder libraries, `VIDEO_DECODE_FAILED` (400) for the rest.
    pub fn code(&self) -> common::error::ErrorCode {
        use common::error::ErrorCode;
        match self {
            VideoError::UnsupportedCodec(_) | VideoError::Unsupported(_) => ErrorCode::VideoUnsupported,
            VideoError::TooLarge { .. } => ErrorCode::VideoTooLarge,
            VideoError::DecoderUnavailable(_) => ErrorCode::VideoDecoderUnavailable,
            _ => ErrorCode::VideoDecodeFailed,
        }
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
/// Decoding starts at the last sync sample (`stss`/`trun` flags; without them every sample is
/// sync) that holds a random-access picture (an H.264 IDR; an HEVC IDR, CRA or BLA), whose
/// presentation index is at most `first`, and that no frame from `first` on is decoded before;
/// failing that, at the first sample. The frames between it and `first` are
/// decoded but neither converted to RGB nor yielded ([`VideoFrames::decoded_count`] counts them),
/// so a seek costs at most one GOP of decoding (about a second of video on phone clips). B-frames
/// are handled: the plan uses the composition offsets, and the decoder reorders.
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
