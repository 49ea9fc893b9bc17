//! Live event state in the run store's [`BlobStore`], never in process memory, so a Lambda cold
//! start, a second instance or a restart sees the same event, viewers and rate-limit window.
//!
//! - `live/events/{event_id}.json`: one document per event: the stream (running, HLS path, start,
//!   source, viewers) and the host's heartbeat (viewer URL, stream id, latency mode, times).
//! - `live/exchange/{event_id}/{client}.json`: the invite-exchange attempts of one client address
//!   (hashed) in the last window.
//!
//! Every change is a compare-and-swap (`put_if_absent` / `put_if_version`) retried on a lost race,
//! so concurrent requests on any number of instances never lose a viewer or an attempt.

use common::error::{ApiError, ErrorCode};
use common::storage::{Key, SharedBlobStore, StorageError, Version};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Compare-and-swap attempts before giving up under contention.
const MAX_ATTEMPTS: usize = 64;
/// Viewers remembered per running stream; beyond it new viewers are still admitted, not counted.
pub const MAX_VIEWERS: usize = 10_000;

/// The host's heartbeat: what `GET /events/{id}/live` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Where viewers watch (an HLS URL).
    pub viewer_url: Option<String>,
    /// The host's stream id.
    pub stream_id: Option<String>,
    /// First heartbeat of this session, Unix seconds.
    pub started_ts: Option<i64>,
    /// Last heartbeat, Unix seconds.
    pub updated_ts: Option<i64>,
    /// `ll-hls` and the like.
    pub latency_mode: Option<String>,
    /// Set by `POST /stop`: offline until the next heartbeat.
    pub forced_offline: bool,
}

/// The stream started with `POST /start`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    /// Between start and stop.
    pub running: bool,
    /// The HLS playlist path.
    pub hls_path: Option<String>,
    /// RFC 3339 UTC with `Z`.
    pub started_at: Option<String>,
    /// `mock` or the ingest.
    pub source: Option<String>,
    /// Viewer ids whose token was verified while running (at most [`MAX_VIEWERS`]).
    pub viewers: Vec<String>,
}

/// Everything stored for one event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The stream.
    #[serde(default)]
    pub stream: Stream,
    /// The heartbeat.
    #[serde(default)]
    pub heartbeat: Heartbeat,
}

/// Exchange attempts of one client for one event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Attempts {
    /// Unix milliseconds of each attempt inside the window.
    at_ms: Vec<i64>,
}

/// The live store.
#[derive(Debug, Clone)]
pub struct LiveStore {
    blobs: SharedBlobStore,
}

fn key(s: String) -> Result<Key, ApiError> {
    Key::parse(s).map_err(|e| ApiError::internal("live key").with_cause(e.to_string()))
}

impl LiveStore {
    /// The store over the deployment's blob store.
    pub fn new(blobs: SharedBlobStore) -> Self {
        LiveStore { blobs }
    }

    async fn read<T: DeserializeOwned + Default>(&self, key: &Key) -> Result<(T, Option<Version>), ApiError> {
        match self.blobs.get(key).await {
            Ok(blob) => {
                let doc = serde_json::from_slice(&blob.bytes)
                    .map_err(|e| ApiError::internal("live state").with_cause(format!("{key} is corrupt: {e}")))?;
                Ok((doc, Some(blob.version)))
            }
            Err(StorageError::NotFound(_)) => Ok((T::default(), None)),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `change` to the stored document with compare-and-swap, retrying on a lost race.
    /// `change` answers the value to return and whether it changed the document (no write if not).
    async fn update<T, R>(
        &self,
        key: &Key,
        mut change: impl FnMut(&mut T) -> Result<(R, bool), ApiError>,
    ) -> Result<R, ApiError>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        for _ in 0..MAX_ATTEMPTS {
            let (mut doc, version) = self.read::<T>(key).await?;
            let (result, changed) = change(&mut doc)?;
            if !changed {
                return Ok(result);
            }
            let bytes =
                serde_json::to_vec(&doc).map_err(|e| ApiError::internal("live state").with_cause(e.to_string()))?;
            let written = match &version {
                Some(v) => self.blobs.put_if_version(key, &bytes, v).await,
                None => self.blobs.put_if_absent(key, &bytes).await,
            };
            match written {
                Ok(_) => return Ok(result),
                Err(StorageError::VersionMismatch(_) | StorageError::AlreadyExists(_) | StorageError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::new(ErrorCode::Conflict, "the live event is under too much concurrent change; retry"))
    }

    fn event_key(event_id: &str) -> Result<Key, ApiError> {
        key(format!("live/events/{event_id}.json"))
    }

    /// The event as stored (all defaults when nothing was ever stored).
    pub async fn event(&self, event_id: &str) -> Result<Event, ApiError> {
        Ok(self.read(&Self::event_key(event_id)?).await?.0)
    }

    /// Changes one event with compare-and-swap; `change` returns its answer and whether it wrote.
    pub async fn update_event<R>(
        &self,
        event_id: &str,
        change: impl FnMut(&mut Event) -> Result<(R, bool), ApiError>,
    ) -> Result<R, ApiError> {
        self.update(&Self::event_key(event_id)?, change).await
    }

    /// Counts one invite exchange by `client` for `event_id` at `now_ms`: false when `limit`
    /// attempts were already made in the last `window_ms` (the refused attempt is not counted).
    pub async fn admit_exchange(
        &self,
        event_id: &str,
        client: &str,
        now_ms: i64,
        limit: usize,
        window_ms: i64,
    ) -> Result<bool, ApiError> {
        // Hashed: an address is not a valid key segment (IPv6 colons), and need not be stored.
        let digest = Sha256::digest(client.as_bytes());
        let client: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let key = key(format!("live/exchange/{event_id}/{client}.json"))?;
        self.update(&key, |attempts: &mut Attempts| {
            attempts.at_ms.retain(|t| now_ms - t < window_ms);
            if attempts.at_ms.len() >= limit {
                return Ok((false, false));
            }
            attempts.at_ms.push(now_ms);
            Ok((true, true))
        })
        .await
    }
}
