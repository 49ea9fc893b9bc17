//! Frame ingestion for `/cv/analyze` and the range endpoint: a zip of `.png`/`.jpg`/`.jpeg` images or
//! `.npy` arrays (uint8 H×W×3 or H×W), read in sorted-name order, with every limit a zip bomb or a
//! careless upload could hit checked before the bytes are trusted. Entry names are used only to sort
//! and to name problems; nothing is ever written to the filesystem.

use std::io::Read;

/// Limits on an uploaded zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// The zip itself (default 50 MB).
    pub max_zip_bytes: usize,
    /// File entries (default 400).
    pub max_entries: usize,
    /// One uncompressed entry (default 25 MB).
    pub max_entry_bytes: u64,
    /// Uncompressed / compressed size of an entry (default 200; zip bombs are far above).
    pub max_ratio: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_zip_bytes: 50 * 1024 * 1024,
            max_entries: 400,
            max_entry_bytes: 25 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// Why frames could not be read; each maps to one documented error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// ZIP_TOO_LARGE (413).
    #[error("zip is {size} bytes, over the {limit}-byte limit")]
    ZipTooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// ZIP_TOO_MANY_FILES (413).
    #[error("zip has {count} files, over the limit of {limit}")]
    ZipTooManyFiles {
        /// Files found.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// ZIP_FILE_TOO_LARGE (413).
    #[error("zip entry {name:?} is over {limit} bytes uncompressed")]
    ZipFileTooLarge {
        /// The entry.
        name: String,
        /// The limit.
        limit: u64,
    },
    /// ZIP_RATIO_INVALID (413): a compression ratio only a zip bomb has.
    #[error("zip entry {name:?} expands {ratio}x, over the limit of {limit}x")]
    ZipRatioInvalid {
        /// The entry.
        name: String,
        /// Its ratio.
        ratio: u64,
        /// The limit.
        limit: u64,
    },
    /// ZIP_INVALID_TYPE (400).
    #[error("zip entry {name:?} is not a .png, .jpg, .jpeg or .npy frame")]
    ZipInvalidType {
        /// The entry.
        name: String,
    },
    /// INVALID_ZIP (400).
    #[error("not a readable zip archive: {0}")]
    InvalidZip(String),
    /// INSUFFICIENT_FRAMES (400).
    #[error("found {found} frames; at least {needed} are needed")]
    InsufficientFrames {
        /// Frames found.
        found: usize,
        /// Frames needed.
        needed: usize,
    },
    /// INVALID_IMAGE (400).
    #[error("frame {name:?} cannot be decoded: {reason}")]
    InvalidImage {
        /// The entry (or upload part).
        name: String,
        /// The decoder's complaint.
        reason: String,
    },
}

impl IngestError {
    /// The stable error code (and with it the HTTP status).
    pub fn code(&self) -> common::error::ErrorCode {
        use common::error::ErrorCode;
        match self {
            IngestError::ZipTooLarge { .. } => ErrorCode::ZipTooLarge,
            IngestError::ZipTooManyFiles { .. } => ErrorCode::ZipTooManyFiles,
            IngestError::ZipFileTooLarge { .. } => ErrorCode::ZipFileTooLarge,
            IngestError::ZipRatioInvalid { .. } => ErrorCode::ZipRatioInvalid,
            IngestError::ZipInvalidType { .. } => ErrorCode::ZipInvalidType,
            IngestError::InvalidZip(_) => ErrorCode::InvalidZip,
            IngestError::InsufficientFrames { .. } => ErrorCode::InsufficientFrames,
            IngestError::InvalidImage { .. } => ErrorCode::InvalidImage,
        }
    }
}

/// One decoded RGB frame.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFrame {
    /// Where it came from (zip entry or upload part).
    pub name: String,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Interleaved RGB.
    pub rgb: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Image,
    Npy,
}

fn kind_of(name: &str) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".png") || lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        Some(Kind::Image)
    } else if lower.ends_with(".npy") {
        Some(Kind::Npy)
    } else {
        None
    }
}

