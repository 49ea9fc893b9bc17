//! Golf ball and club head detection: the project's own YOLOv10 and YOLO11 weights run through
//! ONNX Runtime (loaded dynamically from the PyPI wheel's `libonnxruntime.so`).
//!
//! # Layout
//! - [`detection`]: classes, boxes, detections.
//! - [`letterbox`]: frame → square NCHW input and boxes back (fast_image_resize).
//! - [`decode`]: the YOLOv10 end-to-end and YOLO11 raw output layouts, class-aware NMS.
//! - [`manifest`]: what `manifest.json` says about running a model; its sha256 check is
//!   `model_catalog`'s, which also owns the variants and where the weights lie.
//! - [`runtime`]: finding and loading ONNX Runtime once, with an actionable error.
//! - [`yolo`]: the ort-backed detector with its session pool.
//! - [`registry`]: one lazily loaded detector per variant.
//! - [`annotate`]: drawing detections (preview images, the `detect` example).
//! - [`golden`]: the golden-frame check (committed generator frames, issue #3's bar).
//!
//! Weights live in `models/weights/<variant>/`; how they were trained is in `models/README.md`.

pub mod annotate;
pub mod decode;
pub mod detection;
pub mod golden;
pub mod letterbox;
pub mod manifest;
pub mod registry;
pub mod runtime;
pub mod yolo;

use std::path::PathBuf;

pub use decode::Thresholds;
pub use detection::{BBox, Class, Detection};
pub use letterbox::Frame;
pub use model_catalog::{default_root, IntegrityError, ModelReadiness, ModelVariant, VariantState};
pub use registry::ModelRegistry;
pub use yolo::{SessionOptions, StageTimings, YoloDetector};

/// Model failures. Cloneable so a failed lazy load can be reported to every later caller.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// ONNX Runtime could not be loaded.
    #[error("ONNX Runtime is unavailable at {path}: {reason}; {hint}")]
    RuntimeUnavailable {
        /// Where it was looked for.
        path: PathBuf,
        /// What went wrong.
        reason: String,
        /// How to fix it.
        hint: &'static str,
    },
    /// The weights are missing, their manifest is invalid or describes an unsupported model, or the
    /// model file fails its checksum.
    #[error(transparent)]
    Weights(#[from] model_catalog::IntegrityError),
    /// ONNX Runtime refused the model.
    #[error("ONNX Runtime could not load {path}: {reason}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// ONNX Runtime's message.
        reason: String,
    },
    /// The variant's weights could not be loaded.
    #[error("model variant {variant} is unavailable: {reason}")]
    Unavailable {
        /// The variant.
        variant: String,
        /// Why.
        reason: String,
    },
    /// The frame cannot be processed (empty, wrong size).
    #[error("invalid frame: {0}")]
    Frame(String),
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
}

/// A detector of golf balls and club heads.
pub trait Detector: Send + Sync {
    /// The weights variant.
    fn variant(&self) -> &str;

    /// The side of the square input the detector letterboxes frames to, in pixels: frames this
    /// many times larger lose small objects, and get native-resolution crops instead.
    fn input_size(&self) -> u32;

    /// Detections in one frame, boxes in the frame's pixels.
    fn detect(&self, frame: &Frame<'_>) -> Result<Vec<Detection>, ModelError>;

    /// Detections for each frame of a batch, in order. The default runs the frames across the
    /// detector's parallelism with scoped threads.
    fn detect_batch(&self, frames: &[Frame<'_>]) -> Result<Vec<Vec<Detection>>, ModelError> {
        let workers = self.parallelism().clamp(1, frames.len().max(1));
        if workers == 1 {
            return frames.iter().map(|f| self.detect(f)).collect();
        }
        let chunk = frames.len().div_ceil(workers);
        std::thread::scope(|scope| {
            let handles: Vec<_> = frames
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|f| self.detect(f)).collect::<Result<Vec<_>, _>>()))
                .collect();
            let mut out = Vec::with_capacity(frames.len());
            for h in handles {
                let part = h.join().map_err(|_| ModelError::Inference("a detection worker panicked".into()))??;
                out.extend(part);
            }
            Ok(out)
        })
    }

    /// How many frames it can run at once.
    fn parallelism(&self) -> usize {
        1
    }
}
