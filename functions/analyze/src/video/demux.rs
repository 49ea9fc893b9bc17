//! The chosen H.264 track's tables: which track, where each sample lies in the upload, its decode
//! and presentation times (`stts`, `ctts`), the sync samples (`stss`), the rotation matrix, the
//! container frame rate, and the sample decoding has to start at to reach a given frame.

use std::io::Cursor;

use super::boxes::{self, AvcC, RawBox, TrakBoxes};
use super::decode::can_start_at;
use super::{VideoError, VideoInfo, MAX_DIMENSION, MAX_FPS};

/// Where one sample (coded frame) lies in the file.
#[derive(Debug, Clone, Copy)]
pub(super) struct SampleLoc {
    pub offset: u64,
    pub size: u32,
}

/// The chosen H.264 video track, ready to decode.
pub(super) struct Track {
    pub info: VideoInfo,
    pub avcc: AvcC,
    /// Every sample, in decode order.
    pub samples: Vec<SampleLoc>,
    pub timing: Timing,
}

/// When each sample is shown, and which samples decoding can start at.
#[derive(Debug, Default)]
pub(super) struct Timing {
    /// Media ticks per second (0 when the track says none).
    pub timescale: u32,
    /// The presentation index of each sample (decode order in, presentation order out).
    pub rank: Vec<usize>,
    /// The presentation time of each frame (by presentation index), in ticks after frame 0's.
    pub pts: Vec<i64>,
    /// `stss`: the 1-based numbers of the sync samples, sorted; `None`: every sample is sync.
    pub sync: Option<Vec<u32>>,
}

impl Timing {
    /// Builds the timing of `n` samples from the `stts` (count, delta) and `ctts` (count, offset)
    /// runs; samples past the end of `stts` last as long as its final entry says, those past the
    /// end of `ctts` have no offset. Ties in presentation time keep decode order.
    fn new(n: usize, stts: &[(u32, u32)], ctts: &[(u32, i32)], timescale: u32, sync: Option<Vec<u32>>) -> Timing {
        let mut cts = Vec::with_capacity(n);
        let mut dts = 0i64;
        let mut last_delta = 0;
        for &(count, delta) in stts {
            for _ in 0..count.min(u32::try_from(n - cts.len()).unwrap_or(u32::MAX)) {
                cts.push(dts);
                dts = dts.saturating_add(i64::from(delta));
            }
            last_delta = delta;
        }
        while cts.len() < n {
            cts.push(dts);
            dts = dts.saturating_add(i64::from(last_delta));
        }
        let mut at = 0usize;
        for &(count, offset) in ctts {
            for t in cts.iter_mut().skip(at).take(count as usize) {
                *t = t.saturating_add(i64::from(offset));
            }
            at = at.saturating_add(count as usize);
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (cts[i], i));
        let mut rank = vec![0; n];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let zero = order.first().map_or(0, |&i| cts[i]);
        let pts = order.iter().map(|&i| cts[i].saturating_sub(zero)).collect();
        let sync = sync.map(|mut s| {
            s.sort_unstable();
            s
        });
        Timing { timescale, rank, pts, sync }
    }

    fn is_sync(&self, index: usize) -> bool {
        match &self.sync {
            None => true,
            Some(list) => u32::try_from(index + 1).is_ok_and(|number| list.binary_search(&number).is_ok()),
        }
    }

    /// Frame `index`'s presentation time in seconds after frame 0's.
    pub fn pts_s(&self, index: usize) -> Option<f64> {
        let ticks = *self.pts.get(index)?;
        (self.timescale > 0).then(|| ticks as f64 / f64::from(self.timescale))
    }
}

impl Track {
    /// The sample (decode index) to start decoding at so that frame `first` (presentation order)
    /// and every frame after it come out, or `None` when the track has no frame `first`. That is
    /// the last sample that: is a sync sample, holds an IDR (a sync sample of an open GOP does
    /// not: its leading pictures need frames before it) and the parameter sets if `avcC` lacks
    /// them, is shown no later than frame `first`, and comes no later in decode order than any
    /// frame from `first` on. Sample 0 otherwise.
    ///
    /// Starting at an IDR, the decoder puts out exactly the frames from that sample on, in
    /// presentation order, so the frames to drop before `first` number `first - start`.
    pub fn seek_start(&self, data: &[u8], first: usize) -> Option<usize> {
        let rank = &self.timing.rank;
        // The first sample in decode order that is shown at `first` or later.
        let bound = rank.iter().position(|&r| r >= first)?;
        let needs_param_sets = self.avcc.sps.is_empty() || self.avcc.pps.is_empty();
        let start = (1..=bound).rev().find(|&i| {
            rank.get(i).is_some_and(|&r| r <= first)
                && self.timing.is_sync(i)
                && self
                    .samples
                    .get(i)
                    .and_then(|&loc| sample_bytes(data, loc))
                    .is_some_and(|s| can_start_at(s, self.avcc.length_size, needs_param_sets))
        });
        Some(start.unwrap_or(0))
    }
}

