//! MP4/MOV H.264 video for `/cv/analyze/video`: the container facts of an upload ([`probe`]), its
//! frames decoded to upright RGB one at a time ([`decode_frames`]; a whole clip is never held
//! decoded), and an H.264 MP4 encoder ([`encode_mp4`]) the tests and benchmarks make clips with.
//!
//! Demuxing: the box tree is walked here to find the video track, name its codec and read its
//! `avcC`; the `mp4` crate then parses that track alone (timing, sample sizes, chunk tables,
//! matrix: see `parse_tables`). `mp4::Mp4Reader::read_header` is not used because it parses
//! every track and fails the whole file on things a video decoder does not care about: a
//! QuickTime `.mov` with an AAC track (version-1 sound description, as cameras and ffmpeg write
//! it) is rejected outright, and so is an `avc1` entry whose `avcC` is not its first child box.
//! Its sample lookup also panics or allocates a sample's claimed size before checking it
//! (`read_sample`), so sample offsets and sizes are resolved here against the bytes received.
//! Edit lists are ignored: every coded frame is decoded, including any an edit list hides.
//!
//! Decoding: OpenH264 (compiled from its bundled source) gets Annex B access units: each
//! length-prefixed NAL unit of a sample gets a start code, and the `avcC` parameter sets go in
//! front of the first sample and of every IDR. OpenH264 reorders B-frame streams into
//! presentation order itself (by picture order count); frames it still holds at the end are
//! flushed, so none are lost.
//!
//! Every failure is a [`VideoError`] (API code `VIDEO_DECODE_FAILED`); nothing here panics on
//! input, and the third-party parsing and decoding runs under `catch_unwind` as a second line.

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::encoder::{
    Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, QpRange, RateControlMode, UsageType,
};
use openh264::formats::{RgbSliceU8, YUVBuffer, YUVSource};
use openh264::OpenH264API;

use crate::frames::DecodedFrame;

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

/// Why a video could not be read or written. Every variant is the API error `VIDEO_DECODE_FAILED`
/// (see [`VideoError::code`]); the messages tell the client what to change.
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
    /// [`encode_mp4`] could not encode the frames it was given.
    #[error("could not encode the video: {0}")]
    Encode(String),
}

impl VideoError {
    /// The stable API error code: `VIDEO_DECODE_FAILED` for every variant.
    pub fn code(&self) -> common::error::ErrorCode {
        common::error::ErrorCode::VideoDecodeFailed
    }
}

/// Reads the container facts of an MP4/MOV upload without decoding any frame.
pub fn probe(bytes: &[u8]) -> Result<VideoInfo, VideoError> {
    demux_guarded(bytes).map(|track| track.info)
}

/// Opens an MP4/MOV upload for decoding: its [`VideoInfo`] and an iterator over its frames in
/// presentation order, upright, as RGB, decoded one at a time and stopping after `max_frames`.
pub fn decode_frames(bytes: &[u8], max_frames: Option<usize>) -> Result<(VideoInfo, VideoFrames<'_>), VideoError> {
    let track = demux_guarded(bytes)?;
    let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
    // Flushing after every decode (the crate's default) forces out pictures OpenH264 is holding
    // to reorder, and on a B-frame stream it then fails mid-clip (error 16384 on the x264
    // fixture); the final flush in `advance` gets the held pictures out in order instead.
    let decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| VideoError::Decode(format!("could not start the decoder: {e}")))?;
    let mut param_sets = Vec::new();
    for nal in track.avcc.sps.iter().chain(&track.avcc.pps) {
        param_sets.extend_from_slice(&START_CODE);
        param_sets.extend_from_slice(nal);
    }
    let info = track.info.clone();
    let frames = VideoFrames {
        data: bytes,
        samples: track.samples,
        next_sample: 0,
        length_size: track.avcc.length_size,
        param_sets,
        decoder: Some(decoder),
        rotation: info.rotation_deg,
        remaining: max_frames.unwrap_or(usize::MAX),
        emitted: 0,
        pending: VecDeque::new(),
        annexb: Vec::new(),
        scratch: Vec::new(),
        fed_any: false,
        flushed: false,
    };
    Ok((info, frames))
}

/// The frames of a video, decoded one at a time: `Ok` frames named `frame_000000`, ... in
/// presentation order, upright, as RGB8. An `Err` is the last item.
pub struct VideoFrames<'a> {
    data: &'a [u8],
    samples: Vec<SampleLoc>,
    next_sample: usize,
    length_size: usize,
    /// The `avcC` SPS and PPS in Annex B form, put in front of the first sample and each IDR.
    param_sets: Vec<u8>,
    /// `None` once the iteration is over (the decoder's buffers are freed early).
    decoder: Option<Decoder>,
    rotation: u32,
    remaining: usize,
    emitted: usize,
    /// Pictures handed out by the final flush, converted and waiting to be yielded.
    pending: VecDeque<DecodedFrame>,
    /// The current sample in Annex B form (reused).
    annexb: Vec<u8>,
    /// The picture before rotation (reused; only for rotated clips).
    scratch: Vec<u8>,
    /// Whether an access unit has reached the decoder (the first gets the parameter sets).
    fed_any: bool,
    flushed: bool,
}

impl Iterator for VideoFrames<'_> {
    type Item = Result<DecodedFrame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            self.finish();
            return None;
        }
        let step = match self.pending.pop_front() {
            Some(frame) => Ok(Some(frame)),
            None if self.decoder.is_none() => return None,
            None => catch_unwind(AssertUnwindSafe(|| self.advance()))
                .unwrap_or_else(|_| Err(VideoError::Decode("the decoder failed on this stream".to_string()))),
        };
        match step {
            Ok(Some(frame)) => {
                self.remaining -= 1;
                self.emitted += 1;
                Some(Ok(frame))
            }
            Ok(None) => {
                self.finish();
                None
            }
            Err(e) => {
                self.finish();
                Some(Err(e))
            }
        }
    }
}

impl VideoFrames<'_> {
    /// Feeds samples until the decoder hands out a picture; at the end, flushes what it holds.
    fn advance(&mut self) -> Result<Option<DecodedFrame>, VideoError> {
        let Some(decoder) = self.decoder.as_mut() else { return Ok(None) };
        while let Some(loc) = self.samples.get(self.next_sample).copied() {
            let number = self.next_sample;
            self.next_sample += 1;
            let sample = sample_bytes(self.data, loc).ok_or_else(|| {
                VideoError::Corrupt(format!(
                    "frame data {} of {} ({} bytes at offset {}) lies past the end of the {}-byte upload",
                    number + 1,
                    self.samples.len(),
                    loc.size,
                    loc.offset,
                    self.data.len()
                ))
            })?;
            avcc_to_annexb(sample, self.length_size, &self.param_sets, !self.fed_any, &mut self.annexb)
                .map_err(|e| VideoError::Corrupt(format!("frame data {}: {e}", number + 1)))?;
            if self.annexb.is_empty() {
                continue;
            }
            self.fed_any = true;
            match decoder.decode(&self.annexb) {
                Ok(Some(yuv)) => return yuv_to_frame(&yuv, self.rotation, self.emitted, &mut self.scratch).map(Some),
                Ok(None) => {}
                Err(e) => {
                    return Err(VideoError::Decode(format!("frame data {} of {}: {e}", number + 1, self.samples.len())))
                }
            }
        }
        if !self.flushed {
            self.flushed = true;
            let held = decoder.flush_remaining().map_err(|e| VideoError::Decode(format!("final flush: {e}")))?;
            // At most the reorder depth (a handful of pictures), not the clip.
            for (i, yuv) in held.iter().take(self.remaining).enumerate() {
                self.pending.push_back(yuv_to_frame(yuv, self.rotation, self.emitted + i, &mut self.scratch)?);
            }
        }
        Ok(self.pending.pop_front())
    }

    /// Ends the iteration and frees the decoder.
    fn finish(&mut self) {
        self.decoder = None;
        self.pending.clear();
        self.next_sample = self.samples.len();
    }
}

