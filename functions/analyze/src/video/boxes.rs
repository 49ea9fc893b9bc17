//! ISO-BMFF box walking: the top-level boxes of an upload (and what it is when it is not an MP4),
//! each track's `tkhd`/`mdia`/`edts`/sample description, the H.264 `avcC` and HEVC `hvcC`
//! records, edit lists, and codec names.

use super::VideoError;
use avdecode::Codec;

/// The `avcC` decoder configuration.
#[derive(Debug, Default)]
pub(super) struct AvcC {
    /// Bytes in each NAL unit's length prefix (1, 2, 3 or 4).
    pub length_size: usize,
    pub sps: Vec<Vec<u8>>,
    pub pps: Vec<Vec<u8>>,
}

/// One ISO-BMFF box inside the upload.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawBox<'a> {
    pub kind: [u8; 4],
    /// The whole box, header included.
    pub whole: &'a [u8],
    /// 8, or 16 with a 64-bit size.
    header_len: usize,
}

impl<'a> RawBox<'a> {
    pub fn body(&self) -> &'a [u8] {
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
pub(super) fn children<'a>(data: &'a [u8], parent: &str) -> Result<Vec<RawBox<'a>>, VideoError> {
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

/// The containers the `mp4` crate walks itself below a track.
const CRATE_CONTAINERS: [&[u8; 4]; 4] = [b"mdia", b"minf", b"dinf", b"stbl"];

/// Refuses a box tree the `mp4` crate would loop on forever: a child whose size field is 0 ("to
/// the end of the parent", legal only at the top level) inside a container it walks sends its read
/// loop back to the same box (found by `cargo fuzz`, fuzz/regressions/mp4_probe). `data` is a run
/// of boxes; the crate's containers among them are checked all the way down.
pub(super) fn refuse_open_ended(data: &[u8], parent: &str) -> Result<(), VideoError> {
    let mut rest = data;
    while rest.len() >= 8 {
        if rest[..4] == [0, 0, 0, 0] {
            return Err(VideoError::Corrupt(format!("a box inside '{parent}' has size 0")));
        }
        let (kind, header_len, len) =
            box_header(rest).ok_or_else(|| VideoError::Corrupt(format!("a box inside '{parent}' has a bad size")))?;
        let len = usize::try_from(len).ok().filter(|&l| l <= rest.len()).ok_or_else(|| {
            VideoError::Corrupt(format!("the '{}' box inside '{parent}' runs past its end", fourcc(kind)))
        })?;
        if CRATE_CONTAINERS.contains(&&kind) {
            refuse_open_ended(&rest[header_len..len], &fourcc(kind))?;
        }
        rest = &rest[len..];
    }
    Ok(())
}

pub(super) struct TopLevel<'a> {
    pub boxes: Vec<RawBox<'a>>,
    /// The type of a last box that the upload ends inside of (kept, cut short, in `boxes`).
    pub truncated: Option<[u8; 4]>,
}

/// Box types a file can start with; anything else is not an MP4/MOV.
const FIRST_BOXES: [&[u8; 4]; 12] =
    [b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp", b"sidx", b"junk", b"PICT"];

pub(super) fn top_level_boxes(data: &[u8]) -> Result<TopLevel<'_>, VideoError> {
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
pub(super) struct TrakBoxes<'a> {
    pub handler: [u8; 4],
    pub tkhd: RawBox<'a>,
    pub mdia: RawBox<'a>,
    /// The `edts` box's `elst` body, when the track has an edit list.
    pub elst: Option<&'a [u8]>,
    pub entry: SampleEntry<'a>,
}

impl TrakBoxes<'_> {
    /// `tkhd`'s track id (version 0: after creation and modification times of 4 bytes each;
    /// version 1: of 8), which `moof` fragments name their track by.
    pub fn track_id(&self) -> Option<u32> {
        let body = self.tkhd.body();
        let at = if body.first() == Some(&1) { 20 } else { 12 };
        body.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The first sample description of a track.
pub(super) struct SampleEntry<'a> {
    /// Its four-character code (`avc1`, `hvc1`, ...), zeros when there is none.
    pub kind: [u8; 4],
    /// Where that code sits in the `mdia` box's bytes.
    pub kind_at: Option<usize>,
    pub width: u16,
    pub height: u16,
    /// The `avcC` (H.264) or `hvcC` (HEVC) box body: the decoder configuration.
    pub config: Option<&'a [u8]>,
}

pub(super) fn find<'a>(boxes: &[RawBox<'a>], kind: &[u8; 4]) -> Option<RawBox<'a>> {
    boxes.iter().find(|b| &b.kind == kind).copied()
}

