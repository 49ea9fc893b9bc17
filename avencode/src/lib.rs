//! H.264 MP4 writing with OpenH264 (its bundled source build, BSD-2-Clause; no system library):
//! the tracer clips a run stores and the test and benchmark clips. [`Mp4Encoder`] takes RGB frames
//! one at a time (a clip never sits decoded in memory) and returns a Constrained Baseline MP4 with
//! an IDR keyframe every `keyint` frames; [`encode_mp4`] does the same for frames already in hand,
//! and [`write_mp4`] muxes already-coded H.264 samples, B-frame timing included.
//!
//! The MP4s are plain (non-fragmented) ISO files with one video track: `avc1` + `avcC`, an `stss`
//! naming exactly the samples that hold an IDR picture, a `ctts` when any sample has a
//! composition offset, and the movie header at the end (a cut-short file has none).

use std::borrow::Borrow;
use std::io::Cursor;

use openh264::encoder::{
    Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, QpRange, RateControlMode, UsageType,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};
use openh264::OpenH264API;

/// Frame rates above this are refused (the fastest cameras record a few kHz).
pub const MAX_FPS: f64 = 10_000.0;

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// Why a clip could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not encode the video: {0}")]
pub struct EncodeError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, EncodeError> {
    Err(EncodeError(message.into()))
}

/// The keyframe interval [`encode_mp4`] uses at `fps`: one IDR a second (what phones record),
/// i.e. `fps` rounded, at least 1.
pub fn default_keyint(fps: f64) -> u32 {
    if fps.is_finite() && fps >= 1.0 {
        fps.round().min(f64::from(u32::MAX)) as u32
    } else {
        1
    }
}

/// How an [`Mp4Encoder`] trades size and time for quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// An IDR keyframe on frames 0, `keyint`, 2·`keyint`, ... and on no others.
    pub keyint: u32,
    /// The quantiser range, lower is better (OpenH264's fixed QP is 26, clipped to this range
    /// where adaptive quantisation moves it).
    pub qp: (u8, u8),
    /// OpenH264's speed/quality setting: `true` for its fastest mode.
    pub fast: bool,
}

impl EncodeOptions {
    /// What the test clips use: fixed and high quality (QP 10..=26) so that small bright objects
    /// such as a 10 px ball survive (mean error well under 1 level on the test clips).
    pub fn lossless_enough(keyint: u32) -> EncodeOptions {
        EncodeOptions { keyint, qp: (10, 26), fast: false }
    }
}

/// Encodes RGB frames (all the same size, even width and height, at most 3840x2160) as H.264 in
/// an MP4 at `fps`, each frame one sample, with an IDR every [`default_keyint`] frames. See
/// [`encode_mp4_keyint`].
pub fn encode_mp4<I>(frames: I, fps: f64) -> Result<Vec<u8>, EncodeError>
where
    I: IntoIterator,
    I::Item: Borrow<image::RgbImage>,
{
    encode_mp4_keyint(frames, fps, default_keyint(fps))
}

/// [`encode_mp4`] with an IDR keyframe on frames 0, `keyint`, 2·`keyint`, ... and on no others
/// (`keyint` 1: every frame; scene-change keyframes are off). Only those samples are in `stss`.
/// The track timescale is `fps * 1000` rounded with a sample delta of 1000, so a reader gets
/// `fps` back exactly for integer and 1/1000-step rates. Quality is
/// [`EncodeOptions::lossless_enough`].
pub fn encode_mp4_keyint<I>(frames: I, fps: f64, keyint: u32) -> Result<Vec<u8>, EncodeError>
where
    I: IntoIterator,
    I::Item: Borrow<image::RgbImage>,
{
    let mut frames = frames.into_iter();
    let Some(first) = frames.next() else { return err("no frames to encode") };
    let (width, height) = first.borrow().dimensions();
    let mut encoder = Mp4Encoder::new(width, height, fps, EncodeOptions::lossless_enough(keyint))?;
    for frame in std::iter::once(first).chain(frames) {
        encoder.push(frame.borrow())?;
    }
    encoder.finish()
}

/// An MP4 being written one RGB frame at a time ([`Mp4Encoder::push`]), finished by
/// [`Mp4Encoder::finish`]. The coded samples stay in memory (a few hundred kilobytes a second at
/// 1080p), the frames do not.
pub struct Mp4Encoder {
    encoder: Encoder,
    width: u32,
    height: u32,
    timescale: u32,
    keyint: u32,
    samples: Vec<Sample>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

impl std::fmt::Debug for Mp4Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Encoder")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("timescale", &self.timescale)
            .field("frames", &self.samples.len())
            .finish_non_exhaustive()
    }
}

