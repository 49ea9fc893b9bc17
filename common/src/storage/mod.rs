//! The storage trait every store is written against: blobs under keys, with conditional writes and
//! ordered listing. Backends: [`file::FileBlobStore`] (RUN_STORE_DIR) and [`s3::S3BlobStore`]; one
//! conformance suite (tests/) runs against each. Failures a client should retry later
//! ([`StorageError::Unavailable`], [`StorageError::Full`]) are typed apart from bugs.
//!
//! Keys are `/`-separated segments of `[A-Za-z0-9._=~_-]`, never starting with `.` (so never `.` or
//! `..`), never empty, so a key
//! can become a file path or an S3 key without escaping. Listing returns keys in ascending byte order,
//! exactly as S3's ListObjectsV2 does.

pub mod file;
pub mod s3;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

/// How often a compare-and-swap loop (the run store's transitions, the flag store's updates)
/// re-reads and retries after losing a race before it gives up as contended.
pub const MAX_CAS_ATTEMPTS: usize = 64;

/// A validated storage key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

/// Why a string is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid storage key {0:?}")]
pub struct InvalidKey(pub String);

impl Key {
    /// Validates `s` as a key.
    pub fn parse(s: impl Into<String>) -> Result<Key, InvalidKey> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= 512
            && s.split('/').all(|seg| {
                // A leading dot is reserved for the file backend's temp and lock files.
                !seg.is_empty()
                    && !seg.starts_with('.')
                    && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b"._=~-_".contains(&b))
            });
        if ok {
            Ok(Key(s))
        } else {
            Err(InvalidKey(s))
        }
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An opaque version of a stored blob, used for compare-and-swap (an ETag on S3, a content hash on
/// files).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(pub String);

/// A blob read back with its version.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The stored bytes.
    pub bytes: Vec<u8>,
    /// Its version, for a later conditional write.
    pub version: Version,
}

/// Storage failures. Missing keys and lost races are typed, so callers branch on them, not on text.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No blob under the key.
    #[error("not found: {0}")]
    NotFound(Key),
    /// `put_if_absent` found a blob already there.
    #[error("already exists: {0}")]
    AlreadyExists(Key),
    /// `put_if_version` found another version: someone else wrote first.
    #[error("version mismatch: {0}")]
    VersionMismatch(Key),
    /// A listing prefix that is not a directory-like prefix.
    #[error(transparent)]
    InvalidKey(#[from] InvalidKey),
    /// The backend is failing or out of reach for now (S3 5xx or SlowDown after the SDK's
    /// retries, a timeout, a refused or reset connection): the request may succeed later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// No space left (ENOSPC, or a quota): nothing was written; writes succeed again once space
    /// returns.
    #[error("storage full: {0}")]
    Full(String),
    /// Anything else the backend reported (I/O, permissions, a missing bucket).
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        /// Linux's ENOSPC and EDQUOT, for kernels and libcs whose kinds std does not name.
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        let full = matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
            || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT));
        if full {
            StorageError::Full(e.to_string())
        } else {
            StorageError::Backend(e.to_string())
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Keys in ascending byte order.
    pub keys: Vec<Key>,
    /// True when more keys follow the last one returned.
    pub truncated: bool,
}

/// A listed key with the time its blob was last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    /// The key.
    pub key: Key,
    /// Last write (file mtime, S3 LastModified).
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// One page of a listing with modification times.
#[derive(Debug, Clone, Default)]
pub struct StampedListing {
    /// Keys in ascending byte order, with their times.
    pub entries: Vec<Stamped>,
    /// True when more keys follow the last one returned.
    pub truncated: bool,
}

/// The small storage interface the run store and the flag store are written once against.
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Reads a blob and its version.
    async fn get(&self, key: &Key) -> Result<Blob, StorageError>;

    /// Writes only if nothing is stored under `key`; `AlreadyExists` otherwise.
    async fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<Version, StorageError>;

    /// Writes only if the stored version is `expected`; `VersionMismatch` (or `NotFound`) otherwise.
    async fn put_if_version(&self, key: &Key, bytes: &[u8], expected: &Version) -> Result<Version, StorageError>;

    /// Writes unconditionally (markers, previews, probes).
    async fn put(&self, key: &Key, bytes: &[u8]) -> Result<Version, StorageError>;

    /// Deletes a blob; deleting a missing key is not an error (deletes are idempotent, as on S3).
    async fn delete(&self, key: &Key) -> Result<(), StorageError>;

    /// Lists up to `limit` keys under `prefix` (which must end in `/`) that sort strictly after
    /// `start_after`, in ascending byte order.
    async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<Listing, StorageError>;

    /// [`BlobStore::list`] with each blob's last write time (age-based sweeps; costs a stat per
    /// key on files, nothing extra on S3). A blob deleted between listing and stat is left out.
    async fn list_stamped(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<StampedListing, StorageError>;

    /// A short name for /health and logs: `file` or `s3`.
    fn backend_name(&self) -> &'static str;
}

/// The shared handle every component holds.
pub type SharedBlobStore = Arc<dyn BlobStore>;

/// Checks that a listing prefix is empty or a run of valid segments ending in `/`.
pub(crate) fn validate_prefix(prefix: &str) -> Result<(), StorageError> {
    if prefix.is_empty() {
        return Ok(());
    }
    match prefix.strip_suffix('/') {
        Some(p) => Key::parse(p).map(|_| ()).map_err(StorageError::from),
        None => Err(StorageError::InvalidKey(InvalidKey(prefix.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_reject_traversal_and_odd_characters() {
        for bad in ["", "/abs", "a//b", "a/../b", "..", ".", "a/", "a b", "a\\b", "runs/%2e%2e", "a\0b", "runs/.tmp-1"]
        {
            assert!(Key::parse(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["runs/abc.json", "index/all/ffff/fff/0123.image.yolov10", "_ready/probe-1"] {
            assert!(Key::parse(good).is_ok(), "{good:?} rejected");
        }
    }

    #[test]
    fn a_full_disk_is_told_apart_from_other_io_failures() {
        let full = StorageError::from(std::io::Error::from_raw_os_error(28));
        assert!(matches!(full, StorageError::Full(_)), "{full:?}");
        let quota = StorageError::from(std::io::Error::from_raw_os_error(122));
        assert!(matches!(quota, StorageError::Full(_)), "{quota:?}");
        let denied = StorageError::from(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(matches!(denied, StorageError::Backend(_)), "{denied:?}");
    }
}
