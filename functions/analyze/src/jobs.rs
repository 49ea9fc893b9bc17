//! Analyses that outlive their request: `Prefer: respond-async` (RFC 7240) or `?async=true` on
//! any analyze route answers 202 with the run id at once, and a worker finishes the run.
//!
//! - Submit ([`submit`]): the run is created as for a synchronous call, the request itself (body,
//!   query, the headers the parser reads; never a credential) is stored as the run's
//!   [`REQUEST_ARTIFACT`], and the run id goes to a [`JobQueue`].
//! - Queues: [`InProcessQueue`] in the dispatcher (bounded by INFERENCE_QUEUE_DEPTH, consumed by
//!   INFERENCE_CONCURRENCY tasks), [`SqsQueue`] when ANALYZE_QUEUE_URL is set (consumed by the
//!   analyze-worker Lambda, or the dispatcher's [`poll_sqs`]).
//! - Work ([`process`]): idempotent per message. A terminal run is a no-op; a queued run is
//!   claimed with a lease (RUN_LEASE_SECONDS, renewed while it runs); a run processing under another worker's live lease is
//!   left for a later delivery; a run whose lease passed is taken over. The stored request is
//!   parsed again and analysed exactly as the synchronous path would, with the variant the run
//!   recorded at submit time.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::error::{ApiError, ErrorCode};
use common::http::{build_request, json_response, set_run_id_header};
use common::lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use common::lambda_http::{Body, Request, RequestExt, Response};
use common::run_store::RunStoreError;
use common::runs::{Run, RunId, Transition};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::AnalyzeState;

pub use common::runs::REQUEST_ARTIFACT;
/// The request headers an analysis reads; nothing else (no credential) is stored.
const KEPT_HEADERS: &[&str] = &["content-type", "x-model-variant", "x-user-id", "accept-language"];

/// How the client asked for an asynchronous answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncAsk {
    /// Neither way: the synchronous answer.
    No,
    /// `Prefer: respond-async` (any position in the list, any case): answered with
    /// `Preference-Applied`.
    Prefer,
    /// `?async=true|1`.
    Query,
}

/// How `req` asks for an asynchronous answer.
pub fn async_ask(req: &Request) -> AsyncAsk {
    let prefer = req.headers().get_all("prefer").iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|p| p.split([';', '=']).next().is_some_and(|t| t.trim().eq_ignore_ascii_case("respond-async")))
    });
    if prefer {
        AsyncAsk::Prefer
    } else if common::http::query_param(req, "async").is_some_and(|v| matches!(v.trim(), "true" | "1")) {
        AsyncAsk::Query
    } else {
        AsyncAsk::No
    }
}

/// A request as stored for its worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRequest {
    /// `POST`.
    pub method: String,
    /// The route's path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The kept headers.
    pub headers: Vec<(String, String)>,
    /// The body, base64.
    pub body_b64: String,
}

impl StoredRequest {
    /// What the worker needs of `req`.
    pub fn of(req: &Request) -> StoredRequest {
        let headers = KEPT_HEADERS
            .iter()
            .filter_map(|h| req.headers().get(*h).and_then(|v| v.to_str().ok()).map(|v| (h.to_string(), v.to_string())))
            .collect();
        let query = req.uri().query().unwrap_or("").to_string();
        StoredRequest {
            method: req.method().to_string(),
            path: req.raw_http_path().to_string(),
            query,
            headers,
            body_b64: STANDARD.encode(req.body().as_ref()),
        }
    }

    /// The request again, as the analyze handler parses it.
    pub fn to_request(&self) -> Result<Request, String> {
        let method = Method::from_bytes(self.method.as_bytes()).map_err(|e| e.to_string())?;
        let uri: Uri = if self.query.is_empty() { self.path.clone() } else { format!("{}?{}", self.path, self.query) }
            .parse()
            .map_err(|e: common::lambda_http::http::uri::InvalidUri| e.to_string())?;
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
            headers.insert(name, HeaderValue::from_str(v).map_err(|e| e.to_string())?);
        }
        let body = STANDARD.decode(&self.body_b64).map_err(|e| e.to_string())?;
        Ok(build_request(method, uri, headers, body))
    }
}

/// A queue full or unreachable: the submit answers 429/503 and its run ends failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Every place in the in-process queue is taken.
    #[error("the analysis queue is full ({0} waiting); retry later")]
    Full(usize),
    /// SQS refused the message.
    #[error("the analysis queue is unavailable: {0}")]
    Unavailable(String),
}