impl Mp4Encoder {
    /// A `width` x `height` track (both even and non-zero, at most 3840x2160) at `fps`: the
    /// timescale is `fps * 1000` rounded with a sample delta of 1000, so a reader gets `fps` back
    /// exactly for integer and 1/1000-step rates.
    pub fn new(width: u32, height: u32, fps: f64, options: EncodeOptions) -> Result<Mp4Encoder, EncodeError> {
        let timescale = fps * 1000.0;
        if !(fps.is_finite() && fps > 0.0 && fps <= MAX_FPS && timescale.round() >= 1.0) {
            return err(format!("fps must be in (0, {MAX_FPS}], got {fps}"));
        }
        if options.keyint == 0 {
            return err("keyint must be at least 1");
        }
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return err(format!("frames are {width}x{height}; H.264 4:2:0 needs an even, non-zero width and height"));
        }
        if width.max(height) > 3840 || width.min(height) > 2160 {
            return err(format!("frames are {width}x{height}; OpenH264 encodes at most 3840x2160"));
        }
        let (qp_min, qp_max) = options.qp;
        // Rate control off: a fixed quality whatever the frame rate, and no rate-controller
        // warning on stderr about frame skipping, which stays off so every frame is a sample.
        let config = EncoderConfig::new()
            .rate_control_mode(RateControlMode::Off)
            // OpenH264 clips this to 1..=60 internally; the container carries the real rate.
            .max_frame_rate(FrameRate::from_hz(fps as f32))
            // The non-real-time usage types fail OpenH264's parameter check.
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(if options.fast { Complexity::Low } else { Complexity::Medium })
            .skip_frames(false)
            .qp(QpRange::new(qp_min.min(qp_max), qp_max.max(qp_min)))
            // Keyframes exactly every `keyint` frames: none extra where the picture changes a lot.
            .scene_change_detect(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(options.keyint));
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| EncodeError(format!("could not start the encoder: {e}")))?;
        Ok(Mp4Encoder {
            encoder,
            width,
            height,
            timescale: timescale.round() as u32,
            keyint: options.keyint,
            samples: Vec::new(),
            sps: None,
            pps: None,
        })
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> usize {
        self.samples.len()
    }

    /// Encodes the next frame (the track's size).
    pub fn push(&mut self, frame: &image::RgbImage) -> Result<(), EncodeError> {
        let index = self.samples.len();
        if frame.dimensions() != (self.width, self.height) {
            let (w, h) = frame.dimensions();
            return err(format!("frame {index} is {w}x{h}, the first {}x{}", self.width, self.height));
        }
        if index > 0 && index.is_multiple_of(self.keyint as usize) {
            // OpenH264's own period counts the same way; forcing makes the IDR certain.
            self.encoder.force_intra_frame();
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let yuv = YUVBuffer::from_rgb8_source(RgbSliceU8::new(frame.as_raw(), (w, h)));
        let stream = self.encoder.encode(&yuv).map_err(|e| EncodeError(format!("frame {index}: {e}")))?;
        let mut data = Vec::new();
        let mut sync = false;
        for layer in (0..stream.num_layers()).filter_map(|i| stream.layer(i)) {
            for nal in (0..layer.nal_count()).filter_map(|i| layer.nal_unit(i)).map(strip_start_code) {
                match nal.first().map(|b| b & 0x1f) {
                    // Parameter sets go in the avcC box, not in the samples (the avc1 rule).
                    Some(NAL_SPS) => {
                        self.sps.get_or_insert_with(|| nal.to_vec());
                    }
                    Some(NAL_PPS) => {
                        self.pps.get_or_insert_with(|| nal.to_vec());
                    }
                    Some(kind) => {
                        sync |= kind == NAL_IDR;
                        let Ok(len) = u32::try_from(nal.len()) else { return err("NAL unit over 4 GB") };
                        data.extend_from_slice(&len.to_be_bytes());
                        data.extend_from_slice(nal);
                    }
                    None => {}
                }
            }
        }
        if data.is_empty() {
            return err(format!("the encoder produced no picture for frame {index}"));
        }
        self.samples.push(Sample { data, duration: 1000, composition_offset: 0, sync });
        Ok(())
    }

    /// The finished MP4 (at least one frame pushed).
    pub fn finish(self) -> Result<Vec<u8>, EncodeError> {
        if self.samples.is_empty() {
            return err("no frames to encode");
        }
        let (Some(sps), Some(pps)) = (self.sps, self.pps) else { return err("the encoder produced no SPS/PPS") };
        // Checked in `new`: both at most 3840.
        let track =
            AvcTrack { width: self.width as u16, height: self.height as u16, timescale: self.timescale, sps, pps };
        write_mp4(&track, self.samples)
    }
}

/// The video track [`write_mp4`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcTrack {
    /// Coded width in pixels (the sample entry's and `tkhd`'s).
    pub width: u16,
    /// Coded height in pixels.
    pub height: u16,
    /// Media timescale: ticks per second of the sample durations and offsets.
    pub timescale: u32,
    /// The sequence parameter set (one NAL unit, no start code or length), for `avcC`.
    pub sps: Vec<u8>,
    /// The picture parameter set, likewise.
    pub pps: Vec<u8>,
}

