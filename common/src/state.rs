//! Process-wide state built once per cold start (or dispatcher start) and shared by reference:
//! configuration and the stores chosen by RUN_STORE_BACKEND.

use std::sync::Arc;

use crate::config::{Config, StoreBackend};
use crate::run_store::RunStore;
use crate::storage::file::FileBlobStore;
use crate::storage::SharedBlobStore;

/// What every handler is given.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Configuration, loaded once.
    pub config: Arc<Config>,
    /// The blob store behind the run store (and later the flag store).
    pub blobs: SharedBlobStore,
    /// Runs.
    pub runs: RunStore,
}

impl AppState {
    /// Builds the stores `config` names.
    pub fn from_config(config: Config) -> Self {
        let blobs: SharedBlobStore = match config.run_store_backend {
            StoreBackend::File => Arc::new(FileBlobStore::new(config.run_store_dir.clone())),
        };
        Self::with_blobs(config, blobs)
    }

    /// State over an explicit blob store (tests, benchmarks, other backends).
    pub fn with_blobs(config: Config, blobs: SharedBlobStore) -> Self {
        AppState { config: Arc::new(config), runs: RunStore::new(blobs.clone()), blobs }
    }
}
