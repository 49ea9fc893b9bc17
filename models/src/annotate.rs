//! Drawing detections onto a frame: boxes, class labels and scores, with a built-in 8x8 bitmap
//! font so no font file is needed at run time.

use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage};

use crate::detection::{BBox, Class, Detection};

/// The colour a class is drawn in.
pub fn class_colour(class: Class) -> Rgb<u8> {
    match class {
        Class::GolfBall => Rgb([255, 214, 0]),
        Class::ClubHead => Rgb([255, 0, 170]),
    }
}

/// Draws a rectangle outline `thickness` pixels wide, clipped to the image.
pub fn draw_box(img: &mut RgbImage, b: &BBox, colour: Rgb<u8>, thickness: u32) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x1, y1, x2, y2) = (b.x1.floor() as i64, b.y1.floor() as i64, b.x2.ceil() as i64, b.y2.ceil() as i64);
    let mut put = |x: i64, y: i64| {
        if (0..w).contains(&x) && (0..h).contains(&y) {
            img.put_pixel(x as u32, y as u32, colour);
        }
    };
    for t in 0..thickness as i64 {
        for x in x1 - t..=x2 + t {
            put(x, y1 - t);
            put(x, y2 + t);
        }
        for y in y1 - t..=y2 + t {
            put(x1 - t, y);
            put(x2 + t, y);
        }
    }
}

/// Writes `text` with its top-left corner at (x, y), each glyph pixel `scale` x `scale`, on a
/// filled background so it reads over any scene.
pub fn draw_label(img: &mut RgbImage, x: i64, y: i64, text: &str, fg: Rgb<u8>, bg: Rgb<u8>, scale: u32) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let s = scale.max(1) as i64;
    let width = text.chars().count() as i64 * 8 * s + 2;
    for yy in y..y + 8 * s + 2 {
        for xx in x..x + width {
            if (0..w).contains(&xx) && (0..h).contains(&yy) {
                img.put_pixel(xx as u32, yy as u32, bg);
            }
        }
    }
    for (i, ch) in text.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(ch) else { continue };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..s {
                    for dx in 0..s {
                        let px = x + 1 + (i as i64 * 8 + col) * s + dx;
                        let py = y + 1 + row as i64 * s + dy;
                        if (0..w).contains(&px) && (0..h).contains(&py) {
                            img.put_pixel(px as u32, py as u32, fg);
                        }
                    }
                }
            }
        }
    }
}

/// Draws every detection: its box, and `class score` above it.
pub fn draw_detections(img: &mut RgbImage, dets: &[Detection]) {
    let scale = if img.width() >= 1000 { 2 } else { 1 };
    for d in dets {
        let colour = class_colour(d.class);
        draw_box(img, &d.bbox, colour, scale);
        let label = format!("{} {:.2}", d.class.as_str(), d.score);
        let y = d.bbox.y1 as i64 - 8 * scale as i64 - 4;
        draw_label(img, d.bbox.x1 as i64, y.max(0), &label, Rgb([0, 0, 0]), colour, scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_labels_draw_inside_and_clip_outside() {
        let mut img = RgbImage::from_pixel(64, 48, Rgb([10, 10, 10]));
        let det = Detection { class: Class::GolfBall, score: 0.9, bbox: BBox::new(10.0, 20.0, 30.0, 40.0) };
        draw_detections(&mut img, &[det]);
        assert_eq!(img.get_pixel(10, 30), &class_colour(Class::GolfBall), "left edge drawn");
        assert_eq!(img.get_pixel(20, 30), &Rgb([10, 10, 10]), "inside untouched");
        // Boxes partly outside the frame are clipped, never a panic.
        draw_box(&mut img, &BBox::new(-20.0, -20.0, 200.0, 200.0), Rgb([1, 2, 3]), 3);
        draw_label(&mut img, 60, 45, "clipped", Rgb([0, 0, 0]), Rgb([255, 255, 255]), 2);
    }
}
