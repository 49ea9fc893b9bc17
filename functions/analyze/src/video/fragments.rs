//! Fragmented MP4 (ISO/IEC 14496-12 §8.8): the samples of one track from its `moof`/`traf`
//! boxes (`tfhd`, `tfdt`, `trun`), with the `mvex`/`trex` defaults, as the same per-sample tables
//! a regular file's `stbl` gives. Recording apps and streaming exports write these; the `moov`
//! then holds empty sample tables.

use super::boxes::{self, RawBox};
use super::demux::SampleLoc;

/// A track's samples gathered from every fragment, in decode order.
#[derive(Debug, Default)]
pub(super) struct Fragments {
    pub samples: Vec<SampleLoc>,
    /// Each sample's duration in the media timescale.
    pub durations: Vec<u32>,
    /// Each sample's composition offset.
    pub offsets: Vec<i64>,
    /// The 1-based numbers of the sync samples.
    pub sync: Vec<u32>,
}

/// Per-track defaults (`trex`, overridden per fragment by `tfhd`).
#[derive(Debug, Clone, Copy, Default)]
struct Defaults {
    duration: u32,
    size: u32,
    flags: u32,
}

/// A sample whose flags say `sample_is_non_sync_sample`.
const NON_SYNC: u32 = 0x0001_0000;

/// Reads every fragment of track `track_id`. `data` is the whole upload, `top` its top-level
/// boxes and `moov` the movie box's children. Samples are checked to lie in the upload only when
/// read (a cut-short upload keeps the frames that arrived).
pub(super) fn read(data: &[u8], top: &[RawBox<'_>], moov: &[RawBox<'_>], track_id: u32) -> Result<Fragments, String> {
    let mut defaults = Defaults::default();
    if let Some(mvex) = boxes::find(moov, b"mvex") {
        for trex in
            boxes::children(mvex.body(), "mvex").map_err(|e| e.to_string())?.iter().filter(|b| &b.kind == b"trex")
        {
            // version/flags, track_ID, default_sample_description_index, duration, size, flags.
            let b = trex.body();
            if u32_at(b, 4) == Some(track_id) {
                defaults = Defaults {
                    duration: u32_at(b, 12).unwrap_or(0),
                    size: u32_at(b, 16).unwrap_or(0),
                    flags: u32_at(b, 20).unwrap_or(0),
                };
            }
        }
    }
    let mut out = Fragments::default();
    let mut next_dts: u64 = 0;
    let mut dts_of_sample: Vec<u64> = Vec::new();
    for moof in top.iter().filter(|b| &b.kind == b"moof") {
        let moof_start = offset_in(data, moof.whole);
        for traf in
            boxes::children(moof.body(), "moof").map_err(|e| e.to_string())?.iter().filter(|b| &b.kind == b"traf")
        {
            let traf_boxes = boxes::children(traf.body(), "traf").map_err(|e| e.to_string())?;
            let tfhd = boxes::find(&traf_boxes, b"tfhd").ok_or("a 'traf' has no 'tfhd'")?.body();
            if u32_at(tfhd, 4) != Some(track_id) {
                continue;
            }
            let tf_flags = u32_at(tfhd, 0).unwrap_or(0) & 0x00ff_ffff;
            let mut at = 8;
            let mut field = |present: bool, len: usize| -> Option<u64> {
                if !present {
                    return None;
                }
                let v = tfhd.get(at..at + len)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                at += len;
                Some(v)
            };
            let base_offset = field(tf_flags & 0x01 != 0, 8);
            field(tf_flags & 0x02 != 0, 4); // sample description index
            let mut local = defaults;
            if let Some(d) = field(tf_flags & 0x08 != 0, 4) {
                local.duration = d as u32;
            }
            if let Some(s) = field(tf_flags & 0x10 != 0, 4) {
                local.size = s as u32;
            }
            if let Some(f) = field(tf_flags & 0x20 != 0, 4) {
                local.flags = f as u32;
            }
            // Without an explicit base, offsets count from the moof (default-base-is-moof, and
            // what every muxer seen writes for the first traf).
            let base = base_offset.unwrap_or(moof_start as u64);
            if let Some(tfdt) = boxes::find(&traf_boxes, b"tfdt") {
                let b = tfdt.body();
                let decode_time = if b.first() == Some(&1) { u64_at(b, 4) } else { u32_at(b, 4).map(u64::from) };
                if let Some(t) = decode_time {
                    next_dts = t;
                }
            }
            let mut data_cursor = base;
            for trun in traf_boxes.iter().filter(|b| &b.kind == b"trun") {
                let run = Run { base, data_len: data.len() };
                read_trun(trun.body(), run, &mut data_cursor, local, &mut next_dts, &mut out, &mut dts_of_sample)?;
            }
        }
    }
    // Durations from consecutive decode times, so a tfdt jump counts as the gap it is.
    for i in 0..out.durations.len().saturating_sub(1) {
        let gap = dts_of_sample[i + 1].saturating_sub(dts_of_sample[i]);
        out.durations[i] = u32::try_from(gap).unwrap_or(u32::MAX);
    }
    Ok(out)
}

