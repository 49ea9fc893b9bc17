//! The inference gate: at most `concurrency` analyses run at once; up to `queue_depth` more wait
//! (each at most `timeout`), and anything beyond gets OVERLOADED at once. Decoded frames and ONNX
//! sessions are what use memory and cores, so bounding analyses bounds both: excess load is a 429
//! the client can retry, never an out-of-memory kill.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why no slot was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The queue is full.
    #[error("the inference queue is full ({waiting} analyses waiting, {running} running); retry shortly")]
    QueueFull {
        /// Waiting now.
        waiting: usize,
        /// Running now.
        running: usize,
    },
    /// Waited the whole timeout.
    #[error("no inference slot became free within {0:?}; retry shortly")]
    TimedOut(Duration),
}

/// The gate. Cloning shares it.
#[derive(Debug, Clone)]
pub struct InferenceGate {
    slots: Arc<Semaphore>,
    concurrency: usize,
    waiting: Arc<AtomicUsize>,
    queue_depth: usize,
    timeout: Duration,
}

/// A running analysis' slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl InferenceGate {
    /// A gate for `concurrency` running and `queue_depth` waiting analyses.
    pub fn new(concurrency: usize, queue_depth: usize, timeout: Duration) -> Self {
        let concurrency = concurrency.max(1);
        InferenceGate {
            slots: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            waiting: Arc::new(AtomicUsize::new(0)),
            queue_depth,
            timeout,
        }
    }

    /// Analyses running now.
    pub fn running(&self) -> usize {
        self.concurrency - self.slots.available_permits()
    }

    /// Analyses waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// A slot now if one is free, without queueing (tests hold slots with it to fill the gate).
    pub fn try_acquire(&self) -> Option<Slot> {
        self.slots.clone().try_acquire_owned().ok().map(|p| Slot { _permit: p })
    }

    /// A slot for a queued job: waits as long as it takes, outside the request queue (the job
    /// queue already bounds how many wait, and no client is holding a connection open).
    pub async fn acquire_queued(&self) -> Result<Slot, GateError> {
        match self.slots.clone().acquire_owned().await {
            Ok(permit) => Ok(Slot { _permit: permit }),
            Err(_) => Err(GateError::TimedOut(self.timeout)),
        }
    }

    /// A slot: at once when free, else after queueing; OVERLOADED when the queue is full or the
    /// wait times out.
    pub async fn acquire(&self) -> Result<Slot, GateError> {
        if let Some(slot) = self.try_acquire() {
            return Ok(slot);
        }
        // Reserve a queue place atomically, so two racing requests cannot both take the last one.
        let reserved =
            self.waiting.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| (w < self.queue_depth).then_some(w + 1));
        if let Err(waiting) = reserved {
            return Err(GateError::QueueFull { waiting, running: self.running() });
        }
        let _queued = Waiting(&self.waiting);
        match tokio::time::timeout(self.timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Slot { _permit: permit }),
            // The semaphore is never closed; treat it like a timeout rather than panic.
            Ok(Err(_)) | Err(_) => Err(GateError::TimedOut(self.timeout)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_gate_queues_up_to_its_depth_then_refuses() {
        let gate = InferenceGate::new(1, 1, Duration::from_secs(5));
        let running = gate.acquire().await.expect("free slot");
        assert_eq!(gate.running(), 1);
        let queued = {
            let g = gate.clone();
            tokio::spawn(async move { g.acquire().await.map(|_| ()) })
        };
        while gate.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gate.acquire().await, Err(GateError::QueueFull { waiting: 1, running: 1 })));
        drop(running);
        queued.await.expect("join").expect("the queued analysis gets the slot");
        assert_eq!((gate.running(), gate.waiting()), (0, 0));
    }

    #[tokio::test]
    async fn a_queued_analysis_times_out_and_leaves_the_queue() {
        let gate = InferenceGate::new(1, 4, Duration::from_millis(30));
        let _held = gate.try_acquire().expect("slot");
        assert!(matches!(gate.acquire().await, Err(GateError::TimedOut(_))));
        assert_eq!(gate.waiting(), 0);
        let no_queue = InferenceGate::new(1, 0, Duration::from_secs(1));
        let _held = no_queue.try_acquire().expect("slot");
        assert!(matches!(no_queue.acquire().await, Err(GateError::QueueFull { .. })));
    }
}