/// Encodes RGB frames (all the same size, even width and height, at most 3840x2160) as H.264 in an
/// MP4 at `fps`, each frame one sample. The track timescale is `fps * 1000` rounded with a sample
/// delta of 1000, so [`probe`] reads back `fps` exactly for integer and 1/1000-step rates.
/// Quality is fixed and high (QP ≤ 26) so small bright objects such as a 10 px ball survive.
pub fn encode_mp4<I>(frames: I, fps: f64) -> Result<Vec<u8>, VideoError>
where
    I: IntoIterator,
    I::Item: Borrow<image::RgbImage>,
{
    let timescale = fps * 1000.0;
    if !(fps.is_finite() && fps > 0.0 && fps <= MAX_FPS && timescale.round() >= 1.0) {
        return Err(VideoError::Encode(format!("fps must be in (0, {MAX_FPS}], got {fps}")));
    }
    let timescale = timescale.round() as u32;
    let mut frames = frames.into_iter();
    let first = frames.next().ok_or_else(|| VideoError::Encode("no frames to encode".to_string()))?;
    let (width, height) = first.borrow().dimensions();
    if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
        return Err(VideoError::Encode(format!(
            "frames are {width}x{height}; H.264 4:2:0 needs an even, non-zero width and height"
        )));
    }
    if width.max(height) > 3840 || width.min(height) > 2160 {
        return Err(VideoError::Encode(format!("frames are {width}x{height}; OpenH264 encodes at most 3840x2160")));
    }
    // Rate control off: OpenH264's fixed QP (26), clipped to 10..=26 where adaptive quantisation
    // moves it. That keeps a 10 px white ball crisp (mean error well under 1 level on the test
    // clips) at any frame rate, and avoids the rate controller's warning on stderr about frame
    // skipping, which stays off so every frame becomes a sample.
    let config = EncoderConfig::new()
        .rate_control_mode(RateControlMode::Off)
        // OpenH264 clips this to 1..=60 internally; the container carries the real rate.
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        // The non-real-time usage types fail OpenH264's parameter check.
        .usage_type(UsageType::CameraVideoRealTime)
        .skip_frames(false)
        .qp(QpRange::new(10, 26))
        .intra_frame_period(IntraFramePeriod::from_num_frames(fps.round().max(1.0) as u32));
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| VideoError::Encode(format!("could not start the encoder: {e}")))?;

    let mut samples: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut sps: Option<Vec<u8>> = None;
    let mut pps: Option<Vec<u8>> = None;
    for (index, frame) in std::iter::once(first).chain(frames).enumerate() {
        let frame = frame.borrow();
        if frame.dimensions() != (width, height) {
            let (w, h) = frame.dimensions();
            return Err(VideoError::Encode(format!("frame {index} is {w}x{h}, the first {width}x{height}")));
        }
        let yuv = YUVBuffer::from_rgb8_source(RgbSliceU8::new(frame.as_raw(), (width as usize, height as usize)));
        let stream = encoder.encode(&yuv).map_err(|e| VideoError::Encode(format!("frame {index}: {e}")))?;
        let mut sample = Vec::new();
        for layer in (0..stream.num_layers()).filter_map(|i| stream.layer(i)) {
            for nal in (0..layer.nal_count()).filter_map(|i| layer.nal_unit(i)).map(strip_start_code) {
                match nal.first().map(|b| b & 0x1f) {
                    // Parameter sets go in the avcC box, not in the samples (the avc1 rule).
                    Some(NAL_SPS) => {
                        sps.get_or_insert_with(|| nal.to_vec());
                    }
                    Some(NAL_PPS) => {
                        pps.get_or_insert_with(|| nal.to_vec());
                    }
                    Some(_) => {
                        let len =
                            u32::try_from(nal.len()).map_err(|_| VideoError::Encode("NAL unit over 4 GB".into()))?;
                        sample.extend_from_slice(&len.to_be_bytes());
                        sample.extend_from_slice(nal);
                    }
                    None => {}
                }
            }
        }
        if sample.is_empty() {
            return Err(VideoError::Encode(format!("the encoder produced no picture for frame {index}")));
        }
        samples.push((sample, stream.frame_type() == FrameType::IDR));
    }
    let (Some(sps), Some(pps)) = (sps, pps) else {
        return Err(VideoError::Encode("the encoder produced no SPS/PPS".to_string()));
    };
    if sps.len() < 4 {
        return Err(VideoError::Encode("the encoder produced a short SPS".to_string()));
    }
    write_mp4(samples, sps, pps, (width, height), timescale)
        .map_err(|e| VideoError::Encode(format!("writing the MP4: {e}")))
}

fn write_mp4(
    samples: Vec<(Vec<u8>, bool)>,
    sps: Vec<u8>,
    pps: Vec<u8>,
    (width, height): (u32, u32),
    timescale: u32,
) -> Result<Vec<u8>, mp4::Error> {
    let brand = |s: &[u8; 4]| mp4::FourCC::from(*s);
    let config = mp4::Mp4Config {
        major_brand: brand(b"isom"),
        minor_version: 512,
        compatible_brands: vec![brand(b"isom"), brand(b"iso2"), brand(b"avc1"), brand(b"mp41")],
        timescale: 1000,
    };
    let mut writer = mp4::Mp4Writer::write_start(Cursor::new(Vec::new()), &config)?;
    writer.add_track(&mp4::TrackConfig {
        track_type: mp4::TrackType::Video,
        timescale,
        language: "und".to_string(),
        media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
            // encode_mp4 caps both at 3840.
            width: width as u16,
            height: height as u16,
            seq_param_set: sps,
            pic_param_set: pps,
        }),
    })?;
    for (index, (bytes, is_sync)) in samples.into_iter().enumerate() {
        let sample = mp4::Mp4Sample {
            start_time: index as u64 * 1000,
            duration: 1000,
            rendering_offset: 0,
            is_sync,
            bytes: bytes::Bytes::from(bytes),
        };
        writer.write_sample(1, &sample)?;
    }
    writer.write_end()?;
    Ok(writer.into_writer().into_inner())
}

// ---------------------------------------------------------------------------------------------
// Demuxing

const START_CODE: [u8; 4] = [0, 0, 0, 1];
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// Where one sample (coded frame) lies in the file.
#[derive(Debug, Clone, Copy)]
struct SampleLoc {
    offset: u64,
    size: u32,
}

/// The `avcC` decoder configuration.
#[derive(Debug, Default)]
struct AvcC {
    /// Bytes in each NAL unit's length prefix (1, 2, 3 or 4).
    length_size: usize,
    sps: Vec<Vec<u8>>,
    pps: Vec<Vec<u8>>,
}

