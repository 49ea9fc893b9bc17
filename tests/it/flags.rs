//! Feature flags over HTTP: the runbook's admin steps, guards, validation, ETag/If-Match, no lost
//! update under concurrent PUTs, the audit log, public evaluation, corrupt-config handling, and the
//! original server's ways: its config files, its environment fallbacks, its allowlist routes.

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
    assert_eq!(cfg["roundFlowV2"], json!({"rolloutPercent": 0, "allowlist": [], "force": null}));
    assert_eq!(cfg["meta"], json!({"updatedAt": null, "updatedBy": null, "version": 0}));
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
    let stored: Value = serde_json::from_str(&stored).expect("stored json");
    assert_eq!((&stored["roundFlowV2"]["rolloutPercent"], &stored["meta"]), (&json!(40), &cfg["meta"]));
    // The file keeps only what was set, so the environment can still fill the rest.
    assert_eq!(stored["practiceGrowthV1"], json!({"rolloutPercent": null, "allowlist": null, "force": null}));
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
    // RFC 9110: `*` matches whatever is current; a list matches when one of its tags does.
    let (status, _) = admin_put(&app, r#"{"a": {"rolloutPercent": 4}}"#, &[("if-match", "*")]).await;
    assert_eq!(status, 200);
    let (status, _) = admin_put(&app, r#"{"a": {"rolloutPercent": 5}}"#, &[("if-match", "\"1\", \"3\"")]).await;
    assert_eq!(status, 200, "version 3 is in the list");
    let (status, _) = admin_put(&app, r#"{"a": {"rolloutPercent": 6}}"#, &[("if-match", "\"1\", \"2\"")]).await;
    assert_eq!(status, 412);
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
        json!({"enabled": true, "rolloutPct": 64, "source": "rollout", "reason": "percent"})
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

async fn evaluate_for(app: &TestApp, user: &str) -> Value {
    let resp = app.client.get(app.url("/api/feature-flags")).header("x-api-key", "k").header("x-user-id", user);
    let resp = resp.send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn a_config_file_the_original_server_wrote_keeps_staging_up() {
    let app = spawn_app(&app_env()).await;
    // The original's format, written by hand from its documented fields: no meta.version, force
    // as a boolean or a string, nulls, and a field this server does not know.
    let original = r#"{
  "roundFlowV2": {"rolloutPercent": 25, "allowlist": ["alice"], "force": null},
  "practiceGrowthV1": {"rolloutPercent": null, "allowlist": null, "force": true},
  "modelVariantYolov11": {"force": "force_off", "description": "v11 rollout"},
  "meta": {"updatedAt": "2026-10-01T12:00:00Z", "updatedBy": "ops"}
}"#;
    let path = app.state.config.feature_flags_config_path.clone();
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&path, original).expect("write");
    let (status, body) = ready_status(&app).await;
    assert_eq!(status, 200, "{body}");
    let (status, etag, cfg) = admin_get(&app, CONFIG).await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"0\"")), "{cfg}");
    assert_eq!(cfg["practiceGrowthV1"], json!({"rolloutPercent": 0, "allowlist": [], "force": "force_on"}));
    assert_eq!(cfg["meta"], json!({"updatedAt": "2026-10-01T12:00:00Z", "updatedBy": "ops", "version": 0}));
    let alice = evaluate_for(&app, "alice").await;
    assert_eq!(alice["flags"]["roundFlowV2"]["reason"], "allowlist");
    assert_eq!(alice["flags"]["practiceGrowthV1"]["reason"], "force_on");
    assert_eq!(alice["flags"]["modelVariantYolov11"]["reason"], "force_off");
    // The first write goes on from it: version 1, the other flags kept.
    let (status, cfg) = admin_put(&app, r#"{"roundFlowV2": {"rolloutPercent": 30}}"#, &[("if-match", "\"0\"")]).await;
    assert_eq!((status, &cfg["meta"]["version"]), (200, &json!(1)), "{cfg}");
    assert_eq!(cfg["roundFlowV2"]["allowlist"], json!(["alice"]));
    assert_eq!(cfg["practiceGrowthV1"]["force"], "force_on");
}

