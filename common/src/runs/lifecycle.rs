//! The lifecycle: which transitions a run may make (`queued -> processing -> succeeded|failed`,
//! claims and leases, the reaper's abandon) and what each sets on the record.

use chrono::{DateTime, Utc};

use super::*;

/// A requested change of state, with what it carries.
#[derive(Debug, Clone)]
pub enum Transition {
    /// Enter `processing`.
    Start,
    /// A worker takes the run under a lease: `queued -> processing`, or `processing ->
    /// processing` once the previous holder's lease has passed; held until `lease_expires_at`.
    Claim {
        /// The new lease's end.
        lease_expires_at: DateTime<Utc>,
    },
    /// The holder extends its live lease (`processing -> processing`, only before it passes).
    Renew {
        /// The lease's new end.
        lease_expires_at: DateTime<Utc>,
    },
    /// The reaper ends a run nobody will finish: `processing` whose lease has passed, or `queued`
    /// since before `queued_before`; it enters `failed` with `RUN_ABANDONED`.
    Abandon {
        /// Queued runs created before this are abandoned.
        queued_before: DateTime<Utc>,
    },
    /// Enter `succeeded` with timing and the metrics summary.
    Succeed {
        /// Inference timing.
        timing: Option<InferenceTiming>,
        /// Metrics summary.
        result: serde_json::Value,
        /// Frames actually found, when only known after decoding.
        frame_count: Option<u64>,
    },
    /// Enter `failed` with the stable error contract.
    Fail {
        /// Stable error code.
        error_code: String,
        /// Client-facing message.
        message: String,
        /// Timing so far, if any.
        timing: Option<InferenceTiming>,
    },
}

impl Transition {
    /// The state this transition enters.
    pub fn target(&self) -> RunStatus {
        match self {
            Transition::Start | Transition::Claim { .. } | Transition::Renew { .. } => RunStatus::Processing,
            Transition::Succeed { .. } => RunStatus::Succeeded,
            Transition::Fail { .. } | Transition::Abandon { .. } => RunStatus::Failed,
        }
    }
}

/// An attempted transition the lifecycle forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("run cannot move from {from} to {to}")]
pub struct InvalidTransition {
    /// Current state.
    pub from: RunStatus,
    /// Requested state.
    pub to: RunStatus,
}