/// The chosen H.264 video track, ready to decode.
struct Track {
    info: VideoInfo,
    avcc: AvcC,
    samples: Vec<SampleLoc>,
}

/// [`demux`] with any panic in the third-party box parsers turned into an error.
fn demux_guarded(bytes: &[u8]) -> Result<Track, VideoError> {
    catch_unwind(|| demux(bytes))
        .unwrap_or_else(|_| Err(VideoError::Corrupt("the MP4 structure could not be parsed".to_string())))
}

fn demux(data: &[u8]) -> Result<Track, VideoError> {
    if data.is_empty() {
        return Err(VideoError::NotMp4("the body is empty".to_string()));
    }
    let top = top_level_boxes(data)?;
    let moov = top.boxes.iter().find(|b| &b.kind == b"moov").ok_or_else(|| {
        VideoError::Corrupt(match top.truncated {
            Some(kind) => format!("the file ends inside its '{}' box before any 'moov' (movie header)", fourcc(kind)),
            None => "there is no 'moov' box (movie header): the recording was not finalised".to_string(),
        })
    })?;
    if top.truncated == Some(*b"moov") {
        return Err(VideoError::Corrupt("the file ends inside its 'moov' box (movie header)".to_string()));
    }
    let fragmented = top.boxes.iter().any(|b| &b.kind == b"moof");

    let mut video: Vec<TrakBoxes<'_>> = Vec::new();
    let mut first_problem = None;
    for trak in children(moov.body(), "moov")?.into_iter().filter(|b| &b.kind == b"trak") {
        match trak_boxes(trak) {
            Ok(t) if &t.handler == b"vide" => video.push(t),
            Ok(_) => {}
            // A broken audio or metadata track must not stop the video; reported if no video.
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    let Some(chosen) = video.iter().find(|t| is_h264(t.entry.kind)) else {
        return Err(match (video.first(), first_problem) {
            (Some(t), _) => VideoError::UnsupportedCodec(describe_codec(t.entry.kind)),
            (None, Some(e)) => VideoError::Corrupt(e),
            (None, None) => VideoError::NoVideoTrack,
        });
    };
    track_from(*moov, chosen, data.len(), fragmented)
}

fn track_from(moov: RawBox<'_>, t: &TrakBoxes<'_>, data_len: usize, fragmented: bool) -> Result<Track, VideoError> {
    let corrupt = VideoError::Corrupt;
    let tables = parse_tables(moov, t)?;
    if tables.sample_count == 0 {
        return Err(if fragmented {
            VideoError::Unsupported("a fragmented MP4 (frames in 'moof' boxes)".to_string())
        } else {
            corrupt("the video track has no frames".to_string())
        });
    }
    let samples = sample_table(&tables, data_len).map_err(corrupt)?;

    let avcc = t.entry.avcc.ok_or_else(|| corrupt("the H.264 sample entry has no 'avcC' box".to_string()))?;
    let avcc = parse_avcc(avcc).map_err(|e| corrupt(format!("'avcC': {e}")))?;
    if &t.entry.kind == b"avc1" && (avcc.sps.is_empty() || avcc.pps.is_empty()) {
        return Err(corrupt("'avcC' carries no SPS/PPS".to_string()));
    }

    // The sample entry holds the coded size; tkhd the presentation size.
    let (mut width, mut height) = (u32::from(t.entry.width), u32::from(t.entry.height));
    if width == 0 || height == 0 {
        (width, height) = tables.tkhd_size;
    }
    if width == 0 || height == 0 {
        return Err(corrupt("the video track has no frame size".to_string()));
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(VideoError::TooLarge { width, height });
    }
    let rotation_deg = tables.rotation_deg;
    if rotation_deg % 180 == 90 {
        std::mem::swap(&mut width, &mut height);
    }

    let ticks: u64 = tables.stts.iter().map(|&(count, delta)| u64::from(count) * u64::from(delta)).sum();
    let duration_s = match (tables.timescale, tables.duration, ticks) {
        (0, _, _) => None,
        // All-ones is "unknown" in mdhd.
        (ts, d, _) if d > 0 && d != u64::from(u32::MAX) && d != u64::MAX => Some(d as f64 / f64::from(ts)),
        (ts, _, t) if t > 0 => Some(t as f64 / f64::from(ts)),
        _ => None,
    };
    let info = VideoInfo {
        width,
        height,
        fps: container_fps(&tables.stts, tables.timescale),
        frame_count: samples.len() as u64,
        codec: format!("h264 ({})", fourcc(t.entry.kind)),
        duration_s,
        rotation_deg,
    };
    Ok(Track { info, avcc, samples })
}

/// The video track's timing and sample tables, as the `mp4` crate parsed them.
struct Tables {
    timescale: u32,
    duration: u64,
    tkhd_size: (u32, u32),
    rotation_deg: u32,
    /// `stts`: (sample count, sample delta).
    stts: Vec<(u32, u32)>,
    /// `stsc`: (first chunk, samples per chunk).
    stsc: Vec<(u32, u32)>,
    sample_count: u32,
    /// `stsz`: the size of every sample when non-zero, else `sample_sizes` holds them.
    fixed_size: u32,
    sample_sizes: Vec<u32>,
    chunk_offsets: Vec<u64>,
}

/// Has the `mp4` crate parse the chosen track alone: a movie box holding the file's `mvhd` and a
/// track with just its `tkhd` and `mdia` is parsed with `MoovBox::read_box`. The other tracks
/// never reach the crate, and the H.264 sample entry's type is blanked in the copy so the crate
/// skips it (its `avc1` parser insists that `avcC` is the first child box; [`parse_avcc`] reads
/// the entry here instead).
fn parse_tables(moov: RawBox<'_>, t: &TrakBoxes<'_>) -> Result<Tables, VideoError> {
    let corrupt = |e: String| VideoError::Corrupt(e);
    let mvhd =
        find(&children(moov.body(), "moov")?, b"mvhd").ok_or_else(|| corrupt("there is no 'mvhd' box".into()))?;
    let mut mdia = t.mdia.whole.to_vec();
    if let Some(at) = t.entry.kind_at {
        if let Some(kind) = mdia.get_mut(at..at + 4) {
            kind.copy_from_slice(b"skip");
        }
    }
    let trak_len = 8 + t.tkhd.whole.len() + mdia.len();
    let moov_len = 8 + mvhd.whole.len() + trak_len;
    let (Ok(trak_len), Ok(moov_len)) = (u32::try_from(trak_len), u32::try_from(moov_len)) else {
        return Err(corrupt("the movie header is over 4 GB".into()));
    };
    let mut synthetic = Vec::with_capacity(moov_len as usize);
    synthetic.extend_from_slice(&moov_len.to_be_bytes());
    synthetic.extend_from_slice(b"moov");
    synthetic.extend_from_slice(mvhd.whole);
    synthetic.extend_from_slice(&trak_len.to_be_bytes());
    synthetic.extend_from_slice(b"trak");
    synthetic.extend_from_slice(t.tkhd.whole);
    synthetic.extend_from_slice(&mdia);

    let mut cursor = Cursor::new(synthetic.as_slice());
    cursor.set_position(8);
    let parsed = <mp4::MoovBox as mp4::ReadBox<_>>::read_box(&mut cursor, u64::from(moov_len))
        .map_err(|e| corrupt(format!("the video track's tables: {e}")))?;
    let trak = parsed.traks.into_iter().next().ok_or_else(|| corrupt("the video track could not be read".into()))?;
    let stbl = trak.mdia.minf.stbl;
    let chunk_offsets = match (stbl.stco, stbl.co64) {
        (Some(stco), _) => stco.entries.into_iter().map(u64::from).collect(),
        (None, Some(co64)) => co64.entries,
        (None, None) => return Err(corrupt("the video track has no 'stco'/'co64' box".into())),
    };
    let m = &trak.tkhd.matrix;
    Ok(Tables {
        timescale: trak.mdia.mdhd.timescale,
        duration: trak.mdia.mdhd.duration,
        tkhd_size: (u32::from(trak.tkhd.width.value()), u32::from(trak.tkhd.height.value())),
        rotation_deg: rotation_from_matrix(m.a, m.b, m.c, m.d),
        stts: stbl.stts.entries.iter().map(|e| (e.sample_count, e.sample_delta)).collect(),
        stsc: stbl.stsc.entries.iter().map(|e| (e.first_chunk, e.samples_per_chunk)).collect(),
        sample_count: stbl.stsz.sample_count,
        fixed_size: stbl.stsz.sample_size,
        sample_sizes: stbl.stsz.sample_sizes,
        chunk_offsets,
    })
}

/// Frames per second from the sample durations; see [`VideoInfo::fps`].
fn container_fps(stts: &[(u32, u32)], timescale: u32) -> Option<f64> {
    if timescale == 0 {
        return None;
    }
    // Muxers often give the final sample a duration of its own; judge the rest.
    let body = match stts.split_last() {
        Some((&(1, _), rest)) if !rest.is_empty() => rest,
        _ => stts,
    };
    let first_delta = body.first().map(|&(_, delta)| delta)?;
    let fps = if first_delta > 0 && body.iter().all(|&(_, delta)| delta == first_delta) {
        f64::from(timescale) / f64::from(first_delta)
    } else {
        let samples: u64 = stts.iter().map(|&(count, _)| u64::from(count)).sum();
        let ticks: u64 = stts.iter().map(|&(count, delta)| u64::from(count) * u64::from(delta)).sum();
        if ticks == 0 {
            return None;
        }
        samples as f64 * f64::from(timescale) / ticks as f64
    };
    (fps.is_finite() && fps > 0.0 && fps <= MAX_FPS).then_some(fps)
}

/// Clockwise rotation a player applies for a `tkhd` matrix (16.16 fixed point `a b c d`); the
/// matrix maps (x, y) to (a·x + c·y, b·x + d·y), so `0 1 -1 0` is a quarter turn clockwise (the
/// matrix of a phone held upright). The larger of |a| and |b| decides, so rounding noise in a
/// computed matrix does not matter; mirrored matrices read as 0.
fn rotation_from_matrix(a: i32, b: i32, c: i32, d: i32) -> u32 {
    let (a, b, c, d) = (i64::from(a), i64::from(b), i64::from(c), i64::from(d));
    if a.abs() >= b.abs() {
        if a < 0 && d < 0 {
            180
        } else {
            0
        }
    } else if b > 0 && c < 0 {
        90
    } else if b < 0 && c > 0 {
        270
    } else {
        0
    }
}

/// Resolves every sample's offset and size from the chunk tables, in decode order.
fn sample_table(t: &Tables, data_len: usize) -> Result<Vec<SampleLoc>, String> {
    let total = t.sample_count as usize;
    // A fixed sample size with a huge count is a few bytes of table claiming gigabytes: bound the
    // count by what the upload could hold before looping over it.
    if t.fixed_size > 0 && u64::from(t.fixed_size) * u64::from(t.sample_count) > data_len as u64 {
        return Err(format!(
            "the sample sizes ({} x {} bytes) exceed the {data_len}-byte file",
            t.sample_count, t.fixed_size
        ));
    }
    if t.fixed_size == 0 && t.sample_sizes.len() != total {
        return Err("'stsz' lists fewer sizes than samples".to_string());
    }
    let size_of = |i: usize| if t.fixed_size > 0 { t.fixed_size } else { t.sample_sizes.get(i).copied().unwrap_or(0) };
    if t.stsc.first().map(|&(first_chunk, _)| first_chunk) != Some(1) {
        return Err("'stsc' does not start at chunk 1".to_string());
    }
    let mut out = Vec::with_capacity(total);
    let mut entry = 0;
    for (chunk_index, &chunk_offset) in t.chunk_offsets.iter().enumerate() {
        if out.len() >= total {
            break;
        }
        let chunk_number = chunk_index as u64 + 1;
        while t.stsc.get(entry + 1).is_some_and(|&(first_chunk, _)| u64::from(first_chunk) <= chunk_number) {
            entry += 1;
        }
        let per_chunk = t.stsc.get(entry).map_or(0, |&(_, per_chunk)| per_chunk);
        let mut offset = chunk_offset;
        for _ in 0..per_chunk {
            if out.len() >= total {
                break;
            }
            let size = size_of(out.len());
            out.push(SampleLoc { offset, size });
            offset = offset.checked_add(u64::from(size)).ok_or("a sample offset overflows")?;
        }
    }
    if out.len() < total {
        return Err(format!("the chunk tables place {} of {total} samples", out.len()));
    }
    Ok(out)
}

/// The bytes of one sample, or `None` where the upload ends before it.
fn sample_bytes(data: &[u8], loc: SampleLoc) -> Option<&[u8]> {
    let start = usize::try_from(loc.offset).ok()?;
    let end = start.checked_add(usize::try_from(loc.size).ok()?)?;
    data.get(start..end)
}

/// Rewrites one sample (length-prefixed NAL units) as an Annex B access unit in `out`, with the
/// parameter sets in front when `force_params` or when it holds an IDR without its own SPS.
fn avcc_to_annexb(
    sample: &[u8],
    length_size: usize,
    param_sets: &[u8],
    force_params: bool,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    out.clear();
    let nals = split_nals(sample, length_size)?;
    let has_idr = nals.iter().any(|n| n.first().is_some_and(|b| b & 0x1f == NAL_IDR));
    let has_sps = nals.iter().any(|n| n.first().is_some_and(|b| b & 0x1f == NAL_SPS));
    if nals.is_empty() {
        return Ok(());
    }
    if force_params || (has_idr && !has_sps) {
        out.extend_from_slice(param_sets);
    }
    for nal in nals {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
    }
    Ok(())
}

/// Splits a sample into its NAL units; every length prefix must fit in the sample.
fn split_nals(mut sample: &[u8], length_size: usize) -> Result<Vec<&[u8]>, String> {
    let mut nals = Vec::new();
    while !sample.is_empty() {
        let (prefix, rest) = sample
            .split_at_checked(length_size)
            .ok_or_else(|| format!("{} stray bytes after the last NAL unit", sample.len()))?;
        let len = prefix.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let (nal, rest) = rest
            .split_at_checked(len)
            .ok_or_else(|| format!("a NAL unit claims {len} bytes, {} remain in the sample", rest.len()))?;
        if !nal.is_empty() {
            nals.push(nal);
        }
        sample = rest;
    }
    Ok(nals)
}

/// Converts one decoded picture to an upright RGB frame. `scratch` is reused across frames for
/// the unrotated picture when a rotation is needed (a fresh multi-MB buffer costs page faults).
fn yuv_to_frame(
    yuv: &DecodedYUV<'_>,
    rotation: u32,
    index: usize,
    scratch: &mut Vec<u8>,
) -> Result<DecodedFrame, VideoError> {
    let (w, h) = yuv.dimensions();
    let (width, height) = (u32::try_from(w).unwrap_or(u32::MAX), u32::try_from(h).unwrap_or(u32::MAX));
    if width == 0 || height == 0 {
        return Err(VideoError::Decode("the decoder returned an empty picture".to_string()));
    }
    // The stream's own SPS decides the picture size, whatever the container said.
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(VideoError::TooLarge { width, height });
    }
    let name = format!("frame_{index:06}");
    if rotation == 0 {
        let mut rgb = vec![0u8; w * h * 3];
        yuv.write_rgb8(&mut rgb);
        return Ok(DecodedFrame { name, width, height, rgb });
    }
    scratch.resize(w * h * 3, 0);
    yuv.write_rgb8(scratch);
    let (rgb, width, height) = rotate_rgb(scratch, width, height, rotation);
    Ok(DecodedFrame { name, width, height, rgb })
}

/// Rotates an RGB8 image clockwise by 90, 180 or 270 degrees (anything else: a copy).
fn rotate_rgb(rgb: &[u8], width: u32, height: u32, rotation: u32) -> (Vec<u8>, u32, u32) {
    let (w, h) = (width as usize, height as usize);
    let (src, _) = rgb.as_chunks::<3>();
    match rotation {
        // A half turn reverses the pixel order.
        180 => (src.iter().rev().flatten().copied().collect(), width, height),
        90 | 270 => {
            let mut out = vec![0u8; rgb.len()];
            let (dst, _) = out.as_chunks_mut::<3>();
            // Output is h wide and w tall. Clockwise: source (x, y) lands at (h-1-y, x);
            // counter-clockwise (270): at (y, w-1-x).
            for (y, row) in src.chunks_exact(w).enumerate() {
                for (x, px) in row.iter().enumerate() {
                    let (ox, oy) = if rotation == 90 { (h - 1 - y, x) } else { (y, w - 1 - x) };
                    if let Some(to) = dst.get_mut(oy * h + ox) {
                        *to = *px;
                    }
                }
            }
            (out, height, width)
        }
        _ => (rgb.to_vec(), width, height),
    }
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    nal.strip_prefix(&[0, 0, 0, 1][..]).or_else(|| nal.strip_prefix(&[0, 0, 1][..])).unwrap_or(nal)
}

fn is_h264(kind: [u8; 4]) -> bool {
    &kind == b"avc1" || &kind == b"avc3"
}

/// A client-facing name for a sample entry's codec.
fn describe_codec(kind: [u8; 4]) -> String {
    let name = match &kind {
        b"hvc1" | b"hev1" => "HEVC/H.265",
        b"dvh1" | b"dvhe" => "Dolby Vision (HEVC)",
        b"av01" => "AV1",
        b"vp09" => "VP9",
        b"vp08" => "VP8",
        b"mp4v" => "MPEG-4 Part 2",
        b"apch" | b"apcn" | b"apcs" | b"apco" | b"ap4h" | b"ap4x" => "Apple ProRes",
        b"jpeg" | b"mjpa" | b"mjpb" => "Motion JPEG",
        b"\0\0\0\0" => return "a video track without a sample description".to_string(),
        _ => return format!("an unknown codec ('{}')", fourcc(kind)),
    };
    format!("{name} ({})", fourcc(kind))
}

fn fourcc(kind: [u8; 4]) -> String {
    kind.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '?' }).collect()
}

