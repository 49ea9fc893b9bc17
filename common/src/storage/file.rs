//! The file backend of [`BlobStore`]: one file per key under a root directory (RUN_STORE_DIR).
//!
//! Why it is safe:
//! - Writes go to a temp file in the target directory, are fsynced, then renamed over the target, and
//!   the directory is fsynced: a crash leaves the old blob or the new one, never half of one. Temp
//!   files start with `.`, which no key may, so listings never see them.
//! - Conditional writes (`put_if_absent`, `put_if_version`) and deletes hold an exclusive `flock` on
//!   one of [`LOCK_STRIPES`] lock files chosen by the key's hash, across check and rename, so
//!   compare-and-swap holds between threads and between processes sharing the directory.
//! - Reads take no lock: rename is atomic, so a reader sees a whole blob.
//! - The version is a hash of the content, so it needs no side file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::{validate_prefix, Blob, BlobStore, Key, Listing, Stamped, StampedListing, StorageError, Version};

/// How many lock files conditional writes are spread over.
pub const LOCK_STRIPES: u64 = 64;

/// A [`BlobStore`] on the local filesystem.
#[derive(Debug, Clone)]
pub struct FileBlobStore {
    root: Arc<PathBuf>,
    fsync: bool,
}

impl FileBlobStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileBlobStore { root: Arc::new(root.into()), fsync: true }
    }

    /// Skips fsync: only for seeding benchmark stores in bulk, never for serving.
    pub fn without_fsync(mut self) -> Self {
        self.fsync = false;
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &Key) -> PathBuf {
        // Keys are validated segments (no `..`, no leading `/` or `.`), so this stays under root.
        self.root.join(key.as_str())
    }

    fn lock(&self, key: &Key) -> io::Result<File> {
        let dir = self.root.join(".locks");
        fs::create_dir_all(&dir)?;
        let digest = Sha256::digest(key.as_str().as_bytes());
        let stripe = u64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8])) % LOCK_STRIPES;
        let file =
            OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(format!("{stripe}.lock")))?;
        // Released when the file is closed (dropped), on every path out.
        file.lock()?;
        Ok(file)
    }

    /// Creates the temp file, recreating its directory if a concurrent delete just removed it.
    /// Both steps can lose that race: the file's directory vanishes before the file is created
    /// (NotFound), or `create_dir_all` finds the directory existing and then gone when it checks
    /// (it reports EEXIST; seen under load in the prune-while-writing test). Either is retried.
    fn create_temp(dir: &Path) -> io::Result<(PathBuf, File)> {
        let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let lost_race = |e: &io::Error| matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::AlreadyExists);
        let mut attempts = 0;
        loop {
            let created = fs::create_dir_all(dir).and_then(|()| File::create(&tmp));
            match created {
                Ok(f) => return Ok((tmp, f)),
                Err(e) if lost_race(&e) && attempts < 8 => attempts += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Removes now-empty directories above a deleted file, up to the root, so pruning leaves no
    /// empty shard directories behind for listings to walk. Stops at the first non-empty one.
    fn remove_empty_parents(&self, path: &Path) {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == self.root.as_path() || !d.starts_with(self.root.as_path()) || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let dir = path.parent().ok_or_else(|| io::Error::other("key has no parent directory"))?;
        let (tmp, mut f) = Self::create_temp(dir)?;
        let result = (|| {
            f.write_all(bytes)?;
            if self.fsync {
                f.sync_all()?;
            }
            drop(f);
            fs::rename(&tmp, path)?;
            if self.fsync {
                match File::open(dir) {
                    Ok(d) => d.sync_all()?,
                    // A concurrent delete already removed the file just written and then its
                    // empty directory: there is nothing left to make durable.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })();
        if result.is_err() {
            // Best effort: a leftover temp file is invisible to listings anyway.
            fs::remove_file(&tmp).ok();
        }
        result
    }

    fn read(&self, key: &Key) -> Result<Blob, StorageError> {
        match fs::read(self.path(key)) {
            Ok(bytes) => {
                let version = version_of(&bytes);
                Ok(Blob { bytes, version })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::NotFound(key.clone())),
            Err(e) => Err(e.into()),
        }
    }
}

/// The content hash used as a file blob's version.
fn version_of(bytes: &[u8]) -> Version {
    let digest = Sha256::digest(bytes);
    Version(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StorageError::Backend(format!("blocking task failed: {e}")))?
}

#[async_trait]
impl BlobStore for FileBlobStore {
    async fn get(&self, key: &Key) -> Result<Blob, StorageError> {
        let (this, key) = (self.clone(), key.clone());
        blocking(move || this.read(&key)).await
    }

    async fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<Version, StorageError> {
        let (this, key, bytes) = (self.clone(), key.clone(), bytes.to_vec());
        blocking(move || {
            let _guard = this.lock(&key)?;
            let path = this.path(&key);
            if path.exists() {
                return Err(StorageError::AlreadyExists(key));
            }
            this.write_atomic(&path, &bytes)?;
            Ok(version_of(&bytes))
        })
        .await
    }

    async fn put_if_version(&self, key: &Key, bytes: &[u8], expected: &Version) -> Result<Version, StorageError> {
        let (this, key, bytes, expected) = (self.clone(), key.clone(), bytes.to_vec(), expected.clone());
        blocking(move || {
            let _guard = this.lock(&key)?;
            let current = this.read(&key)?;
            if current.version != expected {
                return Err(StorageError::VersionMismatch(key));
            }
            this.write_atomic(&this.path(&key), &bytes)?;
            Ok(version_of(&bytes))
        })
        .await
    }

    async fn put(&self, key: &Key, bytes: &[u8]) -> Result<Version, StorageError> {
        let (this, key, bytes) = (self.clone(), key.clone(), bytes.to_vec());
        blocking(move || {
            this.write_atomic(&this.path(&key), &bytes)?;
            Ok(version_of(&bytes))
        })
        .await
    }

    async fn delete(&self, key: &Key) -> Result<(), StorageError> {
        let (this, key) = (self.clone(), key.clone());
        blocking(move || {
            let _guard = this.lock(&key)?;
            let path = this.path(&key);
            match fs::remove_file(&path) {
                Ok(()) => {
                    this.remove_empty_parents(&path);
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<Listing, StorageError> {
        validate_prefix(prefix)?;
        let (root, prefix, start_after) = (self.root.clone(), prefix.to_string(), start_after.map(str::to_string));
        blocking(move || {
            let mut keys = Vec::new();
            walk(&root.join(&prefix), &prefix, start_after.as_deref(), limit.saturating_add(1), &mut keys)?;
            let truncated = keys.len() > limit;
            keys.truncate(limit);
            Ok(Listing { keys, truncated })
        })
        .await
    }

    async fn list_stamped(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<StampedListing, StorageError> {
        let listing = self.list(prefix, start_after, limit).await?;
        let this = self.clone();
        blocking(move || {
            let mut entries = Vec::with_capacity(listing.keys.len());
            for key in listing.keys {
                match fs::metadata(this.path(&key)).and_then(|m| m.modified()) {
                    Ok(t) => entries.push(Stamped { key, modified: t.into() }),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(StampedListing { entries, truncated: listing.truncated })
        })
        .await
    }

    fn backend_name(&self) -> &'static str {
        "file"
    }
}

/// Collects up to `want` keys under `dir` (whose key prefix is `prefix`) that sort after
/// `start_after`, in ascending byte order of the full key. Directories are ordered by `name/` so the
/// walk matches S3's ordering exactly, and whole subtrees that sort before `start_after` are skipped
/// without being read: a page costs the directory entries on its path, not the size of the store.
fn walk(dir: &Path, prefix: &str, start_after: Option<&str>, want: usize, out: &mut Vec<Key>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        // A directory that does not exist (yet, or any more) simply holds nothing.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut names: Vec<(String, bool)> = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        names.push(if is_dir { (format!("{name}/"), true) } else { (name, false) });
    }
    names.sort_unstable();
    for (name, is_dir) in names {
        if out.len() >= want {
            return Ok(());
        }
        let full = format!("{prefix}{name}");
        if is_dir {
            if let Some(sa) = start_after {
                // Every key below `full` starts with it; if start_after is past `full` without sharing
                // that prefix, the whole subtree sorts before it.
                if sa > full.as_str() && !sa.starts_with(&full) {
                    continue;
                }
            }
            walk(&dir.join(name.trim_end_matches('/')), &full, start_after, want, out)?;
        } else {
            if start_after.is_some_and(|sa| full.as_str() <= sa) {
                continue;
            }
            if let Ok(key) = Key::parse(full) {
                out.push(key);
            }
        }
    }
    Ok(())
}
