//! One analysis, on a blocking thread: frames stream from their source (zip, image, video) through
//! the detector's session pool, one decoded frame per worker in flight, then the shot pipeline, the
//! capture quality and the annotated preview. Nothing here touches a store or HTTP.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use common::error::{ApiError, ErrorCode};
use common::runs::InferenceTiming;
use models::{Detection, Detector, Frame, YoloDetector};
use serde::Serialize;

use crate::frames::{decode_image, DecodedFrame, IngestError, ZipFrames, ZipLimits};
use crate::pipeline::quality::{assess, laplacian_variance, mean_luma, Quality};
use crate::pipeline::shot::{analyze_shot, ShotMetrics, ShotParams};
use crate::refine;
use crate::request::Params;
use crate::video::{self, VideoError};

/// Frames a motion analysis needs at least.
pub const MIN_FRAMES: usize = 2;

/// Where the frames come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A zip of frames.
    Zip(&'a [u8]),
    /// One image (detections only).
    Image(&'a [u8]),
    /// An MP4: at most `max_frames` are analysed.
    Video {
        /// The file.
        bytes: &'a [u8],
        /// The cap.
        max_frames: usize,
    },
}

/// What a video analysis read from the container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoSummary {
    /// Frame rate used.
    pub fps: f64,
    /// `container` or `fps_fallback`.
    pub fps_source: &'static str,
    /// Frames in the video track.
    pub frames_total: u64,
    /// Frames analysed.
    pub frames_analyzed: u64,
    /// Frames not analysed: past ANALYZE_MAX_VIDEO_FRAMES, or after the ball flight was over.
    pub frames_skipped: u64,
    /// The codec.
    pub codec: String,
    /// Width after rotation.
    pub width: u32,
    /// Height after rotation.
    pub height: u32,
}

/// What one analysis produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Frames run through the detector.
    pub frame_count: usize,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Per-frame detections.
    pub detections: Vec<Vec<Detection>>,
    /// Shot metrics (None for a single image).
    pub metrics: Option<ShotMetrics>,
    /// Capture quality.
    pub quality: Quality,
    /// Timing.
    pub timing: InferenceTiming,
    /// Frame rate used.
    pub fps: f64,
    /// The video's facts, for video runs.
    pub video: Option<VideoSummary>,
    /// The annotated preview (PNG), when it could be made.
    pub preview_png: Option<Vec<u8>>,
    /// The frame the preview shows.
    pub preview_frame: Option<usize>,
    /// Whether the response lists every frame's detections (`include=detections`).
    pub include_detections: bool,
    /// True when the detector stopped once the ball flight was over (see [`flight_is_over`]).
    pub stopped_after_flight: bool,
    /// Native-resolution crops run through the detector around the ball's track (see [`refine`]).
    pub native_crops: usize,
}