/// Where queued runs wait for a worker.
#[async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Hands `run_id` to a worker (now or later); a full queue refuses at once.
    async fn submit(&self, state: &AnalyzeState, run_id: RunId) -> Result<(), QueueError>;
    /// Hands back a run found unfinished after a restart or left for later: like `submit`, but a
    /// full queue is waited on (no client is waiting for an answer).
    async fn resubmit(&self, state: &AnalyzeState, run_id: RunId) -> Result<(), QueueError> {
        self.submit(state, run_id).await
    }
    /// `in_process` or `sqs`, for logs and the 202's consumers.
    fn name(&self) -> &'static str;
}

/// The dispatcher's queue: a bounded channel and as many consumers as inference slots.
#[derive(Debug)]
pub struct InProcessQueue {
    capacity: usize,
    consumers: usize,
    sender: OnceLock<mpsc::Sender<RunId>>,
}

impl InProcessQueue {
    /// A queue holding at most `capacity` waiting runs, worked by `consumers` tasks.
    pub fn new(capacity: usize, consumers: usize) -> Self {
        InProcessQueue { capacity: capacity.max(1), consumers: consumers.max(1), sender: OnceLock::new() }
    }

    /// Starts the consumers on first use (they need the runtime and the state).
    fn sender(&self, state: &AnalyzeState) -> &mpsc::Sender<RunId> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<RunId>(self.capacity);
            let rx = Arc::new(tokio::sync::Mutex::new(rx));
            for _ in 0..self.consumers {
                let (state, rx, retry_tx) = (state.clone(), rx.clone(), tx.clone());
                tokio::spawn(async move {
                    loop {
                        let next = rx.lock().await.recv().await;
                        let Some(id) = next else { return };
                        if let Processed::Retry = process(&state, id).await {
                            // Held under a live lease (another dispatcher on the store, or this
                            // one's previous life): look again once that lease can have passed.
                            let (tx, wait) =
                                (retry_tx.clone(), Duration::from_secs(state.app.config.run_lease_seconds));
                            tokio::spawn(async move {
                                tokio::time::sleep(wait).await;
                                // Waits for room: dropping it would leave the run queued.
                                tx.send(id).await.ok();
                            });
                        }
                    }
                });
            }
            tx
        })
    }
}

#[async_trait]
impl JobQueue for InProcessQueue {
    async fn submit(&self, state: &AnalyzeState, run_id: RunId) -> Result<(), QueueError> {
        self.sender(state).try_send(run_id).map_err(|_| QueueError::Full(self.capacity))
    }

    async fn resubmit(&self, state: &AnalyzeState, run_id: RunId) -> Result<(), QueueError> {
        self.sender(state).send(run_id).await.map_err(|_| QueueError::Full(self.capacity))
    }

    fn name(&self) -> &'static str {
        "in_process"
    }
}

/// The SQS queue at ANALYZE_QUEUE_URL; the client comes from the standard AWS environment on
/// first use (or is given, in tests).
#[derive(Debug)]
pub struct SqsQueue {
    url: String,
    client: tokio::sync::OnceCell<aws_sdk_sqs::Client>,
}

/// The message body: the run to work on.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    run_id: RunId,
}

impl SqsQueue {
    /// The queue at `url`, its client built from the environment when first needed.
    pub fn new(url: impl Into<String>) -> Self {
        SqsQueue { url: url.into(), client: tokio::sync::OnceCell::new() }
    }

    /// The queue at `url` through `client`.
    pub fn with_client(url: impl Into<String>, client: aws_sdk_sqs::Client) -> Self {
        SqsQueue { url: url.into(), client: tokio::sync::OnceCell::new_with(Some(client)) }
    }

    async fn client(&self) -> &aws_sdk_sqs::Client {
        self.client
            .get_or_init(|| async {
                let region = aws_config::meta::region::RegionProviderChain::default_provider().or_else("us-east-1");
                let shared = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(region).load().await;
                aws_sdk_sqs::Client::new(&shared)
            })
            .await
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn submit(&self, _state: &AnalyzeState, run_id: RunId) -> Result<(), QueueError> {
        let body = serde_json::to_string(&Message { run_id }).map_err(|e| QueueError::Unavailable(e.to_string()))?;
        self.client()
            .await
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError::Unavailable(format!("{:?}", aws_sdk_sqs::error::DisplayErrorContext(e))))
    }

