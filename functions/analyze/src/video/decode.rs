//! Decoding: the [`VideoFrames`] iterator, which feeds libavcodec ([`super::codec`]) one sample at
//! a time, drops the pictures before the first frame asked for, and turns the rest into upright
//! RGB frames.

use super::demux::{sample_bytes, SampleLoc, Timing, Track};
use super::{Orientation, VideoError};
use crate::frames::DecodedFrame;
use avdecode::Decoder;

/// Decoder threads: one, on the caller's thread. The analysis runs the decoder on its own thread
/// beside the detector, and the dense pass decodes on two workers at once; FFmpeg's frame
/// threading on top of that would only add pictures in flight (memory) on a 2-core machine.
const DECODER_THREADS: usize = 1;

/// The frames of a video, decoded one at a time: `Ok` frames in presentation order, upright, as
/// RGB8, from the first one asked for (frame `k` is named `frame_{k:06}`; see
/// [`super::decode_range`]). An `Err` is the last item.
pub struct VideoFrames<'a> {
    data: &'a [u8],
    /// Every sample of the track, in decode order.
    samples: Vec<SampleLoc>,
    timing: Timing,
    next_sample: usize,
    /// `None` once the iteration is over (the decoder's buffers are freed early).
    decoder: Option<Decoder>,
    orientation: Orientation,
    remaining: usize,
    /// The index of the first frame to yield: pictures shown before it are decoded and dropped.
    first: usize,
    /// The index of the frame the iterator gave last.
    last_index: Option<usize>,
    /// Samples handed to the decoder.
    decoded: usize,
    /// Whether the end of the stream was sent (the decoder is draining).
    draining: bool,
    /// The picture before orientation (reused; only for rotated or mirrored clips).
    scratch: Vec<u8>,
}

impl<'a> VideoFrames<'a> {
    /// Frames `first`, `first + 1`, ... of `track`, decoding from sample `start` (decode order;
    /// `None`: there is no frame `first`), which must be a random-access point or sample 0 (see
    /// `Track::seek_start`), at most `remaining` of them.
    pub(super) fn new(
        data: &'a [u8],
        track: Track,
        start: Option<usize>,
        first: usize,
        remaining: usize,
    ) -> Result<Self, VideoError> {
        let decoder = match start {
            Some(_) => Some(Decoder::open(track.codec, &track.config, DECODER_THREADS)?),
            None => None,
        };
        Ok(VideoFrames {
            data,
            next_sample: start.unwrap_or(track.samples.len()),
            samples: track.samples,
            timing: track.timing,
            decoder,
            orientation: track.info.orientation,
            remaining,
            first,
            last_index: None,
            decoded: 0,
            draining: false,
            scratch: Vec::new(),
        })
    }

    /// Samples handed to the decoder so far: the frames yielded, those decoded to reach the first
    /// of them, and any the decoder is holding to reorder.
    pub fn decoded_count(&self) -> usize {
        self.decoded
    }

    /// The index (presentation order, from 0 at the start of the clip) of the frame yielded last.
    pub fn last_index(&self) -> Option<usize> {
        self.last_index
    }

