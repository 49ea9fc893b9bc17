//! The detector's side of an analysis: a pool of worker threads (at lower priority) fed decoded
//! frames in order, the dense pass through the launch and the flight, and the native-resolution
//! crops around the ball's track.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use common::error::ApiError;
use models::{Class, Detection, Detector, Frame};

use super::flight::{flight_is_over, has_moving_ball};
use super::{analyze_failed, model_error, MAX_FLIGHT_S, NO_FLIGHT_FRAMES};
use crate::frames::DecodedFrame;
use crate::motion::{Blob, MotionConfig, MotionField};
use crate::pipeline::quality::{laplacian_variance, mean_luma};
use crate::pipeline::shot::CONFIDENT_BALL_SCORE;
use crate::pipeline::tracking::balls_near;
use crate::refine;
use crate::source::FrameSource;

/// Per-frame results of a detector call.
pub(super) struct FrameResult {
    pub(super) detections: Vec<Detection>,
    pub(super) detect_ms: f64,
    pub(super) luma: f64,
    pub(super) sharpness: f64,
    pub(super) size: (u32, u32),
}

pub(super) fn process(detector: &dyn Detector, f: &DecodedFrame) -> Result<FrameResult, ApiError> {
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

/// One watch call: the detector on the frame, and where the frame is large enough for the ball at
/// rest to vanish in the letterbox ([`refine::worth_searching_natively`]), on native windows too:
/// the whole frame's tiles while no ball is watched and the frame shows none it is sure of, then a
/// window on each watched ball the frame does not show. A ball the letterboxed frame sees costs
/// nothing more. At most `left` calls; returns the detections and the calls spent.
pub(super) fn watch_detect(
    detector: &dyn Detector,
    index: usize,
    f: &DecodedFrame,
    watched: &[(f64, f64)],
    left: usize,
) -> Result<(Vec<Detection>, usize), ApiError> {
    let mut d = detector.detect(&Frame { width: f.width, height: f.height, rgb: &f.rgb }).map_err(model_error)?;
    let (size, side) = ((f.width, f.height), detector.input_size());
    if !refine::worth_searching_natively(f.width, f.height, side) {
        return Ok((d, 1));
    }
    let windows: Vec<refine::CropWindow> = if watched.is_empty() {
        let sure = d.iter().any(|d| d.class == Class::GolfBall && f64::from(d.score) >= CONFIDENT_BALL_SCORE);
        if sure {
            Vec::new()
        } else {
            refine::tiles(index, size, side)
        }
    } else {
        watched
            .iter()
            .filter(|c| balls_near(&d, **c, 8.0).next().is_none())
            .map(|&(x, y)| refine::window(index, x, y, size, side))
            .collect()
    };
    let mut used = 1;
    for window in windows.iter().take(left.saturating_sub(1)) {
        let Some(crop) = refine::crop(f, window) else { continue };
        let found =
            detector.detect(&Frame { width: crop.width, height: crop.height, rgb: &crop.rgb }).map_err(model_error)?;
        refine::merge(&mut d, window, size, found);
        used += 1;
    }
    Ok((d, used))
}

/// Native windows on the ball at rest where the watch last saw it (`vanished`: centre and size),
/// for the dense frames (clip frames `start..`) up to `gone` that do not show it, when the frames
/// are large enough for the launch search's windows.
pub(super) fn rest_windows(
    detections: &[Vec<Detection>],
    start: usize,
    gone: usize,
    ((x, y), ball): ((f64, f64), f64),
    size: (u32, u32),
    side: u32,
) -> Vec<refine::CropWindow> {
    if !refine::worth_searching_natively(size.0, size.1, side) {
        return Vec::new();
    }
    (start..=gone.min((start + detections.len()).saturating_sub(1)))
        .filter(|i| balls_near(&detections[i - start], (x, y), ball).next().is_none())
        .map(|i| refine::window(i - start, x, y, size, side))
        .collect()
}

/// How much lower than the process the detector threads run (nice levels).
pub const DETECTOR_NICE_OFFSET: i32 = 10;

/// Detector threads run [`DETECTOR_NICE_OFFSET`] nice levels below the process: an analysis is
/// throughput work, and on a busy machine a request thread that wakes behind it should not wait out
/// a scheduler slice (at equal priority the mixed-load test's `GET /runs/v1/{id}` p99 was 14x its
/// idle p99). On Linux the nice value is per thread, and these threads live for one analysis only,
/// so nothing else inherits it. Best effort: where it cannot be changed, nothing else changes.
pub(super) fn lower_priority() {
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
pub(super) fn detect_stream(
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

/// The dense pass from `start`: every frame through the detector until the flight is over, or
/// until `gone + NO_FLIGHT_FRAMES` with no moving ball, or `budget` calls.
pub(super) struct Dense {
    pub(super) results: Vec<FrameResult>,
    pub(super) flight_over: bool,
    /// The motion candidates of each frame in `results` ([`motion`]).
    pub(super) motion: Vec<Option<Vec<Blob>>>,
}

pub(super) fn dense_pass(
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
    // The motion candidates come from the same frames, on the decoding thread, as they pass.
    let mut field = MotionField::new(MotionConfig::default());
    let (results, flight_over) = detect_stream(detector, budget, Some(&stop), || {
        let frame = frames.next()?;
        if let Ok(f) = &frame {
            field.push(f);
        }
        Some(frame)
    })?;
    let mut motion = field.finish();
    motion.resize(results.len(), None);
    Ok(Dense { results, flight_over, motion })
}
/// Runs the detector again on native-resolution windows around the ball's track, round by round
/// ([`refine`]), merging what the windows see into `detections` (frame `k` of which is clip frame
/// `start + k`). Returns the crops run and their detector time.
pub(super) fn look_closer(
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
        detect_ms += look_at(detector, source, start, detections, &windows, size)?;
        done.extend(windows.iter().map(|w| w.frame));
    }
    Ok((done.len(), detect_ms))
}

/// Runs the detector on each window (one per frame, `window.frame` counting from clip frame
/// `start`) and merges what it sees into that frame's detections. Returns the detector time.
pub(super) fn look_at(
    detector: &dyn Detector,
    source: &mut dyn FrameSource,
    start: usize,
    detections: &mut [Vec<Detection>],
    windows: &[refine::CropWindow],
    size: (u32, u32),
) -> Result<f64, ApiError> {
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
        return Err(analyze_failed(format!("{} crops planned, {} frames read again", windows.len(), results.len())));
    }
    let mut detect_ms = 0.0;
    for (window, result) in windows.iter().zip(results) {
        detect_ms += result.detect_ms;
        refine::merge(&mut detections[window.frame], window, size, result.detections);
    }
    Ok(detect_ms)
}
