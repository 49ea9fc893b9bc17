//! Drawing on a frame: the flight's line, its dashed continuation and the launch ring as
//! anti-aliased tiny-skia strokes, and the label's text from the bundled font through ab_glyph.
//!
//! Shapes are drawn onto a transparent layer covering only their bounding box, then blended onto
//! the RGB frame: a clip's frame costs the area of its line, not of the picture.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::RgbImage;
use tiny_skia::{FillRule, LineCap, LineJoin, Paint, Path, PathBuilder, Pixmap, Stroke, StrokeDash, Transform};

use crate::{Flight, FlightPoint};

/// DejaVu Sans Bold, cut down to ASCII and the few symbols the label uses (11 KB; licence in
/// `font/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../font/DejaVuSans-Bold-subset.ttf");

fn font() -> FontRef<'static> {
    FontRef::try_from_slice(FONT).expect("the bundled font parses")
}

/// Sizes and colours, from the frame's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    /// The flight line's width, pixels.
    pub line_px: f32,
    /// Its colour.
    pub colour: [u8; 3],
    /// The label's text height, pixels.
    pub text_px: f32,
}

/// The tracer's red: apart from grass, sky, a white ball and skin.
pub const LINE_COLOUR: [u8; 3] = [255, 48, 48];

impl Style {
    /// The style for a `width` x `height` picture: a 4.5 px line and 36 px text at 1080p, never
    /// under 2.5 px and 14 px.
    pub fn for_frame(width: u32, height: u32) -> Style {
        let short = width.min(height) as f32;
        Style { line_px: (short / 240.0).max(2.5), colour: LINE_COLOUR, text_px: (short / 30.0).max(14.0) }
    }
}

/// Draws `flight` as it stands at clip frame `upto` (`f64::INFINITY`: all of it): the launch
/// ring once launched, the measured line through the points up to `upto`, and the dashed
/// continuation up to `upto`.
pub fn draw_flight(img: &mut RgbImage, flight: &Flight, upto: f64, style: &Style) {
    if flight.launch.frame > upto || !flight.is_valid() {
        return;
    }
    let solid = flight.line_up_to(upto);
    let dashed: Vec<FlightPoint> = flight.extrapolated.iter().copied().filter(|p| p.frame <= upto).collect();
    let ring = (style.line_px * 2.2).max(5.0);
    let pad = f64::from(style.line_px * 2.0 + ring + 2.0);
    let all = solid.iter().chain(&dashed);
    let x0 = all.clone().map(|p| p.x).fold(f64::INFINITY, f64::min) - pad;
    let y0 = all.clone().map(|p| p.y).fold(f64::INFINITY, f64::min) - pad;
    let x1 = all.clone().map(|p| p.x).fold(f64::NEG_INFINITY, f64::max) + pad;
    let y1 = all.map(|p| p.y).fold(f64::NEG_INFINITY, f64::max) + pad;
    let Some(mut layer) = Layer::new(img, (x0, y0, x1, y1)) else { return };
    let shadow =
        |w: f32| Stroke { width: w + 2.0, line_cap: LineCap::Round, line_join: LineJoin::Round, ..Stroke::default() };
    let line = |w: f32| Stroke { width: w, line_cap: LineCap::Round, line_join: LineJoin::Round, ..Stroke::default() };
    let dark = paint([0, 0, 0], 90);
    let colour = paint(style.colour, 255);
    if let Some(path) = spline(&solid) {
        layer.stroke(&path, &dark, &shadow(style.line_px));
        layer.stroke(&path, &colour, &line(style.line_px));
    }
    if let Some(path) = polyline(&dashed) {
        let w = style.line_px * 0.8;
        let dash =
            |s: Stroke, extra: f32| Stroke { dash: StrokeDash::new(vec![3.0 * w + extra, 2.0 * w - extra], 0.0), ..s };
        layer.stroke(&path, &dark, &dash(shadow(w), 2.0));
        layer.stroke(&path, &colour, &dash(line(w), 0.0));
    }
    if let Some(circle) = PathBuilder::from_circle(flight.launch.x as f32, flight.launch.y as f32, ring) {
        let w = (style.line_px * 0.6).max(1.5);
        layer.stroke(&circle, &dark, &line(w + 2.0));
        layer.stroke(&circle, &paint([255, 255, 255], 255), &line(w));
    }
    layer.blend_onto(img);
}

