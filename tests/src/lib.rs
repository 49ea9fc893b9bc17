//! Test support shared by the integration tests and benchmarks: a dispatcher on 127.0.0.1:0 over
//! a fresh temp store (`spawn_app`), run seeding, and deadline polling instead of sleeps.

pub mod conformance;
pub mod fault_proxy;
pub mod original;
pub mod process;
pub mod s3;
pub mod scene;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::config::Config;
use common::run_store::RunStore;
use common::runs::{ModelVariant, NewRun, OverrideSource, Run, RunId, RunInputs, RunKind, SourceType, Transition};
use common::state::AppState;
use tokio::sync::oneshot;

/// A running dispatcher with its own store, torn down on drop.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (same stores the server uses).
    pub state: AppState,
    /// Every function's state, as the server holds it (the same analyze engine and registry).
    pub services: local::Services,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// Holds the temp directory alive.
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        match self.server.take() {
            Some(h) => h.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl TestApp {
    /// Stops the server and hands back its directory, to start another one on the same store.
    pub async fn into_dir(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        if let Some(h) = self.server.take() {
            h.await.ok();
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(h) = self.server.take() {
            h.abort();
        }
    }
}

/// POSTs `video` as the `video` part of `/cv/analyze/video` with the text `fields` and the API key
/// `key`: the status and the JSON body (null when the body is not JSON).
pub async fn post_video(app: &TestApp, key: &str, video: Vec<u8>, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut form =
        reqwest::multipart::Form::new().part("video", reqwest::multipart::Part::bytes(video).file_name("swing.mp4"));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let resp = app
        .client
        .post(app.url("/cv/analyze/video"))
        .header("x-api-key", key)
        .multipart(form)
        .send()
        .await
        .expect("post video");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// `GET /runs/v1/{id}` with the API key `key`: the run record (asserting it is readable).
pub async fn get_run(app: &TestApp, key: &str, id: &str) -> serde_json::Value {
    let resp = app.client.get(app.url(&format!("/runs/v1/{id}"))).header("x-api-key", key).send().await.expect("get");
    assert_eq!(resp.status(), 200, "run {id} readable");
    resp.json().await.expect("json")
}

/// The status (`ok`, `error`, `skipped`) of one named check in a /ready body.
pub fn ready_check<'a>(ready: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    ready["checks"].as_array()?.iter().find(|c| c["name"] == name)?["status"].as_str()
}

/// Environment for a test app: development defaults rooted in a temp dir, plus `extra`.
pub fn config_with(dir: &std::path::Path, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("RUN_STORE_DIR".into(), dir.join("runs").display().to_string()),
        ("RUNS_UPLOAD_DIR".into(), dir.join("uploads").display().to_string()),
        ("FEATURE_FLAGS_CONFIG_PATH".into(), dir.join("config/feature_flags.json").display().to_string()),
    ]);
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|k| vars.get(k).cloned()).unwrap_or_else(|e| panic!("test config invalid: {e}"))
}

/// Starts a dispatcher on 127.0.0.1:0 with a fresh temp store and the given extra env.
pub async fn spawn_app(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = AppState::from_config(config_with(dir.path(), extra)).await.expect("test state");
    spawn_with_state(state, dir).await
}

/// Starts a dispatcher over an existing state, with the services its configuration describes.
pub async fn spawn_with_state(state: AppState, dir: tempfile::TempDir) -> TestApp {
    spawn_with_services(local::Services::new(state), dir).await
}

/// Starts a dispatcher over given services (`TestApp::services` holds the same analyze engine and
/// model registry the server uses).
pub async fn spawn_with_services(services: local::Services, dir: tempfile::TempDir) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(local::run(listener, services.clone(), async move {
        rx.await.ok();
    }));
    let state = services.app.clone();
    TestApp { addr, state, services, client: reqwest::Client::new(), dir, shutdown: Some(tx), server: Some(server) }
}

/// A new-run description of the given kind and variant.
pub fn new_run(kind: RunKind, variant: ModelVariant) -> NewRun {
    let source_type = match kind {
        RunKind::Image => SourceType::Analyze,
        RunKind::Video => SourceType::AnalyzeVideo,
        RunKind::Range => SourceType::Range,
    };
    NewRun {
        kind,
        source_type,
        model_variant: variant,
        override_source: OverrideSource::EnvDefault,
        run_name: None,
        params: serde_json::json!({"fps": 120}),
        inputs: RunInputs {
            input_type: kind.as_str().into(),
            filename: Some("seed".into()),
            content_length: None,
            frame_count: None,
        },
    }
}

/// The transition that ends a run in `status` (queued stays as created).
pub fn finish(status: common::runs::RunStatus) -> Vec<Transition> {
    use common::runs::RunStatus::*;
    match status {
        Queued => vec![],
        Processing => vec![Transition::Start],
        Succeeded => vec![
            Transition::Start,
            Transition::Succeed {
                timing: Some(common::runs::InferenceTiming { total_ms: 10.0, avg_ms_per_frame: 5.0, frame_count: 2 }),
                result: serde_json::json!({"ball_speed_mps": 60.0}),
                frame_count: Some(2),
            },
        ],
        Failed => vec![
            Transition::Start,
            Transition::Fail { error_code: "INVALID_ZIP".into(), message: "not a zip".into(), timing: None },
        ],
    }
}

/// Seeds one run created at `at`, moved to `status`.
pub async fn seed_run(
    store: &RunStore,
    at: DateTime<Utc>,
    kind: RunKind,
    variant: ModelVariant,
    status: common::runs::RunStatus,
) -> Run {
    let mut run = store.create_with_id(RunId::at(at), new_run(kind, variant)).await.expect("create run");
    for t in finish(status) {
        run = store.transition(run.run_id, t).await.expect("transition");
    }
    run
}

/// Polls `check` until it returns `Some` or `deadline` passes.
pub async fn poll_until<T, F, Fut>(deadline: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
