//! Process-wide state built once per cold start (or dispatcher start) and shared by reference:
//! configuration and the stores chosen by RUN_STORE_BACKEND.

use std::sync::Arc;

use crate::config::{Config, StoreBackend};
use crate::flag_store::FlagStore;
use crate::run_store::RunStore;
use crate::storage::file::FileBlobStore;
use crate::storage::s3::S3BlobStore;
use crate::storage::{Key, SharedBlobStore};
use crate::uploads::UploadStore;

fn flags_file_name(config: &Config) -> Result<String, String> {
    let path = &config.feature_flags_config_path;
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| format!("FEATURE_FLAGS_CONFIG_PATH={} has no file name", path.display()))
}

/// What every function shares: configuration and the stores. A function that needs more wraps it
/// in a typed state of its own (`analyze::AnalyzeState` holds the inference engine,
/// `health::HealthState` the weights), built once at start-up.
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
    /// Large uploads (presigned on S3, through the dispatcher on files).
    pub uploads: UploadStore,
}

impl AppState {
    /// Builds the stores `config` names: on the file backend, runs under RUN_STORE_DIR and the flag
    /// config at FEATURE_FLAGS_CONFIG_PATH; on S3, both in the bucket (the flag config under
    /// `config/<file name>` beside the runs). Fails when FEATURE_FLAGS_CONFIG_PATH has no usable
    /// file name.
    pub async fn from_config(config: Config) -> Result<Self, String> {
        match config.run_store_backend {
            StoreBackend::File => {
                let blobs: SharedBlobStore = Arc::new(FileBlobStore::new(config.run_store_dir.clone()));
                Self::with_blobs(config, blobs)
            }
            StoreBackend::S3 => {
                let bucket =
                    config.run_store_s3_bucket.clone().ok_or("RUN_STORE_BACKEND=s3 needs RUN_STORE_S3_BUCKET")?;
                let client =
                    crate::storage::s3::client_from_env(config.run_store_s3_path_style, config.run_store_s3_resilience)
                        .await;
                let store = S3BlobStore::new(client, bucket, config.run_store_s3_prefix.clone());
                let blobs: SharedBlobStore = Arc::new(store.clone());
                let key = Key::parse(format!("config/{}", flags_file_name(&config)?)).map_err(|e| e.to_string())?;
                let flags = FlagStore::new(blobs.clone(), key);
                Ok(Self::assemble(config, blobs, flags).with_uploads(UploadStore::s3(store)))
            }
        }
    }

    /// State over an explicit run blob store (tests, benchmarks). The flag config lives at
    /// FEATURE_FLAGS_CONFIG_PATH, in a file store rooted at its folder.
    pub fn with_blobs(config: Config, blobs: SharedBlobStore) -> Result<Self, String> {
        let name = flags_file_name(&config)?;
        let dir = config.feature_flags_config_path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        let key = Key::parse(name).map_err(|e| format!("FEATURE_FLAGS_CONFIG_PATH: unusable file name: {e}"))?;
        let flags = FlagStore::new(Arc::new(FileBlobStore::new(dir)), key);
        Ok(Self::assemble(config, blobs, flags))
    }

    /// State over explicit run and flag stores (the S3 tests hold both in one bucket); uploads go
    /// to files under RUNS_UPLOAD_DIR until [`AppState::with_uploads`] says otherwise.
    pub fn assemble(config: Config, blobs: SharedBlobStore, flags: FlagStore) -> Self {
        let flags = flags.with_env(config.flag_env.clone());
        let uploads = UploadStore::local(Arc::new(FileBlobStore::new(config.runs_upload_dir.clone())));
        AppState { config: Arc::new(config), runs: RunStore::new(blobs.clone()), blobs, flags, uploads }
    }

    /// The same state with another upload store.
    pub fn with_uploads(mut self, uploads: UploadStore) -> Self {
        self.uploads = uploads;
        self
    }
}
