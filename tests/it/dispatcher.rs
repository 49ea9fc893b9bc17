//! The dispatcher on 127.0.0.1:0 answering the runbook's requests, and its guards and edges.

use chrono::{Duration, Utc};
use common::runs::{ModelVariant, RunKind, RunStatus};
use golfiq_tests::{seed_run, spawn_app};
use serde_json::{json, Value};

async fn get_json(app: &golfiq_tests::TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    assert_eq!(resp.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"), "{path}");
    (status, resp.json().await.expect("json body"))
}

#[tokio::test]
async fn health_reports_build_and_config_facts() {
    let app = spawn_app(&[("MODEL_VARIANT", "yolov11")]).await;
    let (status, body) = get_json(&app, "/health", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["model_variant"], "yolov11");
    assert_eq!(body["run_store_backend"], "file");
    assert_eq!(body["version"], common::VERSION);
    assert!(body["git_sha"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        (&body["git"], &body["env"], &body["runtime"]),
        (&body["git_sha"], &"development".into(), &"dispatcher".into())
    );
    app.stop().await.expect("graceful shutdown");
    // The build stamps a deployment sets win over what was baked in.
    let app = spawn_app(&[("BUILD_VERSION", "2026.12.5"), ("GIT_SHA", "abc1234"), ("APP_ENV", "qa")]).await;
    let (_, body) = get_json(&app, "/health", &[]).await;
    assert_eq!(
        (&body["version"], &body["git"], &body["env"]),
        (&"2026.12.5".into(), &"abc1234".into(), &"qa".into()),
        "{body}"
    );
    app.stop().await.expect("graceful shutdown");
}

#[tokio::test]
async fn ready_is_200_when_every_check_passes_and_503_naming_the_failure() {
    let app = spawn_app(&[]).await;
    let (status, body) = get_json(&app, "/ready", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    let names: Vec<&str> =
        body["checks"].as_array().expect("checks").iter().filter_map(|c| c["name"].as_str()).collect();
    for n in ["run_store:write", "upload_dir:write", "feature-flags:read", "feature-flags:write"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }

    // An upload "directory" that is a file cannot be written: 503 and that check marked error.
    let dir = tempfile::tempdir().expect("tmp");
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("write blocker");
    let bad = spawn_app(&[
        ("RUNS_UPLOAD_DIR", blocker.to_str().expect("utf8")),
        ("GOLFIQ_BAGS_DIR", blocker.to_str().expect("utf8")),
    ])
    .await;
    let (status, body) = get_json(&bad, "/ready", &[]).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "error");
    let failed: Vec<&str> = body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "error")
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(failed, vec!["upload_dir:write", "bags_dir:write"]);
    assert!(!body.to_string().contains(blocker.to_str().expect("utf8")), "paths stay in the log");

    // A corrupt flags file is named too.
    let flags = app.state.config.feature_flags_config_path.clone();
    std::fs::create_dir_all(flags.parent().expect("parent")).expect("mkdir");
    std::fs::write(&flags, b"{not json").expect("corrupt");
    let (status, body) = get_json(&app, "/ready", &[]).await;
    assert_eq!(status, 503);
    assert_eq!(golfiq_tests::ready_check(&body, "feature-flags:read"), Some("error"));
}

#[tokio::test]
async fn runbook_runs_requests_list_filter_page_and_fetch() {
    let app = spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", "k-123")]).await;
    let store = &app.state.runs;
    let now = Utc::now();
    let mut seeded = Vec::new();
    for i in 0..12 {
        let status = [RunStatus::Processing, RunStatus::Succeeded, RunStatus::Failed][i % 3];
        let kind = RunKind::ALL[i % 3];
        seeded.push(seed_run(store, now - Duration::seconds(i as i64), kind, ModelVariant::Yolov10, status).await);
    }
    let key = [("x-api-key", "k-123")];

    // curl -s "http://localhost:8000/runs/v1?limit=5" -H "x-api-key: $API_KEY"
    let (status, body) = get_json(&app, "/runs/v1?limit=5", &key).await;
    assert_eq!(status, 200);
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["run_id"], seeded[0].run_id.to_string(), "newest first");
    let cursor = body["next_cursor"].as_str().expect("next_cursor");
    let (status, page2) = get_json(&app, &format!("/runs/v1?limit=5&cursor={cursor}"), &key).await;
    assert_eq!(status, 200);
    assert_eq!(page2["items"][0]["run_id"], seeded[5].run_id.to_string());

    let (_, failed) = get_json(&app, "/runs/v1?status=failed&kind=range", &key).await;
    let failed = failed["items"].as_array().expect("items");
    assert!(!failed.is_empty());
    assert!(failed.iter().all(|r| r["status"] == "failed" && r["kind"] == "range"));

    // curl -s "http://localhost:8000/runs/v1/${RUN_ID}" -H "x-api-key: $API_KEY"
    let id = seeded[1].run_id.to_string();
    let (status, run) = get_json(&app, &format!("/runs/v1/{id}"), &key).await;
    assert_eq!(status, 200);
    assert_eq!(run["run_id"], id);
    assert_eq!(run["status"], "succeeded");
    for field in common::runs::RUNBOOK_FIELDS {
        assert!(run.get(field).is_some(), "{field}");
    }
    assert_eq!(run["inference_timing"]["frame_count"], 2);
    assert!(run["finished_at"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn bad_listing_parameters_are_400s_naming_the_parameter() {
    let app = spawn_app(&[]).await;
    let cases = [
        ("/runs/v1?status=done", "INVALID_FILTER", "status"),
        ("/runs/v1?kind=photo", "INVALID_FILTER", "kind"),
        ("/runs/v1?model_variant=yolov99", "INVALID_FILTER", "model_variant"),
        ("/runs/v1?created_after=yesterday", "INVALID_FILTER", "created_after"),
        ("/runs/v1?limit=0", "INVALID_LIMIT", "limit"),
        ("/runs/v1?limit=ten", "INVALID_LIMIT", "limit"),
        ("/runs/v1?cursor=abc", "INVALID_CURSOR", "cursor"),
        ("/runs/v1?cursor=1%3A0190a0b0-0000-7000-8000-000000000000", "INVALID_CURSOR", "cursor"),
    ];
    for (path, code, needle) in cases {
        let (status, body) = get_json(&app, path, &[]).await;
        assert_eq!((status, body["error_code"].as_str()), (400, Some(code)), "{path}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains(needle)), "{path}: {body}");
    }
    // Above the maximum is clamped, not refused.
    let (status, body) = get_json(&app, "/runs/v1?limit=5000&model_variant=YOLOv10", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn run_ids_are_validated_before_they_touch_the_store() {
    let app = spawn_app(&[]).await;
    for bad in ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "not-a-uuid", "0190a0b0-0000-7000-8000-00000000000"] {
        let (status, body) = get_json(&app, &format!("/runs/v1/{bad}"), &[]).await;
        assert_eq!((status, body["error_code"].as_str()), (400, Some("INVALID_RUN_ID")), "{bad}");
    }
    let (status, body) = get_json(&app, &format!("/runs/v1/{}", uuid::Uuid::now_v7()), &[]).await;
    assert_eq!((status, body["error_code"].as_str()), (404, Some("RUN_NOT_FOUND")));
}

#[tokio::test]
async fn api_key_guard_covers_every_route_but_health_and_ready() {
    let app = spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", "s3cret")]).await;
    // (Header values lose surrounding whitespace in transit, so "s3cret " would arrive as the key.)
    let unauthorized = json!({"error_code": "UNAUTHORIZED", "message": "invalid api key"});
    for headers in [&[][..], &[("x-api-key", "wrong")], &[("x-api-key", "")]] {
        let (status, body) = get_json(&app, "/runs/v1", headers).await;
        assert_eq!((status, &body), (401, &unauthorized), "{headers:?}");
    }
    assert_eq!(get_json(&app, "/runs/v1", &[("x-api-key", "s3cret")]).await.0, 200);
    assert_eq!(get_json(&app, "/runs/v1?apiKey=s3cret", &[]).await.0, 200);
    assert_eq!(get_json(&app, "/runs/v1?apiKey=nope", &[]).await.0, 401);
    assert_eq!(get_json(&app, "/health", &[]).await.0, 200);
    assert_eq!(get_json(&app, "/ready", &[]).await.0, 200);

    // Without REQUIRE_API_KEY the same routes are open.
    let open = spawn_app(&[]).await;
    assert_eq!(get_json(&open, "/runs/v1", &[]).await.0, 200);
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_oversized_bodies_get_json_errors() {
    let app = spawn_app(&[("MAX_BODY_BYTES", "1000")]).await;
    let (status, body) = get_json(&app, "/nope", &[]).await;
    assert_eq!((status, body["error_code"].as_str()), (404, Some("NOT_FOUND")));

    let resp = app.client.delete(app.url("/runs/v1")).send().await.expect("delete");
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
    assert_eq!(resp.json::<Value>().await.expect("json")["error_code"], "METHOD_NOT_ALLOWED");
    // A literal segment owns its path: `uploads` and `prune` are no run ids.
    for (path, allow) in [("/runs/v1/uploads", "POST"), ("/runs/v1/prune", "POST")] {
        let resp = app.client.get(app.url(path)).send().await.expect("get");
        assert_eq!(resp.status().as_u16(), 405, "{path}");
        assert_eq!(resp.headers().get("allow").and_then(|v| v.to_str().ok()), Some(allow), "{path}");
    }

    let resp = app.client.post(app.url("/runs/v1")).body(vec![7u8; 2000]).send().await.expect("post");
    assert_eq!(resp.status().as_u16(), 413);
    assert_eq!(resp.json::<Value>().await.expect("json")["error_code"], "PAYLOAD_TOO_LARGE");

    // Chunked (no Content-Length) bodies are capped while streaming.
    let chunks = futures::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![1u8; 100])));
    let resp =
        app.client.post(app.url("/runs/v1")).body(reqwest::Body::wrap_stream(chunks)).send().await.expect("post");
    assert_eq!(resp.status().as_u16(), 413);
}

#[tokio::test]
async fn preview_images_are_served_as_png_when_a_run_has_one() {
    let app = spawn_app(&[]).await;
    let run = seed_run(&app.state.runs, Utc::now(), RunKind::Video, ModelVariant::Yolov10, RunStatus::Succeeded).await;
    let url = app.url(&format!("/runs/v1/{}/preview.png", run.run_id));
    let resp = app.client.get(&url).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 404);
    let png = [0x89u8, b'P', b'N', b'G', 0, 1, 2, 255];
    app.state.runs.put_artifact(run.run_id, "preview.png", &png).await.expect("artifact");
    let resp = app.client.get(&url).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), &png, "binary body survives byte for byte");
}