/// Finds the first H.264 video track of an upload and reads its tables.
pub(super) fn demux(data: &[u8]) -> Result<Track, VideoError> {
    if data.is_empty() {
        return Err(VideoError::NotMp4("the body is empty".to_string()));
    }
    let top = boxes::top_level_boxes(data)?;
    let moov = top.boxes.iter().find(|b| &b.kind == b"moov").ok_or_else(|| {
        VideoError::Corrupt(match top.truncated {
            Some(kind) => {
                format!("the file ends inside its '{}' box before any 'moov' (movie header)", boxes::fourcc(kind))
            }
            None => "there is no 'moov' box (movie header): the recording was not finalised".to_string(),
        })
    })?;
    if top.truncated == Some(*b"moov") {
        return Err(VideoError::Corrupt("the file ends inside its 'moov' box (movie header)".to_string()));
    }
    let fragmented = top.boxes.iter().any(|b| &b.kind == b"moof");

    let mut video: Vec<TrakBoxes<'_>> = Vec::new();
    let mut first_problem = None;
    for trak in boxes::children(moov.body(), "moov")?.into_iter().filter(|b| &b.kind == b"trak") {
        match boxes::trak_boxes(trak) {
            Ok(t) if &t.handler == b"vide" => video.push(t),
            Ok(_) => {}
            // A broken audio or metadata track must not stop the video; reported if no video.
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    let Some(chosen) = video.iter().find(|t| boxes::is_h264(t.entry.kind)) else {
        return Err(match (video.first(), first_problem) {
            (Some(t), _) => VideoError::UnsupportedCodec(boxes::describe_codec(t.entry.kind)),
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
    let avcc = boxes::parse_avcc(avcc).map_err(|e| corrupt(format!("'avcC': {e}")))?;
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
        codec: format!("h264 ({})", boxes::fourcc(t.entry.kind)),
        duration_s,
        rotation_deg,
    };
    let timing = Timing::new(samples.len(), &tables.stts, &tables.ctts, tables.timescale, tables.stss);
    Ok(Track { info, avcc, samples, timing })
}

/// The video track's timing and sample tables, as the `mp4` crate parsed them.
struct Tables {
    timescale: u32,
    duration: u64,
    tkhd_size: (u32, u32),
    rotation_deg: u32,
    /// `stts`: (sample count, sample delta).
    stts: Vec<(u32, u32)>,
    /// `ctts`: (sample count, composition offset); empty without B-frames.
    ctts: Vec<(u32, i32)>,
    /// `stss`: sync sample numbers (1-based); `None` when the box is absent (all are sync).
    stss: Option<Vec<u32>>,
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
/// skips it (its `avc1` parser insists that `avcC` is the first child box; `boxes::parse_avcc`
/// reads the entry instead).
fn parse_tables(moov: RawBox<'_>, t: &TrakBoxes<'_>) -> Result<Tables, VideoError> {
    let corrupt = |e: String| VideoError::Corrupt(e);
    let mvhd = boxes::find(&boxes::children(moov.body(), "moov")?, b"mvhd")
        .ok_or_else(|| corrupt("there is no 'mvhd' box".into()))?;
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
        ctts: stbl
            .ctts
            .map(|c| c.entries.iter().map(|e| (e.sample_count, e.sample_offset)).collect())
            .unwrap_or_default(),
        stss: stbl.stss.map(|s| s.entries),
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
pub(super) fn sample_bytes(data: &[u8], loc: SampleLoc) -> Option<&[u8]> {
    let start = usize::try_from(loc.offset).ok()?;
    let end = start.checked_add(usize::try_from(loc.size).ok()?)?;
    data.get(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn rotation_from_the_track_matrix() {
        assert_eq!(rotation_from_matrix(0, 0x10000, -0x10000, 0), 90);
        assert_eq!(rotation_from_matrix(-0x10000, 0, 0, -0x10000), 180);
        assert_eq!(rotation_from_matrix(0, -0x10000, 0x10000, 0), 270);
        assert_eq!(rotation_from_matrix(-0x10000, 0, 0, 0x10000), 0, "a mirror is not a rotation");
        assert_eq!(rotation_from_matrix(0x10000, 0, 0, 0x10000), 0);
        assert_eq!(rotation_from_matrix(3, 0x10000, -0x10000, -2), 90, "rounding noise");
    }

    #[test]
    fn presentation_order_and_times_from_stts_and_ctts() {
        // Decode order I P B B, 10 ticks apart; with these offsets shown at I 10, P 50, B 20, B 30,
        // i.e. in the order I B B P.
        let stts = [(4, 10)];
        let ctts = [(1, 10), (1, 40), (1, 0), (1, 0)];
        let t = Timing::new(4, &stts, &ctts, 100, Some(vec![1]));
        assert_eq!(t.rank, [0, 3, 1, 2]);
        assert_eq!(t.pts, [0, 10, 20, 40]);
        assert_eq!(t.pts_s(3), Some(0.4));
        assert_eq!(t.pts_s(4), None);
        assert!(t.is_sync(0) && !t.is_sync(1));
        // Short tables: the last delta goes on, missing offsets are 0; no stss: all sync.
        let t = Timing::new(3, &[(1, 5)], &[], 0, None);
        assert_eq!((t.rank.as_slice(), t.pts.as_slice(), t.pts_s(1)), (&[0, 1, 2][..], &[0, 5, 10][..], None));
        assert!(t.is_sync(2));
        // Tables claiming more samples than there are, and huge deltas, stay in bounds.
        let t = Timing::new(2, &[(u32::MAX, u32::MAX)], &[(u32::MAX, i32::MIN)], 1, Some(vec![9, 2, 1]));
        assert_eq!(t.rank, [0, 1]);
        assert_eq!(t.sync, Some(vec![1, 2, 9]));
    }
}