/// An ingestion failure as the API error of its documented code.
pub fn ingest_error(e: IngestError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

fn video_error(e: VideoError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

/// ANALYZE_FAILED: an opaque message for the client, the cause for the log.
pub fn analyze_failed(cause: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::AnalyzeFailed, "analysis failed; the cause is in the server log").with_cause(cause)
}

fn model_error(e: models::ModelError) -> ApiError {
    match e {
        models::ModelError::Frame(reason) => ApiError::new(ErrorCode::InvalidImage, reason),
        other => analyze_failed(other),
    }
}

/// Per-frame results.
struct FrameResult {
    detections: Vec<Detection>,
    detect_ms: f64,
    luma: f64,
    sharpness: f64,
    size: (u32, u32),
}

fn process(detector: &YoloDetector, f: &DecodedFrame) -> Result<FrameResult, ApiError> {
    let frame = Frame { width: f.width, height: f.height, rgb: &f.rgb };
    let t = Instant::now();
    let (detections, _) = detector.detect_timed(&frame).map_err(model_error)?;
    let detect_ms = t.elapsed().as_secs_f64() * 1000.0;
    let (w, h) = (f.width as usize, f.height as usize);
    // Sampled: quality needs an estimate, not every pixel.
    let step = (w.max(h) / 320).max(1);
    Ok(FrameResult {
        detections,
        detect_ms,
        luma: mean_luma(&f.rgb, w, h, step),
        sharpness: laplacian_variance(&f.rgb, w, h, step),
        size: (f.width, f.height),
    })
}

/// Runs every frame `next` yields through the detector on `workers` threads, keeping at most
/// `2 x workers` decoded frames in flight. Frames keep their order.
fn detect_stream(
    detector: &YoloDetector,
    workers: usize,
    early_stop: bool,
    mut next: impl FnMut() -> Option<Result<DecodedFrame, ApiError>>,
) -> Result<(Vec<FrameResult>, bool), ApiError> {
    let workers = workers.max(1);
    let stop = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    // Detections in frame order as they complete, for the early-stop check.
    let seen: Mutex<Vec<Option<Vec<Detection>>>> = Mutex::new(Vec::new());
    let (frame_tx, frame_rx) = mpsc::sync_channel::<(usize, DecodedFrame)>(workers * 2);
    let frame_rx = Mutex::new(frame_rx);
    let (result_tx, result_rx) = mpsc::channel::<(usize, Result<FrameResult, ApiError>)>();
    let mut produce_error = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (rx, tx, stop, done, seen) = (&frame_rx, result_tx.clone(), &stop, &done, &seen);
            scope.spawn(move || loop {
                let item = rx.lock().map(|r| r.recv()).unwrap_or_else(|p| p.into_inner().recv());
                let Ok((i, frame)) = item else { break };
                let result = process(detector, &frame);
                match &result {
                    Err(_) => stop.store(true, Ordering::SeqCst),
                    Ok(r) if early_stop => {
                        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                        if seen.len() <= i {
                            seen.resize(i + 1, None);
                        }
                        seen[i] = Some(r.detections.clone());
                        // Checked every few frames: the tracker is cheap but not free, and the
                        // contiguous prefix is copied only when it is checked.
                        let contiguous = seen.iter().take_while(|d| d.is_some()).count();
                        if contiguous.is_multiple_of(4) && flight_is_over(&prefix_of(&seen, contiguous)) {
                            done.store(true, Ordering::SeqCst);
                            stop.store(true, Ordering::SeqCst);
                        }
                    }
                    Ok(_) => {}
                }
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(result_tx);
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) {
            match next() {
                None => break,
                Some(Ok(frame)) => {
                    if frame_tx.send((i, frame)).is_err() {
                        break;
                    }
                    i += 1;
                }
                Some(Err(e)) => {
                    produce_error = Some(e);
                    break;
                }
            }
        }
        drop(frame_tx);
    });
    if let Some(e) = produce_error {
        return Err(e);
    }
    let mut results: Vec<(usize, Result<FrameResult, ApiError>)> = result_rx.into_iter().collect();
    results.sort_by_key(|(i, _)| *i);
    let ended = done.load(Ordering::SeqCst);
    // Frames still in flight when the stop came are kept (they are contiguous from 0).
    results.into_iter().map(|(_, r)| r).collect::<Result<Vec<_>, _>>().map(|r| (r, ended))
}

/// The first `n` frames' detections (all present).
fn prefix_of(seen: &[Option<Vec<Detection>>], n: usize) -> Vec<Vec<Detection>> {
    seen[..n].iter().flatten().cloned().collect()
}

/// Whether the shot is over in these frames: a ball flight of at least [`LAUNCH_WINDOW`] points
/// has been tracked and the ball has not been seen for longer than the tracker bridges. Nothing
/// after that can change the metrics (launch comes from the flight's first points, club speed
/// from the frames before impact), so the rest of the footage need not go through the detector:
/// most of a phone clip is follow-through and an empty sky.
pub fn flight_is_over(frames: &[Vec<Detection>]) -> bool {
    use crate::pipeline::kinematics::{split_rest, LAUNCH_WINDOW};
    use crate::pipeline::tracking::{track_ball, Gate, MAX_GAP};
    let track = track_ball(frames, &Gate::default());
    let (_, flight) = split_rest(&track);
    let detected = flight.iter().filter(|p| !p.interpolated).count();
    let moved = match (flight.first(), flight.last()) {
        (Some(a), Some(b)) => ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt() >= Gate::default().moving_px,
        _ => false,
    };
    detected >= LAUNCH_WINDOW && moved && flight.last().is_some_and(|l| l.frame + MAX_GAP + 2 < frames.len())
}