/// Archive noise that is not content: folders, macOS resource forks, hidden files.
fn is_noise(name: &str) -> bool {
    name.ends_with('/')
        || name.starts_with("__MACOSX/")
        || name.rsplit('/').next().is_some_and(|base| base.starts_with('.'))
}

/// Decodes a PNG or JPEG.
pub fn decode_image(name: &str, bytes: &[u8]) -> Result<DecodedFrame, IngestError> {
    let img = image::load_from_memory(bytes)
        .map_err(|e| IngestError::InvalidImage { name: name.to_string(), reason: e.to_string() })?
        .to_rgb8();
    Ok(DecodedFrame { name: name.to_string(), width: img.width(), height: img.height(), rgb: img.into_raw() })
}

/// Decodes a `.npy` array of uint8, shape (H, W, 3) or (H, W), C order.
pub fn decode_npy(name: &str, bytes: &[u8]) -> Result<DecodedFrame, IngestError> {
    let bad = |reason: &str| IngestError::InvalidImage { name: name.to_string(), reason: reason.to_string() };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(bad("unsupported .npy version")),
    };
    let header = bytes.get(start..start + header_len).ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    if !(header.contains("'descr': '|u1'") || header.contains("'descr': 'u1'") || header.contains("'descr': '<u1'")) {
        return Err(bad("dtype must be uint8"));
    }
    if header.contains("'fortran_order': True") {
        return Err(bad("fortran_order arrays are not supported"));
    }
    let shape_text =
        header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| d.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_, _>>()?;
    let data = &bytes[start + header_len..];
    let (h, w, channels) = match dims.as_slice() {
        [h, w, 3] => (*h, *w, 3),
        [h, w] => (*h, *w, 1),
        _ => return Err(bad("shape must be (H, W, 3) or (H, W)")),
    };
    if h == 0 || w == 0 || h > 16_384 || w > 16_384 {
        return Err(bad("dimensions out of range"));
    }
    let needed = h * w * channels;
    let data = data.get(..needed).ok_or_else(|| bad("data shorter than its shape"))?;
    let rgb = if channels == 3 { data.to_vec() } else { data.iter().flat_map(|&g| [g, g, g]).collect() };
    Ok(DecodedFrame { name: name.to_string(), width: w as u32, height: h as u32, rgb })
}

/// The frames of a zip upload, checked up front (size, entry count, types, declared sizes and
/// compression ratios from the central directory) and decoded one at a time on demand, so a long
/// clip never sits decoded in memory.
pub struct ZipFrames<'a> {
    archive: zip::ZipArchive<std::io::Cursor<&'a [u8]>>,
    entries: Vec<(String, usize, Kind)>,
    limits: ZipLimits,
}

impl std::fmt::Debug for ZipFrames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipFrames").field("entries", &self.entries.len()).finish()
    }
}

