//! A run's life: created from the parsed request, queued at the inference gate, analysed on a
//! blocking thread ([`analyze_payload`]), and finished succeeded or failed, whatever happens to
//! the client that asked. The only place the input kinds (zip, image, video, upload) are told
//! apart is [`analyze_payload`], which turns each into a frame source.

use std::sync::Arc;
use std::time::Duration;

use common::error::{ApiError, ErrorCode};
use common::flags::rollout_model_variant;
use common::http::{json_response, set_run_id_header};
use common::lambda_http::http::StatusCode;
use common::lambda_http::{Body, Response};
use common::run_store::RunStoreError;
use common::runs::{ModelVariant, NewRun, RunId, Transition};
use common::state::AppState;
use models::Detector;

use crate::flow::{self, analyze_failed, Analysis, Limits};
use crate::frames::{decode_image, ZipFrames};
use crate::pipeline::clock::Clock;
use crate::request::{Params, Parsed, Payload};
use crate::response::{self, VideoSummary};
use crate::source::{ingest_error, VideoSource, ZipSource};
use crate::variant::{resolve, VariantChoice};
use crate::{AnalyzeState, Engine, PREVIEW_ARTIFACT, TRACER_ARTIFACT};

/// What one analysis produced, with what the request asked of the response.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The analysis.
    pub analysis: Analysis,
    /// Frame rate used.
    pub fps: f64,
    /// The video's facts, for video runs.
    pub video: Option<VideoSummary>,
    /// Whether the response lists the detections (`include=detections`).
    pub include_detections: bool,
}

/// Creates the run, then runs its whole life in a task of its own: if the caller goes away (a
/// client disconnect drops the request future), the run still reaches a terminal state. With
/// `queued` (an asynchronous request whose input parsed, and a queue), the run is handed to the
/// queue instead and the answer is 202.
pub(crate) async fn execute(
    analyze: &AnalyzeState,
    parsed: Parsed,
    queued: Option<(Arc<dyn crate::jobs::JobQueue>, crate::jobs::StoredRequest, bool)>,
) -> Result<Response<Body>, ApiError> {
    let explicit = [&parsed.variants.header, &parsed.variants.form, &parsed.variants.query, &parsed.variants.payload]
        .iter()
        .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()));
    let state = &analyze.app;
    let flag = match (&parsed.user_id, explicit) {
        (Some(user), false) => match state.flags.effective().await {
            Ok(config) => rollout_model_variant(&config, user),
            Err(e) => {
                // A broken flag store must not stop analyses: fall through to MODEL_VARIANT.
                tracing::warn!(error = %e, "feature flags unavailable; model variant rollout skipped");
                None
            }
        },
        _ => None,
    };
    let (choice, variant_error) = match resolve(&parsed.variants, flag, state.config.model_variant) {
        Ok(c) => (c, None),
        Err(refused) => (refused.fallback, Some(refused.error)),
    };
    let new = NewRun {
        kind: parsed.endpoint.kind(),
        source_type: parsed.endpoint.source_type(),
        model_variant: choice.variant,
        override_source: choice.source,
        run_name: parsed.run_name.clone(),
        params: parsed.params_record.clone(),
        inputs: parsed.inputs.clone(),
    };
    let run = state.runs.create(new).await?;
    // Input that is already known to be bad fails now, with its 4xx, whatever was preferred.
    let valid = variant_error.is_none() && parsed.params.is_ok() && parsed.payload.is_ok();
    if let (Some((queue, stored, preferred)), true) = (queued, valid) {
        return crate::jobs::submit(analyze, queue.as_ref(), &run, &stored, preferred).await;
    }
    run_to_end(
        state.clone(),
        analyze.engine.clone(),
        Work { id: run.run_id, parsed, choice, variant_error, claimed: false },
    )
    .await
}

