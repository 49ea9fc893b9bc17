//! The flag store: the feature-flag config document and its audit log, kept through the same
//! [`BlobStore`] trait as runs, so the S3 backend can hold them too.
//!
//! Updates are read-merge-write with compare-and-swap on the blob version, retried on a lost race,
//! so concurrent PUTs never lose each other's flags. `If-Match` pins the config version instead.
//! A corrupt document is never overwritten silently: updates refuse it unless forced, and a forced
//! update first copies the corrupt bytes aside.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::collections::BTreeMap;

use crate::flags::{apply_update, FlagChange, FlagSettings, FlagsConfig};
use crate::storage::{Key, SharedBlobStore, StorageError, MAX_CAS_ATTEMPTS};

/// Flag store failures.
#[derive(Debug, thiserror::Error)]
pub enum FlagStoreError {
    /// The stored document does not parse.
    #[error("feature flag config is corrupt: {0}")]
    Corrupt(String),
    /// `If-Match` named another version.
    #[error("config is at version {current}, not {expected}")]
    VersionConflict {
        /// The stored version.
        current: u64,
        /// The version the caller expected.
        expected: String,
    },
    /// The update failed validation; every problem, each naming its field.
    #[error("invalid flag update: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// Other writers kept winning.
    #[error("feature flag config is under too much write contention")]
    Contended,
    /// The backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One audit log entry: one flag's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Admin identity.
    pub by: String,
    /// Config version the change produced.
    pub version: u64,
    /// The change itself.
    #[serde(flatten)]
    pub change: FlagChange,
}

/// The feature-flag config and its audit log on a blob store.
#[derive(Debug, Clone)]
pub struct FlagStore {
    blobs: SharedBlobStore,
    key: Key,
    stem: String,
    /// The environment's fallbacks for what the document leaves unset.
    env: BTreeMap<String, FlagSettings>,
}

impl FlagStore {
    /// A store keeping the document under `key` (e.g. `feature_flags.json`); the audit log and
    /// copies of corrupt documents live beside it, named after its stem.
    pub fn new(blobs: SharedBlobStore, key: Key) -> Self {
        let stem = key.as_str().strip_suffix(".json").unwrap_or(key.as_str()).to_string();
        FlagStore { blobs, key, stem, env: BTreeMap::new() }
    }

    /// The same store with the environment's fallbacks (`Config::flag_env`).
    pub fn with_env(self, env: BTreeMap<String, FlagSettings>) -> Self {
        FlagStore { env, ..self }
    }

    /// The config as evaluated and answered: the stored document with the environment's values
    /// and the defaults filled in ([`FlagsConfig::effective`]).
    pub async fn effective(&self) -> Result<FlagsConfig, FlagStoreError> {
        Ok(self.load().await?.effective(&self.env))
    }

    /// What [`FlagsConfig::effective`] makes of `cfg` under this store's environment.
    pub fn effective_of(&self, cfg: &FlagsConfig) -> FlagsConfig {
        cfg.effective(&self.env)
    }

    fn audit_prefix(&self) -> String {
        format!("{}.audit/", self.stem)
    }

