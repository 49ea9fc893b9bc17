//! One analysis, on a blocking thread, over any [`FrameSource`] and any [`Detector`]: the launch
//! search ([`scan`]), the dense pass through the launch and the flight, the native-resolution
//! crops ([`refine`]), the motion candidates that carry the flight where the detector lost it
//! ([`motion`]), the shot pipeline, the capture quality and the annotated preview. Nothing
//! here touches a store or HTTP, and nothing here knows whether the frames came from a zip or a
//! video, so the whole flow is tested with a scripted detector and drawn frames.
//!
//! The detector is the cost (~100 ms a call on a CPU core against ~2 ms to decode a 720p frame),
//! so it runs densely only from a little before the launch through the end of the flight: the
//! frames before are watched by their pixels, the frames after are never decoded.
//!
//! # Layout
//! - this file: the analysis itself ([`analyze`], [`detect_image`]) and what it returns.
//! - `detect`: the detector's worker pool, the dense pass and the native-resolution crops.
//! - `flight`: when the frames seen so far hold a flight, or a shot that is over.
//! - `preview`: the annotated preview image.

mod detect;
mod flight;
mod preview;
#[cfg(test)]
mod tests;

use std::sync::mpsc;
use std::time::Instant;

use common::error::{ApiError, ErrorCode};
use common::runs::InferenceTiming;
use models::{Class, Detection, Detector};
use serde::Serialize;

use crate::frames::{DecodedFrame, IngestError};
use crate::motion;
use crate::pipeline::clock::Clock;
use crate::pipeline::quality::{assess, laplacian_variance, mean_luma, Quality};
use crate::pipeline::shot::{analyze_shot, resting_ball, NoShotReason, ShotMetrics, ShotParams, ShotVerdict};
use crate::refine;
use crate::scan::{self, ScanEnd, WatchConfig};
use crate::source::{ingest_error, FrameSource};

pub use detect::DETECTOR_NICE_OFFSET;
pub use flight::flight_is_over;

use detect::{dense_pass, look_at, look_closer, process, rest_windows, watch_detect, Dense};
use flight::{ball_left_unseen, has_moving_ball};
pub use preview::Tracer;
use preview::{best_frame, make_tracer, render_preview, reread_preview};

/// Frames a motion analysis needs at least.
pub const MIN_FRAMES: usize = 2;
/// Frames run densely before the first frame whose pixels changed at the launch: the club head's
/// approach (club speed is measured over the ~6 frames up to impact) and the ball at rest.
pub const LEAD_FRAMES: usize = 10;
/// Dense passes that found no flight after a ball vanished (a false ball, a missed detection)
/// before the search gives up: each costs its lead-in and a tenth of a second of frames.
pub const MAX_FAILED_WINDOWS: usize = 3;
/// Frames decoded ahead of the watch.
const PREFETCH_FRAMES: usize = 8;
/// Seconds of flight the dense pass follows at most.
pub const MAX_FLIGHT_S: f64 = 1.0;
/// Frames past the one where the ball was gone after which a dense pass that found no moving
/// ball gives up and the watch resumes (at least; a tenth of a second at high frame rates).
pub const NO_FLIGHT_FRAMES: usize = 12;

/// What the analysis needs besides frames and a detector. The request parser builds it; the core
/// does not know the request.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisParams {
    /// When each frame was captured: the sample timestamps of a video, else a constant rate.
    pub clock: Clock,
    /// Metres per pixel.
    pub m_per_px: f64,
    /// Centred moving-average window of the tracks (1 = none).
    pub smoothing_window: usize,
    /// The frame size quality is judged at, when the client declared one.
    pub frame_size: Option<(u32, u32)>,
    /// The units of the tracer's label.
    pub units: tracer::Units,
}

/// How much detector time one analysis may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Detector calls (watch probes, the dense pass and crops together).
    pub max_detector_calls: usize,
}

/// How the analysis went through the clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanSummary {
    /// Frames in the clip (up to the decode limit).
    pub frames_total: usize,
    /// Frames decoded or read.
    pub frames_read: usize,
    /// Detector calls, crops included.
    pub detector_calls: usize,
    /// The frames run densely through the detector, first and last, when a launch was found.
    pub dense_window: Option<[usize; 2]>,
}