/// One created run's work: its request, the variant decided for it, and whether a queue worker
/// already holds it in `processing`.
struct Work {
    id: RunId,
    parsed: Parsed,
    choice: VariantChoice,
    /// A refused variant: the run ends failed with it.
    variant_error: Option<ApiError>,
    /// A queue worker's run: already processing, and it waits for its slot as long as it takes.
    claimed: bool,
}

/// Runs a created run's life in a task of its own (see [`execute`]).
async fn run_to_end(state: AppState, engine: Arc<Engine>, work: Work) -> Result<Response<Body>, ApiError> {
    let id = work.id;
    let task = tokio::spawn({
        let state = state.clone();
        async move { lifecycle(&state, &engine, work).await }
    });
    match task.await {
        Ok(result) => result,
        Err(join) => {
            let e = analyze_failed(format!("analysis task ended abnormally: {join}"));
            finish(&state, id, fail_transition(&e)).await;
            Err(e.with_run(id))
        }
    }
}

/// A queue worker's half of an asynchronous run: `run` is claimed (processing, under a lease);
/// `req` is its stored request, parsed again exactly as at submit time. The variant is the one
/// the run recorded then.
pub(crate) async fn execute_queued(
    analyze: &AnalyzeState,
    run: common::runs::Run,
    req: common::lambda_http::Request,
) -> Result<Response<Body>, ApiError> {
    let state = &analyze.app;
    let endpoint = match crate::endpoint_of(&req) {
        Ok(endpoint) => endpoint,
        Err(e) => {
            let e = analyze_failed(format!("stored request for no analyze route: {}", e.message));
            finish(state, run.run_id, fail_transition(&e)).await;
            return Err(e.with_run(run.run_id));
        }
    };
    let parsed = crate::parse(&req, endpoint).await;
    drop(req);
    let choice = VariantChoice {
        variant: run.model_variant_selected.unwrap_or(state.config.model_variant),
        source: run.override_source,
    };
    let work = Work { id: run.run_id, parsed, choice, variant_error: None, claimed: true };
    run_to_end(state.clone(), analyze.engine.clone(), work).await
}

/// Ends a run failed with `e` (retrying storage failures).
pub(crate) async fn finish_failed(state: &AppState, id: RunId, e: &ApiError) {
    finish(state, id, fail_transition(e)).await;
}

fn fail_transition(e: &ApiError) -> Transition {
    Transition::Fail { error_code: e.code.as_str().to_string(), message: e.message.clone(), timing: None }
}

