//! The tracer still: the whole flight and the label on one frame, as a JPEG of at most
//! [`STILL_MAX_BYTES`].

use image::codecs::jpeg::JpegEncoder;
use image::RgbImage;

use crate::draw::{draw_flight, draw_label, Style};
use crate::{fit_output, Flight, TracerError};

/// The most a still may weigh (a 1080p phone frame of turf at quality 85 is about 250 KB).
pub const STILL_MAX_BYTES: usize = 400_000;

/// JPEG qualities tried in turn until the image fits its budget.
const QUALITIES: [u8; 5] = [85, 75, 65, 55, 45];

/// `frame` (any size; drawn and stored at most 1080p) with all of `flight` and, when given, the
/// label `label` drawn on it, as a JPEG of at most [`STILL_MAX_BYTES`].
pub fn render_still(frame: RgbImage, flight: &Flight, label: Option<&str>) -> Result<Vec<u8>, TracerError> {
    let (w0, _) = frame.dimensions();
    let mut img = fit_output(frame);
    let s = f64::from(img.width()) / f64::from(w0.max(1));
    let flight = flight.scaled(s);
    let style = Style::for_frame(img.width(), img.height());
    draw_flight(&mut img, &flight, f64::INFINITY, &style);
    if let Some(text) = label {
        draw_label(&mut img, text, &flight.line_up_to(f64::INFINITY), &style);
    }
    encode_jpeg(&img, STILL_MAX_BYTES)
}

/// `img` as a JPEG of at most `max_bytes`: at the best of [`QUALITIES`] that fits, else (a frame
/// of pure sensor noise) at the lowest, shrunk by a fifth at a time until it fits.
pub fn encode_jpeg(img: &RgbImage, max_bytes: usize) -> Result<Vec<u8>, TracerError> {
    let mut out = Vec::new();
    let mut shrunk: Option<RgbImage> = None;
    for _ in 0..8 {
        let current = shrunk.as_ref().unwrap_or(img);
        for q in QUALITIES {
            out.clear();
            JpegEncoder::new_with_quality(&mut out, q)
                .encode_image(current)
                .map_err(|e| TracerError(format!("JPEG encoding: {e}")))?;
            if out.len() <= max_bytes {
                return Ok(out);
            }
        }
        let (w, h) = (current.width() * 4 / 5, current.height() * 4 / 5);
        if w < 16 || h < 16 {
            break;
        }
        shrunk = Some(image::imageops::resize(current, w, h, image::imageops::FilterType::Triangle));
    }
    Ok(out)
}
