//! Decoding: the [`VideoFrames`] iterator, which feeds OpenH264 one access unit at a time (each
//! sample's length-prefixed NAL units rewritten to Annex B), drops the pictures before the first
//! frame asked for, and turns the rest into upright RGB frames.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};

use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use super::demux::{sample_bytes, SampleLoc, Timing, Track};
use super::{VideoError, MAX_DIMENSION};
use crate::frames::DecodedFrame;

const START_CODE: [u8; 4] = [0, 0, 0, 1];
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// The frames of a video, decoded one at a time: `Ok` frames in presentation order, upright, as
/// RGB8, with consecutive indices from the first one asked for (frame `k` is named
/// `frame_{k:06}`; see [`super::decode_range`]). An `Err` is the last item.
pub struct VideoFrames<'a> {
    data: &'a [u8],
    /// Every sample of the track, in decode order.
    samples: Vec<SampleLoc>,
    timing: Timing,
    next_sample: usize,
    length_size: usize,
    /// The `avcC` SPS and PPS in Annex B form, put in front of the first sample and each IDR.
    param_sets: Vec<u8>,
    /// `None` once the iteration is over (the decoder's buffers are freed early).
    decoder: Option<Decoder>,
    rotation: u32,
    remaining: usize,
    /// Decoded pictures still to drop: those between the start sample and the first frame.
    skip: usize,
    /// The index of the next frame to come out.
    next_index: usize,
    /// The index of the frame the iterator gave last.
    last_index: Option<usize>,
    /// Access units handed to the decoder.
    decoded: usize,
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

impl<'a> VideoFrames<'a> {
    /// Frames `first`, `first + 1`, ... of `track`, decoding from sample `start` (decode order;
    /// `None`: there is no frame `first`), which must be an IDR or sample 0 (see
    /// `Track::seek_start`), at most `remaining` of them.
    pub(super) fn new(
        data: &'a [u8],
        track: Track,
        start: Option<usize>,
        first: usize,
        remaining: usize,
    ) -> Result<Self, VideoError> {
        let decoder = match start {
            Some(_) => {
                // Flushing after every decode (the crate's default) forces out pictures OpenH264 is
                // holding to reorder, and on a B-frame stream it then fails mid-clip (error 16384 on
                // the x264 fixture); the final flush in `advance` gets the held pictures out in order.
                let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
                let decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
                    .map_err(|e| VideoError::Decode(format!("could not start the decoder: {e}")))?;
                Some(decoder)
            }
            None => None,
        };
        let start = start.unwrap_or(track.samples.len());
        let mut param_sets = Vec::new();
        for nal in track.avcc.sps.iter().chain(&track.avcc.pps) {
            param_sets.extend_from_slice(&START_CODE);
            param_sets.extend_from_slice(nal);
        }
        Ok(VideoFrames {
            data,
            samples: track.samples,
            timing: track.timing,
            next_sample: start,
            length_size: track.avcc.length_size,
            param_sets,
            decoder,
            rotation: track.info.rotation_deg,
            remaining,
            // Starting at an IDR, the decoder gives exactly the frames from it on.
            skip: first.saturating_sub(start),
            next_index: first,
            last_index: None,
            decoded: 0,
            pending: VecDeque::new(),
            annexb: Vec::new(),
            scratch: Vec::new(),
            fed_any: false,
            flushed: false,
        })
    }

    /// Access units handed to the decoder so far: the frames yielded, those decoded to reach the
    /// first of them, and any the decoder is holding to reorder.
    pub fn decoded_count(&self) -> usize {
        self.decoded
    }

    /// The index (presentation order, from 0 at the start of the clip) of the frame yielded last.
    pub fn last_index(&self) -> Option<usize> {
        self.last_index
    }

    /// The presentation time of the frame yielded last, in seconds after frame 0's, from the
    /// track's `stts` and `ctts` in its media timescale (edit lists ignored). `None` before the
    /// first frame, or when the track has no timescale.
    pub fn last_pts_s(&self) -> Option<f64> {
        self.timing.pts_s(self.last_index?)
    }
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
                self.last_index = Some(self.next_index);
                self.next_index += 1;
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
    /// Feeds samples until the decoder hands out a picture to keep; at the end, flushes what it
    /// holds.
    pub(super) fn advance(&mut self) -> Result<Option<DecodedFrame>, VideoError> {
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
            self.decoded += 1;
            match decoder.decode(&self.annexb) {
                Ok(Some(_)) if self.skip > 0 => self.skip -= 1,
                Ok(Some(yuv)) => {
                    return yuv_to_frame(&yuv, self.rotation, self.next_index, &mut self.scratch).map(Some)
                }
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
            let dropped = self.skip.min(held.len());
            self.skip -= dropped;
            for yuv in held.iter().skip(dropped).take(self.remaining) {
                let index = self.next_index + self.pending.len();
                self.pending.push_back(yuv_to_frame(yuv, self.rotation, index, &mut self.scratch)?);
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

/// Whether decoding can start at a sample (length-prefixed NAL units): it holds an IDR picture,
/// and, when the `avcC` has no parameter sets to put in front (`avc3` may carry them in-band
/// only), its own SPS and PPS.
pub(super) fn can_start_at(sample: &[u8], length_size: usize, needs_param_sets: bool) -> bool {
    let Ok(nals) = split_nals(sample, length_size) else { return false };
    let has = |kind: u8| nals.iter().any(|n| n.first().is_some_and(|b| b & 0x1f == kind));
    has(NAL_IDR) && (!needs_param_sets || (has(NAL_SPS) && has(NAL_PPS)))
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

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(can_start_at(&sample_with(n), n, false));
            assert!(!can_start_at(&sample_with(n), n, true), "no SPS/PPS of its own");
        }
        let mut out = Vec::new();
        let err = avcc_to_annexb(&[0, 0, 0, 9, 0x65], 4, &[], false, &mut out).expect_err("overlong NAL");
        assert!(err.contains("claims 9 bytes"), "{err}");
        assert!(avcc_to_annexb(&[0, 0], 4, &[], false, &mut out).is_err());
        // A P slice, and a broken sample, are no place to start decoding.
        assert!(!can_start_at(&[0, 0, 0, 2, 0x41, 7], 4, false));
        assert!(!can_start_at(&[0, 0, 0, 9, 0x65], 4, false));
        let in_band = [0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x68, 0, 0, 0, 2, 0x65, 1];
        assert!(can_start_at(&in_band, 4, true));
    }
}