/// Applies a terminal transition, retrying storage failures: a run must not stay in processing
/// because one write failed. A run that is already terminal is left as it is.
async fn finish(state: &AppState, id: RunId, t: Transition) -> bool {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=5 {
        match state.runs.transition(id, t.clone()).await {
            Ok(_) => return true,
            Err(RunStoreError::InvalidTransition(e)) => {
                tracing::warn!(run_id = %id, error = %e, "run already finished");
                return false;
            }
            Err(e) => {
                tracing::error!(run_id = %id, attempt, error = %e, "could not finish run; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    false
}

async fn lifecycle(state: &AppState, engine: &Engine, work: Work) -> Result<Response<Body>, ApiError> {
    let (id, choice, endpoint) = (work.id, work.choice, work.parsed.endpoint);
    let extra = work.parsed.params_record.clone();
    let started = std::time::Instant::now();
    let endpoint_name = format!("{endpoint:?}").to_ascii_lowercase();
    let result = attempt(state, engine, work).await;
    let outcome = match &result {
        Ok(_) => "succeeded",
        Err(e) => e.code.as_str(),
    };
    common::metrics::record_analysis(&endpoint_name, outcome, started.elapsed());
    match result {
        Ok(outcome) => {
            // Before the terminal transition, so a succeeded run always has its preview and tracer.
            let clip = outcome.analysis.tracer.as_ref().and_then(|t| t.clip.as_ref());
            for (name, bytes) in [(PREVIEW_ARTIFACT, outcome.analysis.preview_jpeg.as_ref()), (TRACER_ARTIFACT, clip)] {
                if let Some(bytes) = bytes {
                    if let Err(e) = state.runs.put_artifact(id, name, bytes).await {
                        tracing::warn!(run_id = %id, artifact = name, error = %e, "artifact not stored");
                    }
                }
            }
            let summary = response::summary(&outcome);
            let t = Transition::Succeed {
                timing: Some(outcome.analysis.timing.clone()),
                result: summary.clone(),
                frame_count: Some(outcome.analysis.scan.frames_total as u64),
            };
            if !finish(state, id, t).await {
                let e = ApiError::new(ErrorCode::AnalyzeFailed, "the result could not be stored; retry")
                    .with_cause("terminal transition failed after retries");
                return Err(e.with_run(id));
            }
            let body = response::body(endpoint, id, choice, &outcome, summary, &extra);
            let mut resp = json_response(StatusCode::OK, &body);
            set_run_id_header(&mut resp, id);
            Ok(resp)
        }
        Err(e) => {
            finish(state, id, fail_transition(&e)).await;
            Err(e.with_run(id))
        }
    }
}

/// Everything between a queued run and its outcome. Any error returned here ends the run failed.
async fn attempt(state: &AppState, engine: &Engine, work: Work) -> Result<Outcome, ApiError> {
    let Work { id, parsed, choice, variant_error, claimed } = work;
    if let Some(e) = variant_error {
        return Err(e);
    }
    let params = parsed.params?;
    let payload = match parsed.payload? {
        Payload::VideoUpload(key) => Payload::Video(fetch_upload(state, &key).await?),
        other => other,
    };
    match &payload {
        Payload::Zip(b) if b.len() as u64 > engine.zip_limits.max_zip_bytes as u64 => {
            return Err(ApiError::new(
                ErrorCode::ZipTooLarge,
                format!("zip is {} bytes, over the {}-byte limit", b.len(), engine.zip_limits.max_zip_bytes),
            ))
        }
        Payload::Video(b) if b.len() as u64 > engine.max_video_bytes => {
            return Err(ApiError::new(
                ErrorCode::VideoTooLarge,
                format!("video is {} bytes, over the {}-byte limit", b.len(), engine.max_video_bytes),
            ))
        }
        _ => {}
    }
    // The lease is renewed from the claim until this function returns (the guard aborts it): a
    // queue worker's run is already claimed and may wait here for its slot.
    let renewal = || LeaseRenewal(tokio::spawn(renew_lease(state.clone(), id)));
    let mut _renewal = claimed.then(renewal);
    let slot = if claimed { engine.gate.acquire_queued().await } else { engine.gate.acquire().await }
        .map_err(|e| ApiError::new(ErrorCode::Overloaded, e.to_string()))?;
    if !claimed {
        state.runs.transition(id, Transition::Claim { lease_expires_at: lease_from_now(state) }).await?;
        _renewal = Some(renewal());
    }
    let registry = engine.registry.clone();
    let limits = Limits { max_detector_calls: engine.max_detector_calls };
    let (zip_limits, max_frames) = (engine.zip_limits, engine.max_video_frames);
    let variant = choice.variant;
    let outcome = tokio::task::spawn_blocking(move || {
        let detector = registry.get(variant).map_err(|e| unavailable(variant, e))?;
        analyze_payload(detector.as_ref(), payload, &params, &zip_limits, max_frames, &limits)
    })
    .await
    .map_err(|join| analyze_failed(format!("analysis thread ended abnormally: {join}")))??;
    drop(slot);
    Ok(outcome)
}

/// The end of a lease taken now (RUN_LEASE_SECONDS).
pub(crate) fn lease_from_now(state: &AppState) -> chrono::DateTime<chrono::Utc> {
    let secs = i64::try_from(state.config.run_lease_seconds).unwrap_or(120);
    common::runs::now() + chrono::Duration::seconds(secs)
}

/// Extends the run's lease every third of RUN_LEASE_SECONDS while the analysis is alive, so the
/// reaper never takes a live run; it stops when the lease can no longer be renewed (the run was
/// finished, or taken over after a stall).
async fn renew_lease(state: AppState, id: RunId) {
    let period = std::time::Duration::from_millis(state.config.run_lease_seconds.saturating_mul(1000) / 3)
        .max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(period).await;
        match state.runs.transition(id, Transition::Renew { lease_expires_at: lease_from_now(&state) }).await {
            Ok(_) => {}
            Err(RunStoreError::InvalidTransition(_)) => return,
            Err(e) => tracing::warn!(run_id = %id, error = %e, "lease renewal failed; retrying"),
        }
    }
}

/// Stops a lease renewal when dropped.
struct LeaseRenewal(tokio::task::JoinHandle<()>);

impl Drop for LeaseRenewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn fetch_upload(state: &AppState, key: &str) -> Result<Vec<u8>, ApiError> {
    let key = common::uploads::parse_upload_key(key).map_err(|_| {
        ApiError::new(ErrorCode::InvalidUploadKey, format!("{key:?} is not an upload key from POST /runs/v1/uploads"))
    })?;
    match state.uploads.get(&key).await {
        Ok(b) => Ok(b),
        Err(common::storage::StorageError::NotFound(_)) => {
            Err(ApiError::new(ErrorCode::UploadNotFound, format!("nothing was uploaded under {key}")))
        }
        Err(e) => Err(ApiError::from(e)),
    }
}

/// Analyses one payload (an upload key already fetched) on the calling thread.
pub fn analyze_payload(
    detector: &dyn Detector,
    payload: Payload,
    params: &Params,
    zip_limits: &crate::frames::ZipLimits,
    max_video_frames: usize,
    limits: &Limits,
) -> Result<Outcome, ApiError> {
    let outcome =
        |analysis, fps, video| Outcome { analysis, fps, video, include_detections: params.include_detections };
    match payload {
        Payload::Image(bytes) => {
            let frame = decode_image("image", &bytes).map_err(ingest_error)?;
            Ok(outcome(flow::detect_image(detector, &frame)?, params.fps, None))
        }
        Payload::Zip(bytes) => {
            let mut source = ZipSource(ZipFrames::open(&bytes, zip_limits).map_err(ingest_error)?);
            let analysis = flow::analyze(detector, &mut source, &params.analysis(Clock::constant(params.fps)), limits)?;
            Ok(outcome(analysis, params.fps, None))
        }
        Payload::VideoUpload(key) => Err(analyze_failed(format!("upload {key} reached the analysis unfetched"))),
        Payload::Video(bytes) => {
            let mut source = VideoSource::open(&bytes, usize::MAX)?;
            let info = source.info().clone();
            if info.frame_count > max_video_frames as u64 {
                return Err(ApiError::new(
                    ErrorCode::VideoTooLong,
                    format!(
                        "the video has {} frames, over the {max_video_frames}-frame limit (ANALYZE_MAX_VIDEO_FRAMES); \
                         trim it to the shot",
                        info.frame_count
                    ),
                ));
            }
            // Frame times are the sample timestamps (the capture rate, whatever an edit list plays
            // it at); the requested rate only stands in when the track has no usable timing.
            let (clock, fps_source) = match info.fps {
                Some(f) if f.is_finite() && f > 0.0 => {
                    (Clock::from_times(info.frame_times_s.clone(), f), "sample_timestamps")
                }
                _ => (Clock::constant(params.fps), "fps_fallback"),
            };
            let fps = clock.fps();
            let analysis = flow::analyze(detector, &mut source, &params.analysis(clock), limits)?;
            let video = VideoSummary::new(&info, fps, fps_source, &analysis);
            Ok(outcome(analysis, fps, Some(video)))
        }
    }
}

fn unavailable(variant: ModelVariant, e: models::ModelError) -> ApiError {
    ApiError::new(
        ErrorCode::ModelUnavailable,
        format!("model variant {variant} is unavailable on this server; try another variant or retry later"),
    )
    .with_cause(e)
}
