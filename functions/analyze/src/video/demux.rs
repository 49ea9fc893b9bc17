//! The chosen video track's tables: which track, where each sample lies in the upload, its decode
//! and presentation times (`stts`, `ctts`), the sync samples (`stss`), the display matrix, the
//! edit list's playback rate, the frame rate, and the sample decoding has to start at to reach a
//! given frame.

use std::io::Cursor;

use super::boxes::{self, RawBox, TrakBoxes};
use super::fragments;
use super::{check_size, Orientation, VideoError, VideoInfo, MAX_FPS};
use crate::request::MIN_FPS;
use avdecode::Codec;

/// Where one sample (coded frame) lies in the file.
#[derive(Debug, Clone, Copy)]
pub(super) struct SampleLoc {
    pub offset: u64,
    pub size: u32,
}

/// The chosen video track, ready to decode.
pub(super) struct Track {
    pub info: VideoInfo,
    pub codec: Codec,
    /// The `avcC`/`hvcC` body, the decoder's extradata.
    pub config: Vec<u8>,
    /// Bytes in each NAL unit's length prefix.
    pub length_size: usize,
    /// Whether the configuration lacks parameter sets, so that decoding can only start at a
    /// sample carrying its own (`avc3`/`hev1` may keep them in-band only).
    pub needs_param_sets: bool,
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
    /// Builds the timing of samples from their durations and composition offsets (decode order,
    /// in ticks); samples past the end of `durations` last as long as the final one says, those
    /// past the end of `offsets` have none. Ties in presentation time keep decode order.
    pub fn new(n: usize, durations: &[u32], offsets: &[i64], timescale: u32, sync: Option<Vec<u32>>) -> Timing {
        let mut cts = Vec::with_capacity(n);
        let mut dts = 0i64;
        let last_duration = durations.last().copied().unwrap_or(0);
        for i in 0..n {
            cts.push(dts.saturating_add(offsets.get(i).copied().unwrap_or(0)));
            dts = dts.saturating_add(i64::from(durations.get(i).copied().unwrap_or(last_duration)));
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

    /// Every frame's presentation time in seconds after frame 0's (empty without a timescale).
    pub fn times_s(&self) -> Vec<f64> {
        (0..self.pts.len()).filter_map(|i| self.pts_s(i)).collect()
    }

    pub fn is_sync(&self, index: usize) -> bool {
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
    /// the last sample that: is a sync sample, holds a random-access picture ([`can_start_at`])
    /// and the parameter sets if the configuration lacks them, is shown no later than frame
    /// `first`, and comes no later in decode order than any frame from `first` on. Sample 0
    /// otherwise. Pictures the decoder then puts out before frame `first` (the start's own
    /// frames, or an HEVC CRA's leading pictures) are recognised by their index and dropped.
    pub fn seek_start(&self, data: &[u8], first: usize) -> Option<usize> {
        let rank = &self.timing.rank;
        // The first sample in decode order that is shown at `first` or later.
        let bound = rank.iter().position(|&r| r >= first)?;
        let start = (1..=bound).rev().find(|&i| {
            rank.get(i).is_some_and(|&r| r <= first)
                && self.timing.is_sync(i)
                && self
                    .samples
                    .get(i)
                    .and_then(|&loc| sample_bytes(data, loc))
                    .is_some_and(|s| can_start_at(self.codec, s, self.length_size, self.needs_param_sets))
        });
        Some(start.unwrap_or(0))
    }
}

/// Whether decoding can start at a sample (length-prefixed NAL units): it holds a picture that
/// needs nothing decoded before it (H.264: IDR; HEVC: IDR, CRA or BLA, whose leading pictures the
/// decoder skips), and, when `needs_param_sets`, its own parameter sets.
pub(super) fn can_start_at(codec: Codec, sample: &[u8], length_size: usize, needs_param_sets: bool) -> bool {
    let Ok(nals) = split_nals(sample, length_size) else { return false };
    let kinds = nals.iter().filter_map(|n| match codec {
        Codec::H264 => n.first().map(|b| b & 0x1f),
        Codec::Hevc => n.first().map(|b| (b >> 1) & 0x3f),
    });
    let kinds: Vec<u8> = kinds.collect();
    let has = |k: u8| kinds.contains(&k);
    match codec {
        Codec::H264 => has(5) && (!needs_param_sets || (has(7) && has(8))),
        Codec::Hevc => {
            kinds.iter().any(|k| (16..=21).contains(k)) && (!needs_param_sets || (has(32) && has(33) && has(34)))
        }
    }
}

/// Splits a sample into its NAL units; every length prefix must fit in the sample.
pub(super) fn split_nals(mut sample: &[u8], length_size: usize) -> Result<Vec<&[u8]>, String> {
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

/// Finds the first H.264 or HEVC video track of an upload and reads its tables.
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

    let moov_children = boxes::children(moov.body(), "moov")?;
    let mut video: Vec<TrakBoxes<'_>> = Vec::new();
    let mut first_problem = None;
    for trak in moov_children.iter().filter(|b| &b.kind == b"trak") {
        match boxes::trak_boxes(*trak) {
            Ok(t) if &t.handler == b"vide" => video.push(t),
            Ok(_) => {}
            // A broken audio or metadata track must not stop the video; reported if no video.
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    let Some(chosen) = video.iter().find(|t| boxes::codec_of(t.entry.kind).is_some()) else {
        return Err(match (video.first(), first_problem) {
            (Some(t), _) => VideoError::UnsupportedCodec(boxes::describe_codec(t.entry.kind)),
            (None, Some(e)) => VideoError::Corrupt(e),
            (None, None) => VideoError::NoVideoTrack,
        });
    };
    let mut tables = parse_tables(*moov, chosen)?;
    let fragmented = top.boxes.iter().any(|b| &b.kind == b"moof");
    if fragmented && tables.sample_count == 0 {
        let track_id = chosen.track_id().ok_or_else(|| VideoError::Corrupt("'tkhd' is cut short".into()))?;
        let found = fragments::read(data, &top.boxes, &moov_children, track_id).map_err(VideoError::Corrupt)?;
        tables.fragments = Some(found);
    }
    track_from(chosen, tables, data.len())
}

fn track_from(t: &TrakBoxes<'_>, tables: Tables, data_len: usize) -> Result<Track, VideoError> {
    let corrupt = VideoError::Corrupt;
    let codec = boxes::codec_of(t.entry.kind).ok_or_else(|| corrupt("the video track has no codec".into()))?;
    let fragmented = tables.fragments.is_some();
    let (samples, durations, offsets, sync) = match tables.fragments {
        Some(f) => (f.samples, f.durations, f.offsets, Some(f.sync)),
        None => {
            let samples = sample_table(&tables, data_len).map_err(corrupt)?;
            let (durations, offsets) = expand_runs(samples.len(), &tables.stts, &tables.ctts);
            (samples, durations, offsets, tables.stss)
        }
    };
    if samples.is_empty() {
        return Err(corrupt("the video track has no frames".to_string()));
    }

    let (name, config_kind) = match codec {
        Codec::H264 => ("H.264", "avcC"),
        Codec::Hevc => ("HEVC", "hvcC"),
    };
    let config =
        t.entry.config.ok_or_else(|| corrupt(format!("the {name} sample entry has no '{config_kind}' box")))?;
    let (length_size, has_params) = match codec {
        Codec::H264 => {
            let avcc = boxes::parse_avcc(config).map_err(|e| corrupt(format!("'avcC': {e}")))?;
            (avcc.length_size, !avcc.sps.is_empty() && !avcc.pps.is_empty())
        }
        Codec::Hevc => boxes::parse_hvcc(config).map_err(|e| corrupt(format!("'hvcC': {e}")))?,
    };
    // Entries ending in 1 (avc1, hvc1, dvh1) promise their parameter sets out of band.
    if t.entry.kind[3] == b'1' && !has_params {
        return Err(corrupt(format!("'{config_kind}' carries no parameter sets")));
    }

    // The sample entry holds the coded size; tkhd the presentation size.
    let (mut width, mut height) = (u32::from(t.entry.width), u32::from(t.entry.height));
    if width == 0 || height == 0 {
        (width, height) = tables.tkhd_size;
    }
    if width == 0 || height == 0 {
        return Err(corrupt("the video track has no frame size".to_string()));
    }
    check_size(width, height)?;
    let orientation = tables.orientation;
    if orientation.swaps_sides() {
        std::mem::swap(&mut width, &mut height);
    }

    let ticks: u64 = durations.iter().map(|&d| u64::from(d)).sum();
    let duration_s = match (tables.timescale, tables.duration, ticks) {
        (0, _, _) => None,
        // All-ones is "unknown" in mdhd; fragmented files leave it 0.
        (ts, d, _) if d > 0 && d != u64::from(u32::MAX) && d != u64::MAX => Some(d as f64 / f64::from(ts)),
        (ts, _, t) if t > 0 => Some(t as f64 / f64::from(ts)),
        _ => None,
    };
    let fps = sample_fps(&durations, tables.timescale);
    let edits = t.elst.map(boxes::parse_elst).unwrap_or_default();
    let timing = Timing::new(samples.len(), &durations, &offsets, tables.timescale, sync);
    let info = VideoInfo {
        width,
        height,
        fps,
        playback_fps: playback_fps(fps, &edits),
        frame_count: samples.len() as u64,
        codec: format!("{} ({})", codec_name(codec), boxes::fourcc(t.entry.kind)),
        duration_s,
        orientation,
        fragmented,
        frame_times_s: timing.times_s(),
    };
    let needs_param_sets = !has_params;
    Ok(Track { info, codec, config: config.to_vec(), length_size, needs_param_sets, samples, timing })
}

fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::H264 => "h264",
        Codec::Hevc => "hevc",
    }
}

/// The frame rate a player shows when the edit list plays the media slower than captured: the
/// capture rate times the slowest rate of a non-empty edit, when that is under 0.95. iPhone slow
/// motion keeps 240 fps samples and slows a stretch of them this way.
fn playback_fps(fps: Option<f64>, edits: &[boxes::Edit]) -> Option<f64> {
    let slowest = edits.iter().filter(|e| e.media_time >= 0 && e.rate > 0.0).map(|e| e.rate).reduce(f64::min)?;
    (slowest < 0.95).then(|| fps.map(|f| f * slowest)).flatten()
}

/// Per-sample durations and composition offsets from the `stts` (count, delta) and `ctts`
/// (count, offset) runs, for `n` samples at most (tables may claim more).
fn expand_runs(n: usize, stts: &[(u32, u32)], ctts: &[(u32, i32)]) -> (Vec<u32>, Vec<i64>) {
    let mut durations = Vec::with_capacity(n);
    for &(count, delta) in stts {
        let take = (count as usize).min(n - durations.len());
        durations.extend(std::iter::repeat_n(delta, take));
    }
    let mut offsets = Vec::with_capacity(n);
    for &(count, offset) in ctts {
        let take = (count as usize).min(n - offsets.len());
        offsets.extend(std::iter::repeat_n(i64::from(offset), take));
    }
    (durations, offsets)
}

/// The video track's timing and sample tables, as the `mp4` crate parsed them.
struct Tables {
    timescale: u32,
    duration: u64,
    tkhd_size: (u32, u32),
    orientation: Orientation,
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
    /// The samples of a fragmented file, which its `moov` tables leave empty.
    fragments: Option<fragments::Fragments>,
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
    boxes::refuse_open_ended(t.mdia.whole, "trak")?;
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
        orientation: Orientation::from_matrix(m.a, m.b, m.c, m.d),
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
        fragments: None,
    })
}

/// Frames per second from the sample durations; see [`VideoInfo::fps`].
fn sample_fps(durations: &[u32], timescale: u32) -> Option<f64> {
    if timescale == 0 {
        return None;
    }
    // Muxers often give the final sample a duration of its own; judge the rest.
    let body = match durations.split_last() {
        Some((_, rest)) if !rest.is_empty() => rest,
        _ => durations,
    };
    let first = *body.first()?;
    let fps = if first > 0 && body.iter().all(|&d| d == first) {
        f64::from(timescale) / f64::from(first)
    } else {
        let ticks: u64 = body.iter().map(|&d| u64::from(d)).sum();
        if ticks == 0 {
            return None;
        }
        body.len() as f64 * f64::from(timescale) / ticks as f64
    };
    (fps.is_finite() && (MIN_FPS..=MAX_FPS).contains(&fps)).then_some(fps)
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
    fn fps_from_the_sample_durations() {
        assert_eq!(sample_fps(&[1001; 100], 30_000), Some(30_000.0 / 1001.0));
        // A final sample with a duration of its own does not make the rate variable.
        let mut d = vec![128; 239];
        d.push(100);
        assert_eq!(sample_fps(&d, 15_360), Some(120.0));
        // Variable: samples over their total time (the last one left out).
        let d: Vec<u32> = [10; 10].into_iter().chain([30; 11]).collect();
        assert_eq!(sample_fps(&d, 600), Some(20.0 * 600.0 / 400.0));
        assert_eq!(sample_fps(&[10; 10], 0), None);
        assert_eq!(sample_fps(&[], 600), None);
        assert_eq!(sample_fps(&[0; 10], 600), None);
        assert_eq!(sample_fps(&[1; 10], 1_000_000), None, "a million fps is nonsense");
    }

    #[test]
    fn orientation_from_the_track_matrix() {
        let o = |a, b, c, d| {
            let o = Orientation::from_matrix(a, b, c, d);
            (o.rotation_deg(), o.mirrored())
        };
        assert_eq!(o(0, 0x10000, -0x10000, 0), (90, false));
        assert_eq!(o(-0x10000, 0, 0, -0x10000), (180, false));
        assert_eq!(o(0, -0x10000, 0x10000, 0), (270, false));
        assert_eq!(o(-0x10000, 0, 0, 0x10000), (0, true), "a left-right mirror");
        assert_eq!(o(0x10000, 0, 0, -0x10000), (180, true), "top-bottom: a mirror turned half way");
        assert_eq!(o(0, 0x10000, 0x10000, 0), (270, true));
        assert_eq!(o(0x10000, 0, 0, 0x10000), (0, false));
        assert_eq!(o(3, 0x10000, -0x10000, -2), (90, false), "rounding noise");
        assert_eq!(o(0, 0, 0, 0), (0, false), "a degenerate matrix is ignored");
    }

    #[test]
    fn slow_motion_edit_lists() {
        let edit = |media_time, rate| boxes::Edit { duration: 100, media_time, rate };
        assert_eq!(playback_fps(Some(240.0), &[edit(0, 1.0), edit(240, 0.125), edit(480, 1.0)]), Some(30.0));
        assert_eq!(playback_fps(Some(240.0), &[edit(-1, 0.1), edit(0, 1.0)]), None, "an empty edit plays nothing");
        assert_eq!(playback_fps(Some(60.0), &[]), None);
    }

    #[test]
    fn presentation_order_and_times_from_stts_and_ctts() {
        // Decode order I P B B, 10 ticks apart; with these offsets shown at I 10, P 50, B 20, B 30,
        // i.e. in the order I B B P.
        let (durations, offsets) = expand_runs(4, &[(4, 10)], &[(1, 10), (1, 40), (2, 0)]);
        let t = Timing::new(4, &durations, &offsets, 100, Some(vec![1]));
        assert_eq!(t.rank, [0, 3, 1, 2]);
        assert_eq!(t.pts, [0, 10, 20, 40]);
        assert_eq!(t.pts_s(3), Some(0.4));
        assert_eq!(t.pts_s(4), None);
        assert!(t.is_sync(0) && !t.is_sync(1));
        // Short tables: the last delta goes on, missing offsets are 0; no stss: all sync.
        let t = Timing::new(3, &[5], &[], 0, None);
        assert_eq!((t.rank.as_slice(), t.pts.as_slice(), t.pts_s(1)), (&[0, 1, 2][..], &[0, 5, 10][..], None));
        assert!(t.is_sync(2));
        // Tables claiming more samples than there are, and huge deltas, stay in bounds.
        let (durations, offsets) = expand_runs(2, &[(u32::MAX, u32::MAX)], &[(u32::MAX, i32::MIN)]);
        assert_eq!((durations.len(), offsets.len()), (2, 2));
        let t = Timing::new(2, &durations, &offsets, 1, Some(vec![9, 2, 1]));
        assert_eq!(t.rank, [0, 1]);
        assert_eq!(t.sync, Some(vec![1, 2, 9]));
    }
}
