//! The model registry: one detector per variant, loaded lazily and once (checksum first), then
//! shared by every request. A variant whose weights are missing or corrupt stays unavailable with
//! a reason that names it; the others are unaffected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::decode::Thresholds;
use crate::manifest::{verified_model_bytes, Manifest};
use crate::yolo::{SessionOptions, YoloDetector};
use crate::ModelError;

/// The variants the project ships weights for.
pub const VARIANTS: &[&str] = &["yolov10", "yolov11"];

/// A variant's state, for /ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantState {
    /// The variant.
    pub variant: String,
    /// `loaded`, `available` (verified, not loaded yet) or `unavailable`.
    pub state: &'static str,
    /// Why, when unavailable.
    pub detail: String,
}

/// Detectors by variant.
pub struct ModelRegistry {
    root: PathBuf,
    options: SessionOptions,
    thresholds: Thresholds,
    loaded: BTreeMap<&'static str, OnceLock<Result<Arc<YoloDetector>, ModelError>>>,
}

impl std::fmt::Debug for ModelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRegistry").field("root", &self.root).field("options", &self.options).finish()
    }
}

impl ModelRegistry {
    /// A registry over `root/<variant>/`.
    pub fn new(root: impl Into<PathBuf>, options: SessionOptions, thresholds: Thresholds) -> Self {
        let loaded = VARIANTS.iter().map(|v| (*v, OnceLock::new())).collect();
        ModelRegistry { root: root.into(), options, thresholds, loaded }
    }

    /// Where the weights are looked for when MODELS_DIR is unset (the server reads that variable
    /// once, in `common::config`): `models/weights` in the working directory or a folder above it
    /// or above the executable, then `/opt/models/weights` (Lambda layer, container image).
    pub fn default_root() -> PathBuf {
        locate::search("models/weights", &["/opt/models/weights"], |p| {
            p.join(VARIANTS[0]).join("manifest.json").is_file()
        })
    }

    /// The weights root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The detector for `variant`, loading it on first use.
    pub fn get(&self, variant: &str) -> Result<Arc<YoloDetector>, ModelError> {
        let cell = self.loaded.get(variant).ok_or_else(|| ModelError::UnknownVariant(variant.to_string()))?;
        let outcome = cell.get_or_init(|| {
            YoloDetector::load(&self.root.join(variant), self.options, self.thresholds).map(Arc::new).inspect_err(|e| {
                tracing::error!(variant, error = %e, "model variant unavailable");
            })
        });
        match outcome {
            Ok(d) => Ok(d.clone()),
            Err(e) => Err(ModelError::Unavailable { variant: variant.to_string(), reason: e.to_string() }),
        }
    }

    /// Every variant's state without loading any: loaded ones say so; others have their manifest
    /// read and checksum verified.
    pub fn states(&self) -> Vec<VariantState> {
        VARIANTS
            .iter()
            .map(|v| {
                let (state, detail) = match self.loaded.get(v).and_then(OnceLock::get) {
                    Some(Ok(_)) => ("loaded", String::new()),
                    Some(Err(e)) => ("unavailable", e.to_string()),
                    None => {
                        let dir = self.root.join(v);
                        match Manifest::load(&dir).and_then(|m| verified_model_bytes(&m, &dir).map(|_| ())) {
                            Ok(()) => ("available", String::new()),
                            Err(e) => ("unavailable", e.to_string()),
                        }
                    }
                };
                VariantState { variant: v.to_string(), state, detail }
            })
            .collect()
    }
}