// ---------------------------------------------------------------------------------------------
// Box walking

/// One ISO-BMFF box inside the upload.
#[derive(Debug, Clone, Copy)]
struct RawBox<'a> {
    kind: [u8; 4],
    /// The whole box, header included.
    whole: &'a [u8],
    /// 8, or 16 with a 64-bit size.
    header_len: usize,
}

impl<'a> RawBox<'a> {
    fn body(&self) -> &'a [u8] {
        self.whole.get(self.header_len..).unwrap_or(&[])
    }
}

/// Reads the box header at the start of `data`: type, header length, whole length (unchecked
/// against `data`). `None` if fewer bytes than a header remain or the size is below the header.
fn box_header(data: &[u8]) -> Option<([u8; 4], usize, u64)> {
    let size = u32::from_be_bytes(data.get(0..4)?.try_into().ok()?);
    let kind: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    let (header_len, len) = match size {
        // Size 0: the box runs to the end of its parent.
        0 => (8, data.len() as u64),
        1 => (16, u64::from_be_bytes(data.get(8..16)?.try_into().ok()?)),
        n => (8, u64::from(n)),
    };
    (len >= header_len as u64).then_some((kind, header_len, len))
}

/// The boxes directly inside `data`, which must tile it exactly (a few trailing bytes, such as
/// QuickTime's 4-byte terminator, are ignored).
fn children<'a>(data: &'a [u8], parent: &str) -> Result<Vec<RawBox<'a>>, VideoError> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 8 {
        let (kind, header_len, len) =
            box_header(rest).ok_or_else(|| VideoError::Corrupt(format!("a box inside '{parent}' has a bad size")))?;
        let len = usize::try_from(len).ok().filter(|&l| l <= rest.len()).ok_or_else(|| {
            VideoError::Corrupt(format!("the '{}' box inside '{parent}' runs past its end", fourcc(kind)))
        })?;
        let (whole, tail) = rest.split_at(len);
        out.push(RawBox { kind, whole, header_len });
        rest = tail;
    }
    Ok(out)
}