/// What one analysis produced.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Clip indices of the frames in [`Analysis::detections`].
    pub frames: Vec<usize>,
    /// Detections of the frames the analysis looked at: the dense window's, else the watch's calls.
    pub detections: Vec<Vec<Detection>>,
    /// Shot metrics (None for a single image).
    pub metrics: Option<ShotMetrics>,
    /// Capture quality.
    pub quality: Quality,
    /// Timing.
    pub timing: InferenceTiming,
    /// The preview (JPEG): the tracer still of a measured shot, else the frame the detector was
    /// surest of with its boxes; when it could be made.
    pub preview_jpeg: Option<Vec<u8>>,
    /// The clip index of the frame the preview shows.
    pub preview_frame: Option<usize>,
    /// The tracer of a measured shot (its still is also `preview_jpeg`).
    pub tracer: Option<Tracer>,
    /// True when the dense pass stopped once the ball flight was over.
    pub stopped_after_flight: bool,
    /// Native-resolution crops run through the detector around the ball's track.
    pub native_crops: usize,
    /// Flight points the shot's metrics took from motion candidates where the detector had no ball
    /// ([`motion::extend_flight`]); not in [`Analysis::detections`].
    pub motion_points: usize,
    /// How the clip was searched.
    pub scan: ScanSummary,
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

/// Detections of one image: no motion analysis.
pub fn detect_image(detector: &dyn Detector, frame: &DecodedFrame) -> Result<Analysis, ApiError> {
    let started = Instant::now();
    let r = process(detector, frame)?;
    let quality = assess(0.0, frame.width, frame.height, r.luma, r.sharpness);
    let detections = vec![r.detections];
    let preview_jpeg =
        render_preview(frame.clone(), &detections[0]).map_err(|e| tracing::warn!(error = %e, "no preview image")).ok();
    Ok(Analysis {
        width: frame.width,
        height: frame.height,
        frames: vec![0],
        detections,
        metrics: None,
        quality,
        timing: InferenceTiming {
            total_ms: round2(started.elapsed().as_secs_f64() * 1000.0),
            avg_ms_per_frame: round2(r.detect_ms),
            frame_count: 1,
        },
        preview_jpeg,
        preview_frame: Some(0),
        tracer: None,
        stopped_after_flight: false,
        native_crops: 0,
        motion_points: 0,
        scan: ScanSummary { frames_total: 1, frames_read: 1, detector_calls: 1, dense_window: None },
    })
}

/// The frames a launch was found in: the dense pass from `start`, its detections with the crops',
/// and the same with the flight points the motion candidates added (what the shot is measured on).
struct Window {
    start: usize,
    dense: Dense,
    detections: Vec<Vec<Detection>>,
    with_motion: motion::MotionFill,
    crops: usize,
}