#[tokio::test]
async fn large_files_go_through_an_upload_ticket_and_a_put() {
    let app = spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", "k")]).await;
    let resp = app
        .client
        .post(app.url("/runs/v1/uploads"))
        .header("x-api-key", "k")
        .json(&json!({"filename": "Swing.MP4", "content_type": "video/mp4"}))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 201);
    let ticket: Value = resp.json().await.expect("json");
    let key = ticket["upload_key"].as_str().expect("key").to_string();
    for (bad, code) in [
        (json!({"content_type": "video/mp4\nx"}), "INVALID_UPLOAD"),
        (json!({"content_type": 7}), "INVALID_UPLOAD"),
        (json!({"filename": ["a.mp4"]}), "INVALID_UPLOAD"),
        (json!(["not", "an", "object"]), "INVALID_JSON"),
    ] {
        let resp = app.client.post(app.url("/runs/v1/uploads")).header("x-api-key", "k").json(&bad).send();
        let resp = resp.await.expect("post");
        assert_eq!(resp.status().as_u16(), 400, "{bad}");
        assert_eq!(resp.json::<Value>().await.expect("json")["error_code"], code, "{bad}");
    }
    assert!(key.starts_with("up-") && key.ends_with(".mp4"), "{key}");
    assert_eq!(ticket["method"], "PUT");
    let url = ticket["url"].as_str().expect("url");
    assert_eq!(url, app.url(&format!("/runs/v1/uploads/{key}")), "the file backend points back to the dispatcher");
    let video = vec![0x42u8; 3 * 1024 * 1024];
    let put =
        app.client.put(url).header("x-api-key", "k").header("content-type", "video/mp4").body(video.clone()).send();
    assert_eq!(put.await.expect("put").status().as_u16(), 200);
    assert_eq!(app.state.uploads.get(&key).await.expect("stored"), video);
    assert!(app.state.config.runs_upload_dir.join(&key).is_file(), "stored under RUNS_UPLOAD_DIR");

    for (bad, code) in [("..%2F..%2Fetc%2Fpasswd", "INVALID_UPLOAD_KEY"), ("up-nope.mp4", "INVALID_UPLOAD_KEY")] {
        let resp =
            app.client.put(app.url(&format!("/runs/v1/uploads/{bad}"))).header("x-api-key", "k").body("x").send();
        let resp = resp.await.expect("put");
        assert_eq!(resp.status().as_u16(), 400, "{bad}");
        assert_eq!(resp.json::<Value>().await.expect("json")["error_code"], code);
    }
    let empty = app.client.put(app.url(&format!("/runs/v1/uploads/{key}"))).header("x-api-key", "k").send().await;
    assert_eq!(empty.expect("put").json::<Value>().await.expect("json")["error_code"], "INVALID_UPLOAD");
    let unauthorized = app.client.post(app.url("/runs/v1/uploads")).send().await.expect("post");
    assert_eq!(unauthorized.status().as_u16(), 401);

    // The dispatcher takes a PUT only for a ticket it issued, until the ticket's expires_at.
    let put = |key: String| {
        app.client.put(app.url(&format!("/runs/v1/uploads/{key}"))).header("x-api-key", "k").body("x").send()
    };
    let unknown = put(format!("up-{}.mp4", uuid::Uuid::new_v4())).await.expect("put");
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(unknown.json::<Value>().await.expect("json")["error_code"], "UPLOAD_NOT_FOUND");
    let ticket_file = app.state.config.runs_upload_dir.join("tickets").join(format!("{key}.json"));
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&ticket_file).expect("ticket kept")).expect("json");
    assert_eq!(kept["expires_at"], ticket["expires_at"]);
    std::fs::write(&ticket_file, json!({"expires_at": "2026-01-01T00:00:00.000Z"}).to_string())
        .expect("age the ticket");
    let expired = put(key.clone()).await.expect("put");
    assert_eq!(expired.status().as_u16(), 410);
    let body: Value = expired.json().await.expect("json");
    assert_eq!(body["error_code"], "UPLOAD_EXPIRED", "{body}");
    assert_eq!(app.state.uploads.get(&key).await.expect("kept"), video, "the earlier upload is untouched");
}