struct TopLevel<'a> {
    boxes: Vec<RawBox<'a>>,
    /// The type of a last box that the upload ends inside of (kept, cut short, in `boxes`).
    truncated: Option<[u8; 4]>,
}

/// Box types a file can start with; anything else is not an MP4/MOV.
const FIRST_BOXES: [&[u8; 4]; 12] =
    [b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp", b"sidx", b"junk", b"PICT"];

fn top_level_boxes(data: &[u8]) -> Result<TopLevel<'_>, VideoError> {
    match box_header(data) {
        Some((kind, _, _)) if FIRST_BOXES.contains(&&kind) => {}
        _ => return Err(VideoError::NotMp4(sniff(data))),
    }
    let mut boxes = Vec::new();
    let mut rest = data;
    while rest.len() >= 8 {
        let Some((kind, header_len, len)) = box_header(rest) else {
            return Err(VideoError::Corrupt("a top-level box has a bad size".to_string()));
        };
        match usize::try_from(len).ok().filter(|&l| l <= rest.len()) {
            Some(len) => {
                let (whole, tail) = rest.split_at(len);
                boxes.push(RawBox { kind, whole, header_len });
                rest = tail;
            }
            None => {
                // A cut-short upload: keep what arrived; frames past the end fail when reached.
                boxes.push(RawBox { kind, whole: rest, header_len });
                return Ok(TopLevel { boxes, truncated: Some(kind) });
            }
        }
    }
    Ok(TopLevel { boxes, truncated: None })
}

