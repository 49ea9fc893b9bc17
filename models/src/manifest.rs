//! The weights manifest (`models/weights/<variant>/manifest.json`) and the checksum that guards
//! every load: a model file whose sha256 differs from its manifest is never handed to ONNX Runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use model_catalog::{sha256_file, OnnxSpec};
use serde::Deserialize;

use crate::detection::Class;
use crate::ModelError;

/// What the manifest says about the model's input.
#[derive(Debug, Clone, Deserialize)]
pub struct TensorSpec {
    /// Tensor name.
    pub name: String,
    /// Static shape.
    pub shape: Vec<usize>,
}

/// The manifest fields the runtime uses (the file holds more: training data, epochs, licence...).
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// `yolov10` or `yolov11`.
    pub variant: String,
    /// Class names by id.
    pub classes: BTreeMap<String, String>,
    /// Input tensor.
    pub input: TensorSpec,
    /// Output tensor.
    pub output: TensorSpec,
    /// Model file.
    pub onnx: OnnxSpec,
    /// Validation metrics as recorded at export.
    #[serde(default)]
    pub validation: serde_json::Value,
    /// The variant's calibrated score threshold (export.py: the low edge of the class-mean F2
    /// plateau on the calibration split), used when the caller does not set one.
    #[serde(default)]
    pub score_threshold: Option<f32>,
    /// Calibrated score thresholds per class name (export.py: the low edge of each class's F2
    /// plateau, the lowest score within 0.01 of its peak); used
    /// before `score_threshold` when present, because the classes score on different scales.
    #[serde(default)]
    pub class_score_thresholds: Option<BTreeMap<String, f32>>,
}

/// How to read the output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputLayout {
    /// `[1, rows, 6]`: `[x1, y1, x2, y2, score, class]` per row (YOLOv10). One box per object by
    /// design; the decode still runs NMS, which drops the near-copies it emits at low thresholds.
    EndToEnd {
        /// Rows.
        rows: usize,
    },
    /// `[1, 4 + classes, anchors]`: raw head, NMS needed (YOLO11).
    Raw {
        /// Classes.
        classes: usize,
        /// Anchors.
        anchors: usize,
    },
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<Manifest, ModelError> {
        Ok(model_catalog::read_manifest(dir)?)
    }

    /// The model file's path.
    pub fn model_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.onnx.file)
    }

    /// The square input side, from `[1, 3, S, S]`.
    pub fn input_size(&self) -> Result<u32, String> {
        match self.input.shape.as_slice() {
            [1, 3, h, w] if h == w => u32::try_from(*h).map_err(|e| e.to_string()),
            other => Err(format!("input shape {other:?} is not [1, 3, S, S]")),
        }
    }

    /// The calibrated score threshold, when the manifest has one; it must lie in (0, 1).
    pub fn calibrated_score(&self) -> Result<Option<f32>, String> {
        match self.score_threshold {
            Some(s) if !(s > 0.0 && s < 1.0) => Err(format!("score_threshold {s} is not in (0, 1)")),
            other => Ok(other),
        }
    }

    /// The calibrated per-class thresholds by class id, when the manifest has them: every class
    /// named once, each in (0, 1).
    pub fn calibrated_class_scores(&self) -> Result<Option<[f32; Class::ALL.len()]>, String> {
        let Some(map) = &self.class_score_thresholds else { return Ok(None) };
        if let Some(unknown) = map.keys().find(|k| Class::from_name(k).is_none()) {
            return Err(format!("class_score_thresholds names an unknown class {unknown:?}"));
        }
        let mut out = [0.0; Class::ALL.len()];
        for class in Class::ALL {
            out[class.id()] = match map.get(class.as_str()) {
                Some(&s) if s > 0.0 && s < 1.0 => s,
                Some(s) => return Err(format!("class_score_thresholds.{} {s} is not in (0, 1)", class.as_str())),
                None => return Err(format!("class_score_thresholds lacks {}", class.as_str())),
            };
        }
        Ok(Some(out))
    }

    /// The output layout, from the output shape and the class count.
    pub fn layout(&self) -> Result<OutputLayout, String> {
        let nc = self.classes.len();
        match self.output.shape.as_slice() {
            [1, rows, 6] if *rows != 4 + nc => Ok(OutputLayout::EndToEnd { rows: *rows }),
            [1, c, anchors] if *c == 4 + nc => Ok(OutputLayout::Raw { classes: nc, anchors: *anchors }),
            other => Err(format!("output shape {other:?} is neither [1, N, 6] nor [1, 4+{nc}, A]")),
        }
    }
}

/// Reads the model file and checks it against the manifest's sha256, returning its bytes.
pub fn verified_model_bytes(manifest: &Manifest, dir: &Path) -> Result<Vec<u8>, ModelError> {
    Ok(model_catalog::read_verified(&manifest.onnx, dir)?)
}
