//! The run store: runs persisted through any [`BlobStore`], with compare-and-swap transitions,
//! newest-first filtered listing with position cursors, and deletion with artifacts.
//!
//! # Layout
//! A run's *position* is `(created_ts, run_id)`; its sort key `sk` is the bitwise complement of a
//! 128-bit number that orders as that pair, as 32 hex digits, so ascending key order is newest
//! first. For a UUIDv7 id (every run created here) the top 48 bits of the id *are* its creation
//! millisecond, so the number is the id itself: `sk` is [`RunId::sort_key`] and follows from the
//! id alone. For an imported UUIDv4 it is `created_ms << 80 | the id's top 80 bits`. With
//! `shard(sk)` = `sk[0..4]/sk[4..7]/` (spans of ~50 days and ~17 minutes, so no directory or
//! listing level grows without bound):
//! - `runs/{shard}{sk}.json`: the record of a run created here; its key follows from the id.
//! - `imported/{id[0..2]}/{id}.json`: the record of a run imported from the original server
//!   (UUIDv4 id, whose creation time only the record knows).
//! - `index/all/{shard}{sk}.{kind}.{variant}[.{id}]`: one marker per run, written once. Imported
//!   runs' markers end in the id, since their `sk` cannot be turned back into it.
//! - `index/{status}/...`: the same name, one marker for the run's current status.
//! - `artifacts/{RunId::sort_key}/{name}`: files that belong to the run (the annotated preview).
//!
//! Listing walks one index in key order and filters kind and model variant on marker names alone,
//! so a page reads only the records it returns (plus one to know whether another page exists),
//! whatever the size of the store. The record is the truth: a marker whose record is gone or whose
//! status moved on is skipped. Markers are written *before* the record changes and removed after, so
//! a crash can leave an extra marker (skipped, and removed by prune) but never hide a run.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::runs::{InvalidTransition, ModelVariant, NewRun, Run, RunId, RunKind, RunStatus, Transition};
use crate::storage::{Key, SharedBlobStore, StorageError, MAX_CAS_ATTEMPTS};

/// How many record reads a listing keeps in flight (matters for S3, harmless for files).
const READ_CONCURRENCY: usize = 16;

/// Run store failures.
#[derive(Debug, thiserror::Error)]
pub enum RunStoreError {
    /// No run with this id.
    #[error("run {0} not found")]
    NotFound(RunId),
    /// The lifecycle forbids the transition; nothing was changed.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// A stored record that does not parse.
    #[error("run record {key} is corrupt: {reason}")]
    Corrupt {
        /// Where.
        key: String,
        /// What the parser said.
        reason: String,
    },
    /// Writers kept winning the race for longer than [`MAX_CAS_ATTEMPTS`] tries.
    #[error("run {0} is under too much write contention")]
    Contended(RunId),
    /// The backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A run's place in listing order, `(created_ts, run_id)`; printed `created_ts:run_id` it is the
/// listing cursor (the last run of the previous page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Milliseconds since the epoch of the run's creation.
    pub created_ts: u64,
    /// The run id.
    pub run_id: RunId,
}

/// A run's position in listing order (the same pair a cursor prints).
pub type Position = Cursor;

/// Why a cursor string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor must be the opaque next_cursor value of a previous page")]
pub struct InvalidCursor;

impl Cursor {
    /// The position of `run` (a cursor there lists what comes after it).
    pub fn of(run: &Run) -> Cursor {
        let created_ts = if run.run_id.is_v7() {
            run.run_id.created_ts_ms()
        } else {
            u64::try_from(run.created_at.timestamp_millis()).unwrap_or(0)
        };
        Cursor { created_ts, run_id: run.run_id }
    }