/// Analyses a clip: the launch search, the dense pass, the crops, the shot.
pub fn analyze(
    detector: &dyn Detector,
    source: &mut dyn FrameSource,
    params: &AnalysisParams,
    limits: &Limits,
) -> Result<Analysis, ApiError> {
    let started = Instant::now();
    let n = source.len();
    if n < MIN_FRAMES {
        return Err(ingest_error(IngestError::InsufficientFrames { found: n, needed: MIN_FRAMES }));
    }
    let budget = limits.max_detector_calls.max(1);
    let watch_config = WatchConfig::for_fps(params.clock.fps());
    let mut calls = 0usize;
    let mut frames_read = 0usize;
    let mut detect_ms = 0.0;
    let mut watch_calls: Vec<(usize, Vec<Detection>)> = Vec::new();
    let mut first_size: Option<(u32, u32)> = None;
    let mut from = 0usize;
    let mut window: Option<Window> = None;
    let mut out_of_budget = false;
    let mut saw_ball = false;
    let mut failed_windows = 0;
    // Summed luma and sharpness of the frames the watch ran the detector on.
    let mut watch_quality = (0.0, 0.0);
    while from < n && window.is_none() {
        let s = std::thread::scope(|scope| {
            // Decoding runs a few frames ahead on a thread of its own, so the watch's detector
            // calls and the decoding of the frames after them overlap.
            let (tx, rx) = mpsc::sync_channel(PREFETCH_FRAMES);
            let frames = source.frames((from..n).collect());
            scope.spawn(move || {
                for frame in frames {
                    if tx.send(frame).is_err() {
                        break;
                    }
                }
            });
            scan::watch(from, rx, &watch_config, budget - calls, |i, f, watched, left| {
                check_size(&mut first_size, i, f)?;
                let (w, h) = (f.width as usize, f.height as usize);
                let step = (w.max(h) / 320).max(1);
                watch_quality.0 += mean_luma(&f.rgb, w, h, step);
                watch_quality.1 += laplacian_variance(&f.rgb, w, h, step);
                let t = Instant::now();
                let (d, used) = watch_detect(detector, i, f, watched, left)?;
                detect_ms += t.elapsed().as_secs_f64() * 1000.0;
                Ok((d, used))
            })
        })?;
        calls += s.detector_calls;
        frames_read += s.frames_read;
        saw_ball |= s.saw_ball;
        watch_calls.extend(s.calls);
        match s.end {
            ScanEnd::EndOfClip => break,
            ScanEnd::Budget => {
                out_of_budget = true;
                break;
            }
            ScanEnd::Launch { since, gone } => {
                let start = since.saturating_sub(LEAD_FRAMES).max(from);
                let size = first_size.unwrap_or((0, 0));
                let dense = dense_pass(detector, source, (start, gone), params.clock.fps(), size, budget - calls)?;
                calls += dense.results.len();
                frames_read += dense.results.len();
                detect_ms += dense.results.iter().map(|r| r.detect_ms).sum::<f64>();
                let mut dets: Vec<Vec<Detection>> = dense.results.iter().map(|r| r.detections.clone()).collect();
                tracing::debug!(
                    since,
                    gone,
                    start,
                    frames = dense.results.len(),
                    over = dense.flight_over,
                    "dense pass"
                );
                let end = start + dense.results.len();
                // The ball at rest, natively, where the watch last saw it, in the dense frames up
                // to its leaving that lack it: a small ball the watch's windows found can be too
                // small for the letterboxed frames, and without it the launch has no tee.
                if let Some(vanished) = s.vanished {
                    let windows = rest_windows(&dets, start, gone, vanished, size, detector.input_size());
                    let windows = &windows[..windows.len().min(budget.saturating_sub(calls))];
                    if !windows.is_empty() {
                        detect_ms += look_at(detector, source, start, &mut dets, windows, size)?;
                        calls += windows.len();
                    }
                }
                // A small ball in flight can be missing from the letterboxed full frames and seen
                // in native-resolution windows: the window is judged after its crops.
                let mut crops = 0;
                if refine::worth_cropping(size.0, size.1, detector.input_size()) {
                    let (c, crop_ms) =
                        look_closer(detector, source, start, &mut dets, size, budget.saturating_sub(calls))?;
                    (crops, calls, detect_ms) = (c, calls + c, detect_ms + crop_ms);
                }
                saw_ball |= dets.iter().flatten().any(|d| d.class == Class::GolfBall);
                // The detector anchors the flight; the frames' own motion carries it where the
                // detector lost it (a ball seen at rest and then not at all included).
                let with_motion = motion::extend_flight(&dets, &dense.motion, size);
                let shot_input = &with_motion.detections;
                if has_moving_ball(shot_input) || ball_left_unseen(shot_input, params, size) {
                    window = Some(Window { start, dense, detections: dets, with_motion, crops });
                } else if calls >= budget || failed_windows >= MAX_FAILED_WINDOWS {
                    out_of_budget = true;
                    break;
                } else {
                    // A ball that vanished without flying (a false ball, a detector miss on
                    // changed pixels): watch on from the end of the window.
                    tracing::debug!(start, end, "no flight after a vanished ball; watching on");
                    failed_windows += 1;
                    from = end.max(gone + 1);
                }
            }
        }
    }
    let smoothing_window = params.smoothing_window;
    let Some(Window { start, dense, detections, with_motion, crops: native_crops }) = window else {
        // No launch: the verdict comes from what the watch saw.
        let resting = resting_ball(&watch_calls.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>());
        let reason = if out_of_budget {
            NoShotReason::AnalysisLimit
        } else if saw_ball && resting.is_some() {
            NoShotReason::BallDidNotMove
        } else {
            NoShotReason::NoBall
        };
        let (frames, detections): (Vec<usize>, Vec<Vec<Detection>>) = watch_calls.into_iter().unzip();
        let tracking = crate::pipeline::tracking::stats(&[], detections.len());
        let (width, height) = first_size.unwrap_or((0, 0));
        let k = detections.len().max(1) as f64;
        let (qw, qh) = params.frame_size.unwrap_or((width, height));
        let quality = assess(params.clock.fps(), qw, qh, watch_quality.0 / k, watch_quality.1 / k);
        let preview = best_frame(&detections).map(|k| frames[k]);
        let preview_jpeg = preview.and_then(|i| {
            let k = frames.iter().position(|f| *f == i)?;
            reread_preview(source, i, &detections[k])
        });
        return Ok(Analysis {
            width,
            height,
            timing: timing(started, detect_ms, calls),
            frames,
            detections,
            metrics: Some(ShotMetrics::none(ShotVerdict::none(reason), tracking)),
            quality,
            preview_jpeg,
            preview_frame: preview,
            tracer: None,
            stopped_after_flight: false,
            native_crops: 0,
            motion_points: 0,
            scan: ScanSummary { frames_total: n, frames_read, detector_calls: calls, dense_window: None },
        });
    };
    let Dense { results, flight_over, .. } = dense;
    let (width, height) = results.first().map_or(first_size.unwrap_or((0, 0)), |r| r.size);
    if let Some((i, r)) = results.iter().enumerate().find(|(_, r)| r.size != (width, height)) {
        return Err(size_mismatch(start + i, r.size, (width, height)));
    }
    let k = results.len().max(1) as f64;
    let luma = results.iter().map(|r| r.luma).sum::<f64>() / k;
    let sharpness = results.iter().map(|r| r.sharpness).sum::<f64>() / k;
    let metrics = analyze_shot(
        &with_motion.detections,
        &ShotParams {
            clock: params.clock.clone(),
            m_per_px: params.m_per_px,
            smoothing_window,
            frame_size: (width, height),
            first_frame: start,
        },
    );
    let (qw, qh) = params.frame_size.unwrap_or((width, height));
    let quality = assess(params.clock.fps(), qw, qh, luma, sharpness);
    // A measured shot's preview is its tracer still; without one, the impact frame (else the
    // frame the detector was surest of) with its boxes.
    let traced = metrics
        .flight
        .as_ref()
        .filter(|_| metrics.shot.detected)
        .and_then(|f| make_tracer(source, &metrics, f, params.clock.fps(), (width, height), params.units));
    let (tracer, preview_jpeg, preview_frame) = match traced {
        Some((t, still)) => {
            let frame = t.still_frame;
            (Some(t), Some(still), Some(frame))
        }
        None => {
            let frame = metrics
                .impact_frame
                .filter(|i| (start..start + detections.len()).contains(i))
                .or_else(|| best_frame(&detections).map(|k| start + k));
            (None, frame.and_then(|i| reread_preview(source, i, &detections[i - start])), frame)
        }
    };
    let frames: Vec<usize> = (start..start + detections.len()).collect();
    let dense_window = Some([start, start + detections.len().saturating_sub(1)]);
    Ok(Analysis {
        width,
        height,
        timing: timing(started, detect_ms, calls),
        frames,
        detections,
        metrics: Some(metrics),
        quality,
        preview_jpeg,
        preview_frame,
        tracer,
        stopped_after_flight: flight_over,
        native_crops,
        motion_points: with_motion.added,
        scan: ScanSummary { frames_total: n, frames_read, detector_calls: calls, dense_window },
    })
}

fn size_mismatch(i: usize, got: (u32, u32), first: (u32, u32)) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidImage,
        format!(
            "frame {i} is {}x{}, the first frame {}x{}: every frame must have the same size",
            got.0, got.1, first.0, first.1
        ),
    )
}

/// Every frame must have the first frame's size.
fn check_size(first: &mut Option<(u32, u32)>, index: usize, f: &DecodedFrame) -> Result<(), ApiError> {
    match *first {
        None => {
            *first = Some((f.width, f.height));
            Ok(())
        }
        Some(size) if size == (f.width, f.height) => Ok(()),
        Some(size) => Err(size_mismatch(index, (f.width, f.height), size).with_cause(f.name.clone())),
    }
}

fn timing(started: Instant, detect_ms: f64, calls: usize) -> InferenceTiming {
    InferenceTiming {
        total_ms: round2(started.elapsed().as_secs_f64() * 1000.0),
        avg_ms_per_frame: round2(detect_ms / calls.max(1) as f64),
        frame_count: calls as u64,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
