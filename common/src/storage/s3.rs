//! The S3 backend of [`BlobStore`] (RUN_STORE_BACKEND=s3): one object per key under a bucket and
//! prefix, compare-and-swap through S3 conditional writes, listing through ListObjectsV2.
//!
//! - `put_if_absent` is `PutObject` with `If-None-Match: *`; `put_if_version` is `PutObject` with
//!   `If-Match: <etag>`. S3 answers 412 when the condition fails and 409 when a concurrent
//!   conditional write to the same key is in flight; both mean "someone else won".
//! - The version is the object's ETag.
//! - ListObjectsV2 returns keys in ascending UTF-8 byte order, which is the order the run store's
//!   keys are designed for (newest first); `start_after` maps to `StartAfter`, so the API cursor is
//!   a key position and S3 continuation tokens stay inside one listing call.
//! - S3-compatible servers (moto, MinIO, s3s) are reached through `AWS_ENDPOINT_URL` with
//!   path-style addressing.
//!
//! Faults: retries with jittered exponential backoff are the SDK's standard retry mode
//! ([`Resilience`]: attempts and timeouts), which retries 5xx, SlowDown and other throttling,
//! timeouts and broken connections. What still fails after them is
//! [`StorageError::Unavailable`] (HTTP 503 `STORAGE_UNAVAILABLE`), never a hang: every attempt
//! and every whole operation has a deadline. A retried conditional write can meet its own earlier
//! attempt, which landed although its answer was lost: each conditional write carries a unique
//! `x-amz-meta-golfiq-write` token, and a 412/409 whose stored object carries our token is our
//! own success, not a lost race.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::{validate_prefix, Blob, BlobStore, Key, Listing, Stamped, StampedListing, StorageError, Version};

/// A [`BlobStore`] on S3.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    prefix: String,
}

/// The object metadata key of a conditional write's token (`x-amz-meta-golfiq-write`).
const WRITE_TOKEN: &str = "golfiq-write";

/// How hard the S3 client tries before a request fails with [`StorageError::Unavailable`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resilience {
    /// Attempts per request, the first included (RUN_STORE_S3_MAX_ATTEMPTS, default 4).
    pub max_attempts: u32,
    /// The whole request's deadline, retries and backoff included (RUN_STORE_S3_TIMEOUT_SECONDS,
    /// default 20: under API Gateway's 30 s). One attempt gets a third of it, connecting 3 s at most.
    pub timeout: Duration,
    /// The first retry's backoff ceiling; the SDK doubles it per attempt with full jitter (1 s,
    /// the SDK's default; the fault tests shorten it).
    pub initial_backoff: Duration,
}

impl Default for Resilience {
    fn default() -> Self {
        Resilience { max_attempts: 4, timeout: Duration::from_secs(20), initial_backoff: Duration::from_secs(1) }
    }
}

impl Resilience {
    /// The SDK's retry and timeout configuration on `builder`.
    pub fn apply(&self, builder: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
        let attempt = (self.timeout / 3).max(Duration::from_millis(200));
        builder
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(self.max_attempts.max(1))
                    .with_initial_backoff(self.initial_backoff)
                    .with_max_backoff(self.timeout / 4),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(attempt.min(Duration::from_secs(3)))
                    .operation_attempt_timeout(attempt)
                    .operation_timeout(self.timeout)
                    .build(),
            )
    }
}

/// Builds an S3 client from the standard AWS environment (credentials, `AWS_REGION`, defaulting to
/// us-east-1, `AWS_ENDPOINT_URL`), with path-style addressing when asked and `resilience`'s
/// retries and deadlines.
pub async fn client_from_env(path_style: bool, resilience: Resilience) -> Client {
    let region = aws_config::meta::region::RegionProviderChain::default_provider().or_else("us-east-1");
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(region).load().await;
    let conf = resilience.apply(aws_sdk_s3::config::Builder::from(&shared).force_path_style(path_style)).build();
    Client::from_conf(conf)
}

fn status_of<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// A failure the SDK's retries did not get past: transient ones (no answer, 5xx, throttling)
/// become [`StorageError::Unavailable`], the rest (access denied, no such bucket) `Backend`.
fn backend<E: std::fmt::Debug + ProvideErrorMetadata>(op: &str, e: SdkError<E, HttpResponse>) -> StorageError {
    let code = e.code().unwrap_or("").to_string();
    let message = e.message().unwrap_or("").to_string();
    let status = status_of(&e);
    let transient = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(_) => {
            status.is_some_and(|s| s >= 500 || s == 429)
                || matches!(code.as_str(), "SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout")
        }
        _ => false,
    };
    let text = format!("s3 {op}: {} {code} {message} ({e:?})", status.map(|s| s.to_string()).unwrap_or_default());
    if transient {
        StorageError::Unavailable(text)
    } else {
        StorageError::Backend(text)
    }
}

impl S3BlobStore {
    /// A store over `bucket`, every key under `prefix` (empty, or ending in `/`).
    pub fn new(client: Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        S3BlobStore { client, bucket: bucket.into(), prefix }
    }

