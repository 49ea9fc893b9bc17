//! The annotated preview: the frame the shot is best seen in, read again and drawn on as a PNG.

use models::Detection;

use crate::frames::DecodedFrame;
use crate::source::FrameSource;

/// The index of the frame with the most confident detections (the first when none has any).
pub(super) fn best_frame(detections: &[Vec<Detection>]) -> Option<usize> {
    let score = |d: &Vec<Detection>| d.iter().map(|x| f64::from(x.score)).sum::<f64>();
    (0..detections.len()).max_by(|a, b| score(&detections[*a]).total_cmp(&score(&detections[*b])))
}

pub(super) fn reread_preview(source: &mut dyn FrameSource, index: usize, dets: &[Detection]) -> Option<Vec<u8>> {
    let frame = match source.frames(vec![index]).next() {
        Some(Ok(f)) => f,
        Some(Err(e)) => {
            tracing::warn!(error = %e.message, "no preview image");
            return None;
        }
        None => return None,
    };
    render_preview(frame, dets).map_err(|e| tracing::warn!(error = %e, "no preview image")).ok()
}

pub(super) fn render_preview(frame: DecodedFrame, dets: &[Detection]) -> Result<Vec<u8>, String> {
    let mut img =
        image::RgbImage::from_raw(frame.width, frame.height, frame.rgb).ok_or("frame buffer size mismatch")?;
    models::annotate::draw_detections(&mut img, dets);
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(png)
}
