//! One analysis, on a blocking thread, over any [`FrameSource`] and any [`Detector`]: the launch
//! search ([`scan`]), the dense pass through the launch and the flight, the native-resolution
//! crops ([`refine`]), the shot pipeline, the capture quality and the annotated preview. Nothing
//! here touches a store or HTTP, and nothing here knows whether the frames came from a zip or a
//! video, so the whole flow is tested with a scripted detector and drawn frames.
//!
//! The detector is the cost (~100 ms a call on a CPU core against ~2 ms to decode a 720p frame),
//! so it runs densely only from a little before the launch through the end of the flight: the
//! frames before are watched by their pixels, the frames after are never decoded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use common::error::{ApiError, ErrorCode};
use common::runs::InferenceTiming;
use models::{Class, Detection, Detector, Frame};
use serde::Serialize;

use crate::frames::{DecodedFrame, IngestError};
use crate::pipeline::clock::Clock;
use crate::pipeline::kinematics::split_rest;
use crate::pipeline::launch_fit::FIT_POINTS;
use crate::pipeline::quality::{assess, laplacian_variance, mean_luma, Quality};
use crate::pipeline::shot::{
    analyze_shot, near_edge, resting_ball, NoShotReason, ShotMetrics, ShotParams, ShotVerdict, MIN_FLIGHT_POINTS,
};
use crate::pipeline::tracking::{track_ball, Gate, TrackPoint, MAX_GAP};
use crate::refine;
use crate::scan::{self, ScanEnd, WatchConfig};
use crate::source::{ingest_error, FrameSource};

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
    /// The annotated preview (PNG), when it could be made.
    pub preview_png: Option<Vec<u8>>,
    /// The clip index of the frame the preview shows.
    pub preview_frame: Option<usize>,
    /// True when the dense pass stopped once the ball flight was over.
    pub stopped_after_flight: bool,
    /// Native-resolution crops run through the detector around the ball's track.
    pub native_crops: usize,
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

/// Per-frame results of a detector call.
struct FrameResult {
    detections: Vec<Detection>,
    detect_ms: f64,
    luma: f64,
    sharpness: f64,
    size: (u32, u32),
}

fn process(detector: &dyn Detector, f: &DecodedFrame) -> Result<FrameResult, ApiError> {
    let frame = Frame { width: f.width, height: f.height, rgb: &f.rgb };
    let t = Instant::now();
    let detections = detector.detect(&frame).map_err(model_error)?;
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

/// How much lower than the process the detector threads run (nice levels).
pub const DETECTOR_NICE_OFFSET: i32 = 10;

/// Detector threads run [`DETECTOR_NICE_OFFSET`] nice levels below the process: an analysis is
/// throughput work, and on a busy machine a request thread that wakes behind it should not wait out
/// a scheduler slice (at equal priority the mixed-load test's `GET /runs/v1/{id}` p99 was 14x its
/// idle p99). On Linux the nice value is per thread, and these threads live for one analysis only,
/// so nothing else inherits it. Best effort: where it cannot be changed, nothing else changes.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let current = getpriority_process(None).unwrap_or(0);
        let lower = (current + DETECTOR_NICE_OFFSET).min(19);
        if lower != current {
            setpriority_process(None, lower).ok();
        }
    }
}

/// Decides, from the detections of a contiguous prefix of frames, that the dense pass is over.
type StopRule = dyn Fn(&[Vec<Detection>]) -> bool + Sync;