    /// The config: defaults when nothing is stored, an error when what is stored is corrupt.
    pub async fn load(&self) -> Result<FlagsConfig, FlagStoreError> {
        match self.blobs.get(&self.key).await {
            Ok(blob) => FlagsConfig::from_json(&blob.bytes).map_err(FlagStoreError::Corrupt),
            Err(StorageError::NotFound(_)) => Ok(FlagsConfig::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Validates and merges `update`, writes it atomically with a bumped version, appends one
    /// audit entry per changed flag, and returns the new config. `if_match` (an ETag or version)
    /// must equal the stored version when given. `force` replaces a corrupt document, keeping the
    /// corrupt bytes aside first.
    pub async fn update(
        &self,
        update: &Value,
        by: &str,
        if_match: Option<&str>,
        force: bool,
    ) -> Result<FlagsConfig, FlagStoreError> {
        self.update_with(by, if_match, force, |_| Ok(update.clone())).await
    }

    /// [`FlagStore::update`] with the update made from the current (effective) config on every
    /// attempt, so a read-modify-write such as adding one user to an allowlist never loses a
    /// concurrent change.
    pub async fn update_with(
        &self,
        by: &str,
        if_match: Option<&str>,
        force: bool,
        make: impl Fn(&FlagsConfig) -> Result<Value, FlagStoreError>,
    ) -> Result<FlagsConfig, FlagStoreError> {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (current, version, corrupt) = match self.blobs.get(&self.key).await {
                Ok(blob) => match FlagsConfig::from_json(&blob.bytes) {
                    Ok(cfg) => (cfg, Some(blob.version), None),
                    Err(reason) if !force => return Err(FlagStoreError::Corrupt(reason)),
                    Err(_) => (FlagsConfig::default(), Some(blob.version), Some(blob.bytes)),
                },
                Err(StorageError::NotFound(_)) => (FlagsConfig::default(), None, None),
                Err(e) => return Err(e.into()),
            };
            if let Some(expected) = if_match {
                // RFC 9110: `*` matches any current config; a list matches when one tag does.
                let matches = expected.trim() == "*"
                    || expected.split(',').any(|tag| parse_etag(tag.trim()) == Some(current.meta.version));
                if !matches {
                    return Err(FlagStoreError::VersionConflict {
                        current: current.meta.version,
                        expected: expected.to_string(),
                    });
                }
            }
            let now = crate::runs::now();
            let update = make(&current.effective(&self.env))?;
            let (next, changes) = apply_update(&current, &update, by, now).map_err(FlagStoreError::Invalid)?;
            if let Some(bytes) = &corrupt {
                let aside = Key::parse(format!("{}.corrupt-{}.json", self.stem, now.format("%Y%m%dT%H%M%S%3fZ")))
                    .map_err(StorageError::from)?;
                self.blobs.put(&aside, bytes).await?;
                tracing::warn!(kept_as = %aside, "replacing a corrupt feature flag config (force=true)");
            }
            let bytes = serde_json::to_vec_pretty(&next.to_json()).map_err(|e| StorageError::Backend(e.to_string()))?;
            let written = match &version {
                Some(v) => self.blobs.put_if_version(&self.key, &bytes, v).await,
                None => self.blobs.put_if_absent(&self.key, &bytes).await,
            };
            match written {
                Ok(_) => {
                    self.append_audit(&next, by, changes).await?;
                    return Ok(next);
                }
                Err(StorageError::VersionMismatch(_) | StorageError::AlreadyExists(_) | StorageError::NotFound(_)) => {
                    continue
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(FlagStoreError::Contended)
    }

    async fn append_audit(&self, cfg: &FlagsConfig, by: &str, changes: Vec<FlagChange>) -> Result<(), FlagStoreError> {
        let at = cfg.meta.updated_at.clone().unwrap_or_default();
        let micros = u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0);
        for (i, change) in changes.into_iter().enumerate() {
            // Inverted time first, so ascending key order is newest first.
            let key = Key::parse(format!(
                "{}{:016x}-{:04}-{}.json",
                self.audit_prefix(),
                u64::MAX - micros,
                9999 - i.min(9999),
                uuid::Uuid::new_v4().simple()
            ))
            .map_err(StorageError::from)?;
            let entry = AuditEntry { at: at.clone(), by: by.to_string(), version: cfg.meta.version, change };
            let bytes = serde_json::to_vec(&entry).map_err(|e| StorageError::Backend(e.to_string()))?;
            self.blobs.put(&key, &bytes).await?;
        }
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, FlagStoreError> {
        let listing = self.blobs.list(&self.audit_prefix(), None, limit).await?;
        let mut out = Vec::with_capacity(listing.keys.len());
        for key in &listing.keys {
            match self.blobs.get(key).await {
                Ok(blob) => match serde_json::from_slice(&blob.bytes) {
                    Ok(entry) => out.push(entry),
                    Err(e) => tracing::warn!(%key, error = %e, "skipping unreadable audit entry"),
                },
                Err(StorageError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// Writes, reads back and deletes a probe beside the config (readiness).
    pub async fn probe_write(&self) -> Result<(), StorageError> {
        let key = Key::parse(format!("{}.ready-probe-{}", self.stem, uuid::Uuid::new_v4().simple()))?;
        self.blobs.put(&key, b"probe").await?;
        let back = self.blobs.get(&key).await;
        self.blobs.delete(&key).await?;
        match back {
            Ok(b) if b.bytes == b"probe" => Ok(()),
            Ok(_) => Err(StorageError::Backend("probe read back different bytes".into())),
            Err(e) => Err(e),
        }
    }
}

/// The ETag for a config version: `"<version>"`.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// Reads a version out of an `If-Match` value: `"3"`, `W/"3"` or `3`.
pub fn parse_etag(s: &str) -> Option<u64> {
    s.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
}