    /// The sort key: ascending order is newest first (see the module docs). Equals
    /// [`RunId::sort_key`] for a UUIDv7 id.
    pub fn sort_key(&self) -> String {
        if self.run_id.is_v7() {
            return self.run_id.sort_key();
        }
        let id = self.run_id.uuid().as_u128();
        // Ties in the millisecond fall to the id's top 80 bits, which order as the whole id does
        // (the original server broke ties by run_id).
        let ms = u128::from(self.created_ts.min((1 << 48) - 1));
        format!("{:032x}", !((ms << 80) | (id >> 48)))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.created_ts, self.run_id)
    }
}

impl FromStr for Cursor {
    type Err = InvalidCursor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ts, id) = s.split_once(':').ok_or(InvalidCursor)?;
        let created_ts: u64 = ts.parse().map_err(|_| InvalidCursor)?;
        let run_id = RunId::parse(id).map_err(|_| InvalidCursor)?;
        // The timestamp is redundant with a UUIDv7 id; a mismatch means the cursor was not ours.
        if run_id.is_v7() && run_id.created_ts_ms() != created_ts {
            return Err(InvalidCursor);
        }
        Ok(Cursor { created_ts, run_id })
    }
}

/// Listing filters; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    /// Only runs in this state.
    pub status: Option<RunStatus>,
    /// Only runs of this kind.
    pub kind: Option<RunKind>,
    /// Only runs that used these weights.
    pub model_variant: Option<ModelVariant>,
    /// Only runs created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Only runs created strictly before this time.
    pub created_before: Option<DateTime<Utc>>,
}

/// One page of runs, newest first.
#[derive(Debug, Clone)]
pub struct RunPage {
    /// The runs.
    pub items: Vec<Run>,
    /// Where the next page starts, when there is one.
    pub next_cursor: Option<Cursor>,
}

/// Runs on top of a blob store.
#[derive(Debug, Clone)]
pub struct RunStore {
    blobs: SharedBlobStore,
}

fn shard(sk: &str) -> String {
    format!("{}/{}/", &sk[0..4], &sk[4..7])
}

fn key(s: String) -> Result<Key, RunStoreError> {
    Key::parse(s).map_err(|e| RunStoreError::Storage(e.into()))
}

/// Where a record lives: by its sort key for a UUIDv7 id, by the id itself for an imported one.
fn record_key(id: RunId) -> Result<Key, RunStoreError> {
    if id.is_v7() {
        let sk = id.sort_key();
        key(format!("runs/{}{sk}.json", shard(&sk)))
    } else {
        let id = id.to_string();
        key(format!("imported/{}/{id}.json", &id[..2]))
    }
}

fn index_prefix(status: Option<RunStatus>) -> String {
    format!("index/{}/", status.map_or("all", |s| s.as_str()))
}

/// A marker name segment for an optional attribute; `none` parses back to `None`.
fn attr<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

fn marker_key(status: Option<RunStatus>, run: &Run) -> Result<Key, RunStoreError> {
    let sk = Cursor::of(run).sort_key();
    let (kind, variant) = (attr(run.kind), attr(run.model_variant_selected));
    let id = if run.run_id.is_v7() { String::new() } else { format!(".{}", run.run_id) };
    key(format!("{}{}{sk}.{kind}.{variant}{id}", index_prefix(status), shard(&sk)))
}

fn artifact_prefix(id: RunId) -> String {
    format!("artifacts/{}/", id.sort_key())
}

/// A marker name parsed back: the run it points at and the attributes it carries.
struct Marker {
    position: Position,
    kind: Option<RunKind>,
    variant: Option<ModelVariant>,
}

fn parse_marker(key: &Key) -> Option<Marker> {
    let name = key.as_str().rsplit('/').next()?;
    let mut parts = name.split('.');
    let sk = parts.next()?;
    let (kind, variant) = (parts.next()?.parse().ok(), parts.next()?.parse().ok());
    let position = match parts.next() {
        None => {
            let run_id = RunId::from_sort_key(sk)?;
            Cursor { created_ts: run_id.created_ts_ms(), run_id }
        }
        Some(id) => {
            let inverted = !u128::from_str_radix(sk, 16).ok()?;
            Cursor { created_ts: u64::try_from(inverted >> 80).ok()?, run_id: RunId::parse(id).ok()? }
        }
    };
    Some(Marker { position, kind, variant })
}

