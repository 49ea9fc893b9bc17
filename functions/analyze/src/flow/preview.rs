//! What a run shows: the tracer still and clip of a measured shot (frames read again, the flight
//! drawn by the `tracer` crate), else the frame the detector was surest of with its boxes. Both
//! stills are JPEGs of at most `tracer::STILL_MAX_BYTES`.

use std::sync::mpsc;
use std::time::Instant;

use models::Detection;
use tracer::{ClipPlan, Flight, TracerClip, Units};

use crate::frames::DecodedFrame;
use crate::pipeline::shot::ShotMetrics;
use crate::source::FrameSource;

/// Decoded frames waiting for the tracer's drawing and encoding.
const TRACER_PREFETCH: usize = 4;

/// The index of the frame with the most confident detections (the first when none has any).
pub(super) fn best_frame(detections: &[Vec<Detection>]) -> Option<usize> {
    let score = |d: &Vec<Detection>| d.iter().map(|x| f64::from(x.score)).sum::<f64>();
    (0..detections.len()).max_by(|a, b| score(&detections[*a]).total_cmp(&score(&detections[*b])))
}

/// The boxes preview of clip frame `index`, read again from `source`.
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

/// `frame` with a box and a score on every detection, as a JPEG at most 1080p (like the tracer
/// still: a 4K JPEG would need several tries at falling qualities to fit the budget).
pub(super) fn render_preview(frame: DecodedFrame, dets: &[Detection]) -> Result<Vec<u8>, String> {
    let mut img =
        image::RgbImage::from_raw(frame.width, frame.height, frame.rgb).ok_or("frame buffer size mismatch")?;
    models::annotate::draw_detections(&mut img, dets);
    tracer::encode_jpeg(&tracer::fit_output(img), tracer::STILL_MAX_BYTES).map_err(|e| e.to_string())
}

/// A measured shot's tracer (its still is the analysis's preview).
#[derive(Debug, Clone)]
pub struct Tracer {
    /// The clip frame the still shows.
    pub still_frame: usize,
    /// The clip (H.264 MP4), when it could be written.
    pub clip: Option<Vec<u8>>,
    /// The clip frames it shows, first and last.
    pub frames: [usize; 2],
    /// The units of the label.
    pub units: Units,
    /// Time spent reading, drawing and encoding, milliseconds.
    pub ms: f64,
}

/// The label of a measured shot in `units`.
fn label(metrics: &ShotMetrics, units: Units) -> Option<String> {
    let l = tracer::Label {
        ball_speed_mps: metrics.ball_speed_mps?,
        launch_deg: metrics.launch_deg?,
        carry_m: metrics.carry_m?,
    };
    Some(l.text(units))
}

/// The tracer of a measured shot and its still (JPEG): the clip's frames are read once and
/// painted on a thread of their own while this one encodes them; the still is the last measured
/// frame among them, with the whole flight and the label. None (and a warning) when the frames
/// cannot be read again.
pub(super) fn make_tracer(
    source: &mut dyn FrameSource,
    metrics: &ShotMetrics,
    flight: &Flight,
    fps: f64,
    size: (u32, u32),
    units: Units,
) -> Option<(Tracer, Vec<u8>)> {
    let started = Instant::now();
    let plan = ClipPlan::new(flight, fps, source.len())?;
    let still_frame = (flight.last_measured_frame().round().max(0.0) as usize).clamp(plan.first, plan.last);
    let text = label(metrics, units);
    let mut clip = TracerClip::new(plan, flight, text.clone(), size.0, size.1)
        .map_err(|e| tracing::warn!(error = %e, "no tracer clip"))
        .ok();
    let mut still_source: Option<image::RgbImage> = None;
    let painter = clip.as_ref().map(TracerClip::painter);
    let read = std::thread::scope(|scope| {
        // Frames are decoded and painted on a thread of their own while this one encodes.
        let (tx, rx) = mpsc::sync_channel(TRACER_PREFETCH);
        let frames = source.frames(plan.frames().collect());
        scope.spawn(move || {
            for (index, frame) in plan.frames().zip(frames) {
                let item = frame
                    .map_err(|e| e.message)
                    .and_then(|f| {
                        image::RgbImage::from_raw(f.width, f.height, f.rgb)
                            .ok_or_else(|| format!("frame {index}: buffer size mismatch"))
                    })
                    .and_then(|img| {
                        let still = (index == still_frame).then(|| img.clone());
                        let painted = painter.as_ref().map(|p| p.paint(index, img)).transpose();
                        Ok((still, painted.map_err(|e| e.to_string())?))
                    });
                let done = item.is_err() || (painter.is_none() && index >= still_frame);
                if tx.send(item).is_err() || done {
                    break;
                }
            }
        });
        for item in rx {
            let (still, painted) = item?;
            still_source = still.or(still_source.take());
            if let (Some(c), Some(p)) = (clip.as_mut(), painted) {
                if let Err(e) = c.push_painted(p) {
                    tracing::warn!(error = %e, "no tracer clip");
                    clip = None;
                }
            }
        }
        Ok::<(), String>(())
    });
    if let Err(e) = read {
        tracing::warn!(error = %e, "tracer frames could not be read again");
    }
    let still = tracer::render_still(still_source?, flight, text.as_deref())
        .map_err(|e| tracing::warn!(error = %e, "no tracer still"))
        .ok()?;
    let clip = clip.and_then(|c| c.finish().map_err(|e| tracing::warn!(error = %e, "no tracer clip")).ok());
    let tracer = Tracer {
        still_frame,
        clip,
        frames: [plan.first, plan.last],
        units,
        ms: (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
    };
    Some((tracer, still))
}