/// Most samples one file's fragments may describe (an hour at 240 fps): a `trun` without
/// per-sample fields takes 8 bytes to claim four billion samples.
const MAX_FRAGMENT_SAMPLES: usize = 1_000_000;

/// Where a `trun`'s offsets count from, and the upload's length (no sample lies past it).
#[derive(Debug, Clone, Copy)]
struct Run {
    base: u64,
    data_len: usize,
}

/// One `trun`: its samples appended to `out`; `cursor` is where the previous run's data ended.
fn read_trun(
    b: &[u8],
    Run { base, data_len }: Run,
    cursor: &mut u64,
    d: Defaults,
    dts: &mut u64,
    out: &mut Fragments,
    dts_of_sample: &mut Vec<u64>,
) -> Result<(), String> {
    let cut = || "a 'trun' box is cut short".to_string();
    let version = *b.first().ok_or_else(cut)?;
    let flags = u32_at(b, 0).ok_or_else(cut)? & 0x00ff_ffff;
    let count = u32_at(b, 4).ok_or_else(cut)? as usize;
    let mut at = 8;
    if flags & 0x01 != 0 {
        let offset = i64::from(u32_at(b, at).ok_or_else(cut)? as i32);
        *cursor = base.checked_add_signed(offset).ok_or("a 'trun' data offset points before the file")?;
        at += 4;
    }
    let first_flags = if flags & 0x04 != 0 {
        at += 4;
        u32_at(b, at - 4)
    } else {
        None
    };
    let per_sample = [0x100, 0x200, 0x400, 0x800].iter().filter(|&&f| flags & f != 0).count() * 4;
    // Bound the count by the bytes that describe it before reserving anything.
    if per_sample > 0 && count > b.len().saturating_sub(at) / per_sample {
        return Err(cut());
    }
    // Without per-sample fields the count is bounded by nothing in the box: every sample takes at
    // least its default size of the upload, and no file holds more than MAX_FRAGMENT_SAMPLES.
    let room = if per_sample == 0 && d.size > 0 { data_len / d.size as usize } else { usize::MAX };
    if count > room || dts_of_sample.len().saturating_add(count) > MAX_FRAGMENT_SAMPLES {
        return Err(format!("a 'trun' claims {count} samples, more than the upload can hold"));
    }
    for i in 0..count {
        let mut next = || {
            let v = u32_at(b, at);
            at += 4;
            v.ok_or_else(cut)
        };
        let duration = if flags & 0x100 != 0 { next()? } else { d.duration };
        let size = if flags & 0x200 != 0 { next()? } else { d.size };
        let sample_flags = if flags & 0x400 != 0 {
            next()?
        } else if i == 0 {
            first_flags.unwrap_or(d.flags)
        } else {
            d.flags
        };
        let offset = if flags & 0x800 != 0 {
            let raw = next()?;
            if version == 0 {
                i64::from(raw)
            } else {
                i64::from(raw as i32)
            }
        } else {
            0
        };
        out.samples.push(SampleLoc { offset: *cursor, size });
        *cursor = cursor.saturating_add(u64::from(size));
        out.durations.push(duration);
        out.offsets.push(offset);
        dts_of_sample.push(*dts);
        *dts = dts.saturating_add(u64::from(duration));
        if sample_flags & NON_SYNC == 0 {
            out.sync.push(u32::try_from(out.samples.len()).unwrap_or(u32::MAX));
        }
    }
    Ok(())
}

/// Where `part` (a slice of `data`) starts in `data`.
fn offset_in(data: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(data.as_ptr() as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|x| u64::from_be_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]))
}