    /// The presentation time of the frame yielded last, in seconds after frame 0's, from the
    /// track's sample timestamps in its media timescale (edit lists do not change it). `None`
    /// before the first frame, or when the track has no timescale.
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
        self.decoder.as_ref()?;
        match self.advance() {
            Ok(Some((index, frame))) => {
                self.remaining -= 1;
                self.last_index = Some(index);
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
    /// Feeds samples until the decoder hands out a picture to keep; at the end, drains what it
    /// holds. Each picture carries its sample's presentation index as its `pts`, so the frames
    /// before `first` are recognised whatever the decoder dropped or reordered.
    fn advance(&mut self) -> Result<Option<(usize, DecodedFrame)>, VideoError> {
        let Some(decoder) = self.decoder.as_mut() else { return Ok(None) };
        // A decoder that refuses input twice with no picture in between would loop for ever.
        let mut refused = false;
        loop {
            if let Some(picture) = decoder.receive()? {
                refused = false;
                let Ok(index) = usize::try_from(picture.pts) else { continue };
                if index < self.first {
                    continue;
                }
                let frame = to_frame(&picture, self.orientation, index, &mut self.scratch)?;
                return Ok(Some((index, frame)));
            }
            if self.draining {
                return Ok(None);
            }
            let Some(loc) = self.samples.get(self.next_sample).copied() else {
                decoder.send(None, 0, false)?;
                self.draining = true;
                continue;
            };
            let number = self.next_sample;
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
            let rank = self.timing.rank.get(number).copied().unwrap_or(number);
            let sent = decoder
                .send(Some(sample), i64::try_from(rank).unwrap_or(i64::MAX), self.timing.is_sync(number))
                .map_err(|e| match e {
                    avdecode::Error::Decode(why) => {
                        VideoError::Decode(format!("frame data {} of {}: {why}", number + 1, self.samples.len()))
                    }
                    other => other.into(),
                })?;
            if sent {
                self.next_sample += 1;
                self.decoded += 1;
                refused = false;
            } else if std::mem::replace(&mut refused, true) {
                return Err(VideoError::Decode(format!(
                    "the decoder stopped taking input at frame data {}",
                    number + 1
                )));
            }
        }
    }

    /// Ends the iteration and frees the decoder.
    fn finish(&mut self) {
        self.decoder = None;
        self.next_sample = self.samples.len();
    }
}

/// Converts one decoded picture to an upright RGB frame. `scratch` is reused across frames for
/// the picture before orientation (a fresh multi-MB buffer costs page faults).
fn to_frame(
    picture: &avdecode::Picture<'_>,
    orientation: Orientation,
    index: usize,
    scratch: &mut Vec<u8>,
) -> Result<DecodedFrame, VideoError> {
    let (width, height) =
        (u32::try_from(picture.width).unwrap_or(u32::MAX), u32::try_from(picture.height).unwrap_or(u32::MAX));
    // The stream's own parameter sets decide the picture size, whatever the container said.
    super::check_size(width, height)?;
    let name = format!("frame_{index:06}");
    if orientation.is_identity() {
        let mut rgb = Vec::new();
        picture.write_rgb(&mut rgb)?;
        return Ok(DecodedFrame { name, width, height, rgb });
    }
    picture.write_rgb(scratch)?;
    let (rgb, width, height) = orient_rgb(scratch, width, height, orientation);
    Ok(DecodedFrame { name, width, height, rgb })
}

/// Applies a display orientation to an RGB8 image: source pixel (x, y) goes to
/// (a·x + c·y, b·x + d·y) of the orientation's sign matrix, shifted so that the image starts at
/// (0, 0). A quarter turn swaps width and height.
pub(super) fn orient_rgb(rgb: &[u8], width: u32, height: u32, o: Orientation) -> (Vec<u8>, u32, u32) {
    let (w, h) = (width as i64, height as i64);
    let [a, b, c, d] = o.matrix.map(i64::from);
    let (out_w, out_h) = ((a.abs() * w + c.abs() * h), (b.abs() * w + d.abs() * h));
    // The smallest X and Y over the image, so that they become 0.
    let x0 = a.min(0) * (w - 1) + c.min(0) * (h - 1);
    let y0 = b.min(0) * (w - 1) + d.min(0) * (h - 1);
    let mut out = vec![0u8; rgb.len()];
    let (src, _) = rgb.as_chunks::<3>();
    let (dst, _) = out.as_chunks_mut::<3>();
    for (y, row) in src.chunks_exact(w as usize).enumerate() {
        let y = y as i64;
        for (x, px) in row.iter().enumerate() {
            let x = x as i64;
            let (ox, oy) = (a * x + c * y - x0, b * x + d * y - y0);
            if let Some(to) = usize::try_from(oy * out_w + ox).ok().and_then(|at| dst.get_mut(at)) {
                *to = *px;
            }
        }
    }
    (out, out_w as u32, out_h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientations_turn_and_mirror() {
        // 3x2: a b c / d e f, one byte per channel equal to the letter's index.
        let px = |v: u8| [v, v, v];
        let img: Vec<u8> = (0..6).flat_map(px).collect();
        let run = |m: [i8; 4]| {
            let (out, w, h) = orient_rgb(&img, 3, 2, Orientation::from_signs(m));
            (out.chunks(3).map(|p| p[0]).collect::<Vec<_>>(), w, h)
        };
        assert_eq!(run([0, 1, -1, 0]), (vec![3, 0, 4, 1, 5, 2], 2, 3), "clockwise: d a / e b / f c");
        assert_eq!(run([0, -1, 1, 0]), (vec![2, 5, 1, 4, 0, 3], 2, 3), "counter-clockwise: c f / b e / a d");
        assert_eq!(run([-1, 0, 0, -1]), (vec![5, 4, 3, 2, 1, 0], 3, 2), "half turn");
        assert_eq!(run([-1, 0, 0, 1]), (vec![2, 1, 0, 5, 4, 3], 3, 2), "mirrored left-right");
        assert_eq!(run([1, 0, 0, -1]), (vec![3, 4, 5, 0, 1, 2], 3, 2), "mirrored top-bottom");
        assert_eq!(run([0, 1, 1, 0]), (vec![0, 3, 1, 4, 2, 5], 2, 3), "transposed");
    }
}