impl Run {
    /// Applies `t` at time `now`, returning the new record; the record itself is left unchanged
    /// when the lifecycle forbids the move.
    pub fn apply(&self, t: &Transition, now: DateTime<Utc>) -> Result<Run, InvalidTransition> {
        let to = t.target();
        let processing = self.status == RunStatus::Processing;
        let lease_passed = self.lease_expires_at.is_some_and(|lease| lease <= now);
        let allowed = match t {
            Transition::Claim { .. } => self.status == RunStatus::Queued || (processing && lease_passed),
            Transition::Renew { .. } => processing && self.lease_expires_at.is_some() && !lease_passed,
            Transition::Abandon { queued_before } => {
                (processing && lease_passed) || (self.status == RunStatus::Queued && self.created_at < *queued_before)
            }
            _ => self.status.can_transition_to(to),
        };
        if !allowed {
            return Err(InvalidTransition { from: self.status, to });
        }
        let mut next = self.clone();
        next.status = to;
        next.updated_at = now;
        if to.is_terminal() {
            next.lease_expires_at = None;
        }
        match t {
            Transition::Start => {
                next.started_at.get_or_insert(now);
            }
            Transition::Claim { lease_expires_at } => {
                next.started_at.get_or_insert(now);
                next.lease_expires_at = Some(*lease_expires_at);
            }
            Transition::Renew { lease_expires_at } => {
                next.lease_expires_at = Some(*lease_expires_at);
            }
            Transition::Abandon { .. } => {
                next.finished_at = Some(now);
                next.error_code = Some(RUN_ABANDONED.into());
                next.error_message = Some(match self.lease_expires_at {
                    Some(lease) if processing => format!(
                        "the process analysing this run stopped before it finished (its lease expired at {})",
                        format_ts(&lease)
                    ),
                    _ => "the run waited in the queue past its limit and nothing will start it".into(),
                });
            }
            Transition::Succeed { timing, result, frame_count } => {
                next.finished_at = Some(now);
                next.timings = timing.as_ref().map(Timings::from);
                next.inference_timing = timing.clone();
                next.result = Some(result.clone());
                if let Some(n) = frame_count {
                    next.inputs.frame_count = Some(*n);
                }
            }
            Transition::Fail { error_code, message, timing } => {
                next.finished_at = Some(now);
                next.error_code = Some(error_code.clone());
                next.error_message = Some(message.clone());
                if timing.is_some() {
                    next.timings = timing.as_ref().map(Timings::from);
                    next.inference_timing = timing.clone();
                }
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::tests::sample;

    fn transition_to(s: RunStatus) -> Transition {
        match s {
            RunStatus::Processing => Transition::Start,
            RunStatus::Succeeded => {
                Transition::Succeed { timing: None, result: serde_json::json!({}), frame_count: None }
            }
            RunStatus::Failed => Transition::Fail { error_code: "X".into(), message: "x".into(), timing: None },
            RunStatus::Queued => unreachable!("nothing transitions into queued"),
        }
    }

    #[test]
    fn lifecycle_table_covers_every_ordered_pair() {
        use RunStatus::*;
        let allowed = [
            (Queued, Processing),
            (Queued, Succeeded),
            (Queued, Failed),
            (Processing, Succeeded),
            (Processing, Failed),
        ];
        for from in RunStatus::ALL {
            for to in RunStatus::ALL {
                assert_eq!(from.can_transition_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn apply_sets_lifecycle_timestamps_once_and_leaves_terminal_runs_alone() {
        let t0 = Utc::now();
        let run = sample();
        let processing = run.apply(&Transition::Start, t0).expect("queued -> processing");
        assert_eq!(processing.started_at, Some(t0));
        assert_eq!(processing.finished_at, None);
        let t1 = t0 + chrono::Duration::milliseconds(5);
        let done = processing.apply(&transition_to(RunStatus::Failed), t1).expect("processing -> failed");
        assert_eq!(done.started_at, Some(t0));
        assert_eq!(done.finished_at, Some(t1));
        assert_eq!(done.error_code.as_deref(), Some("X"));
        for to in [RunStatus::Processing, RunStatus::Succeeded, RunStatus::Failed] {
            let err = done.apply(&transition_to(to), t1).expect_err("terminal is final");
            assert_eq!(err, InvalidTransition { from: RunStatus::Failed, to });
        }
        // Short-circuit runs finish without ever starting.
        let direct = run.apply(&transition_to(RunStatus::Succeeded), t1).expect("queued -> succeeded");
        assert_eq!(direct.started_at, None);
        assert_eq!(direct.finished_at, Some(t1));
    }

    #[test]
    fn a_claim_takes_a_queued_run_or_one_whose_lease_has_passed() {
        let t0 = Utc::now();
        let lease = |secs| Transition::Claim { lease_expires_at: t0 + chrono::Duration::seconds(secs) };
        let held = sample().apply(&lease(60), t0).expect("queued -> processing");
        assert_eq!(
            (held.status, held.lease_expires_at),
            (RunStatus::Processing, Some(t0 + chrono::Duration::seconds(60)))
        );
        let busy = held.apply(&lease(120), t0 + chrono::Duration::seconds(59)).expect_err("the lease is live");
        assert_eq!(busy, InvalidTransition { from: RunStatus::Processing, to: RunStatus::Processing });
        let taken = held.apply(&lease(180), t0 + chrono::Duration::seconds(60)).expect("the lease has passed");
        assert_eq!((taken.started_at, taken.lease_expires_at), (Some(t0), Some(t0 + chrono::Duration::seconds(180))));
        let unleased = sample().apply(&Transition::Start, t0).expect("start");
        assert!(
            unleased.apply(&lease(60), t0 + chrono::Duration::days(1)).is_err(),
            "a request's own run is never taken"
        );
        let done = taken.apply(&transition_to(RunStatus::Succeeded), t0).expect("finish");
        assert_eq!(done.lease_expires_at, None);
        assert!(done.apply(&lease(60), t0 + chrono::Duration::days(1)).is_err());
    }

    #[test]
    fn renewals_keep_a_lease_alive_and_only_an_abandoned_one_is_reaped() {
        let t0 = Utc::now();
        let at = |secs| t0 + chrono::Duration::seconds(secs);
        let never_queued = Transition::Abandon { queued_before: t0 - chrono::Duration::days(1) };
        let held = sample().apply(&Transition::Claim { lease_expires_at: at(10) }, t0).expect("claim");
        assert!(held.apply(&never_queued, at(9)).is_err(), "a live lease is never reaped");
        let renewed = held.apply(&Transition::Renew { lease_expires_at: at(20) }, at(9)).expect("renew");
        assert!(renewed.apply(&never_queued, at(15)).is_err(), "renewed past the old end");
        let late = held.apply(&Transition::Renew { lease_expires_at: at(30) }, at(10));
        assert!(late.is_err(), "a passed lease cannot be renewed: the run may be someone else's now");
        let reaped = renewed.apply(&never_queued, at(20)).expect("passed lease");
        assert_eq!((reaped.status, reaped.error_code.as_deref()), (RunStatus::Failed, Some(RUN_ABANDONED)));
        let queued = sample();
        assert!(queued.apply(&Transition::Abandon { queued_before: queued.created_at }, t0).is_err());
        let stale = Transition::Abandon { queued_before: queued.created_at + chrono::Duration::milliseconds(1) };
        assert_eq!(queued.apply(&stale, t0).expect("queued too long").status, RunStatus::Failed);
        let unleased = sample().apply(&Transition::Start, t0).expect("start");
        assert!(unleased.apply(&never_queued, at(1_000_000)).is_err(), "no lease, never reaped");
    }
}
