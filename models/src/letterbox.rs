//! Letterboxing: fit a frame into the square model input keeping its aspect ratio, padded with
//! grey 114 (as the models were trained), as NCHW f32 in 0..1; and the inverse mapping of boxes.
//!
//! The geometry matches the training side exactly (`models/train/onnx_check.py`): scale
//! `r = min(S/h, S/w)`, resized size `round(w*r) x round(h*r)`, pad offsets `round(pad/2 - 0.1)`.
//! Resizing uses `fast_image_resize` bilinear interpolation (OpenCV's INTER_LINEAR equivalent),
//! measured ~10x faster than the `image` crate's resize.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::detection::BBox;

/// The padding value, as the models were trained with.
pub const PAD_VALUE: u8 = 114;

/// An RGB frame borrowed from its owner: `width * height * 3` bytes, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Interleaved RGB bytes.
    pub rgb: &'a [u8],
}

impl<'a> Frame<'a> {
    /// A frame view over an `image` RGB buffer.
    pub fn from_image(img: &'a image::RgbImage) -> Frame<'a> {
        Frame { width: img.width(), height: img.height(), rgb: img.as_raw() }
    }
}

/// The mapping between a frame and the letterboxed model input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Model input side (e.g. 640).
    pub size: u32,
    /// Frame width.
    pub src_w: u32,
    /// Frame height.
    pub src_h: u32,
    /// Scale applied to the frame.
    pub scale: f32,
    /// Resized width.
    pub new_w: u32,
    /// Resized height.
    pub new_h: u32,
    /// Left padding.
    pub pad_x: u32,
    /// Top padding.
    pub pad_y: u32,
}

impl Letterbox {
    /// The mapping for a `src_w` x `src_h` frame into a `size` square.
    pub fn new(src_w: u32, src_h: u32, size: u32) -> Letterbox {
        let scale = (size as f32 / src_h.max(1) as f32).min(size as f32 / src_w.max(1) as f32);
        let new_w = ((src_w as f32 * scale).round() as u32).clamp(1, size);
        let new_h = ((src_h as f32 * scale).round() as u32).clamp(1, size);
        let pad = |free: u32| ((free as f32 / 2.0 - 0.1).round().max(0.0)) as u32;
        Letterbox { size, src_w, src_h, scale, new_w, new_h, pad_x: pad(size - new_w), pad_y: pad(size - new_h) }
    }

    /// A box in model-input pixels mapped back to the frame (clamped to it).
    pub fn to_frame(&self, b: BBox) -> BBox {
        let (px, py) = (self.pad_x as f32, self.pad_y as f32);
        BBox::new(
            (b.x1 - px) / self.scale,
            (b.y1 - py) / self.scale,
            (b.x2 - px) / self.scale,
            (b.y2 - py) / self.scale,
        )
        .clamp(self.src_w as f32, self.src_h as f32)
    }

    /// A frame box mapped into model-input pixels.
    pub fn to_input(&self, b: BBox) -> BBox {
        let (px, py) = (self.pad_x as f32, self.pad_y as f32);
        BBox::new(b.x1 * self.scale + px, b.y1 * self.scale + py, b.x2 * self.scale + px, b.y2 * self.scale + py)
    }
}

/// Why a frame could not be letterboxed.
#[derive(Debug, thiserror::Error)]
#[error("cannot letterbox a {width}x{height} frame of {len} bytes: {reason}")]
pub struct LetterboxError {
    width: u32,
    height: u32,
    len: usize,
    reason: String,
}

