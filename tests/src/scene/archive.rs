//! Rendered frames into a zip, PNG or JPEG entries in time order: the upload the analyze endpoint
//! takes.

use std::io::{Cursor, Write};

use image::RgbImage;

/// How frames are encoded inside the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Lossless PNG, `frame_0000.png`, ...
    Png,
    /// JPEG at quality 90, `frame_0000.jpg`, ...
    Jpeg,
}

/// Zips `frames` as `frame_0000.png` (or `.jpg`), ... so that sorted name order is time order.
/// Entries are stored (the images are compressed already).
pub fn frames_zip(frames: &[RgbImage], format: ImageFormat) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (i, frame) in frames.iter().enumerate() {
        let mut bytes = Vec::new();
        let ext = match format {
            ImageFormat::Png => {
                frame
                    .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
                    .expect("PNG encoding into memory does not fail");
                "png"
            }
            ImageFormat::Jpeg => {
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
                    .encode_image(frame)
                    .expect("JPEG encoding into memory does not fail");
                "jpg"
            }
        };
        zip.start_file(format!("frame_{i:04}.{ext}"), options).expect("zip entry in memory");
        zip.write_all(&bytes).expect("zip write in memory");
    }
    zip.finish().expect("zip finish in memory").into_inner()
}