#[tokio::test]
async fn the_environment_sets_what_the_file_leaves_unset() {
    let mut env = app_env();
    env.extend([
        ("ROUND_FLOW_V2_ROLLOUT_PCT", "100"),
        ("PRACTICE_GROWTH_V1_FORCE", "on"),
        ("MODEL_VARIANT_YOLOV11_ALLOWLIST", "carol, dave"),
    ]);
    let app = spawn_app(&env).await;
    let alice = evaluate_for(&app, "alice").await;
    assert_eq!(
        alice["flags"]["roundFlowV2"],
        json!({"enabled": true, "rolloutPct": 100, "source": "rollout", "reason": "percent"})
    );
    assert_eq!(alice["flags"]["practiceGrowthV1"]["reason"], "force_on");
    assert_eq!(evaluate_for(&app, "carol").await["flags"]["modelVariantYolov11"]["reason"], "allowlist");
    let (_, _, cfg) = admin_get(&app, CONFIG).await;
    assert_eq!(cfg["modelVariantYolov11"]["allowlist"], json!(["carol", "dave"]), "answers show what is in effect");
    // A value in the file wins over the environment.
    admin_put(&app, r#"{"roundFlowV2": {"rolloutPercent": 0}, "practiceGrowthV1": {"force": "force_off"}}"#, &[]).await;
    let alice = evaluate_for(&app, "alice").await;
    assert_eq!(alice["flags"]["roundFlowV2"]["reason"], "default_off");
    assert_eq!(alice["flags"]["practiceGrowthV1"]["reason"], "force_off");
}

#[tokio::test]
async fn allowlist_add_and_remove_are_audited_changes_of_the_list_in_effect() {
    let mut env = app_env();
    env.push(("MODEL_VARIANT_YOLOV11_ALLOWLIST", "carol"));
    let app = spawn_app(&env).await;
    let post = |op: &'static str, body: Value, token: Option<&'static str>| {
        let app = &app;
        async move {
            let mut req =
                app.client.post(app.url(&format!("/api/admin/feature-flags/modelVariantYolov11/allowlist:{op}")));
            if let Some(t) = token {
                req = req.header("x-admin-token", t);
            }
            let resp =
                req.header("content-type", "application/json").body(body.to_string()).send().await.expect("post");
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = post("add", json!({"userId": "alice"}), None).await;
    assert_eq!((status, body["error_code"].as_str()), (401, Some("ADMIN_UNAUTHORIZED")), "{body}");
    let (status, cfg) = post("add", json!({"userId": "alice"}), Some(TOKEN)).await;
    assert_eq!(status, 200, "{cfg}");
    assert_eq!(cfg["modelVariantYolov11"]["allowlist"], json!(["carol", "alice"]), "the environment's users are kept");
    assert_eq!(cfg["meta"]["version"], 1);
    let (_, cfg) = post("add", json!({"userId": "alice"}), Some(TOKEN)).await;
    assert_eq!(cfg["modelVariantYolov11"]["allowlist"], json!(["carol", "alice"]), "adding twice changes nothing");
    assert_eq!(evaluate_for(&app, "alice").await["flags"]["modelVariantYolov11"]["reason"], "allowlist");
    let (status, cfg) = post("remove", json!({"userId": "carol"}), Some(TOKEN)).await;
    assert_eq!((status, &cfg["modelVariantYolov11"]["allowlist"]), (200, &json!(["alice"])));
    let unknown = app
        .client
        .post(app.url("/api/admin/feature-flags/noSuchFlag/allowlist:remove"))
        .header("x-admin-token", TOKEN)
        .body(json!({"userId": "u1"}).to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(unknown.status().as_u16(), 200);
    let cfg: Value = unknown.json().await.expect("json");
    assert_eq!(cfg.get("noSuchFlag"), None, "a remove from a flag that does not exist creates nothing: {cfg}");
    let (status, body) = post("remove", json!({"userId": "  "}), Some(TOKEN)).await;
    assert_eq!((status, body["error_code"].as_str()), (422, Some("INVALID_FLAGS_CONFIG")), "{body}");
    let (_, _, audit) = admin_get(&app, "/api/admin/feature-flags/audit").await;
    let entries = audit["items"].as_array().expect("items");
    assert_eq!(entries.len(), 2, "one entry per change, none for the no-op: {audit}");
    assert_eq!(entries[0]["after"]["allowlist"], json!(["alice"]));
    assert_eq!(entries[1]["before"]["allowlist"], Value::Null, "the file had no list before");
}