pub(super) fn trak_boxes(trak: RawBox<'_>) -> Result<TrakBoxes<'_>, String> {
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
    let elst = find(&trak_children, b"edts")
        .and_then(|edts| children(edts.body(), "edts").ok())
        .and_then(|boxes| find(&boxes, b"elst"))
        .map(|elst| elst.body());
    let minf = children(find(&mdia_children, b"minf").ok_or_else(|| missing("minf"))?.body(), "minf").map_err(err)?;
    let stbl = children(find(&minf, b"stbl").ok_or_else(|| missing("stbl"))?.body(), "stbl").map_err(err)?;
    let entry = match find(&stbl, b"stsd") {
        Some(stsd) => sample_entry(stsd.body(), mdia.whole)?,
        None => SampleEntry { kind: [0; 4], kind_at: None, width: 0, height: 0, config: None },
    };
    Ok(TrakBoxes { handler, tkhd, mdia, elst, entry })
}

/// The first entry of an `stsd` body (version/flags (4), entry count (4), then the entries);
/// `mdia` is the enclosing box, to locate the entry's type code in it.
fn sample_entry<'a>(stsd: &'a [u8], mdia: &'a [u8]) -> Result<SampleEntry<'a>, String> {
    let none = SampleEntry { kind: [0; 4], kind_at: None, width: 0, height: 0, config: None };
    let Some(entries) = stsd.get(8..).filter(|e| e.len() >= 8) else { return Ok(none) };
    let (kind, header_len, len) = box_header(entries).ok_or("the sample description has a bad size")?;
    let len =
        usize::try_from(len).ok().filter(|&l| l <= entries.len()).ok_or("the sample description runs past its box")?;
    let body = entries.get(header_len..len).unwrap_or(&[]);
    // `entries` lies inside `mdia`, so the distance between their starts is an offset into it.
    let kind_at = (entries.as_ptr() as usize).checked_sub(mdia.as_ptr() as usize).map(|at| at + 4);
    // A visual sample entry: 6 reserved, data reference index (2), 16 pre-defined/reserved, then
    // width and height (2 each), ... 78 bytes before its child boxes (avcC, hvcC, colr, pasp, ...).
    let u16_at = |at: usize| body.get(at..at + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let config_kind = match codec_of(kind) {
        Some(Codec::H264) => Some(b"avcC"),
        Some(Codec::Hevc) => Some(b"hvcC"),
        None => None,
    };
    let config = match (body.get(78..), config_kind) {
        (Some(rest), Some(config_kind)) => children(rest, fourcc(kind).as_str())
            .map_err(|e| e.to_string())?
            .iter()
            .find(|b| &b.kind == config_kind)
            .map(|b| b.body()),
        _ => None,
    };
    Ok(SampleEntry { kind, kind_at, width: u16_at(24), height: u16_at(26), config })
}

/// One `elst` entry: `duration` in the movie timescale, `media_time` in the track's (-1: an empty
/// edit, a pause), and the rate the media plays at (1.0 as captured; QuickTime's 16.16 field).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Edit {
    pub duration: u64,
    pub media_time: i64,
    pub rate: f64,
}

/// Parses an `elst` body (version 0: 32-bit duration and media time; version 1: 64-bit), at most
/// as many entries as its bytes hold.
pub(super) fn parse_elst(body: &[u8]) -> Vec<Edit> {
    let wide = body.first() == Some(&1);
    let count = body.get(4..8).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let entry_len = if wide { 20 } else { 12 };
    let Some(entries) = body.get(8..) else { return Vec::new() };
    entries
        .chunks_exact(entry_len)
        .take(count)
        .map(|e| {
            let be = |r: std::ops::Range<usize>| e[r].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            let (duration, media_time, rate_at) =
                if wide { (be(0..8), be(8..16) as i64, 16) } else { (be(0..4), i64::from(be(4..8) as u32 as i32), 8) };
            let rate =
                f64::from(i32::from_be_bytes([e[rate_at], e[rate_at + 1], e[rate_at + 2], e[rate_at + 3]])) / 65536.0;
            Edit { duration, media_time, rate }
        })
        .collect()
}

/// The NAL unit length size of an `hvcC` body (HEVCDecoderConfigurationRecord: byte 21's low 2
/// bits plus one) and whether it carries VPS, SPS and PPS arrays.
pub(super) fn parse_hvcc(body: &[u8]) -> Result<(usize, bool), String> {
    let length_size = usize::from(body.get(21).ok_or_else(cut_short)? & 0x03) + 1;
    let arrays = usize::from(*body.get(22).ok_or_else(cut_short)?);
    let mut at = 23;
    let mut kinds = Vec::new();
    for _ in 0..arrays {
        let kind = body.get(at).ok_or_else(cut_short)? & 0x3f;
        let n = body.get(at + 1..at + 3).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or_else(cut_short)?;
        at += 3;
        for _ in 0..n {
            let len =
                body.get(at..at + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))).ok_or_else(cut_short)?;
            body.get(at + 2..at + 2 + len).ok_or_else(cut_short)?;
            at += 2 + len;
        }
        if n > 0 {
            kinds.push(kind);
        }
    }
    let has_params = [32, 33, 34].iter().all(|k| kinds.contains(k));
    Ok((length_size, has_params))
}

/// Parses an `avcC` body (ISO/IEC 14496-15 AVCDecoderConfigurationRecord): version, profile,
/// compatibility, level, length size (low 2 bits), SPS count (low 5 bits) and SPSs, PPS count and
/// PPSs, each set behind a 16-bit length. Trailing High-profile fields are ignored.
pub(super) fn parse_avcc(body: &[u8]) -> Result<AvcC, String> {
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

/// The decoder for a sample entry type: H.264 for `avc1`/`avc3`, HEVC for `hvc1`/`hev1` and the
/// Dolby Vision entries whose base layer is HEVC (`dvh1`/`dvhe`, decoded without the
/// enhancement metadata).
pub(super) fn codec_of(kind: [u8; 4]) -> Option<Codec> {
    match &kind {
        b"avc1" | b"avc3" => Some(Codec::H264),
        b"hvc1" | b"hev1" | b"dvh1" | b"dvhe" => Some(Codec::Hevc),
        _ => None,
    }
}

/// A client-facing name for a sample entry's codec.
pub(super) fn describe_codec(kind: [u8; 4]) -> String {
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

pub(super) fn fourcc(kind: [u8; 4]) -> String {
    kind.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '?' }).collect()
}
