//! The reaper: ends the runs nobody will finish, so no run stays `queued` or `processing` forever
//! after its process died (a `kill -9`, a Lambda timeout or out-of-memory kill).
//!
//! - `processing` whose lease (RUN_LEASE_SECONDS, renewed while the analysis runs) has passed.
//! - `queued` for longer than a request can wait for a slot (INFERENCE_QUEUE_TIMEOUT_MS) plus one
//!   lease (RUN_LEASE_SECONDS): its request is gone.
//! - A run with a stored request (an asynchronous one) is left to its queue, which retries it
//!   (SQS redelivers; the dispatcher resubmits its own at start), unless nothing has touched it for
//!   [`QUEUED_REQUEST_GRACE`], longer than SQS takes to give a message up to the DLQ.
//!
//! Every end is a compare-and-swap `Transition::Abandon`, which the run domain allows only while
//! the lease is still passed (or the run still queued): a worker that renews first always wins.

use chrono::{DateTime, Duration, Utc};
use common::run_store::{RunStore, RunStoreError};
use common::runs::{RunStatus, Transition, REQUEST_ARTIFACT};
use serde::Serialize;

/// How long an asynchronous run may sit untouched before it counts as abandoned: above the SQS
/// redrive window (3 receives x 720 s visibility).
pub const QUEUED_REQUEST_GRACE: Duration = Duration::hours(1);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Reaped {
    /// Queued and processing runs looked at.
    pub examined: u64,
    /// Runs ended `failed` with `RUN_ABANDONED`.
    pub abandoned: u64,
}

/// One pass at time `now`; a queued run older than `queued_for` is abandoned.
pub async fn reap(store: &RunStore, now: DateTime<Utc>, queued_for: Duration) -> Result<Reaped, RunStoreError> {
    let queued_before = now.checked_sub_signed(queued_for).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut reaped = Reaped::default();
    for status in [RunStatus::Processing, RunStatus::Queued] {
        for position in store.scan(Some(status)).await? {
            reaped.examined += 1;
            let run = match store.get(position.run_id).await {
                Ok(run) => run,
                Err(RunStoreError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let stale = match run.status {
                RunStatus::Processing => run.lease_expires_at.is_some_and(|lease| lease <= now),
                RunStatus::Queued => run.created_at < queued_before,
                _ => false,
            };
            if !stale {
                continue;
            }
            let queued_request = store.get_artifact(run.run_id, REQUEST_ARTIFACT).await?.is_some();
            if queued_request && now - run.updated_at < QUEUED_REQUEST_GRACE {
                continue;
            }
            // Asynchronous runs are past the grace here: abandon even if still queued.
            let queued_before = if queued_request { now } else { queued_before };
            match store.transition(run.run_id, Transition::Abandon { queued_before }).await {
                Ok(_) => {
                    tracing::warn!(run_id = %run.run_id, was = %run.status, "abandoned run ended failed (RUN_ABANDONED)");
                    reaped.abandoned += 1;
                }
                // Renewed, claimed or finished since it was read: not abandoned after all.
                Err(RunStoreError::InvalidTransition(_) | RunStoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(reaped)
}
