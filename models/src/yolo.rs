//! The ONNX Runtime YOLO detector: letterbox, run, decode, map back — with a small pool of
//! sessions reused across requests.
//!
//! Threading choice (measured on 2 cores, see docs/PERFORMANCE.md): one session per core with one
//! intra-op thread each and spinning off. Frames and requests run in parallel across sessions
//! instead of one session spreading a frame over spinning threads, which under load wastes the
//! cores the other requests need.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fast_image_resize::Resizer;
use ort::session::Session;
use ort::value::TensorRef;

use crate::decode::{decode_end_to_end, decode_raw, Thresholds};
use crate::detection::{Class, Detection};
use crate::letterbox::{letterbox_into, Frame};
use crate::manifest::{verified_model_bytes, Manifest, OutputLayout};
use crate::{Detector, ModelError};

/// How sessions are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Sessions in the pool (parallel frames).
    pub sessions: usize,
    /// Intra-op threads per session.
    pub intra_threads: usize,
    /// Whether idle intra-op threads spin.
    pub spinning: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        SessionOptions { sessions: cores, intra_threads: 1, spinning: false }
    }
}

/// Time spent in each stage of one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimings {
    /// Letterbox and tensor fill.
    pub preprocess: Duration,
    /// `session.run`.
    pub inference: Duration,
    /// Decode, NMS and mapping back.
    pub postprocess: Duration,
}

struct Slot {
    session: Session,
    input: Vec<f32>,
    scratch: Vec<u8>,
    resizer: Resizer,
}

/// A YOLO detector over one weights directory.
pub struct YoloDetector {
    variant: String,
    size: u32,
    layout: OutputLayout,
    input_name: String,
    output_name: String,
    thresholds: Thresholds,
    slots: Vec<Mutex<Slot>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for YoloDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YoloDetector")
            .field("variant", &self.variant)
            .field("size", &self.size)
            .field("layout", &self.layout)
            .field("sessions", &self.slots.len())
            .finish()
    }
}

impl YoloDetector {
    /// Loads `dir` (manifest.json + model file): verifies the checksum, then builds the sessions.
    pub fn load(dir: &std::path::Path, options: SessionOptions, thresholds: Thresholds) -> Result<Self, ModelError> {
        let manifest = Manifest::load(dir)?;
        let bad_manifest =
            |reason: String| model_catalog::IntegrityError::Manifest { path: dir.join("manifest.json"), reason };
        let size = manifest.input_size().map_err(bad_manifest)?;
        let layout = manifest.layout().map_err(bad_manifest)?;
        let calibrated = manifest.calibrated_score().map_err(bad_manifest)?;
        let per_class = manifest.calibrated_class_scores().map_err(bad_manifest)?;
        let class_scores = thresholds.class_scores.or(per_class).or(calibrated.map(|s| [s; Class::ALL.len()]));
        let thresholds = Thresholds { class_scores, ..thresholds };
        let bytes = verified_model_bytes(&manifest, dir)?;
        let env = crate::runtime::init()?;
        let path = manifest.model_path(dir);
        let load_err = |reason: String| ModelError::Load { path: path.clone(), reason };
        let mut slots = Vec::new();
        for _ in 0..options.sessions.max(1) {
            let mut builder = Session::builder(env)
                .and_then(|b| b.with_intra_threads(options.intra_threads.max(1)).map_err(Into::into))
                .and_then(|b| b.with_intra_op_spinning(options.spinning).map_err(Into::into))
                .map_err(|e| load_err(e.to_string()))?;
            let session = builder.commit_from_memory(&bytes).map_err(|e| load_err(e.to_string()))?;
            let inputs: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
            let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
            if !inputs.contains(&manifest.input.name.as_str()) || !outputs.contains(&manifest.output.name.as_str()) {
                return Err(load_err(format!(
                    "model has inputs {inputs:?} and outputs {outputs:?}, manifest names {} and {}",
                    manifest.input.name, manifest.output.name
                )));
            }
            slots.push(Mutex::new(Slot { session, input: Vec::new(), scratch: Vec::new(), resizer: Resizer::new() }));
        }
        tracing::info!(
            variant = manifest.variant.as_str(),
            sessions = slots.len(),
            intra_threads = options.intra_threads,
            "detector loaded"
        );
        Ok(YoloDetector {
            variant: manifest.variant,
            size,
            layout,
            input_name: manifest.input.name,
            output_name: manifest.output.name,
            thresholds,
            slots,
            next: AtomicUsize::new(0),
        })
    }

    /// The model input side.
    pub fn input_size(&self) -> u32 {
        self.size
    }

    /// The thresholds in force: the caller's, with the manifest's calibrated ones filled in.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The output layout.
    pub fn layout(&self) -> OutputLayout {
        self.layout
    }

    /// A free session if there is one, else waits for the next in turn.
    fn acquire(&self) -> MutexGuard<'_, Slot> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Ok(guard) = self.slots[(start + i) % n].try_lock() {
                return guard;
            }
        }
        // A panic while holding a slot leaves only reusable buffers behind: recover the guard.
        self.slots[start % n].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Detects on one frame and reports the time of each stage.
    pub fn detect_timed(&self, frame: &Frame<'_>) -> Result<(Vec<Detection>, StageTimings), ModelError> {
        let mut guard = self.acquire();
        let Slot { session, input, scratch, resizer } = &mut *guard;
        let t0 = Instant::now();
        let lb =
            letterbox_into(frame, self.size, resizer, scratch, input).map_err(|e| ModelError::Frame(e.to_string()))?;
        let s = self.size as usize;
        let tensor = TensorRef::from_array_view(([1usize, 3, s, s], input.as_slice()))
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        let t1 = Instant::now();
        let outputs = session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        let t2 = Instant::now();
        let (shape, data) = outputs[self.output_name.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        // Weights staged with another model's manifest would otherwise decode to silence.
        let expected: [i64; 3] = match self.layout {
            OutputLayout::EndToEnd { rows } => [1, rows as i64, 6],
            OutputLayout::Raw { classes, anchors } => [1, 4 + classes as i64, anchors as i64],
        };
        if shape[..] != expected[..] {
            return Err(ModelError::Inference(format!(
                "{} output has shape {:?}, its manifest describes {expected:?}",
                self.variant,
                &shape[..]
            )));
        }
        let raw = match self.layout {
            OutputLayout::EndToEnd { rows } => decode_end_to_end(data, rows, &self.thresholds),
            OutputLayout::Raw { classes, anchors } => decode_raw(data, classes, anchors, &self.thresholds),
        };
        let dets = raw
            .into_iter()
            .map(|d| Detection { bbox: lb.to_frame(d.bbox), ..d })
            .filter(|d| d.bbox.area() > 0.0)
            .collect();
        let t3 = Instant::now();
        Ok((dets, StageTimings { preprocess: t1 - t0, inference: t2 - t1, postprocess: t3 - t2 }))
    }
}

impl Detector for YoloDetector {
    fn variant(&self) -> &str {
        &self.variant
    }

    fn input_size(&self) -> u32 {
        self.size
    }

    fn detect(&self, frame: &Frame<'_>) -> Result<Vec<Detection>, ModelError> {
        self.detect_timed(frame).map(|(d, _)| d)
    }

    fn parallelism(&self) -> usize {
        self.slots.len()
    }
}