/// Runs every frame `next` yields through the detector on `workers` threads, keeping at most
/// `2 x workers` decoded frames in flight, until `stop` says so for the contiguous prefix of
/// detections (checked every `check_every` frames) or `max` frames have been sent. Frames keep
/// their order; frames in flight when the stop came are kept.
fn detect_stream(
    detector: &dyn Detector,
    max: usize,
    stop: Option<&StopRule>,
    mut next: impl FnMut() -> Option<Result<DecodedFrame, ApiError>>,
) -> Result<(Vec<FrameResult>, bool), ApiError> {
    let workers = detector.parallelism().max(1);
    let halt = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    let seen: Mutex<Vec<Option<Vec<Detection>>>> = Mutex::new(Vec::new());
    let (frame_tx, frame_rx) = mpsc::sync_channel::<(usize, DecodedFrame)>(workers * 2);
    let frame_rx = Mutex::new(frame_rx);
    let (result_tx, result_rx) = mpsc::channel::<(usize, Result<FrameResult, ApiError>)>();
    let mut produce_error = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (rx, tx, halt, done, seen) = (&frame_rx, result_tx.clone(), &halt, &done, &seen);
            scope.spawn(move || {
                lower_priority();
                loop {
                    let item = rx.lock().map(|r| r.recv()).unwrap_or_else(|p| p.into_inner().recv());
                    let Ok((i, frame)) = item else { break };
                    let result = process(detector, &frame);
                    match (&result, stop) {
                        (Err(_), _) => halt.store(true, Ordering::SeqCst),
                        (Ok(r), Some(stop)) => {
                            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                            if seen.len() <= i {
                                seen.resize(i + 1, None);
                            }
                            seen[i] = Some(r.detections.clone());
                            // The tracker is cheap but not free: the contiguous prefix is copied and
                            // checked every few frames.
                            let contiguous = seen.iter().take_while(|d| d.is_some()).count();
                            if contiguous.is_multiple_of(4) {
                                let prefix: Vec<Vec<Detection>> =
                                    seen[..contiguous].iter().flatten().cloned().collect();
                                if stop(&prefix) {
                                    done.store(true, Ordering::SeqCst);
                                    halt.store(true, Ordering::SeqCst);
                                }
                            }
                        }
                        (Ok(_), None) => {}
                    }
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(result_tx);
        let mut i = 0;
        while i < max && !halt.load(Ordering::SeqCst) {
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
    results.into_iter().map(|(_, r)| r).collect::<Result<Vec<_>, _>>().map(|r| (r, ended))
}

/// Whether these frames hold a ball that has moved: a track that left its start.
fn has_moving_ball(frames: &[Vec<Detection>]) -> bool {
    let detected = detected_flight(frames);
    match (detected.first(), detected.last()) {
        (Some(a), Some(b)) if detected.len() >= 2 => (a.x - b.x).hypot(a.y - b.y) >= Gate::default().moving_px,
        _ => false,
    }
}

/// The detected (not interpolated) points of the ball track's flight in these frames.
fn detected_flight(frames: &[Vec<Detection>]) -> Vec<TrackPoint> {
    let track = track_ball(frames, &Gate::default());
    let (_, flight) = split_rest(&track);
    flight.iter().filter(|p| !p.interpolated).copied().collect()
}

/// Whether the shot is over in these frames: a ball flight has been tracked that moved and either
/// has the points the launch fit uses ([`FIT_POINTS`] and two spare), or has at least
/// [`MIN_FLIGHT_POINTS`] points or ended at the frame's edge and has not been seen for longer than
/// the tracker bridges. Nothing after that can change the metrics (launch comes from
/// the flight's first points, club speed from the frames before impact), so the rest of the
/// footage need not be decoded: most of a phone clip is follow-through and an empty sky.
pub fn flight_is_over(frames: &[Vec<Detection>], size: (u32, u32)) -> bool {
    let detected = detected_flight(frames);
    let (Some(a), Some(b)) = (detected.first(), detected.last()) else { return false };
    let moved = (a.x - b.x).hypot(a.y - b.y) >= Gate::default().moving_px;
    let at_edge = near_edge(b, size);
    let enough = detected.len() >= MIN_FLIGHT_POINTS || (detected.len() >= 2 && at_edge);
    // The launch fit uses the flight's first FIT_POINTS detections: two more (for a dropped
    // outlier or a trimmed false start) and nothing later can change the metrics.
    let fitted = detected.len() >= FIT_POINTS + 2;
    moved && (fitted || (enough && b.frame + MAX_GAP + 2 < frames.len()))
}

/// Whether the ball left its place in these frames for good without a flight to measure (it left
/// the picture at launch, or flew too few frames): a verdict in itself, not a false alarm.
fn ball_left_unseen(frames: &[Vec<Detection>], params: &AnalysisParams, size: (u32, u32)) -> bool {
    let p = ShotParams {
        clock: params.clock.clone(),
        m_per_px: params.m_per_px,
        smoothing_window: params.smoothing_window,
        frame_size: size,
        first_frame: 0,
    };
    matches!(analyze_shot(frames, &p).shot.reason, Some(NoShotReason::LeftFrameAtLaunch | NoShotReason::FlightTooShort))
}

/// Detections of one image: no motion analysis.
pub fn detect_image(detector: &dyn Detector, frame: &DecodedFrame) -> Result<Analysis, ApiError> {
    let started = Instant::now();
    let r = process(detector, frame)?;
    let quality = assess(0.0, frame.width, frame.height, r.luma, r.sharpness);
    let detections = vec![r.detections];
    let preview_png =
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
        preview_png,
        preview_frame: Some(0),
        stopped_after_flight: false,
        native_crops: 0,
        scan: ScanSummary { frames_total: 1, frames_read: 1, detector_calls: 1, dense_window: None },
    })
}

/// The dense pass from `start`: every frame through the detector until the flight is over, or
/// until `gone + NO_FLIGHT_FRAMES` with no moving ball, or `budget` calls.
struct Dense {
    results: Vec<FrameResult>,
    flight_over: bool,
}

fn dense_pass(
    detector: &dyn Detector,
    source: &mut dyn FrameSource,
    (start, gone): (usize, usize),
    fps: f64,
    size: (u32, u32),
    budget: usize,
) -> Result<Dense, ApiError> {
    let give_up_after = (gone - start) + NO_FLIGHT_FRAMES.max((0.1 * fps).round() as usize);
    let stop = move |prefix: &[Vec<Detection>]| -> bool {
        flight_is_over(prefix, size) || (prefix.len() >= give_up_after && !has_moving_ball(prefix))
    };
    // Launch metrics need the flight's first points: a second of flight is plenty.
    let most = (gone - start) + (MAX_FLIGHT_S * fps).round() as usize;
    let n = source.len().min(start + most.max(give_up_after));
    let mut frames = source.frames((start..n).collect());
    let (results, flight_over) = detect_stream(detector, budget, Some(&stop), || frames.next())?;
    Ok(Dense { results, flight_over })
}

/// The frames a launch was found in: the dense pass from `start`, its detections with the crops'.
struct Window {
    start: usize,
    dense: Dense,
    detections: Vec<Vec<Detection>>,
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
            scan::watch(from, rx, &watch_config, budget - calls, |i, f| {
                check_size(&mut first_size, i, f)?;
                let (w, h) = (f.width as usize, f.height as usize);
                let step = (w.max(h) / 320).max(1);
                watch_quality.0 += mean_luma(&f.rgb, w, h, step);
                watch_quality.1 += laplacian_variance(&f.rgb, w, h, step);
                let t = Instant::now();
                let d = detector.detect(&Frame { width: f.width, height: f.height, rgb: &f.rgb }).map_err(model_error);
                detect_ms += t.elapsed().as_secs_f64() * 1000.0;
                d
            })
        })?;
        calls += s.calls.len();
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
                // A small ball in flight can be missing from the letterboxed full frames and seen
                // in native-resolution windows: the window is judged after its crops.
                let mut crops = 0;
                if refine::worth_cropping(size.0, size.1, detector.input_size()) {
                    let (c, crop_ms) =
                        look_closer(detector, source, start, &mut dets, size, budget.saturating_sub(calls))?;
                    (crops, calls, detect_ms) = (c, calls + c, detect_ms + crop_ms);
                }
                saw_ball |= dets.iter().flatten().any(|d| d.class == Class::GolfBall);
                if has_moving_ball(&dets) || ball_left_unseen(&dets, params, size) {
                    window = Some(Window { start, dense, detections: dets, crops });
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
    let Some(Window { start, dense, detections, crops: native_crops }) = window else {
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
        let preview_png = preview.and_then(|i| {
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
            preview_png,
            preview_frame: preview,
            stopped_after_flight: false,
            native_crops: 0,
            scan: ScanSummary { frames_total: n, frames_read, detector_calls: calls, dense_window: None },
        });
    };
    let Dense { results, flight_over } = dense;
    let (width, height) = results.first().map_or(first_size.unwrap_or((0, 0)), |r| r.size);
    if let Some((i, r)) = results.iter().enumerate().find(|(_, r)| r.size != (width, height)) {
        return Err(size_mismatch(start + i, r.size, (width, height)));
    }
    let k = results.len().max(1) as f64;
    let luma = results.iter().map(|r| r.luma).sum::<f64>() / k;
    let sharpness = results.iter().map(|r| r.sharpness).sum::<f64>() / k;
    let metrics = analyze_shot(
        &detections,
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
    let preview_frame = metrics
        .impact_frame
        .filter(|i| (start..start + detections.len()).contains(i))
        .or_else(|| best_frame(&detections).map(|k| start + k));
    let preview_png = preview_frame.and_then(|i| reread_preview(source, i, &detections[i - start]));
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
        preview_png,
        preview_frame,
        stopped_after_flight: flight_over,
        native_crops,
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

/// The index of the frame with the most confident detections (the first when none has any).
fn best_frame(detections: &[Vec<Detection>]) -> Option<usize> {
    let score = |d: &Vec<Detection>| d.iter().map(|x| f64::from(x.score)).sum::<f64>();
    (0..detections.len()).max_by(|a, b| score(&detections[*a]).total_cmp(&score(&detections[*b])))
}

/// Runs the detector again on native-resolution windows around the ball's track, round by round
/// ([`refine`]), merging what the windows see into `detections` (frame `k` of which is clip frame
/// `start + k`). Returns the crops run and their detector time.
fn look_closer(
    detector: &dyn Detector,
    source: &mut dyn FrameSource,
    start: usize,
    detections: &mut [Vec<Detection>],
    size: (u32, u32),
    budget: usize,
) -> Result<(usize, f64), ApiError> {
    let mut done = std::collections::BTreeSet::new();
    let mut detect_ms = 0.0;
    for round in 0..refine::ROUNDS {
        let left = refine::MAX_CROPS.min(budget).saturating_sub(done.len());
        let windows = refine::plan(detections, size, detector.input_size(), &done, left);
        if windows.is_empty() {
            break;
        }
        tracing::debug!(round, crops = windows.len(), first = windows[0].frame, "native-resolution crops");
        let mut frames = source.frames(windows.iter().map(|w| start + w.frame).collect());
        let mut k = 0;
        let (results, _) = detect_stream(detector, windows.len(), None, || {
            let window = windows.get(k)?;
            k += 1;
            Some(frames.next()?.and_then(|f| {
                refine::crop(&f, window)
                    .ok_or_else(|| analyze_failed(format!("frame {} read again at another size", start + window.frame)))
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

fn reread_preview(source: &mut dyn FrameSource, index: usize, dets: &[Detection]) -> Option<Vec<u8>> {
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

fn render_preview(frame: DecodedFrame, dets: &[Detection]) -> Result<Vec<u8>, String> {
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
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_detector_thread_lowers_only_its_own_priority() {
        use rustix::process::getpriority_process;
        let before = getpriority_process(None).expect("nice");
        let inside = std::thread::spawn(|| {
            lower_priority();
            getpriority_process(None).expect("nice")
        })
        .join()
        .expect("thread");
        assert_eq!(inside, (before + DETECTOR_NICE_OFFSET).min(19));
        assert_eq!(getpriority_process(None).expect("nice"), before, "the caller keeps its priority");
    }
    use crate::pipeline::shot::NoShotReason;
    use crate::source::FrameIter;
    use models::{BBox, ModelError};

    const W: u32 = 320;
    const H: u32 = 180;
    const BALL_PX: f64 = 6.0;
    const M_PER_PX: f64 = 0.04267 / BALL_PX;

    /// A clip drawn on demand: grey ground, a white ball at rest at (40, 150) until `launch` and
    /// then flying at `speed` m/s and `angle` degrees under gravity; no ball at all when `ball` is
    /// false. Counts the frames decoded.
    struct Drawn {
        n: usize,
        fps: f64,
        launch: Option<usize>,
        speed: f64,
        angle: f64,
        ball: bool,
        decoded: usize,
    }

    impl Drawn {
        fn centre(&self, i: usize) -> Option<(f64, f64)> {
            if !self.ball {
                return None;
            }
            let (x0, y0) = (40.0, 150.0);
            let Some(launch) = self.launch.filter(|l| i > *l) else { return Some((x0, y0)) };
            let t = (i - launch) as f64 / self.fps;
            let (vx, vy) = (self.speed * self.angle.to_radians().cos(), self.speed * self.angle.to_radians().sin());
            let (x, y) = (x0 + vx * t / M_PER_PX, y0 - (vy * t - 4.905 * t * t) / M_PER_PX);
            (x > 0.0 && x < f64::from(W) && y > 0.0 && y < f64::from(H)).then_some((x, y))
        }

        fn draw(&self, i: usize) -> DecodedFrame {
            let mut rgb = vec![80u8; (W * H * 3) as usize];
            if let Some((cx, cy)) = self.centre(i) {
                for y in 0..H {
                    for x in 0..W {
                        if (f64::from(x) + 0.5 - cx).hypot(f64::from(y) + 0.5 - cy) <= BALL_PX / 2.0 {
                            let p = ((y * W + x) * 3) as usize;
                            rgb[p..p + 3].copy_from_slice(&[250, 250, 250]);
                        }
                    }
                }
            }
            DecodedFrame { name: format!("frame_{i}"), width: W, height: H, rgb }
        }
    }

    impl FrameSource for Drawn {
        fn len(&self) -> usize {
            self.n
        }

        fn frames(&mut self, indices: Vec<usize>) -> FrameIter<'_> {
            let n = self.n;
            Box::new(indices.into_iter().filter(move |i| *i < n).map(move |i| {
                self.decoded += 1;
                Ok(self.draw(i))
            }))
        }
    }

    /// A detector that reports the bounding box of the white pixels as a ball, and counts its calls.
    #[derive(Default)]
    struct WhitePixels {
        calls: AtomicUsize,
    }

    impl Detector for WhitePixels {
        fn variant(&self) -> &str {
            "scripted"
        }

        fn input_size(&self) -> u32 {
            640
        }

        fn detect(&self, frame: &Frame<'_>) -> Result<Vec<Detection>, ModelError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
            for y in 0..frame.height {
                for x in 0..frame.width {
                    if frame.rgb[((y * frame.width + x) * 3) as usize] > 200 {
                        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
                    }
                }
            }
            Ok(if x1 > x0 {
                let bbox = BBox::new(x0 as f32, y0 as f32, x1 as f32, y1 as f32);
                vec![Detection { class: Class::GolfBall, score: 0.9, bbox }]
            } else {
                Vec::new()
            })
        }
    }

    fn params(fps: f64) -> AnalysisParams {
        AnalysisParams { clock: Clock::constant(fps), m_per_px: M_PER_PX, smoothing_window: 3, frame_size: None }
    }

    fn run(clip: &mut Drawn, budget: usize) -> (Analysis, usize) {
        let detector = WhitePixels::default();
        let fps = clip.fps;
        let a = analyze(&detector, clip, &params(fps), &Limits { max_detector_calls: budget }).expect("analyses");
        let calls = detector.calls.load(Ordering::SeqCst);
        (a, calls)
    }

    #[test]
    fn given_a_shot_late_in_a_long_clip_then_the_launch_is_found_and_the_detector_runs_near_it_only() {
        for (fps, launch) in [(240.0, 1900usize), (120.0, 360), (60.0, 150)] {
            let mut clip = Drawn {
                n: (fps * 8.0) as usize,
                fps,
                launch: Some(launch),
                speed: 20.0,
                angle: 25.0,
                ball: true,
                decoded: 0,
            };
            let (a, calls) = run(&mut clip, 400);
            let m = a.metrics.as_ref().expect("metrics");
            assert!(m.shot.detected, "{fps} fps: {:?}", m.shot);
            let impact = m.impact_frame.expect("impact");
            assert!(impact.abs_diff(launch) <= 1, "{fps} fps: impact {impact}, launch {launch}");
            let speed = m.ball_speed_mps.expect("speed");
            assert!((speed - 20.0).abs() < 1.5, "{fps} fps: speed {speed}");
            // The watch's probes (every second), the confirmation, the lead and the flight.
            let flight = (0..clip.n).filter(|i| *i > launch && clip.centre(*i).is_some()).count();
            let bound = launch / fps as usize + 2 + LEAD_FRAMES + flight + 12;
            assert!(calls <= bound, "{fps} fps: {calls} detector calls, bound {bound}");
            assert_eq!(calls, a.scan.detector_calls);
            assert!(
                a.scan.frames_total == clip.n && clip.decoded < clip.n + LEAD_FRAMES + flight + 40,
                "{fps}: decoded {}",
                clip.decoded
            );
            let [first, last] = a.scan.dense_window.expect("a dense window");
            assert!(first <= launch && launch < last, "{fps}: window {first}..{last}");
        }
    }

    #[test]
    fn given_a_ball_that_never_moves_then_no_shot_because_it_did_not_move_and_few_calls() {
        let mut clip = Drawn { n: 960, fps: 240.0, launch: None, speed: 0.0, angle: 0.0, ball: true, decoded: 0 };
        let (a, calls) = run(&mut clip, 400);
        let m = a.metrics.expect("metrics");
        assert_eq!(m.shot, ShotVerdict::none(NoShotReason::BallDidNotMove));
        assert_eq!((m.ball_speed_mps, m.launch_deg), (None, None));
        assert!(calls <= 960 / 240 + 1, "{calls} calls");
    }

    #[test]
    fn given_no_ball_then_no_shot_because_no_ball() {
        let mut clip = Drawn { n: 480, fps: 120.0, launch: None, speed: 0.0, angle: 0.0, ball: false, decoded: 0 };
        let (a, _) = run(&mut clip, 400);
        assert_eq!(a.metrics.expect("metrics").shot, ShotVerdict::none(NoShotReason::NoBall));
    }

    #[test]
    fn given_too_small_a_budget_then_no_shot_because_of_the_analysis_limit_and_the_budget_holds() {
        let mut clip =
            Drawn { n: 1920, fps: 240.0, launch: Some(1500), speed: 20.0, angle: 25.0, ball: true, decoded: 0 };
        let (a, calls) = run(&mut clip, 5);
        assert_eq!(a.metrics.expect("metrics").shot, ShotVerdict::none(NoShotReason::AnalysisLimit));
        assert!(calls <= 5, "{calls} calls");
    }

    #[test]
    fn given_a_short_clip_that_starts_with_the_shot_then_it_is_measured() {
        let mut clip = Drawn { n: 60, fps: 120.0, launch: Some(3), speed: 15.0, angle: 10.0, ball: true, decoded: 0 };
        let (a, _) = run(&mut clip, 400);
        let m = a.metrics.expect("metrics");
        assert!(m.shot.detected, "{:?}", m.shot);
        assert!(m.impact_frame.is_some_and(|f| f.abs_diff(3) <= 1), "{:?}", m.impact_frame);
    }

    fn ball(x: f32, y: f32) -> Detection {
        Detection { class: Class::GolfBall, score: 0.8, bbox: BBox::from_center(x, y, 12.0, 12.0) }
    }

    #[test]
    fn the_flight_is_over_once_a_flight_has_not_been_seen_for_longer_than_a_gap() {
        // Teed for 10 frames, `points` frames of flight, then `after` empty frames.
        let clip = |points: usize, after: usize| {
            let mut frames: Vec<Vec<Detection>> = (0..10).map(|_| vec![ball(100.0, 400.0)]).collect();
            frames.extend((1..=points).map(|k| vec![ball(100.0 + 30.0 * k as f32, 400.0 - 10.0 * k as f32)]));
            frames.extend((0..after).map(|_| Vec::new()));
            frames
        };
        let size = (1280, 720);
        assert!(!flight_is_over(&clip(8, 0), size), "the ball is still in view");
        assert!(!flight_is_over(&clip(8, 5), size), "a gap the tracker bridges");
        assert!(flight_is_over(&clip(8, 6), size));
        assert!(flight_is_over(&clip(FIT_POINTS + 2, 0), size), "every point the launch fit uses is in");
        assert!(!flight_is_over(&clip(3, 10), size), "three flight points in mid-frame are not a shot yet");
        assert!(flight_is_over(&clip(3, 10), (200, 720)), "three points that reach the edge: it left");
        let resting: Vec<Vec<Detection>> =
            (0..40).map(|i| if i < 20 { vec![ball(100.0, 400.0)] } else { vec![] }).collect();
        assert!(!flight_is_over(&resting, size), "a ball that never flew");
    }
}