/// One coded frame for [`write_mp4`], in decode order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The access unit: NAL units each behind a 4-byte big-endian length (`avcC` length size 4).
    pub data: Vec<u8>,
    /// Ticks until the next sample's decode time (`stts`).
    pub duration: u32,
    /// Presentation time minus decode time, in ticks (`ctts`; 0 without B-frames).
    pub composition_offset: u32,
    /// Whether decoding can start here (an IDR): listed in `stss`.
    pub sync: bool,
}

/// Muxes H.264 samples (in decode order) into an MP4 with one `avc1` track. The `stss` lists the
/// samples marked `sync` (the first sample should be one); a `ctts` is written when any sample has
/// a composition offset. The movie header comes last.
pub fn write_mp4(track: &AvcTrack, samples: impl IntoIterator<Item = Sample>) -> Result<Vec<u8>, EncodeError> {
    if track.sps.len() < 4 {
        return err("the SPS is shorter than 4 bytes");
    }
    if track.width == 0 || track.height == 0 || track.timescale == 0 {
        return err(format!("a {}x{} track at timescale {}", track.width, track.height, track.timescale));
    }
    mux(track, samples).map_err(|e| EncodeError(format!("writing the MP4: {e}")))
}

fn mux(track: &AvcTrack, samples: impl IntoIterator<Item = Sample>) -> Result<Vec<u8>, mp4::Error> {
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
        timescale: track.timescale,
        language: "und".to_string(),
        media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
            width: track.width,
            height: track.height,
            seq_param_set: track.sps.clone(),
            pic_param_set: track.pps.clone(),
        }),
    })?;
    let mut start_time = 0u64;
    for sample in samples {
        let offset = i32::try_from(sample.composition_offset)
            .map_err(|_| mp4::Error::InvalidData("a composition offset over 2^31 ticks"))?;
        let s = mp4::Mp4Sample {
            start_time,
            duration: sample.duration,
            rendering_offset: offset,
            is_sync: sample.sync,
            bytes: bytes::Bytes::from(sample.data),
        };
        writer.write_sample(1, &s)?;
        start_time += u64::from(sample.duration);
    }
    writer.write_end()?;
    Ok(writer.into_writer().into_inner())
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    nal.strip_prefix(&[0, 0, 0, 1][..]).or_else(|| nal.strip_prefix(&[0, 0, 1][..])).unwrap_or(nal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(v: u8) -> image::RgbImage {
        image::RgbImage::from_pixel(64, 48, image::Rgb([v, v, v]))
    }

    /// The sync flags of every sample, read back with the `mp4` crate.
    fn sync_flags(mp4: &[u8]) -> Vec<bool> {
        let mut reader = mp4::Mp4Reader::read_header(Cursor::new(mp4), mp4.len() as u64).expect("reads");
        let count = reader.sample_count(1).expect("track 1");
        (1..=count).map(|id| reader.read_sample(1, id).expect("sample").expect("present").is_sync).collect()
    }

    #[test]
    fn idr_every_keyint_frames_and_only_those_in_stss() {
        let frames: Vec<_> = (0..25).map(|i| grey(10 * i as u8)).collect();
        let mp4 = encode_mp4_keyint(&frames, 30.0, 10).expect("encodes");
        let sync = sync_flags(&mp4);
        assert_eq!(sync.len(), 25);
        let keyframes: Vec<_> = sync.iter().enumerate().filter(|(_, &s)| s).map(|(i, _)| i).collect();
        assert_eq!(keyframes, [0, 10, 20]);
        // The default: one a second.
        let sync = sync_flags(&encode_mp4(&frames, 12.0).expect("encodes"));
        let keyframes: Vec<_> = sync.iter().enumerate().filter(|(_, &s)| s).map(|(i, _)| i).collect();
        assert_eq!(keyframes, [0, 12, 24]);
        assert_eq!((default_keyint(29.97), default_keyint(0.5), default_keyint(f64::NAN)), (30, 1, 1));
    }

    #[test]
    fn bad_input_is_an_error() {
        let src = vec![grey(0), grey(1)];
        let odd = vec![image::RgbImage::new(321, 240)];
        assert!(matches!(encode_mp4(&odd, 30.0), Err(EncodeError(m)) if m.contains("even")));
        assert!(encode_mp4(Vec::<image::RgbImage>::new(), 30.0).is_err());
        assert!(encode_mp4(&src, 0.0).is_err());
        assert!(encode_mp4(&src, f64::NAN).is_err());
        assert!(encode_mp4_keyint(&src, 30.0, 0).is_err());
        let mixed = vec![grey(0), image::RgbImage::new(32, 32)];
        assert!(matches!(encode_mp4(&mixed, 30.0), Err(EncodeError(m)) if m.contains("frame 1")));
        let track = AvcTrack { width: 2, height: 2, timescale: 30, sps: vec![0x67], pps: vec![0x68] };
        assert!(write_mp4(&track, []).is_err());
    }
}
