//! Process-wide state built once per cold start (or dispatcher start) and shared by reference:
//! configuration and the stores chosen by RUN_STORE_BACKEND.

use std::sync::Arc;

use crate::config::{Config, StoreBackend};
use crate::flag_store::FlagStore;
use crate::run_store::RunStore;
use crate::storage::file::FileBlobStore;
use crate::storage::{Key, SharedBlobStore};

/// What every handler is given.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Configuration, loaded once.
    pub config: Arc<Config>,
    /// The blob store behind the run store (and later the flag store).
    pub blobs: SharedBlobStore,
    /// Runs.
    pub runs: RunStore,
    /// Feature flags and their audit log.
    pub flags: FlagStore,
}

impl AppState {
    /// Builds the stores `config` names. Fails when FEATURE_FLAGS_CONFIG_PATH has no usable file name.
    pub fn from_config(config: Config) -> Result<Self, String> {
        let blobs: SharedBlobStore = match config.run_store_backend {
            StoreBackend::File => Arc::new(FileBlobStore::new(config.run_store_dir.clone())),
        };
        Self::with_blobs(config, blobs)
    }

    /// State over an explicit run blob store (tests, benchmarks, other backends). On the file
    /// backend the flag config lives at FEATURE_FLAGS_CONFIG_PATH, in a store rooted at its folder.
    pub fn with_blobs(config: Config, blobs: SharedBlobStore) -> Result<Self, String> {
        let path = &config.feature_flags_config_path;
        let (dir, name) = match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
            (Some(dir), Some(name)) => (dir.to_path_buf(), name.to_string()),
            _ => return Err(format!("FEATURE_FLAGS_CONFIG_PATH={} has no file name", path.display())),
        };
        let key = Key::parse(name).map_err(|e| format!("FEATURE_FLAGS_CONFIG_PATH: unusable file name: {e}"))?;
        let flags = FlagStore::new(Arc::new(FileBlobStore::new(dir)), key);
        Ok(AppState { config: Arc::new(config), runs: RunStore::new(blobs.clone()), blobs, flags })
    }
}