/// Runs one analysis.
pub fn run(
    detector: &YoloDetector,
    source: Source<'_>,
    params: &Params,
    zip_limits: &ZipLimits,
) -> Result<Outcome, ApiError> {
    let started = Instant::now();
    let workers = detector.parallelism();
    let mut video_summary = None;
    let mut fps = params.fps;
    let mut stopped_early = false;
    let (results, mut reread): (Vec<FrameResult>, Reread<'_>) = match source {
        Source::Image(bytes) => {
            let frame = decode_image("image", bytes).map_err(ingest_error)?;
            let result = process(detector, &frame)?;
            (vec![result], Reread::Decoded(frame))
        }
        Source::Zip(bytes) => {
            let mut zip = ZipFrames::open(bytes, zip_limits).map_err(ingest_error)?;
            if zip.len() < MIN_FRAMES {
                return Err(ingest_error(IngestError::InsufficientFrames { found: zip.len(), needed: MIN_FRAMES }));
            }
            let mut i = 0;
            let total = zip.len();
            let (results, ended) = detect_stream(detector, workers, true, || {
                (i < total).then(|| {
                    i += 1;
                    zip.frame(i - 1).map_err(ingest_error)
                })
            })?;
            stopped_early = ended;
            (results, Reread::Zip(zip))
        }
        Source::Video { bytes, max_frames } => {
            let (info, mut frames) = video::decode_frames(bytes, Some(max_frames)).map_err(video_error)?;
            let (results, ended) =
                detect_stream(detector, workers, true, || frames.next().map(|r| r.map_err(video_error)))?;
            stopped_early = ended;
            if results.len() < MIN_FRAMES {
                return Err(ingest_error(IngestError::InsufficientFrames { found: results.len(), needed: MIN_FRAMES }));
            }
            let (fps_used, fps_source) = match info.fps {
                Some(f) if f.is_finite() && f > 0.0 => (f, "container"),
                _ => (params.fps, "fps_fallback"),
            };
            fps = fps_used;
            let analyzed = results.len() as u64;
            let (w, h) = results.first().map_or((info.width, info.height), |r| r.size);
            video_summary = Some(VideoSummary {
                fps: fps_used,
                fps_source,
                frames_total: info.frame_count.max(analyzed),
                frames_analyzed: analyzed,
                frames_skipped: info.frame_count.saturating_sub(analyzed),
                codec: info.codec.clone(),
                width: w,
                height: h,
            });
            (results, Reread::Video { bytes, max_frames, live: None })
        }
    };
    let (width, height) = results.first().map_or((0, 0), |r| r.size);
    if let Some((i, r)) = results.iter().enumerate().find(|(_, r)| r.size != (width, height)) {
        return Err(ApiError::new(
            ErrorCode::InvalidImage,
            format!(
                "frame {i} is {}x{}, the first frame {width}x{height}: every frame must have the same size",
                r.size.0, r.size.1
            ),
        ));
    }
    let n = results.len().max(1) as f64;
    let mut detect_ms: f64 = results.iter().map(|r| r.detect_ms).sum();
    let luma = results.iter().map(|r| r.luma).sum::<f64>() / n;
    let sharpness = results.iter().map(|r| r.sharpness).sum::<f64>() / n;
    let mut detections: Vec<Vec<Detection>> = results.into_iter().map(|r| r.detections).collect();
    let single = matches!(source, Source::Image(_));
    let mut native_crops = 0;
    if !single && refine::worth_cropping(width, height, detector.input_size()) {
        let (crops, crop_ms) = look_closer(detector, workers, &mut reread, &mut detections, (width, height))?;
        native_crops = crops;
        detect_ms += crop_ms;
    }
    let metrics = (!single).then(|| {
        analyze_shot(
            &detections,
            &ShotParams { fps, m_per_px: params.m_per_px, smoothing_window: params.smoothing_window },
        )
    });
    let (qw, qh) = params.frame_size.unwrap_or((width, height));
    let quality = assess(fps, qw, qh, luma, sharpness);
    let preview_frame = preview_index(&detections, metrics.as_ref());
    let preview_png = preview_frame.and_then(|i| {
        render_preview(&mut reread, i, &detections[i]).map_err(|e| tracing::warn!(error = %e, "no preview image")).ok()
    });
    let timing = InferenceTiming {
        total_ms: round2(started.elapsed().as_secs_f64() * 1000.0),
        avg_ms_per_frame: round2(detect_ms / n),
        frame_count: detections.len() as u64,
    };
    Ok(Outcome {
        frame_count: detections.len(),
        width,
        height,
        detections,
        metrics,
        quality,
        timing,
        fps,
        video: video_summary,
        preview_png,
        preview_frame,
        include_detections: params.include_detections,
        stopped_after_flight: stopped_early,
        native_crops,
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The frame the preview shows: the impact frame, else the frame with the most confident
/// detections (the first frame when nothing was found).
fn preview_index(detections: &[Vec<Detection>], metrics: Option<&ShotMetrics>) -> Option<usize> {
    if detections.is_empty() {
        return None;
    }
    if let Some(i) = metrics.and_then(|m| m.impact_frame).filter(|i| *i < detections.len()) {
        return Some(i);
    }
    let score = |d: &Vec<Detection>| d.iter().map(|x| f64::from(x.score)).sum::<f64>();
    let best = (0..detections.len()).max_by(|a, b| score(&detections[*a]).total_cmp(&score(&detections[*b])));
    best.or(Some(0))
}

/// Where frames are decoded again from, for the crops and the preview (keeping every frame
/// decoded would cost hundreds of MB for a 720p clip; decoding a few again costs milliseconds).
enum Reread<'a> {
    Decoded(DecodedFrame),
    Zip(ZipFrames<'a>),
    /// An MP4, and the decoder where the last read stopped with the index of its next frame: the
    /// crops' rounds walk forward through the clip, so each round goes on from the last.
    Video {
        bytes: &'a [u8],
        max_frames: usize,
        live: Option<Box<(usize, video::VideoFrames<'a>)>>,
    },
}

impl Reread<'_> {
    /// The frames at `indices` (ascending), decoded again.
    fn frames(&mut self, indices: Vec<usize>) -> Box<dyn Iterator<Item = Result<DecodedFrame, ApiError>> + '_> {
        match self {
            Reread::Decoded(f) => Box::new(indices.into_iter().filter(|i| *i == 0).map(|_| Ok(f.clone()))),
            Reread::Zip(zip) => Box::new(indices.into_iter().map(|i| zip.frame(i).map_err(ingest_error))),
            Reread::Video { bytes, max_frames, live } => {
                let first = indices.first().copied().unwrap_or(0);
                if live.as_deref().is_none_or(|(next, _)| *next > first) {
                    match video::decode_frames(bytes, Some(*max_frames)) {
                        Ok((_, frames)) => *live = Some(Box::new((0, frames))),
                        Err(e) => return Box::new(std::iter::once(Err(video_error(e)))),
                    }
                }
                let Some((next, frames)) = live.as_deref_mut() else { return Box::new(std::iter::empty()) };
                let mut wanted = indices.into_iter().peekable();
                Box::new(std::iter::from_fn(move || {
                    let want = *wanted.peek()?;
                    loop {
                        let frame = frames.next()?;
                        let index = *next;
                        *next += 1;
                        if index == want || frame.is_err() {
                            wanted.next();
                            return Some(frame.map_err(video_error));
                        }
                    }
                }))
            }
        }
    }
}

/// Runs the detector again on native-resolution windows around the ball's track, round by round
/// ([`refine`]), merging what the windows see into `detections`. Returns the crops run and their
/// detector time.
fn look_closer(
    detector: &YoloDetector,
    workers: usize,
    reread: &mut Reread<'_>,
    detections: &mut [Vec<Detection>],
    size: (u32, u32),
) -> Result<(usize, f64), ApiError> {
    let mut done = std::collections::BTreeSet::new();
    let mut detect_ms = 0.0;
    for round in 0..refine::ROUNDS {
        let budget = refine::MAX_CROPS.saturating_sub(done.len());
        let windows = refine::plan(detections, size, detector.input_size(), &done, budget);
        if windows.is_empty() {
            break;
        }
        tracing::debug!(round, crops = windows.len(), first = windows[0].frame, "native-resolution crops");
        let mut frames = reread.frames(windows.iter().map(|w| w.frame).collect());
        let mut k = 0;
        let (results, _) = detect_stream(detector, workers, false, || {
            let window = windows.get(k)?;
            k += 1;
            Some(frames.next()?.and_then(|f| {
                refine::crop(&f, window)
                    .ok_or_else(|| analyze_failed(format!("frame {} read again at another size", window.frame)))
            }))
        })?;
        if results.len() != windows.len() {
            return Err(analyze_failed(format!(
                "{} crops planned, {} frames read again",
                windows.len(),
                results.len()
            )));
        }
        for (window, result) in windows.iter().zip(results) {
            detect_ms += result.detect_ms;
            refine::merge(&mut detections[window.frame], window, size, result.detections);
            done.insert(window.frame);
        }
    }
    Ok((done.len(), detect_ms))
}

fn render_preview(source: &mut Reread<'_>, index: usize, dets: &[Detection]) -> Result<Vec<u8>, String> {
    let frame =
        source.frames(vec![index]).next().ok_or("the preview frame could not be read again")?.map_err(|e| e.message)?;
    let mut img =
        image::RgbImage::from_raw(frame.width, frame.height, frame.rgb).ok_or("frame buffer size mismatch")?;
    models::annotate::draw_detections(&mut img, dets);
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::{BBox, Class};

    fn ball(x: f32, y: f32) -> Detection {
        Detection { class: Class::GolfBall, score: 0.8, bbox: BBox::from_center(x, y, 12.0, 12.0) }
    }

    #[test]
    fn video_rereads_go_on_from_the_last_read_and_restart_for_an_earlier_frame() {
        // Each frame a different grey, so a frame read again says which it is.
        let src: Vec<image::RgbImage> =
            (0..12u8).map(|i| image::RgbImage::from_pixel(64, 48, image::Rgb([20 * i, 20 * i, 20 * i]))).collect();
        let bytes = video::encode_mp4(&src, 30.0).expect("encodes");
        let grey = |f: &DecodedFrame| f.rgb.iter().map(|&v| f64::from(v)).sum::<f64>() / f.rgb.len() as f64;
        let which = |f: DecodedFrame| ((grey(&f) / 20.0).round()) as usize;
        let mut reread = Reread::Video { bytes: &bytes, max_frames: 12, live: None };
        let mut read = |indices: Vec<usize>| -> Vec<usize> {
            reread.frames(indices).map(|f| which(f.expect("decodes"))).collect()
        };
        assert_eq!(read(vec![1, 3]), vec![1, 3]);
        assert_eq!(read(vec![4, 7, 8]), vec![4, 7, 8], "goes on from frame 4");
        assert_eq!(read(vec![2, 11]), vec![2, 11], "restarts for frame 2");
        assert_eq!(read(vec![12]), Vec::<usize>::new(), "past the last frame: nothing");
        assert_eq!(read(vec![0]), vec![0]);
    }

    #[test]
    fn the_flight_is_over_once_a_long_flight_has_not_been_seen_for_longer_than_a_gap() {
        // Teed for 10 frames, 12 frames of flight, then `after` empty frames.
        let clip = |after: usize| {
            let mut frames: Vec<Vec<Detection>> = (0..10).map(|_| vec![ball(100.0, 400.0)]).collect();
            frames.extend((1..=12).map(|k| vec![ball(100.0 + 30.0 * k as f32, 400.0 - 10.0 * k as f32)]));
            frames.extend((0..after).map(|_| Vec::new()));
            frames
        };
        assert!(!flight_is_over(&clip(0)), "the ball is still in view");
        assert!(!flight_is_over(&clip(5)), "a gap the tracker bridges");
        assert!(flight_is_over(&clip(6)));
        let mut short = clip(10);
        short.drain(14..22);
        assert!(!flight_is_over(&short), "four flight points are not a shot");
        let resting: Vec<Vec<Detection>> =
            (0..40).map(|i| if i < 20 { vec![ball(100.0, 400.0)] } else { vec![] }).collect();
        assert!(!flight_is_over(&resting), "a ball that never flew");
    }
}