    fn name(&self) -> &'static str {
        "sqs"
    }
}

/// The queue this deployment offers, or `None` where asynchronous answers are not offered (a
/// Lambda function without ANALYZE_QUEUE_URL: it cannot work after its response).
pub fn queue_for(config: &common::config::Config, on_lambda: bool) -> Option<InstalledQueue> {
    match &config.job_queue {
        common::config::JobQueueSetting::Sqs(url) => Some(InstalledQueue::sqs(Arc::new(SqsQueue::new(url.clone())))),
        common::config::JobQueueSetting::InProcess if on_lambda => None,
        common::config::JobQueueSetting::InProcess => Some(InstalledQueue {
            queue: Arc::new(InProcessQueue::new(
                config.analyze.inference_queue_depth as usize,
                config.analyze.inference_concurrency as usize,
            )),
            sqs: None,
        }),
    }
}

/// The deployment's queue (see [`AnalyzeState::queue`]); `sqs` is set when it is SQS, for the
/// dispatcher's consumer.
#[derive(Debug, Clone)]
pub struct InstalledQueue {
    /// Where submits go.
    pub queue: Arc<dyn JobQueue>,
    /// The same queue when it is SQS.
    pub sqs: Option<Arc<SqsQueue>>,
}

impl InstalledQueue {
    /// An SQS queue (tests give one with their own client).
    pub fn sqs(queue: Arc<SqsQueue>) -> Self {
        InstalledQueue { queue: queue.clone(), sqs: Some(queue) }
    }
}

/// Stores the request, queues the already-created run and answers 202; a queue that refuses
/// ends the run failed and answers the error (429 full, 503 unavailable).
pub(crate) async fn submit(
    state: &AnalyzeState,
    queue: &dyn JobQueue,
    run: &Run,
    stored: &StoredRequest,
    preferred: bool,
) -> Result<Response<Body>, ApiError> {
    let id = run.run_id;
    let bytes = serde_json::to_vec(stored).map_err(ApiError::internal)?;
    state.app.runs.put_artifact(id, REQUEST_ARTIFACT, &bytes).await?;
    if let Err(e) = queue.submit(state, id).await {
        let err = match e {
            QueueError::Full(_) => ApiError::new(ErrorCode::Overloaded, e.to_string()),
            QueueError::Unavailable(_) => {
                ApiError::new(ErrorCode::QueueUnavailable, "the analysis queue is unavailable; retry later")
                    .with_cause(e)
            }
        };
        crate::run::finish_failed(&state.app, id, &err).await;
        return Err(err.with_run(id));
    }
    tracing::info!(run_id = %id, queue = queue.name(), "analysis queued");
    let status_url = format!("/runs/v1/{id}");
    let mut resp = json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({"run_id": id, "status": "queued", "status_url": status_url}),
    );
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&status_url) {
        headers.insert("location", v);
    }
    if preferred {
        headers.insert("preference-applied", HeaderValue::from_static("respond-async"));
    }
    set_run_id_header(&mut resp, id);
    Ok(resp)
}

/// What a worker did with one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    /// Finished here, or nothing to do (terminal, gone): acknowledge the message.
    Done,
    /// Another worker holds the run under a live lease, or the store failed: deliver again later.
    Retry,
}

