//! The retention rule, free of HTTP: which terminal runs a policy deletes, and the deletion itself.
//!
//! Only terminal runs (succeeded, failed) are ever deleted: a queued or processing run may still be
//! written by its request. `max_runs = N` keeps the N newest terminal runs; `max_age_days = D`
//! deletes terminal runs created more than D days ago; with both, a run goes if either says so.
//! Candidates come from the status indexes (directory entries, no record reads); each candidate's
//! record is read right before deletion and skipped unless it is terminal there, so a run that
//! became terminal or vanished mid-prune is handled, never an error.

use chrono::{DateTime, Duration, Utc};
use common::run_store::{Position, RunStore, RunStoreError};
use common::runs::RunStatus;
use serde::Serialize;

/// What to keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Keep this many newest terminal runs.
    pub max_runs: Option<u64>,
    /// Delete terminal runs older than this many days.
    pub max_age_days: Option<u64>,
}

/// What a prune did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Runs seen.
    pub scanned: u64,
    /// Runs deleted (or that would be).
    pub deleted: u64,
    /// Runs kept.
    pub kept: u64,
    /// Uploads older than RUNS_TTL_DAYS deleted by the same scheduled run (scheduled runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploads_deleted: Option<u64>,
    /// Present and true when nothing was deleted on purpose.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// `days` days before `now`; `None` when that is before any representable time (so nothing is
/// that old). Request data reaches this: it must not overflow.
pub fn days_before(now: DateTime<Utc>, days: u64) -> Option<DateTime<Utc>> {
    now.checked_sub_signed(Duration::try_days(i64::try_from(days).ok()?)?)
}

/// Applies `policy` at time `now`.
pub async fn prune(
    store: &RunStore,
    policy: Policy,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Summary, RunStoreError> {
    let scanned = store.scan_ids(None).await?.len() as u64;
    let mut terminal: Vec<(String, Position)> = Vec::new();
    for status in [RunStatus::Succeeded, RunStatus::Failed] {
        terminal.extend(store.scan(Some(status)).await?.into_iter().map(|p| (p.sort_key(), p)));
    }
    // Newest first, by creation time (imported runs' ids carry none), then id.
    terminal.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    terminal.dedup_by(|a, b| a.0 == b.0);

    let cutoff = policy.max_age_days.and_then(|d| days_before(now, d));
    let mut deleted = 0;
    for (rank, (_, position)) in terminal.iter().enumerate() {
        let id = &position.run_id;
        let over_count = policy.max_runs.is_some_and(|n| rank as u64 >= n);
        let too_old = cutoff.is_some_and(|c| i64::try_from(position.created_ts).unwrap_or(0) < c.timestamp_millis());
        if !(over_count || too_old) {
            continue;
        }
        // The record is the truth: a marker can lag it, and the run may be gone already.
        match store.get(*id).await {
            Ok(run) if run.status.is_terminal() => {
                if !dry_run {
                    store.delete(*id).await?;
                }
                deleted += 1;
            }
            Ok(_) | Err(RunStoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Summary { scanned, deleted, kept: scanned.saturating_sub(deleted), uploads_deleted: None, dry_run })
}
