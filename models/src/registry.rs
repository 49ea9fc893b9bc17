//! The model registry: one detector per variant, loaded lazily and once (checksum first), then
//! shared by every request. A variant whose weights are missing or corrupt stays unavailable with
//! a reason that names it; the others are unaffected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use model_catalog::{ModelReadiness, ModelVariant, VariantState};

use crate::decode::Thresholds;
use crate::yolo::{SessionOptions, YoloDetector};
use crate::ModelError;

/// Detectors by variant.
pub struct ModelRegistry {
    root: PathBuf,
    options: SessionOptions,
    thresholds: Thresholds,
    loaded: BTreeMap<ModelVariant, OnceLock<Result<Arc<YoloDetector>, ModelError>>>,
}

impl std::fmt::Debug for ModelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRegistry").field("root", &self.root).field("options", &self.options).finish()
    }
}

impl ModelRegistry {
    /// A registry over `root/<variant>/`.
    pub fn new(root: impl Into<PathBuf>, options: SessionOptions, thresholds: Thresholds) -> Self {
        let loaded = ModelVariant::ALL.iter().map(|v| (*v, OnceLock::new())).collect();
        ModelRegistry { root: root.into(), options, thresholds, loaded }
    }

    /// The weights root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The detector for `variant`, loading it on first use.
    pub fn get(&self, variant: ModelVariant) -> Result<Arc<YoloDetector>, ModelError> {
        let cell = &self.loaded[&variant];
        let outcome = cell.get_or_init(|| {
            YoloDetector::load(&self.root.join(variant.as_str()), self.options, self.thresholds)
                .map(Arc::new)
                .inspect_err(|e| tracing::error!(%variant, error = %e, "model variant unavailable"))
        });
        match outcome {
            Ok(d) => Ok(d.clone()),
            Err(e) => Err(ModelError::Unavailable { variant: variant.to_string(), reason: e.to_string() }),
        }
    }
}

/// Where inference runs, ready means loaded: /ready loads the default variant for real, so the
/// first analysis cannot fail on it.
impl ModelReadiness for ModelRegistry {
    fn prepare(&self, variant: ModelVariant) -> Result<&'static str, String> {
        self.get(variant).map(|_| "loaded").map_err(|e| e.to_string())
    }

    /// A loaded variant says so; another has its manifest read and checksum verified.
    fn state(&self, variant: ModelVariant) -> VariantState {
        match self.loaded[&variant].get() {
            Some(Ok(_)) => VariantState { variant, state: "loaded", detail: String::new() },
            Some(Err(e)) => VariantState { variant, state: "unavailable", detail: e.to_string() },
            None => VariantState::verified(&self.root, variant),
        }
    }
}