/// What non-MP4 bytes look like, for the error message.
fn sniff(data: &[u8]) -> String {
    let looks = |what: &str| format!("the body looks like {what}");
    if data.starts_with(b"\x89PNG") {
        looks("a PNG image")
    } else if data.starts_with(&[0xff, 0xd8, 0xff]) {
        looks("a JPEG image")
    } else if data.starts_with(b"GIF8") {
        looks("a GIF image")
    } else if data.starts_with(b"PK\x03\x04") {
        looks("a zip archive (send frame zips to /cv/analyze)")
    } else if data.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        looks("a WebM/Matroska video")
    } else if data.starts_with(b"RIFF") {
        looks("a RIFF (AVI/WAV) file")
    } else if data.len() < 8 {
        format!("the body is only {} bytes", data.len())
    } else {
        "the body does not start with an MP4 box".to_string()
    }
}

/// The boxes of one track that choosing and decoding it needs.
struct TrakBoxes<'a> {
    handler: [u8; 4],
    tkhd: RawBox<'a>,
    mdia: RawBox<'a>,
    entry: SampleEntry<'a>,
}

/// The first sample description of a track.
struct SampleEntry<'a> {
    /// Its four-character code (`avc1`, `hvc1`, ...), zeros when there is none.
    kind: [u8; 4],
    /// Where that code sits in the `mdia` box's bytes.
    kind_at: Option<usize>,
    width: u16,
    height: u16,
    /// The `avcC` box body, for H.264 entries.
    avcc: Option<&'a [u8]>,
}

fn find<'a>(boxes: &[RawBox<'a>], kind: &[u8; 4]) -> Option<RawBox<'a>> {
    boxes.iter().find(|b| &b.kind == kind).copied()
}

fn trak_boxes(trak: RawBox<'_>) -> Result<TrakBoxes<'_>, String> {
    let err = |e: VideoError| e.to_string();
    let missing = |name: &str| format!("a track has no '{name}' box");
    let trak_children = children(trak.body(), "trak").map_err(err)?;
    let tkhd = find(&trak_children, b"tkhd").ok_or_else(|| missing("tkhd"))?;
    let mdia = find(&trak_children, b"mdia").ok_or_else(|| missing("mdia"))?;
    let mdia_children = children(mdia.body(), "mdia").map_err(err)?;
    // hdlr: version/flags (4), pre_defined or QuickTime component type (4), handler type (4).
    let handler = find(&mdia_children, b"hdlr")
        .and_then(|h| h.body().get(8..12)?.try_into().ok())
        .ok_or_else(|| missing("hdlr"))?;
    let minf = children(find(&mdia_children, b"minf").ok_or_else(|| missing("minf"))?.body(), "minf").map_err(err)?;
    let stbl = children(find(&minf, b"stbl").ok_or_else(|| missing("stbl"))?.body(), "stbl").map_err(err)?;
    let entry = match find(&stbl, b"stsd") {
        Some(stsd) => sample_entry(stsd.body(), mdia.whole)?,
        None => SampleEntry { kind: [0; 4], kind_at: None, width: 0, height: 0, avcc: None },
    };
    Ok(TrakBoxes { handler, tkhd, mdia, entry })
}

/// The first entry of an `stsd` body (version/flags (4), entry count (4), then the entries);
/// `mdia` is the enclosing box, to locate the entry's type code in it.
fn sample_entry<'a>(stsd: &'a [u8], mdia: &'a [u8]) -> Result<SampleEntry<'a>, String> {
    let none = SampleEntry { kind: [0; 4], kind_at: None, width: 0, height: 0, avcc: None };
    let Some(entries) = stsd.get(8..).filter(|e| e.len() >= 8) else { return Ok(none) };
    let (kind, header_len, len) = box_header(entries).ok_or("the sample description has a bad size")?;
    let len =
        usize::try_from(len).ok().filter(|&l| l <= entries.len()).ok_or("the sample description runs past its box")?;
    let body = entries.get(header_len..len).unwrap_or(&[]);
    // `entries` lies inside `mdia`, so the distance between their starts is an offset into it.
    let kind_at = (entries.as_ptr() as usize).checked_sub(mdia.as_ptr() as usize).map(|at| at + 4);
    // A visual sample entry: 6 reserved, data reference index (2), 16 pre-defined/reserved, then
    // width and height (2 each), ... 78 bytes before its child boxes (avcC, colr, pasp, ...).
    let u16_at = |at: usize| body.get(at..at + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let avcc = match body.get(78..) {
        Some(rest) if is_h264(kind) => children(rest, fourcc(kind).as_str())
            .map_err(|e| e.to_string())?
            .iter()
            .find(|b| &b.kind == b"avcC")
            .map(|b| b.body()),
        _ => None,
    };
    Ok(SampleEntry { kind, kind_at, width: u16_at(24), height: u16_at(26), avcc })
}

/// Parses an `avcC` body (ISO/IEC 14496-15 AVCDecoderConfigurationRecord): version, profile,
/// compatibility, level, length size (low 2 bits), SPS count (low 5 bits) and SPSs, PPS count and
/// PPSs, each set behind a 16-bit length. Trailing High-profile fields are ignored.
fn parse_avcc(body: &[u8]) -> Result<AvcC, String> {
    let length_size = usize::from(body.get(4).ok_or_else(cut_short)? & 0x03) + 1;
    let mut at = 6;
    let sps = parameter_sets(body, &mut at, usize::from(body.get(5).ok_or_else(cut_short)? & 0x1f))?;
    let pps_count = usize::from(*body.get(at).ok_or_else(cut_short)?);
    at += 1;
    let pps = parameter_sets(body, &mut at, pps_count)?;
    Ok(AvcC { length_size, sps, pps })
}

fn parameter_sets(body: &[u8], at: &mut usize, count: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut sets = Vec::with_capacity(count);
    for _ in 0..count {
        let len =
            body.get(*at..*at + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))).ok_or_else(cut_short)?;
        sets.push(body.get(*at + 2..*at + 2 + len).ok_or_else(cut_short)?.to_vec());
        *at += 2 + len;
    }
    Ok(sets)
}