#[tokio::test]
async fn cors_lets_listed_origins_in_with_credentials_and_tells_others_nothing() {
    let app = spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", "k")]).await;
    let cors_headers = |resp: &reqwest::Response| -> Vec<(String, String)> {
        resp.headers()
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("access-control-"))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect()
    };
    // A preflight from the web app's dev server, on a route with a path parameter and on an admin route.
    for path in ["/runs/v1/0193a4b2-0000-7000-8000-000000000000", "/api/admin/feature-flags/config"] {
        let resp = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "x-admin-token, if-match, content-type")
            .send()
            .await
            .expect("preflight");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:5173", "{path}");
        assert_eq!(h["access-control-allow-credentials"], "true");
        let allowed = h["access-control-allow-headers"].to_str().expect("ascii").to_ascii_lowercase();
        for name in common::http::CORS_ALLOWED_HEADERS {
            assert!(allowed.contains(name), "{name} in {allowed}");
        }
        assert!(h["access-control-allow-methods"].to_str().expect("ascii").contains("PUT"));
    }
    // The real request: the origin echoed, credentials allowed, ETag readable by the page.
    let resp = app
        .client
        .get(app.url("/runs/v1"))
        .header("x-api-key", "k")
        .header("origin", "http://127.0.0.1")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "http://127.0.0.1");
    assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
    // A foreign origin, or a near miss, gets no CORS header at all (the request itself still runs).
    for origin in ["https://evil.example", "http://localhost:5174", "http://localhost:5173.evil.example"] {
        let resp = app.client.get(app.url("/health")).header("origin", origin).send().await.expect("get");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(cors_headers(&resp), vec![], "{origin}");
        let resp = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/runs/v1"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
            .await
            .expect("preflight");
        assert_eq!(cors_headers(&resp), vec![], "{origin} preflight");
    }
    app.stop().await.expect("graceful shutdown");
    // CORS_ALLOW_ORIGINS replaces the defaults.
    let app = spawn_app(&[("CORS_ALLOW_ORIGINS", "https://app.golfiq.example, https://ops.golfiq.example/")]).await;
    let get = |origin: &'static str| app.client.get(app.url("/health")).header("origin", origin).send();
    let resp = get("https://ops.golfiq.example").await.expect("get");
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://ops.golfiq.example");
    let resp = get("http://localhost:5173").await.expect("get");
    assert!(resp.headers().get("access-control-allow-origin").is_none(), "the defaults are replaced");
    app.stop().await.expect("graceful shutdown");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_report_runs_and_the_queue() {
    let app = spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", "k")]).await;
    for _ in 0..3 {
        get_json(&app, "/health", &[]).await;
    }
    let id = "0193a4b2-0000-7000-8000-000000000000";
    let resp = app.client.get(app.url(&format!("/runs/v1/{id}"))).header("x-api-key", "k").send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 404);
    let resp = app.client.get(app.url("/metrics")).send().await.expect("no key");
    assert_eq!(resp.status().as_u16(), 401, "the metrics take the API key");
    let resp = app.client.get(app.url("/metrics")).header("x-api-key", "k").send().await.expect("metrics");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain"));
    let text = resp.text().await.expect("text");
    let value = |needle: &str| -> Option<f64> {
        text.lines().find(|l| l.starts_with(needle)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    // Other tests share the process's recorder, so counts are at least ours.
    let health = value(r#"requests_total{route="/health",method="GET",status="200"}"#).unwrap_or(0.0);
    assert!(health >= 3.0, "{text}");
    assert!(
        value(r#"requests_total{route="/runs/v1/{run_id}",method="GET",status="404"}"#).is_some(),
        "the template, not the id: {text}"
    );
    assert!(!text.contains(id), "no raw path in a label");
    assert!(text.contains("request_latency_seconds_bucket{"), "{text}");
    for status in ["queued", "processing", "succeeded", "failed"] {
        assert!(value(&format!("runs{{status=\"{status}\"}}")).is_some(), "runs by {status}: {text}");
    }
    assert!(value("inference_queue_depth").is_some(), "{text}");
    app.stop().await.expect("graceful shutdown");
}