/// Where a label `text` goes: the first bottom or top corner whose box holds no point of
/// `avoid`; bottom-left when every one does.
pub fn draw_label(img: &mut RgbImage, text: &str, avoid: &[FlightPoint], style: &Style) {
    let font = font();
    // The label's box (text, padding 0.45 and margins 0.6 of the size) fits the frame's width: on
    // a narrow frame the text gets smaller, down to 8 px.
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (mut glyphs, mut text_w) = layout(&font, style.text_px, text);
    let nominal = text_w + 2.1 * style.text_px;
    let mut size = style.text_px;
    if nominal > w {
        size = (style.text_px * w / nominal).max(8.0);
        (glyphs, text_w) = layout(&font, size, text);
    }
    let scaled = font.as_scaled(PxScale::from(size));
    let pad = size * 0.45;
    let margin = size * 0.6;
    let (bw, bh) = (text_w + 2.0 * pad, scaled.ascent() - scaled.descent() + 2.0 * pad);
    let corners =
        [(margin, h - margin - bh), (w - margin - bw, h - margin - bh), (margin, margin), (w - margin - bw, margin)];
    let clear = |(x, y): (f32, f32)| {
        !avoid.iter().any(|p| {
            let (px, py) = (p.x as f32, p.y as f32);
            px >= x - margin && px <= x + bw + margin && py >= y - margin && py <= y + bh + margin
        })
    };
    let (bx, by) = corners.iter().copied().find(|c| clear(*c)).unwrap_or(corners[0]);
    let Some(mut layer) = Layer::new(img, (f64::from(bx), f64::from(by), f64::from(bx + bw), f64::from(by + bh)))
    else {
        return;
    };
    if let Some(r) = rounded_rect(bx, by, bw, bh, size * 0.35) {
        layer.fill(&r, &paint([0, 0, 0], 150));
    }
    layer.blend_onto(img);
    let baseline = by + pad + scaled.ascent();
    for (id, x) in glyphs {
        let glyph = id.with_scale_and_position(size, ab_glyph::point(bx + pad + x, baseline));
        let Some(outline) = font.outline_glyph(glyph) else { continue };
        let b = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let (x, y) = (b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy));
            if x >= 0 && y >= 0 && x < i64::from(img.width()) && y < i64::from(img.height()) {
                let px = img.get_pixel_mut(x as u32, y as u32);
                let c = coverage.clamp(0.0, 1.0);
                for v in px.0.iter_mut() {
                    *v = (f32::from(*v) * (1.0 - c) + 255.0 * c).round() as u8;
                }
            }
        });
    }
}

/// Glyphs of `text` and their pen positions (kerned), and the text's advance width.
fn layout(font: &FontRef<'static>, size: f32, text: &str) -> (Vec<(ab_glyph::GlyphId, f32)>, f32) {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut x = 0.0;
    let mut prev: Option<ab_glyph::GlyphId> = None;
    let mut out = Vec::new();
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            x += scaled.kern(p, id);
        }
        out.push((id, x));
        x += scaled.h_advance(id);
        prev = Some(id);
    }
    (out, x)
}

fn paint(rgb: [u8; 3], alpha: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(rgb[0], rgb[1], rgb[2], alpha);
    p.anti_alias = true;
    p
}