/// Letterboxes `frame` into `out` (resized to `3 * size * size` floats, NCHW, RGB, 0..1), reusing
/// `resizer` and `scratch` between calls.
pub fn letterbox_into(
    frame: &Frame<'_>,
    size: u32,
    resizer: &mut Resizer,
    scratch: &mut Vec<u8>,
    out: &mut Vec<f32>,
) -> Result<Letterbox, LetterboxError> {
    let err =
        |reason: String| LetterboxError { width: frame.width, height: frame.height, len: frame.rgb.len(), reason };
    if frame.width == 0 || frame.height == 0 {
        return Err(err("empty frame".into()));
    }
    let lb = Letterbox::new(frame.width, frame.height, size);
    let src = ImageRef::new(frame.width, frame.height, frame.rgb, PixelType::U8x3).map_err(|e| err(e.to_string()))?;
    scratch.resize((lb.new_w * lb.new_h * 3) as usize, 0);
    let mut dst = Image::from_slice_u8(lb.new_w, lb.new_h, scratch, PixelType::U8x3).map_err(|e| err(e.to_string()))?;
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Interpolation(FilterType::Bilinear));
    resizer.resize(&src, &mut dst, &options).map_err(|e| err(e.to_string()))?;

    let plane = (size * size) as usize;
    out.clear();
    out.resize(3 * plane, PAD_VALUE as f32 / 255.0);
    let (pw, nw) = (lb.pad_x as usize, lb.new_w as usize);
    for y in 0..lb.new_h as usize {
        let row = &scratch[y * nw * 3..(y + 1) * nw * 3];
        let base = (y + lb.pad_y as usize) * size as usize + pw;
        for (x, px) in row.chunks_exact(3).enumerate() {
            out[base + x] = px[0] as f32 / 255.0;
            out[plane + base + x] = px[1] as f32 / 255.0;
            out[2 * plane + base + x] = px[2] as f32 / 255.0;
        }
    }
    Ok(lb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_matches_the_training_side() {
        let lb = Letterbox::new(1280, 720, 640);
        assert_eq!((lb.new_w, lb.new_h, lb.pad_x, lb.pad_y), (640, 360, 0, 140));
        assert!((lb.scale - 0.5).abs() < 1e-6);
        let tall = Letterbox::new(360, 640, 640);
        assert_eq!((tall.new_w, tall.new_h, tall.pad_x, tall.pad_y), (360, 640, 140, 0));
        let odd = Letterbox::new(641, 333, 640);
        assert_eq!(odd.new_w, 640);
        assert_eq!(odd.pad_y, ((640 - odd.new_h) as f32 / 2.0 - 0.1).round() as u32);
    }

    #[test]
    fn boxes_round_trip_through_the_letterbox() {
        for (w, h) in [(1280, 720), (640, 360), (720, 1280), (640, 640), (1920, 1080), (333, 777)] {
            let lb = Letterbox::new(w, h, 640);
            let b = BBox::new(w as f32 * 0.31, h as f32 * 0.42, w as f32 * 0.36, h as f32 * 0.5);
            let back = lb.to_frame(lb.to_input(b));
            for (a, z) in [(b.x1, back.x1), (b.y1, back.y1), (b.x2, back.x2), (b.y2, back.y2)] {
                assert!((a - z).abs() < 1e-3, "{w}x{h}: {b:?} -> {back:?}");
            }
        }
    }

    #[test]
    fn pixels_land_in_the_right_plane_and_padding_is_grey() {
        // 4x2 frame: left half red, right half blue.
        let mut rgb = Vec::new();
        for _y in 0..2 {
            for x in 0..4 {
                rgb.extend_from_slice(if x < 2 { &[255, 0, 0] } else { &[0, 0, 255] });
            }
        }
        let frame = Frame { width: 4, height: 2, rgb: &rgb };
        let (mut resizer, mut scratch, mut out) = (Resizer::new(), Vec::new(), Vec::new());
        let lb = letterbox_into(&frame, 8, &mut resizer, &mut scratch, &mut out).expect("letterbox");
        assert_eq!((lb.new_w, lb.new_h, lb.pad_x, lb.pad_y), (8, 4, 0, 2));
        let plane = 64;
        let at = |c: usize, x: usize, y: usize| out[c * plane + y * 8 + x];
        assert!((at(0, 0, 0) - 114.0 / 255.0).abs() < 1e-6, "top padding is grey");
        assert!((at(0, 0, 3) - 1.0).abs() < 1e-6 && at(2, 0, 3) < 1e-6, "left is red");
        assert!((at(2, 7, 4) - 1.0).abs() < 1e-6 && at(0, 7, 4) < 1e-6, "right is blue");
        assert!((at(1, 7, 7) - 114.0 / 255.0).abs() < 1e-6, "bottom padding is grey");
        let short = Frame { width: 4, height: 2, rgb: &rgb[..10] };
        assert!(letterbox_into(&short, 8, &mut resizer, &mut scratch, &mut out).is_err());
    }
}