impl<'a> ZipFrames<'a> {
    /// Opens and checks a zip; entries are sorted by name (frame order).
    pub fn open(zip_bytes: &'a [u8], limits: &ZipLimits) -> Result<Self, IngestError> {
        if zip_bytes.len() > limits.max_zip_bytes {
            return Err(IngestError::ZipTooLarge { size: zip_bytes.len(), limit: limits.max_zip_bytes });
        }
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
            .map_err(|e| IngestError::InvalidZip(e.to_string()))?;
        let mut entries: Vec<(String, usize, Kind)> = Vec::new();
        let total = archive.len();
        for i in 0..total {
            let file = archive.by_index_raw(i).map_err(|e| IngestError::InvalidZip(e.to_string()))?;
            let name = file.name().map_err(|e| IngestError::InvalidZip(e.to_string()))?.to_string();
            if is_noise(&name) || file.is_dir() {
                continue;
            }
            let kind = kind_of(&name).ok_or_else(|| IngestError::ZipInvalidType { name: name.clone() })?;
            let (size, compressed) = (file.size(), file.compressed_size().max(1));
            if size > limits.max_entry_bytes {
                return Err(IngestError::ZipFileTooLarge { name, limit: limits.max_entry_bytes });
            }
            let ratio = size / compressed;
            if ratio > limits.max_ratio {
                return Err(IngestError::ZipRatioInvalid { name, ratio, limit: limits.max_ratio });
            }
            entries.push((name, i, kind));
            if entries.len() > limits.max_entries {
                return Err(IngestError::ZipTooManyFiles { count: total, limit: limits.max_entries });
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ZipFrames { archive, entries, limits: *limits })
    }

    /// Frames in the zip.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the zip holds no frames.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Decodes frame `i` (in sorted-name order).
    pub fn frame(&mut self, i: usize) -> Result<DecodedFrame, IngestError> {
        let (name, index, kind) =
            self.entries.get(i).cloned().ok_or_else(|| IngestError::InvalidZip(format!("no frame {i} in the zip")))?;
        let file = self.archive.by_index(index).map_err(|e| IngestError::InvalidZip(e.to_string()))?;
        let compressed = file.compressed_size().max(1);
        let max = self.limits.max_entry_bytes;
        // Never trust the declared size: read at most one byte past the limit.
        let mut bytes = Vec::with_capacity(file.size().min(max) as usize);
        file.take(max + 1).read_to_end(&mut bytes).map_err(|e| IngestError::InvalidZip(format!("{name}: {e}")))?;
        if bytes.len() as u64 > max {
            return Err(IngestError::ZipFileTooLarge { name, limit: max });
        }
        let ratio = bytes.len() as u64 / compressed;
        if ratio > self.limits.max_ratio {
            return Err(IngestError::ZipRatioInvalid { name, ratio, limit: self.limits.max_ratio });
        }
        match kind {
            Kind::Image => decode_image(&name, &bytes),
            Kind::Npy => decode_npy(&name, &bytes),
        }
    }
}

/// Reads every frame of a zip upload, in sorted-name order, enforcing `limits`, and requires at
/// least `min_frames` (small inputs and tests; the endpoints stream through [`ZipFrames`]).
pub fn read_zip_frames(
    zip_bytes: &[u8],
    limits: &ZipLimits,
    min_frames: usize,
) -> Result<Vec<DecodedFrame>, IngestError> {
    let mut zip = ZipFrames::open(zip_bytes, limits)?;
    if zip.len() < min_frames {
        return Err(IngestError::InsufficientFrames { found: zip.len(), needed: min_frames });
    }
    (0..zip.len()).map(|i| zip.frame(i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn png(w: u32, h: u32, shade: u8) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([shade, shade, shade]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
        out.into_inner()
    }

    fn npy(h: usize, w: usize, channels: usize, fill: u8) -> Vec<u8> {
        let shape = if channels == 3 { format!("({h}, {w}, 3)") } else { format!("({h}, {w})") };
        let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend(std::iter::repeat_n(fill, h * w * channels));
        out
    }

    fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            w.start_file(*name, opts).expect("start");
            w.write_all(bytes).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn frames_come_back_in_sorted_name_order_from_every_format() {
        let z = zip_of(&[
            ("f_002.jpg", {
                let img = image::RgbImage::from_pixel(8, 6, image::Rgb([200, 10, 10]));
                let mut out = std::io::Cursor::new(Vec::new());
                img.write_to(&mut out, image::ImageFormat::Jpeg).expect("jpeg");
                out.into_inner()
            }),
            ("f_001.png", png(8, 6, 50)),
            ("f_003.npy", npy(6, 8, 3, 90)),
            ("f_004.NPY", npy(6, 8, 1, 120)),
            ("__MACOSX/._f_001.png", vec![0, 1, 2]),
            ("dir/", vec![]),
        ]);
        let frames = read_zip_frames(&z, &ZipLimits::default(), 2).expect("frames");
        let names: Vec<&str> = frames.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["f_001.png", "f_002.jpg", "f_003.npy", "f_004.NPY"]);
        assert!(frames.iter().all(|f| (f.width, f.height) == (8, 6) && f.rgb.len() == 8 * 6 * 3));
        assert_eq!(&frames[0].rgb[..3], &[50, 50, 50]);
        assert_eq!(&frames[3].rgb[..3], &[120, 120, 120], "gray npy becomes RGB");
    }

    #[test]
    fn every_limit_maps_to_its_error_code() {
        let two = zip_of(&[("a.png", png(4, 4, 1)), ("b.png", png(4, 4, 2))]);
        let small = ZipLimits { max_zip_bytes: 100, ..ZipLimits::default() };
        assert_eq!(read_zip_frames(&two, &small, 2).expect_err("size").code().as_str(), "ZIP_TOO_LARGE");
        let few = ZipLimits { max_entries: 1, ..ZipLimits::default() };
        assert_eq!(read_zip_frames(&two, &few, 2).expect_err("count").code().as_str(), "ZIP_TOO_MANY_FILES");
        let big_entry = zip_of(&[("a.npy", npy(64, 64, 3, 7)), ("b.png", png(4, 4, 2))]);
        let tight = ZipLimits { max_entry_bytes: 1000, max_ratio: 100_000, ..ZipLimits::default() };
        assert_eq!(read_zip_frames(&big_entry, &tight, 2).expect_err("entry").code().as_str(), "ZIP_FILE_TOO_LARGE");
        // 4 MB of zeros compresses ~1000x: a bomb's signature.
        let bomb = zip_of(&[("bomb.npy", npy(1024, 1365, 3, 0)), ("b.png", png(4, 4, 2))]);
        let err = read_zip_frames(&bomb, &ZipLimits::default(), 2).expect_err("ratio");
        assert_eq!(err.code().as_str(), "ZIP_RATIO_INVALID", "{err}");
        let txt = zip_of(&[("a.png", png(4, 4, 1)), ("notes.txt", b"hello".to_vec())]);
        assert_eq!(
            read_zip_frames(&txt, &ZipLimits::default(), 2).expect_err("type").code().as_str(),
            "ZIP_INVALID_TYPE"
        );
        assert_eq!(
            read_zip_frames(b"not a zip", &ZipLimits::default(), 2).expect_err("zip").code().as_str(),
            "INVALID_ZIP"
        );
        let one = zip_of(&[("a.png", png(4, 4, 1))]);
        assert_eq!(
            read_zip_frames(&one, &ZipLimits::default(), 2).expect_err("frames").code().as_str(),
            "INSUFFICIENT_FRAMES"
        );
        let broken = zip_of(&[("a.png", b"\x89PNG garbage".to_vec()), ("b.png", png(4, 4, 2))]);
        assert_eq!(
            read_zip_frames(&broken, &ZipLimits::default(), 2).expect_err("image").code().as_str(),
            "INVALID_IMAGE"
        );
        let traversal = zip_of(&[("../../etc/passwd.png", png(4, 4, 1)), ("b.png", png(4, 4, 2))]);
        assert_eq!(read_zip_frames(&traversal, &ZipLimits::default(), 2).expect("names are only labels").len(), 2);
    }

    #[test]
    fn npy_headers_are_checked() {
        assert!(decode_npy("a", &npy(2, 3, 3, 1)).is_ok());
        let mut wrong_dtype = npy(2, 3, 3, 1);
        let pos = wrong_dtype.windows(3).position(|w| w == b"|u1").expect("descr");
        wrong_dtype[pos..pos + 3].copy_from_slice(b"<f4");
        assert!(decode_npy("a", &wrong_dtype).is_err());
        let mut short = npy(2, 3, 3, 1);
        short.truncate(short.len() - 1);
        assert!(decode_npy("a", &short).is_err());
        assert!(decode_npy("a", b"\x93NUMPY").is_err());
        assert!(decode_npy("a", b"PK\x03\x04 not npy").is_err());
    }
}