fn cut_short() -> String {
    "it is cut short".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREEN: [u8; 3] = [30, 140, 30];

    /// Clips made by ffmpeg/x264/x265 (how: tests/data/video/README.md).
    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/video/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Green with a white disc of radius `r` (a 2r px ball) at (cx, cy).
    fn disc_frame(w: u32, h: u32, cx: f64, cy: f64, r: f64) -> image::RgbImage {
        image::RgbImage::from_fn(w, h, |x, y| {
            let d = ((f64::from(x) - cx).powi(2) + (f64::from(y) - cy).powi(2)).sqrt();
            image::Rgb(if d <= r { [255, 255, 255] } else { GREEN })
        })
    }

    /// Centroid of the bright pixels (all channels > 180), or `None` when there are none.
    fn bright_centroid(f: &DecodedFrame) -> Option<(f64, f64)> {
        let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
        for (i, px) in f.rgb.chunks_exact(3).enumerate() {
            if px.iter().all(|&c| c > 180) {
                sx += (i % f.width as usize) as f64;
                sy += (i / f.width as usize) as f64;
                n += 1.0;
            }
        }
        (n > 0.0).then(|| (sx / n, sy / n))
    }

    fn mean_abs_diff(f: &DecodedFrame, img: &image::RgbImage) -> f64 {
        assert_eq!((f.width, f.height), img.dimensions());
        let total: u64 = f.rgb.iter().zip(img.as_raw()).map(|(&a, &b)| u64::from(a.abs_diff(b))).sum();
        total as f64 / f.rgb.len() as f64
    }

    fn decode_all(bytes: &[u8]) -> (VideoInfo, Vec<DecodedFrame>) {
        let (info, frames) = decode_frames(bytes, None).expect("opens");
        let frames = frames.collect::<Result<Vec<_>, _>>().expect("decodes");
        (info, frames)
    }

    fn clip_320x240(n: usize, fps: f64) -> (Vec<image::RgbImage>, Vec<u8>) {
        let src: Vec<_> = (0..n).map(|i| disc_frame(320, 240, 20.0 + 5.0 * i as f64, 120.0, 5.0)).collect();
        let bytes = encode_mp4(&src, fps).expect("encodes");
        (src, bytes)
    }

    #[test]
    fn roundtrip_keeps_count_order_fps_and_pixels() {
        let (src, bytes) = clip_320x240(48, 120.0);
        let info = probe(&bytes).expect("probes");
        assert_eq!(
            info,
            VideoInfo {
                width: 320,
                height: 240,
                fps: Some(120.0),
                frame_count: 48,
                codec: "h264 (avc1)".to_string(),
                duration_s: Some(0.4),
                rotation_deg: 0,
            }
        );
        let (_, frames) = decode_all(&bytes);
        assert_eq!(frames.len(), 48);
        for (i, (f, img)) in frames.iter().zip(&src).enumerate() {
            assert_eq!(f.name, format!("frame_{i:06}"));
            assert_eq!((f.width, f.height, f.rgb.len()), (320, 240, 320 * 240 * 3));
            // The 10 px ball is where it was drawn, in every frame: order kept, ball visible.
            let (x, y) = bright_centroid(f).unwrap_or_else(|| panic!("frame {i}: the ball is gone"));
            assert!((x - (20.0 + 5.0 * i as f64)).abs() < 0.75 && (y - 120.0).abs() < 0.75, "frame {i}: ({x}, {y})");
            let mad = mean_abs_diff(f, img);
            assert!(mad < 1.0, "frame {i}: mean abs diff {mad}");
        }
    }

    #[test]
    fn hd_clip_at_60_fps() {
        let src: Vec<_> = (0..4).map(|i| disc_frame(1280, 720, 100.0 + 40.0 * f64::from(i), 360.0, 5.0)).collect();
        let bytes = encode_mp4(src.iter(), 60.0).expect("encodes");
        let (info, frames) = decode_all(&bytes);
        assert_eq!((info.width, info.height, info.fps, info.frame_count), (1280, 720, Some(60.0), 4));
        assert_eq!(frames.len(), 4);
        for (i, (f, img)) in frames.iter().zip(&src).enumerate() {
            let (x, _) = bright_centroid(f).expect("ball visible");
            assert!((x - (100.0 + 40.0 * i as f64)).abs() < 0.75, "frame {i}: x {x}");
            assert!(mean_abs_diff(f, img) < 1.0);
        }
    }

    #[test]
    fn sizes_off_the_macroblock_grid_and_fractional_fps() {
        // 330 is neither a multiple of 16 (cropped in the SPS) nor of 8 (scalar YUV->RGB path).
        let src: Vec<_> = (0..3).map(|i| disc_frame(330, 186, 50.0 + 30.0 * f64::from(i), 93.0, 6.0)).collect();
        let bytes = encode_mp4(&src, 29.97).expect("encodes");
        let (info, frames) = decode_all(&bytes);
        assert_eq!((info.width, info.height), (330, 186));
        assert!(info.fps.is_some_and(|f| (f - 29.97).abs() < 1e-9), "{:?}", info.fps);
        for (f, img) in frames.iter().zip(&src) {
            assert_eq!((f.width, f.height), (330, 186));
            // OpenH264's scalar YUV->RGB path (widths not a multiple of 8) is 1-2 levels off in
            // red and blue; the SIMD path is within 0.5.
            assert!(mean_abs_diff(f, img) < 2.0);
        }
        // H.264 4:2:0 has no odd sizes: the encoder says so instead of panicking.
        let odd = vec![disc_frame(321, 240, 50.0, 50.0, 5.0)];
        assert!(matches!(encode_mp4(&odd, 30.0), Err(VideoError::Encode(m)) if m.contains("even")));
        assert!(matches!(encode_mp4(Vec::<image::RgbImage>::new(), 30.0), Err(VideoError::Encode(_))));
        assert!(matches!(encode_mp4(&src, 0.0), Err(VideoError::Encode(_))));
        assert!(matches!(encode_mp4(&src, f64::NAN), Err(VideoError::Encode(_))));
    }

    #[test]
    fn frames_can_move_to_a_worker_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<VideoFrames<'static>>();
    }

    #[test]
    fn max_frames_stops_early() {
        let (_, bytes) = clip_320x240(12, 120.0);
        let (info, frames) = decode_frames(&bytes, Some(5)).expect("opens");
        assert_eq!(info.frame_count, 12);
        let frames: Vec<_> = frames.collect::<Result<_, _>>().expect("decodes");
        assert_eq!(frames.len(), 5);
        assert_eq!(frames[4].name, "frame_000004");
        let (_, mut none) = decode_frames(&bytes, Some(0)).expect("opens");
        assert!(none.next().is_none());
    }

    #[test]
    fn b_frames_come_out_in_presentation_order() {
        // x264 High profile with 3 B-frames and a B-pyramid: decode order I P B B B P ...
        let (info, frames) = decode_all(&fixture("bframes_high_120fps.mp4"));
        assert_eq!((info.width, info.height, info.frame_count, info.fps), (320, 240, 24, Some(120.0)));
        assert_eq!(frames.len(), 24, "every frame, the ones held for reordering included");
        for (i, f) in frames.iter().enumerate() {
            let (x, y) = bright_centroid(f).expect("disc visible");
            assert!((x - (20.0 + 10.0 * i as f64)).abs() < 1.0 && (y - 120.0).abs() < 1.0, "frame {i}: ({x}, {y})");
        }
    }

    #[test]
    fn quicktime_with_audio_and_avc3() {
        let (info, frames) = decode_all(&fixture("h264_aac.mov"));
        assert_eq!((info.frame_count, info.fps, frames.len()), (24, Some(120.0), 24));
        // avc3: parameter sets in-band.
        let (info, frames) = decode_all(&fixture("avc3_main_60fps.mp4"));
        assert_eq!((info.codec.as_str(), info.fps, frames.len()), ("h264 (avc3)", Some(60.0), 12));
        for (i, f) in frames.iter().enumerate() {
            let (x, _) = bright_centroid(f).expect("disc visible");
            assert!((x - (20.0 + 10.0 * i as f64)).abs() < 1.0, "frame {i}: x {x}");
        }
    }

    #[test]
    fn rotation_matrix_is_applied_like_ffmpeg_does() {
        // 160x96 with a red block at the top-left; where ffmpeg's autorotate puts it.
        for (name, deg, (w, h), (bx, by)) in [
            ("rot_cw90.mp4", 90, (96, 160), (80, 16)),
            ("rot_cw180.mp4", 180, (160, 96), (144, 80)),
            ("rot_cw270.mp4", 270, (96, 160), (16, 144)),
        ] {
            let (info, frames) = decode_all(&fixture(name));
            assert_eq!((info.rotation_deg, info.width, info.height), (deg, w, h), "{name}");
            let f = &frames[0];
            assert_eq!((f.width, f.height), (w, h), "{name}");
            let at = |x: u32, y: u32| {
                let i = ((y * f.width + x) * 3) as usize;
                [f.rgb[i], f.rgb[i + 1], f.rgb[i + 2]]
            };
            let red = at(bx, by);
            assert!(red[0] > 180 && red[2] < 90, "{name}: {red:?} at ({bx}, {by})");
            let opposite = at(w - 1 - bx, h - 1 - by);
            assert!(opposite[2] > 180, "{name}: {opposite:?}");
        }
    }

    #[test]
    fn rotate_rgb_turns_clockwise() {
        // 3x2: a b c / d e f, one byte per channel equal to the letter's index.
        let px = |v: u8| [v, v, v];
        let img: Vec<u8> = (0..6).flat_map(px).collect();
        let (cw, w, h) = rotate_rgb(&img, 3, 2, 90);
        assert_eq!((w, h), (2, 3));
        assert_eq!(cw, [3, 0, 4, 1, 5, 2].into_iter().flat_map(px).collect::<Vec<_>>()); // d a / e b / f c
        let (ccw, _, _) = rotate_rgb(&img, 3, 2, 270);
        assert_eq!(ccw, [2, 5, 1, 4, 0, 3].into_iter().flat_map(px).collect::<Vec<_>>()); // c f / b e / a d
        let (half, _, _) = rotate_rgb(&img, 3, 2, 180);
        assert_eq!(half, [5, 4, 3, 2, 1, 0].into_iter().flat_map(px).collect::<Vec<_>>());
        assert_eq!(rotation_from_matrix(0, 0x10000, -0x10000, 0), 90);
        assert_eq!(rotation_from_matrix(-0x10000, 0, 0, -0x10000), 180);
        assert_eq!(rotation_from_matrix(0, -0x10000, 0x10000, 0), 270);
        assert_eq!(rotation_from_matrix(-0x10000, 0, 0, 0x10000), 0, "a mirror is not a rotation");
        assert_eq!(rotation_from_matrix(0x10000, 0, 0, 0x10000), 0);
        assert_eq!(rotation_from_matrix(3, 0x10000, -0x10000, -2), 90, "rounding noise");
    }

    #[test]
    fn fps_from_the_container() {
        assert_eq!(container_fps(&[(100, 1001)], 30_000), Some(30_000.0 / 1001.0));
        // A final sample with a duration of its own does not make the rate variable.
        assert_eq!(container_fps(&[(239, 128), (1, 100)], 15_360), Some(120.0));
        // Variable: samples over total time.
        assert_eq!(container_fps(&[(10, 10), (10, 30)], 600), Some(20.0 * 600.0 / 400.0));
        assert_eq!(container_fps(&[(10, 10)], 0), None);
        assert_eq!(container_fps(&[], 600), None);
        assert_eq!(container_fps(&[(10, 0)], 600), None);
        assert_eq!(container_fps(&[(10, 1)], 1_000_000), None, "a million fps is nonsense");
    }

    #[test]
    fn nal_length_prefixes_of_every_size() {
        let sample_with = |n: usize| {
            let mut s = Vec::new();
            for nal in [&[0x65u8, 1, 2][..], &[0x06, 9]] {
                s.extend_from_slice(&nal.len().to_be_bytes()[8 - n..]);
                s.extend_from_slice(nal);
            }
            s
        };
        for n in 1..=4 {
            let mut out = Vec::new();
            avcc_to_annexb(&sample_with(n), n, &[0, 0, 0, 1, 0x67], false, &mut out).expect("valid");
            // The IDR gets the parameter sets in front.
            assert_eq!(out, [0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x65, 1, 2, 0, 0, 0, 1, 0x06, 9], "length size {n}");
        }
        let mut out = Vec::new();
        let err = avcc_to_annexb(&[0, 0, 0, 9, 0x65], 4, &[], false, &mut out).expect_err("overlong NAL");
        assert!(err.contains("claims 9 bytes"), "{err}");
        assert!(avcc_to_annexb(&[0, 0], 4, &[], false, &mut out).is_err());
    }

    #[test]
    fn inputs_that_are_not_h264_mp4s_are_errors() {
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(disc_frame(8, 8, 4.0, 4.0, 2.0))
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let random: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let (_, clip) = clip_320x240(6, 30.0);
        let ftyp_only = clip[..32].to_vec();
        // encode_mp4 writes the movie header last, so a cut-short upload has none.
        let truncated = clip[..clip.len() * 2 / 3].to_vec();
        type Expected = fn(&VideoError) -> bool;
        let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
            ("empty", vec![], |e| matches!(e, VideoError::NotMp4(m) if m.contains("empty"))),
            ("png", png, |e| matches!(e, VideoError::NotMp4(m) if m.contains("PNG"))),
            ("random", random, |e| matches!(e, VideoError::NotMp4(_))),
            ("ftyp only", ftyp_only, |e| matches!(e, VideoError::Corrupt(_))),
            ("truncated", truncated, |e| matches!(e, VideoError::Corrupt(_))),
            ("audio only", fixture("audio_only.m4a"), |e| matches!(e, VideoError::NoVideoTrack)),
            (
                "hevc",
                fixture("hevc_hvc1.mp4"),
                |e| matches!(e, VideoError::UnsupportedCodec(m) if m == "HEVC/H.265 (hvc1)"),
            ),
        ];
        for (name, bytes, expected) in cases {
            let err = probe(&bytes).expect_err(name);
            assert!(expected(&err), "{name}: {err:?}");
            assert_eq!(err.code().as_str(), "VIDEO_DECODE_FAILED");
            assert!(decode_frames(&bytes, None).is_err(), "{name}");
        }
        let hevc = probe(&fixture("hevc_hvc1.mp4")).expect_err("hevc").to_string();
        assert!(hevc.contains("HEVC") && hevc.contains("only H.264"), "{hevc}");
    }

    #[test]
    fn broken_frame_data_ends_the_stream_with_an_error_after_the_good_frames() {
        let (_, mut bytes) = clip_320x240(10, 30.0);
        let (_, frames) = decode_frames(&bytes, None).expect("opens");
        drop(frames);
        let track = demux(&bytes).expect("demuxes");
        // Make sample 6's first NAL length claim more than the sample holds.
        let at = track.samples[6].offset as usize;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        let (_, frames) = decode_frames(&bytes, None).expect("opens");
        let items: Vec<_> = frames.collect();
        assert_eq!(items.len(), 7);
        assert!(items[..6].iter().all(Result::is_ok));
        assert!(matches!(&items[6], Err(VideoError::Corrupt(m)) if m.contains("frame data 7")), "{:?}", items[6]);
    }

    #[test]
    fn mangled_uploads_never_panic() {
        // Not through the catch_unwind guards: a panic here fails the test.
        let (_, clip) = clip_320x240(4, 30.0);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let run = |bytes: &[u8]| {
            let Ok(track) = demux(bytes) else { return };
            let (_, mut frames) = decode_frames(bytes, None).expect("demuxed once, demuxes again");
            assert!(track.samples.len() < 100);
            while let Ok(Some(_)) = frames.advance() {}
        };
        for cut in (0..clip.len()).step_by(97) {
            run(&clip[..cut]);
        }
        for _ in 0..300 {
            let mut bytes = clip.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = next() as u8;
            }
            run(&bytes);
        }
    }
}