    /// ListObjectsV2 pages under `prefix` until `limit` keys (plus one, to know whether more
    /// follow) are collected: keys with their LastModified, and whether the listing was cut.
    async fn list_objects(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(Key, Option<aws_sdk_s3::primitives::DateTime>)>, bool), StorageError> {
        validate_prefix(prefix)?;
        let full_prefix = self.object_key(prefix);
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        let want = limit.saturating_add(1);
        loop {
            let page = (want - keys.len()).min(1000) as i32;
            let mut req = self.client.list_objects_v2().bucket(&self.bucket).prefix(&full_prefix).max_keys(page);
            req = match (&token, start_after) {
                (Some(t), _) => req.continuation_token(t),
                (None, Some(sa)) => req.start_after(self.object_key(sa)),
                (None, None) => req,
            };
            let out = req.send().await.map_err(|e| backend("ListObjectsV2", e))?;
            for obj in out.contents() {
                let Some(k) = obj.key().and_then(|k| k.strip_prefix(&self.prefix)) else { continue };
                if let Ok(key) = Key::parse(k) {
                    keys.push((key, obj.last_modified().copied()));
                }
            }
            token = out.next_continuation_token().map(str::to_string);
            if keys.len() >= want || !out.is_truncated().unwrap_or(false) || token.is_none() {
                break;
            }
        }
        let truncated = keys.len() > limit;
        keys.truncate(limit);
        Ok((keys, truncated))
    }

    fn object_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The client, for presigning upload URLs.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The full object key for a store key.
    pub fn full_key(&self, key: &Key) -> String {
        self.object_key(key.as_str())
    }

    async fn put_with(
        &self,
        key: &Key,
        bytes: &[u8],
        if_none_match: Option<&str>,
        if_match: Option<&str>,
    ) -> Result<Version, StorageError> {
        let conditional = if_none_match.is_some() || if_match.is_some();
        let token = conditional.then(|| uuid::Uuid::new_v4().simple().to_string());
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key.as_str()))
            .body(ByteStream::from(bytes.to_vec()))
            .set_if_none_match(if_none_match.map(str::to_string))
            .set_if_match(if_match.map(str::to_string));
        if let Some(token) = &token {
            request = request.metadata(WRITE_TOKEN, token);
        }
        let error = match request.send().await {
            Ok(out) => return Ok(Version(out.e_tag().unwrap_or_default().to_string())),
            Err(e) => e,
        };
        let status = status_of(&error);
        let lost_race = matches!(status, Some(412 | 409)) || error.code() == Some("PreconditionFailed");
        if lost_race {
            // A retry after an attempt whose answer was lost meets that attempt's own write.
            if let Some(version) = self.written_by(key, token.as_deref()).await {
                return Ok(version);
            }
            return Err(if if_none_match.is_some() {
                StorageError::AlreadyExists(key.clone())
            } else {
                StorageError::VersionMismatch(key.clone())
            });
        }
        if if_match.is_some() && (status == Some(404) || error.code() == Some("NoSuchKey")) {
            return Err(StorageError::NotFound(key.clone()));
        }
        Err(backend("PutObject", error))
    }

    /// The stored object's version when it carries `token`, i.e. when this writer's own earlier
    /// attempt is what is stored. `None` for someone else's write, or when that cannot be told.
    async fn written_by(&self, key: &Key, token: Option<&str>) -> Option<Version> {
        let token = token?;
        let head =
            self.client.head_object().bucket(&self.bucket).key(self.object_key(key.as_str())).send().await.ok()?;
        let ours = head.metadata().and_then(|m| m.get(WRITE_TOKEN)).is_some_and(|t| t == token);
        ours.then(|| Version(head.e_tag().unwrap_or_default().to_string()))
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn get(&self, key: &Key) -> Result<Blob, StorageError> {
        let result = self.client.get_object().bucket(&self.bucket).key(self.object_key(key.as_str())).send().await;
        match result {
            Ok(out) => {
                let version = Version(out.e_tag().unwrap_or_default().to_string());
                let bytes = out
                    .body
                    .collect()
                    .await
                    // The answer broke off mid-body (the SDK retries only until the headers).
                    .map_err(|e| StorageError::Unavailable(format!("s3 GetObject body: {e}")))?
                    .into_bytes()
                    .to_vec();
                Ok(Blob { bytes, version })
            }
            Err(e) if status_of(&e) == Some(404) || e.code() == Some("NoSuchKey") => {
                Err(StorageError::NotFound(key.clone()))
            }
            Err(e) => Err(backend("GetObject", e)),
        }
    }

    async fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<Version, StorageError> {
        self.put_with(key, bytes, Some("*"), None).await
    }

    async fn put_if_version(&self, key: &Key, bytes: &[u8], expected: &Version) -> Result<Version, StorageError> {
        self.put_with(key, bytes, None, Some(&expected.0)).await
    }

    async fn put(&self, key: &Key, bytes: &[u8]) -> Result<Version, StorageError> {
        self.put_with(key, bytes, None, None).await
    }

    async fn delete(&self, key: &Key) -> Result<(), StorageError> {
        match self.client.delete_object().bucket(&self.bucket).key(self.object_key(key.as_str())).send().await {
            Ok(_) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(backend("DeleteObject", e)),
        }
    }

    async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<Listing, StorageError> {
        let (entries, truncated) = self.list_objects(prefix, start_after, limit).await?;
        Ok(Listing { keys: entries.into_iter().map(|(k, _)| k).collect(), truncated })
    }

    async fn list_stamped(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<StampedListing, StorageError> {
        let (entries, truncated) = self.list_objects(prefix, start_after, limit).await?;
        let entries = entries
            .into_iter()
            .filter_map(|(key, modified)| {
                let t = modified?;
                let modified = chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())?;
                Some(Stamped { key, modified })
            })
            .collect();
        Ok(StampedListing { entries, truncated })
    }

    fn backend_name(&self) -> &'static str {
        "s3"
    }
}
