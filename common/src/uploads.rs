//! The large-upload flow: a client asks for an upload ticket, PUTs the file to the URL it names, and
//! then hands the `upload_key` to an analyze endpoint instead of a body (Lambda's synchronous
//! payload limit is 6 MB).
//!
//! On S3 the URL is a presigned `PutObject` for `uploads/<id>` in the run store's bucket; on the file
//! backend it is the dispatcher's own `PUT /runs/v1/uploads/<id>`, which stores the body under
//! RUNS_UPLOAD_DIR. Either way the bytes are read back through the same [`BlobStore`] trait.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::storage::s3::S3BlobStore;
use crate::storage::{Key, SharedBlobStore, StorageError};

/// How long a presigned upload URL stays valid.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// Where uploads go and how clients reach them.
#[derive(Debug, Clone)]
pub struct UploadStore {
    blobs: SharedBlobStore,
    key_prefix: &'static str,
    presigner: Option<S3BlobStore>,
}

/// What a client needs to upload one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UploadTicket {
    /// Hand this to an analyze endpoint (`{"upload_key": ...}`).
    pub upload_key: String,
    /// Where to PUT the bytes.
    pub url: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// Headers the PUT must carry.
    pub headers: std::collections::BTreeMap<String, String>,
    /// When the URL stops working (RFC 3339).
    pub expires_at: String,
}

/// Why an upload key or id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("upload key must look like up-<uuid>[.<ext>] as returned by POST /runs/v1/uploads")]
pub struct InvalidUploadKey;

/// Validates an upload key: `up-<uuid>` with an optional short alphanumeric extension. Nothing a
/// client sends reaches a path or object key without passing this.
pub fn parse_upload_key(s: &str) -> Result<String, InvalidUploadKey> {
    let rest = s.strip_prefix("up-").ok_or(InvalidUploadKey)?;
    let (id, ext) = match rest.split_once('.') {
        Some((id, ext)) => (id, Some(ext)),
        None => (rest, None),
    };
    if id.len() != 36 || uuid::Uuid::try_parse(id).is_err() {
        return Err(InvalidUploadKey);
    }
    if let Some(ext) = ext {
        if ext.is_empty() || ext.len() > 8 || !ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
            return Err(InvalidUploadKey);
        }
    }
    Ok(s.to_string())
}

