//! Feature flags over HTTP: the runbook's admin steps, guards, validation, ETag/If-Match, no lost
//! update under concurrent PUTs, the audit log, public evaluation, and corrupt-config handling.

use golfiq_tests::{spawn_app, TestApp};
use serde_json::{json, Value};

const TOKEN: &str = "adm1n-t0ken";
const CONFIG: &str = "/api/admin/feature-flags/config";

async fn admin_get(app: &TestApp, path: &str) -> (u16, Option<String>, Value) {
    let resp = app.client.get(app.url(path)).header("x-admin-token", TOKEN).send().await.expect("get");
    let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
    (resp.status().as_u16(), etag, resp.json().await.expect("json"))
}

async fn admin_put(app: &TestApp, body: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app
        .client
        .put(app.url(CONFIG))
        .header("x-admin-token", TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("put");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

async fn ready_status(app: &TestApp) -> (u16, Value) {
    let resp = app.client.get(app.url("/ready")).send().await.expect("ready");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

fn app_env() -> Vec<(&'static str, &'static str)> {
    vec![("ADMIN_TOKEN", TOKEN), ("REQUIRE_API_KEY", "1"), ("API_KEY", "k")]
}

#[tokio::test]
async fn the_runbook_admin_steps_work_as_written_and_ready_stays_200() {
    let app = spawn_app(&app_env()).await;
    // 2. Fetch config: defaults, version 0.
    let (status, etag, cfg) = admin_get(&app, CONFIG).await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"0\"")));
    assert_eq!(cfg["roundFlowV2"], json!({"rolloutPercent": null, "allowlist": null, "force": null}));
    assert_eq!(cfg["meta"]["version"], 0);
    // 3. Update rollout, exactly the runbook's body.
    let (status, cfg) = admin_put(&app, r#"{"roundFlowV2": {"rolloutPercent": 10}}"#, &[]).await;
    assert_eq!(status, 200, "{cfg}");
    assert_eq!(cfg["roundFlowV2"]["rolloutPercent"], 10);
    assert_eq!(cfg["meta"]["version"], 1);
    assert_eq!(cfg["meta"]["updatedBy"], "admin");
    assert!(cfg["meta"]["updatedAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    // 4. /ready stays 200 after any number of config changes.
    for pct in [20, 30, 40] {
        let (status, _) = admin_put(&app, &json!({"roundFlowV2": {"rolloutPercent": pct}}).to_string(), &[]).await;
        assert_eq!(status, 200);
        let (status, body) = ready_status(&app).await;
        assert_eq!(status, 200, "{body}");
        for name in ["feature-flags:read", "feature-flags:write"] {
            assert_eq!(golfiq_tests::ready_check(&body, name), Some("ok"), "{name}: {body}");
        }
    }
    let (_, etag, cfg) = admin_get(&app, CONFIG).await;
    assert_eq!((etag.as_deref(), &cfg["meta"]["version"]), (Some("\"4\""), &json!(4)));
    // The token never reaches the stored file.
    let stored = std::fs::read_to_string(&app.state.config.feature_flags_config_path).expect("config file");
    assert!(!stored.contains(TOKEN));
    assert_eq!(serde_json::from_str::<Value>(&stored).expect("stored json"), cfg);
}

#[tokio::test]
async fn admin_routes_need_the_token_and_close_without_one() {
    let app = spawn_app(&app_env()).await;
    for path in [CONFIG, "/api/admin/feature-flags/audit"] {
        let resp = app.client.get(app.url(path)).send().await.expect("get");
        assert_eq!(resp.status().as_u16(), 401, "{path}");
        let resp = app.client.get(app.url(path)).header("x-admin-token", "wrong").header("x-api-key", "k").send().await;
        assert_eq!(resp.expect("get").status().as_u16(), 401, "{path}");
    }
    let resp = app.client.put(app.url(CONFIG)).header("x-api-key", "k").body("{}").send().await.expect("put");
    assert_eq!(resp.status().as_u16(), 401);

    let closed = spawn_app(&[]).await;
    let resp = closed.client.get(closed.url(CONFIG)).header("x-admin-token", "").send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.json::<Value>().await.expect("json")["error_code"], "ADMIN_DISABLED");
}

#[tokio::test]
async fn invalid_updates_are_rejected_naming_the_field_and_change_nothing() {
    let app = spawn_app(&app_env()).await;
    let cases = [
        (r#"{"roundFlowV2": {"rolloutPercent": true}}"#, 422, "roundFlowV2.rolloutPercent"),
        (r#"{"roundFlowV2": {"rolloutPercent": 10.5}}"#, 422, "roundFlowV2.rolloutPercent"),
        (r#"{"roundFlowV2": {"rolloutPercent": "10"}}"#, 422, "roundFlowV2.rolloutPercent"),
        (r#"{"roundFlowV2": {"allowlist": [""]}}"#, 422, "roundFlowV2.allowlist"),
        (r#"{"roundFlowV2": {"force": "yes"}}"#, 422, "roundFlowV2.force"),
        (r#"{"roundFlowV2": {"rolloutPercent": 5, "colour": "red"}}"#, 422, "roundFlowV2.colour"),
        (r#"{"bad-name": {}}"#, 422, "invalid flag name"),
        (r#"{"meta": {"version": 99}}"#, 422, "meta"),
        (r#"{"roundFlowV2": "#, 400, "not valid JSON"),
    ];
    for (body, status, needle) in cases {
        let (got, resp) = admin_put(&app, body, &[]).await;
        assert_eq!(got, status, "{body}: {resp}");
        assert!(resp["message"].as_str().is_some_and(|m| m.contains(needle)), "{body}: {resp}");
    }
    assert_eq!(admin_get(&app, CONFIG).await.2["meta"]["version"], 0, "nothing was applied");
}

#[tokio::test]
async fn if_match_guards_against_stale_writes() {
    let app = spawn_app(&app_env()).await;
    let (status, _) = admin_put(&app, r#"{"a": {"rolloutPercent": 1}}"#, &[("if-match", "\"0\"")]).await;
    assert_eq!(status, 200);
    let (status, body) = admin_put(&app, r#"{"a": {"rolloutPercent": 2}}"#, &[("if-match", "\"0\"")]).await;
    assert_eq!((status, body["error_code"].as_str()), (412, Some("FLAGS_VERSION_CONFLICT")));
    let (status, body) = admin_put(&app, r#"{"a": {"rolloutPercent": 3}}"#, &[("if-match", "W/\"1\"")]).await;
    assert_eq!((status, &body["a"]["rolloutPercent"]), (200, &json!(3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_lose_no_update() {
    let app = spawn_app(&app_env()).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            admin_put(&app, &json!({format!("flag{i}"): {"rolloutPercent": i}}).to_string(), &[]).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 200);
    }
    let (_, _, cfg) = admin_get(&app, CONFIG).await;
    for i in 0..12 {
        assert_eq!(cfg[format!("flag{i}")]["rolloutPercent"], i, "flag{i} lost: {cfg}");
    }
    assert_eq!(cfg["meta"]["version"], 12);

    // With the same If-Match, exactly one of the racers wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            admin_put(&app, &json!({"race": {"rolloutPercent": i}}).to_string(), &[("if-match", "\"12\"")]).await.0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 412, 412, 412, 412, 412, 412, 412]);
}

#[tokio::test]
async fn every_change_is_audited_newest_first_with_identity_not_token() {
    let app = spawn_app(&app_env()).await;
    admin_put(&app, r#"{"roundFlowV2": {"rolloutPercent": 10}}"#, &[("x-admin-user", "ops@golfiq")]).await;
    admin_put(&app, r#"{"roundFlowV2": {"force": "force_on"}, "newFlag": {"allowlist": ["u1"]}}"#, &[]).await;
    let (status, _, body) = admin_get(&app, "/api/admin/feature-flags/audit?limit=10").await;
    assert_eq!(status, 200);
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(items[2]["flag"], "roundFlowV2");
    assert_eq!(items[2]["by"], "ops@golfiq");
    assert_eq!(items[2]["before"]["rolloutPercent"], Value::Null);
    assert_eq!(items[2]["after"]["rolloutPercent"], 10);
    assert_eq!(items[0]["version"], 2);
    assert!(items[..2].iter().all(|e| e["by"] == "admin"));
    assert!(items.iter().any(|e| e["flag"] == "newFlag" && e["before"].is_null()));
    assert!(!body.to_string().contains(TOKEN));
    let (_, _, one) = admin_get(&app, "/api/admin/feature-flags/audit?limit=1").await;
    assert_eq!(one["items"].as_array().expect("items").len(), 1);
    let (status, _, _) = admin_get(&app, "/api/admin/feature-flags/audit?limit=zero").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn public_evaluation_follows_force_allowlist_and_buckets() {
    let app = spawn_app(&app_env()).await;
    admin_put(&app, r#"{"roundFlowV2": {"rolloutPercent": 64}, "modelVariantYolov11": {"allowlist": ["bob"]}}"#, &[])
        .await;
    let eval = |user: Option<&'static str>| {
        let app = &app;
        async move {
            let mut req = app.client.get(app.url("/api/feature-flags")).header("x-api-key", "k");
            if let Some(u) = user {
                req = req.header("x-user-id", u);
            }
            let resp = req.send().await.expect("get");
            assert_eq!(resp.status().as_u16(), 200);
            resp.json::<Value>().await.expect("json")
        }
    };
    // Buckets for roundFlowV2 (sha256 formula): alice 63, bob 52, anonymous 39.
    let alice = eval(Some("alice")).await;
    assert_eq!(alice["version"], 1);
    assert_eq!(
        alice["flags"]["roundFlowV2"],
        json!({"enabled": true, "rolloutPct": 64, "source": "rollout", "reason": "bucket 63 < 64"})
    );
    assert_eq!(alice["flags"]["modelVariantYolov11"]["enabled"], false);
    let bob = eval(Some("bob")).await;
    assert_eq!(bob["flags"]["modelVariantYolov11"]["source"], "allowlist");
    let anon = eval(None).await;
    assert_eq!(anon["user"], "anonymous");
    assert_eq!(anon["flags"]["roundFlowV2"]["enabled"], true);
    let resp = app.client.get(app.url("/api/feature-flags")).send().await.expect("no key");
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn a_corrupt_config_is_reported_refused_and_only_replaced_when_forced() {
    let app = spawn_app(&app_env()).await;
    admin_put(&app, r#"{"roundFlowV2": {"rolloutPercent": 10}}"#, &[]).await;
    let path = app.state.config.feature_flags_config_path.clone();
    std::fs::write(&path, b"{\"roundFlowV2\": {\"rolloutPercent\": ").expect("corrupt it");

    let (status, _, body) = admin_get(&app, CONFIG).await;
    assert_eq!((status, body["error_code"].as_str()), (500, Some("FLAGS_CONFIG_CORRUPT")));
    let (status, body) = ready_status(&app).await;
    assert_eq!(status, 503);
    assert_eq!(golfiq_tests::ready_check(&body, "feature-flags:read"), Some("error"));

    let (status, body) = admin_put(&app, r#"{"roundFlowV2": {"rolloutPercent": 20}}"#, &[]).await;
    assert_eq!((status, body["error_code"].as_str()), (500, Some("FLAGS_CONFIG_CORRUPT")));
    assert_eq!(std::fs::read(&path).expect("read"), b"{\"roundFlowV2\": {\"rolloutPercent\": ", "refused: untouched");

    let resp = app
        .client
        .put(app.url(&format!("{CONFIG}?force=true")))
        .header("x-admin-token", TOKEN)
        .body(r#"{"roundFlowV2": {"rolloutPercent": 20}}"#)
        .send()
        .await
        .expect("forced put");
    assert_eq!(resp.status().as_u16(), 200);
    let kept: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("feature_flags.corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "the corrupt file is kept aside");
    assert_eq!(std::fs::read(kept[0].path()).expect("read"), b"{\"roundFlowV2\": {\"rolloutPercent\": ");
    assert_eq!(ready_status(&app).await.0, 200);
    assert_eq!(admin_get(&app, CONFIG).await.2["roundFlowV2"]["rolloutPercent"], 20);
}