/// Works one queued run (any queue, any number of deliveries).
pub async fn process(state: &AnalyzeState, id: RunId) -> Processed {
    let app = &state.app;
    let lease_expires_at = crate::run::lease_from_now(app);
    let run = match app.runs.transition(id, Transition::Claim { lease_expires_at }).await {
        Ok(run) => run,
        Err(RunStoreError::NotFound(_)) => {
            tracing::warn!(run_id = %id, "queued run no longer exists; message dropped");
            return Processed::Done;
        }
        Err(RunStoreError::InvalidTransition(e)) if e.from.is_terminal() => {
            tracing::info!(run_id = %id, status = %e.from, "redelivered message for a finished run; nothing to do");
            return Processed::Done;
        }
        Err(RunStoreError::InvalidTransition(_)) => {
            tracing::info!(run_id = %id, "run is held by another worker's live lease; retrying later");
            return Processed::Retry;
        }
        Err(e) => {
            tracing::warn!(run_id = %id, error = %e, "could not claim the queued run; retrying later");
            return Processed::Retry;
        }
    };
    let stored = match app.runs.get_artifact(id, REQUEST_ARTIFACT).await {
        Ok(Some(bytes)) => serde_json::from_slice::<StoredRequest>(&bytes).map_err(|e| e.to_string()),
        Ok(None) => Err("the queued request is missing".to_string()),
        Err(e) => {
            tracing::warn!(run_id = %id, error = %e, "could not read the queued request; retrying later");
            return Processed::Retry;
        }
    };
    let request = stored.and_then(|s| s.to_request());
    match request {
        Ok(req) => {
            // The outcome is on the run; the response body was for a client that is gone.
            if let Err(e) = crate::run::execute_queued(state, run, req).await {
                tracing::info!(run_id = %id, error_code = e.code.as_str(), "queued run ended failed");
            }
        }
        Err(reason) => {
            let err = crate::flow::analyze_failed(format!("queued run {id}: {reason}"));
            crate::run::finish_failed(app, id, &err).await;
        }
    }
    if let Err(e) = app.runs.delete_artifact(id, REQUEST_ARTIFACT).await {
        tracing::warn!(run_id = %id, error = %e, "queued request not deleted");
    }
    Processed::Done
}

/// After a restart of a dispatcher with the in-process queue: the asynchronous runs its previous
/// life left (queued, or processing with their request still stored) go back into the queue,
/// waiting for room as it drains (so call it off the start-up path); a run still under a live
/// lease is looked at again when the lease can have passed. Returns how many were resubmitted.
/// SQS keeps its own messages, so nothing is resubmitted there.
pub async fn resubmit_stored(state: &AnalyzeState) -> Result<usize, RunStoreError> {
    let Some(installed) = &state.queue else { return Ok(0) };
    if installed.sqs.is_some() {
        return Ok(0);
    }
    let mut resubmitted = 0;
    for status in [common::runs::RunStatus::Processing, common::runs::RunStatus::Queued] {
        for position in state.app.runs.scan(Some(status)).await? {
            let id = position.run_id;
            if state.app.runs.get_artifact(id, REQUEST_ARTIFACT).await?.is_none() {
                continue;
            }
            match installed.queue.resubmit(state, id).await {
                Ok(()) => resubmitted += 1,
                Err(e) => tracing::warn!(run_id = %id, error = %e, "could not resubmit a stored run"),
            }
        }
    }
    Ok(resubmitted)
}

/// The worker Lambda's handler: one SQS batch; the messages to deliver again are reported as
/// batch item failures (the function's `ReportBatchItemFailures`), the rest are acknowledged.
pub async fn handle_sqs_batch(state: &AnalyzeState, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let parsed = message.body.as_deref().map(serde_json::from_str::<Message>);
        let processed = match parsed {
            Some(Ok(m)) => process(state, m.run_id).await,
            other => {
                // Retrying cannot fix it: acknowledge, so it does not cycle into the DLQ.
                tracing::error!(message_id = %id, body = ?other.map(|r| r.map(|_| ())), "not a job message; dropped");
                Processed::Done
            }
        };
        if processed == Processed::Retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// The dispatcher's SQS consumer (ANALYZE_QUEUE_URL set): long-polls one message at a time,
/// deletes it once done; a message to retry is left to reappear after the visibility timeout,
/// and SQS moves it to the dead-letter queue after the redrive policy's receive count.
pub async fn poll_sqs(state: AnalyzeState, queue: Arc<SqsQueue>) {
    tracing::info!(queue = queue.url(), "consuming the analysis queue");
    loop {
        let client = queue.client().await;
        let received =
            client.receive_message().queue_url(queue.url()).max_number_of_messages(1).wait_time_seconds(5).send().await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = ?aws_sdk_sqs::error::DisplayErrorContext(e), "receiving from the analysis queue failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for m in messages {
            let processed = match m.body().map(serde_json::from_str::<Message>) {
                Some(Ok(job)) => process(&state, job.run_id).await,
                _ => {
                    tracing::error!(message_id = ?m.message_id(), "not a job message; dropped");
                    Processed::Done
                }
            };
            if processed == Processed::Done {
                if let Some(handle) = m.receipt_handle() {
                    if let Err(e) = client.delete_message().queue_url(queue.url()).receipt_handle(handle).send().await {
                        tracing::warn!(error = ?aws_sdk_sqs::error::DisplayErrorContext(e), "could not delete a done message");
                    }
                }
            }
        }
    }
}