fn extension(filename: Option<&str>) -> Option<String> {
    let ext = filename?.rsplit_once('.')?.1.to_ascii_lowercase();
    (!ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(ext)
}

impl UploadStore {
    /// Uploads as files in `blobs` (a file store rooted at RUNS_UPLOAD_DIR), PUT through the
    /// dispatcher.
    pub fn local(blobs: SharedBlobStore) -> Self {
        UploadStore { blobs, key_prefix: "", presigner: None }
    }

    /// Uploads as objects under `uploads/` of the run store's bucket, PUT to presigned URLs.
    pub fn s3(store: S3BlobStore) -> Self {
        UploadStore { blobs: std::sync::Arc::new(store.clone()), key_prefix: "uploads/", presigner: Some(store) }
    }

    fn key(&self, upload_key: &str) -> Result<Key, StorageError> {
        Ok(Key::parse(format!("{}{upload_key}", self.key_prefix))?)
    }

    /// Whether clients PUT to presigned URLs (S3) rather than to the dispatcher.
    pub fn presigned(&self) -> bool {
        self.presigner.is_some()
    }

    /// A ticket for one file. `base_url` is the dispatcher's own origin (file backend).
    pub async fn ticket(
        &self,
        filename: Option<&str>,
        content_type: &str,
        base_url: &str,
    ) -> Result<UploadTicket, StorageError> {
        let upload_key = match extension(filename) {
            Some(ext) => format!("up-{}.{ext}", uuid::Uuid::new_v4()),
            None => format!("up-{}", uuid::Uuid::new_v4()),
        };
        let key = self.key(&upload_key)?;
        let expires_at =
            crate::runs::format_ts(&(Utc::now() + chrono::Duration::from_std(UPLOAD_URL_TTL).unwrap_or_default()));
        let mut headers = std::collections::BTreeMap::from([("content-type".to_string(), content_type.to_string())]);
        let url = match &self.presigner {
            Some(s3) => {
                let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(UPLOAD_URL_TTL)
                    .map_err(|e| StorageError::Backend(format!("presign config: {e}")))?;
                let req = s3
                    .client()
                    .put_object()
                    .bucket(s3.bucket())
                    .key(s3.full_key(&key))
                    .content_type(content_type)
                    .presigned(config)
                    .await
                    .map_err(|e| StorageError::Backend(format!("presign PutObject: {e:?}")))?;
                for (k, v) in req.headers() {
                    headers.insert(k.to_ascii_lowercase(), v.to_string());
                }
                req.uri().to_string()
            }
            None => {
                // The dispatcher's PUT has no signature to expire: the ticket's expiry is kept
                // beside the upload and checked by `check_ticket`.
                let ticket = serde_json::json!({"expires_at": expires_at}).to_string();
                self.blobs.put(&ticket_key(&upload_key)?, ticket.as_bytes()).await?;
                format!("{}/runs/v1/uploads/{upload_key}", base_url.trim_end_matches('/'))
            }
        };
        Ok(UploadTicket { upload_key, url, method: "PUT", headers, expires_at })
    }

    /// Whether the dispatcher may take a PUT for `upload_key` now (file backend): its ticket was
    /// issued here and its `expires_at` has not passed. Presigned URLs expire on their own.
    pub async fn check_ticket(&self, upload_key: &str) -> Result<(), TicketRefusal> {
        let blob = match self.blobs.get(&ticket_key(upload_key)?).await {
            Ok(blob) => blob,
            Err(StorageError::NotFound(_)) => return Err(TicketRefusal::Unknown),
            Err(e) => return Err(e.into()),
        };
        let expires_at = serde_json::from_slice::<serde_json::Value>(&blob.bytes)
            .ok()
            .and_then(|v| v["expires_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()))
            .ok_or(TicketRefusal::Unknown)?;
        if Utc::now() > expires_at {
            return Err(TicketRefusal::Expired(expires_at.with_timezone(&Utc)));
        }
        Ok(())
    }

    /// Stores an upload's bytes (the dispatcher's PUT on the file backend).
    pub async fn put(&self, upload_key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.blobs.put(&self.key(upload_key)?, bytes).await.map(|_| ())
    }

    /// Reads an upload back (the analyze endpoints' `upload_key`); `NotFound` when nothing was PUT.
    pub async fn get(&self, upload_key: &str) -> Result<Vec<u8>, StorageError> {
        Ok(self.blobs.get(&self.key(upload_key)?).await?.bytes)
    }

    /// Deletes every upload (and file-backend ticket) last written before `cutoff`: the retention
    /// job's RUNS_TTL_DAYS sweep, as the original server swept RUNS_UPLOAD_DIR by file age. Files
    /// the original left there are swept too when their names are valid keys (its
    /// `<slug>/<ts>-<hex>.zip` are). Returns how many were deleted.
    pub async fn sweep(&self, cutoff: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut deleted = 0;
        let mut start_after: Option<String> = None;
        loop {
            let page = self.blobs.list_stamped(self.key_prefix, start_after.as_deref(), 1000).await?;
            for entry in page.entries.iter().filter(|e| e.modified < cutoff) {
                self.blobs.delete(&entry.key).await?;
                deleted += 1;
            }
            start_after = page.entries.last().map(|e| e.key.to_string());
            if !page.truncated || start_after.is_none() {
                return Ok(deleted);
            }
        }
    }

    /// Deletes an upload once it has been consumed, with its ticket.
    pub async fn delete(&self, upload_key: &str) -> Result<(), StorageError> {
        if !self.presigned() {
            match self.blobs.delete(&ticket_key(upload_key)?).await {
                Ok(()) | Err(StorageError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.blobs.delete(&self.key(upload_key)?).await
    }
}

/// Why the dispatcher refuses an upload PUT.
#[derive(Debug, thiserror::Error)]
pub enum TicketRefusal {
    /// No ticket was issued for this key here (or it was consumed).
    #[error("no upload ticket for this key: request one with POST /runs/v1/uploads")]
    Unknown,
    /// The ticket's `expires_at` has passed.
    #[error("the upload ticket expired at {0}; request a new one with POST /runs/v1/uploads")]
    Expired(DateTime<Utc>),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Where a file-backend ticket's expiry is kept: `tickets/<upload_key>.json` beside the uploads.
fn ticket_key(upload_key: &str) -> Result<Key, StorageError> {
    Ok(Key::parse(format!("tickets/{upload_key}.json"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_keys_are_validated_before_they_touch_storage() {
        let id = uuid::Uuid::new_v4();
        assert!(parse_upload_key(&format!("up-{id}")).is_ok());
        assert!(parse_upload_key(&format!("up-{id}.mp4")).is_ok());
        for bad in [
            "".to_string(),
            format!("{id}"),
            format!("up-{id}.MP4"),
            format!("up-{id}.mp4/../../etc"),
            format!("up-{id}."),
            "up-../../etc/passwd".into(),
            format!("up-{id}.verylongext"),
        ] {
            assert!(parse_upload_key(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(extension(Some("Swing.MOV")), Some("mov".into()));
        assert_eq!(extension(Some("../x.m p4")), None);
        assert_eq!(extension(None), None);
    }
}