/// The smallest sort key of any run created strictly before `t`: ids at or after `t` sort at or
/// before it, so listing after it starts at the first run older than `t`.
fn sort_key_floor(t: DateTime<Utc>) -> String {
    let ms = u128::from(u64::try_from(t.timestamp_millis()).unwrap_or(0));
    // Timestamp in the top 48 bits, every other bit 0: the smallest UUID of that millisecond.
    format!("{:032x}", !(ms << 80))
}

impl RunStore {
    /// A run store over `blobs`.
    pub fn new(blobs: SharedBlobStore) -> Self {
        RunStore { blobs }
    }

    /// The underlying blob store.
    pub fn blobs(&self) -> &SharedBlobStore {
        &self.blobs
    }

    /// Creates a queued run with a fresh id.
    pub async fn create(&self, new: NewRun) -> Result<Run, RunStoreError> {
        self.create_with_id(RunId::new(), new).await
    }

    /// Creates a queued run with the given id (tests and benchmarks seed past runs with it).
    pub async fn create_with_id(&self, id: RunId, new: NewRun) -> Result<Run, RunStoreError> {
        let run = Run::queued(id, new);
        self.import(&run).await?;
        Ok(run)
    }

    /// Stores a run record as it is, with its markers (seeding benchmarks and tests, and importing
    /// runs from another store). Fails with `AlreadyExists` if the id is taken.
    pub async fn import(&self, run: &Run) -> Result<(), RunStoreError> {
        // Markers first: a crash now leaves a marker without a record, which listings skip.
        self.blobs.put(&marker_key(None, run)?, b"").await?;
        self.blobs.put(&marker_key(Some(run.status), run)?, b"").await?;
        self.blobs.put_if_absent(&record_key(run.run_id)?, &encode(run)?).await?;
        Ok(())
    }

    /// Reads one run.
    pub async fn get(&self, id: RunId) -> Result<Run, RunStoreError> {
        Ok(self.get_versioned(id).await?.0)
    }

    async fn get_versioned(&self, id: RunId) -> Result<(Run, crate::storage::Version), RunStoreError> {
        let key = record_key(id)?;
        let blob = match self.blobs.get(&key).await {
            Ok(b) => b,
            Err(StorageError::NotFound(_)) => return Err(RunStoreError::NotFound(id)),
            Err(e) => return Err(e.into()),
        };
        let run = serde_json::from_slice(&blob.bytes)
            .map_err(|e| RunStoreError::Corrupt { key: key.to_string(), reason: e.to_string() })?;
        Ok((run, blob.version))
    }