/// A smooth curve through `points` (Catmull-Rom as cubic Béziers): it passes through every
/// point, so the line stays on the measured positions.
fn spline(points: &[FlightPoint]) -> Option<Path> {
    let p: Vec<(f32, f32)> = points.iter().map(|q| (q.x as f32, q.y as f32)).collect();
    if p.len() < 2 {
        return None;
    }
    let mut pb = PathBuilder::new();
    pb.move_to(p[0].0, p[0].1);
    for i in 0..p.len() - 1 {
        let before = p[i.saturating_sub(1)];
        let (a, b) = (p[i], p[i + 1]);
        let after = p[(i + 2).min(p.len() - 1)];
        let c1 = (a.0 + (b.0 - before.0) / 6.0, a.1 + (b.1 - before.1) / 6.0);
        let c2 = (b.0 - (after.0 - a.0) / 6.0, b.1 - (after.1 - a.1) / 6.0);
        pb.cubic_to(c1.0, c1.1, c2.0, c2.1, b.0, b.1);
    }
    pb.finish()
}

fn polyline(points: &[FlightPoint]) -> Option<Path> {
    let (first, rest) = points.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut pb = PathBuilder::new();
    pb.move_to(first.x as f32, first.y as f32);
    for p in rest {
        pb.line_to(p.x as f32, p.y as f32);
    }
    pb.finish()
}

fn rounded_rect(x: f32, y: f32, w: f32, h: f32, r: f32) -> Option<Path> {
    let r = r.min(w / 2.0).min(h / 2.0);
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.line_to(x + w - r, y);
    pb.quad_to(x + w, y, x + w, y + r);
    pb.line_to(x + w, y + h - r);
    pb.quad_to(x + w, y + h, x + w - r, y + h);
    pb.line_to(x + r, y + h);
    pb.quad_to(x, y + h, x, y + h - r);
    pb.line_to(x, y + r);
    pb.quad_to(x, y, x + r, y);
    pb.close();
    pb.finish()
}

/// A transparent layer over part of a frame, in the frame's coordinates.
struct Layer {
    pixmap: Pixmap,
    x0: u32,
    y0: u32,
}

impl Layer {
    /// The layer over `(x0, y0, x1, y1)` clipped to the frame; None when nothing of it is inside.
    fn new(img: &RgbImage, (x0, y0, x1, y1): (f64, f64, f64, f64)) -> Option<Layer> {
        let clamp = |v: f64, max: u32| v.floor().clamp(0.0, f64::from(max)) as u32;
        let (ax, ay) = (clamp(x0, img.width()), clamp(y0, img.height()));
        let (bx, by) = (clamp(x1 + 1.0, img.width()), clamp(y1 + 1.0, img.height()));
        let pixmap = Pixmap::new(bx.checked_sub(ax)?, by.checked_sub(ay)?)?;
        Some(Layer { pixmap, x0: ax, y0: ay })
    }

    fn transform(&self) -> Transform {
        Transform::from_translate(-(self.x0 as f32), -(self.y0 as f32))
    }

    fn stroke(&mut self, path: &Path, paint: &Paint<'_>, stroke: &Stroke) {
        let t = self.transform();
        self.pixmap.stroke_path(path, paint, stroke, t, None);
    }

    fn fill(&mut self, path: &Path, paint: &Paint<'_>) {
        let t = self.transform();
        self.pixmap.fill_path(path, paint, FillRule::Winding, t, None);
    }

    /// Source-over onto the frame (the layer is premultiplied), row by row; transparent pixels
    /// (most of a line's bounding box) are skipped.
    fn blend_onto(&self, img: &mut RgbImage) {
        let (w, h) = (self.pixmap.width() as usize, self.pixmap.height() as usize);
        let stride = img.width() as usize * 3;
        let (x0, y0) = (self.x0 as usize, self.y0 as usize);
        let buf: &mut [u8] = img;
        for (row, src) in self.pixmap.pixels().chunks_exact(w).take(h).enumerate() {
            let start = (y0 + row) * stride + x0 * 3;
            let dst = &mut buf[start..start + w * 3];
            for (px, d) in src.iter().zip(dst.chunks_exact_mut(3)) {
                let a = u32::from(px.alpha());
                if a == 0 {
                    continue;
                }
                let inv = 255 - a;
                for (c, s) in d.iter_mut().zip([px.red(), px.green(), px.blue()]) {
                    *c = ((u32::from(*c) * inv + 127) / 255 + u32::from(s)).min(255) as u8;
                }
            }
        }
    }
}