    /// Applies a lifecycle transition with compare-and-swap: concurrent writers are serialised, the
    /// loser re-reads and re-validates, so no transition is lost and a terminal run never changes.
    pub async fn transition(&self, id: RunId, t: Transition) -> Result<Run, RunStoreError> {
        let target = t.target();
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (current, version) = self.get_versioned(id).await?;
            let next = match current.apply(&t, crate::runs::now()) {
                Ok(next) => next,
                Err(invalid) => {
                    // An earlier losing attempt of ours may have left a marker for `target`. Once the
                    // run is terminal nobody can ever move it there, so the marker can go safely.
                    if current.status.is_terminal() && current.status != target {
                        self.blobs.delete(&marker_key(Some(target), &current)?).await?;
                    }
                    return Err(invalid.into());
                }
            };
            self.blobs.put(&marker_key(Some(target), &next)?, b"").await?;
            match self.blobs.put_if_version(&record_key(id)?, &encode(&next)?, &version).await {
                Ok(_) => {
                    // Only the state we left: the lifecycle never returns to it, so no later writer
                    // can need this marker again. A reclaim stays in `processing`: its marker stays.
                    if current.status != next.status {
                        self.blobs.delete(&marker_key(Some(current.status), &current)?).await?;
                    }
                    return Ok(next);
                }
                Err(StorageError::VersionMismatch(_)) => continue,
                Err(StorageError::NotFound(_)) => return Err(RunStoreError::NotFound(id)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(RunStoreError::Contended(id))
    }

    /// One page of runs matching `filter`, newest first, starting after `cursor`.
    pub async fn list(
        &self,
        filter: &RunFilter,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> Result<RunPage, RunStoreError> {
        let prefix = index_prefix(filter.status);
        let mut start_after = cursor.map(|c| {
            let sk = c.sort_key();
            // `~` sorts after every `.kind.variant[.id]` suffix of this run's marker.
            format!("{prefix}{}{sk}.~", shard(&sk))
        });
        if let Some(before) = filter.created_before {
            let floor = sort_key_floor(before);
            let floor = format!("{prefix}{}{floor}", shard(&floor));
            if start_after.as_ref().is_none_or(|sa| *sa < floor) {
                start_after = Some(floor);
            }
        }
        let after_ms = filter.created_after.map(|t| u64::try_from(t.timestamp_millis()).unwrap_or(0));
        let want = limit + 1;
        let batch = (want * 2).clamp(64, 1000);
        let mut items: Vec<Run> = Vec::with_capacity(want);
        'pages: loop {
            let listing = self.blobs.list(&prefix, start_after.as_deref(), batch).await?;
            let mut candidates = Vec::new();
            let mut exhausted = !listing.truncated;
            for key in &listing.keys {
                let Some(m) = parse_marker(key) else { continue };
                if after_ms.is_some_and(|after| m.position.created_ts < after) {
                    exhausted = true;
                    break;
                }
                let kind_ok = filter.kind.is_none_or(|k| m.kind == Some(k));
                let variant_ok = filter.model_variant.is_none_or(|v| m.variant == Some(v));
                if kind_ok && variant_ok {
                    candidates.push(m.position.run_id);
                }
            }
            start_after = listing.keys.last().map(|k| k.to_string());
            // Read records in order, a few at a time, and stop as soon as the page is full.
            let mut reads = stream::iter(candidates).map(|id| self.get_if_present(id)).buffered(READ_CONCURRENCY);
            while let Some(run) = reads.try_next().await? {
                let Some(run) = run else { continue };
                if filter.status.is_some_and(|s| s != run.status)
                    || filter.kind.is_some_and(|k| Some(k) != run.kind)
                    || filter.model_variant.is_some_and(|v| Some(v) != run.model_variant_selected)
                {
                    continue;
                }
                items.push(run);
                if items.len() == want {
                    break 'pages;
                }
            }
            if exhausted || start_after.is_none() {
                break;
            }
        }
        let next_cursor = if items.len() == want {
            items.truncate(limit);
            items.last().map(Cursor::of)
        } else {
            None
        };
        Ok(RunPage { items, next_cursor })
    }

    async fn get_if_present(&self, id: RunId) -> Result<Option<Run>, RunStoreError> {
        match self.get(id).await {
            Ok(run) => Ok(Some(run)),
            Err(RunStoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every run id with a marker in the `all` index (`status` = None) or in one status index,
    /// newest first.
    pub async fn scan_ids(&self, status: Option<RunStatus>) -> Result<Vec<RunId>, RunStoreError> {
        Ok(self.scan(status).await?.into_iter().map(|p| p.run_id).collect())
    }

    /// The position of every run with a marker in the `all` index (`status` = None) or in one
    /// status index, newest first. Records may be missing for markers a crash left behind, and a
    /// status marker may lag its record; callers that act on a run read it first. Prune walks
    /// this: it reads directory entries, not records.
    pub async fn scan(&self, status: Option<RunStatus>) -> Result<Vec<Position>, RunStoreError> {
        let prefix = index_prefix(status);
        let mut ids = Vec::new();
        let mut start_after: Option<String> = None;
        loop {
            let listing = self.blobs.list(&prefix, start_after.as_deref(), 1000).await?;
            ids.extend(listing.keys.iter().filter_map(parse_marker).map(|m| m.position));
            start_after = listing.keys.last().map(|k| k.to_string());
            if !listing.truncated || start_after.is_none() {
                return Ok(ids);
            }
        }
    }

    /// Stores a file that belongs to a run (deleted with it).
    pub async fn put_artifact(&self, id: RunId, name: &str, bytes: &[u8]) -> Result<(), RunStoreError> {
        self.blobs.put(&key(format!("{}{name}", artifact_prefix(id)))?, bytes).await?;
        Ok(())
    }

    /// Deletes one of a run's files (a no-op when it has none by that name).
    pub async fn delete_artifact(&self, id: RunId, name: &str) -> Result<(), RunStoreError> {
        self.blobs.delete(&key(format!("{}{name}", artifact_prefix(id)))?).await?;
        Ok(())
    }

    /// Reads a run's file; `Ok(None)` when it has none by that name.
    pub async fn get_artifact(&self, id: RunId, name: &str) -> Result<Option<Vec<u8>>, RunStoreError> {
        match self.blobs.get(&key(format!("{}{name}", artifact_prefix(id)))?).await {
            Ok(blob) => Ok(Some(blob.bytes)),
            Err(StorageError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a run with its artifacts and markers. The record goes first, so a crash midway leaves
    /// only markers that listings skip and the next prune removes. Deleting a missing run is a no-op.
    pub async fn delete(&self, id: RunId) -> Result<(), RunStoreError> {
        let run = match self.get(id).await {
            Ok(run) => Some(run),
            Err(RunStoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.blobs.delete(&record_key(id)?).await?;
        let prefix = artifact_prefix(id);
        loop {
            let listing = self.blobs.list(&prefix, None, 1000).await?;
            for k in &listing.keys {
                self.blobs.delete(k).await?;
            }
            if !listing.truncated {
                break;
            }
        }
        self.delete_markers(id, run.as_ref()).await
    }

    async fn delete_markers(&self, id: RunId, run: Option<&Run>) -> Result<(), RunStoreError> {
        let statuses = std::iter::once(None).chain(RunStatus::ALL.iter().copied().map(Some));
        for status in statuses {
            let prefix = index_prefix(status);
            let sk = id.sort_key();
            match run {
                Some(run) => self.blobs.delete(&marker_key(status, run)?).await?,
                // Without the record an imported run's position (its creation time) is unknown: its
                // leftover markers stay, skipped by listings like any marker without a record.
                None if !id.is_v7() => {}
                None => {
                    // Without the record we do not know the marker's suffix: find it by listing.
                    let floor = format!("{prefix}{}{sk}", shard(&sk));
                    let listing = self.blobs.list(&prefix, Some(&floor), 4).await?;
                    for k in listing.keys.iter().filter(|k| parse_marker(k).is_some_and(|m| m.position.run_id == id)) {
                        self.blobs.delete(k).await?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn encode(run: &Run) -> Result<Vec<u8>, RunStoreError> {
    serde_json::to_vec_pretty(run).map_err(|e| RunStoreError::Storage(StorageError::Backend(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_foreign_values() {
        let id = RunId::new();
        let c = Cursor { created_ts: id.created_ts_ms(), run_id: id };
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        for bad in ["", "abc", "123", ":", "1:2", &format!("{}:{id}", c.created_ts + 1), &format!("x:{id}")] {
            assert_eq!(bad.parse::<Cursor>(), Err(InvalidCursor), "{bad:?}");
        }
    }

    #[test]
    fn sort_key_floor_splits_runs_at_the_timestamp() {
        let t = Utc::now();
        let at = RunId::at(t);
        let before = RunId::at(t - chrono::Duration::milliseconds(1));
        let floor = sort_key_floor(t);
        assert!(at.sort_key() <= floor);
        assert!(before.sort_key() > floor);
    }
}
