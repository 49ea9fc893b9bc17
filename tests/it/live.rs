//! Live events through the dispatcher: the host's heartbeat and stream, viewer tokens, invites and
//! their rate limit, signed HLS URLs, the guards, and state that survives a restart and is shared
//! by two dispatchers on one store.

use chrono::Utc;
use common::state::AppState;
use golfiq_tests::{config_with, poll_until, spawn_with_state, TestApp};
use live::signing;
use serde_json::{json, Value};

const ADMIN: &str = "admin-t";
const VIEWER_KEY: &str = "viewer-key-t";
const HLS_SECRET: &str = "hls-secret-t";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("REQUIRE_API_KEY", "1"),
        ("API_KEY", "k"),
        ("ADMIN_TOKEN", ADMIN),
        ("LIVE_VIEWER_SIGN_KEY", VIEWER_KEY),
        ("LIVE_SIGN_SECRET", HLS_SECRET),
        ("WEB_BASE_URL", "https://web.example/"),
    ]
}

async fn start(dir: tempfile::TempDir, extra: &[(&str, &str)]) -> TestApp {
    let state = AppState::from_config(config_with(dir.path(), extra)).await.expect("state");
    spawn_with_state(state, dir).await
}

/// A second dispatcher on the same store as `app`.
async fn twin(app: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let state = AppState::from_config(config_with(app.dir.path(), extra)).await.expect("state");
    spawn_with_state(state, tempfile::tempdir().expect("unused dir")).await
}

/// Sends one request: admin routes get the admin token, the others the API key.
async fn call(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let admin = ["/heartbeat", "/start", "/stop", "/token", "/viewer_link"]
        .iter()
        .any(|p| path.split('?').next().unwrap_or("").ends_with(p));
    let mut req = app.client.request(method.parse().expect("method"), app.url(path));
    req = if admin { req.header("x-admin-token", ADMIN) } else { req.header("x-api-key", "k") };
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_event_from_heartbeat_to_stop_with_tokens_invites_and_signed_urls() {
    let app = start(
        tempfile::tempdir().expect("dir"),
        &[env(), vec![("MEDIA_CDN_BASE_URL", "https://cdn.example")]].concat(),
    )
    .await;
    let mut seen = Vec::new();
    let (s, state) = call(&app, "GET", "/events/evt1/live", None).await;
    assert_eq!(
        (s, &state),
        (
            200,
            &json!({"isLive": false, "viewerUrl": null, "startedTs": null, "updatedTs": null, "streamId": null, "latencyMode": "ll-hls"})
        )
    );

    let hb = json!({"streamId": "s-1", "viewerUrl": "https://origin.example/hls/evt1/index.m3u8?lang=en", "latencyMode": "ll-hls"});
    let (s, state) = call(&app, "POST", "/events/evt1/live/heartbeat", Some(hb)).await;
    assert_eq!((s, state["isLive"].as_bool(), state["streamId"].as_str()), (200, Some(true), Some("s-1")), "{state}");
    assert_eq!(state["viewerUrl"], "https://cdn.example/hls/evt1/index.m3u8?lang=en", "served from the CDN");
    let (_, state) = call(&app, "POST", "/events/evt1/live/heartbeat", Some(json!({"streamId": ""}))).await;
    assert_eq!(
        (state["streamId"].clone(), state["latencyMode"].as_str()),
        (Value::Null, Some("ll-hls")),
        "\"\" clears, absent keeps"
    );

    // No token before the stream runs.
    let (s, err) = call(&app, "POST", "/events/evt1/live/token", None).await;
    assert_eq!((s, err["error_code"].as_str()), (409, Some("LIVE_NOT_RUNNING")));
    let (s, started) = call(&app, "POST", "/events/evt1/live/start", Some(json!({"source": "mock"}))).await;
    assert_eq!(
        (s, started["hlsPath"].as_str()),
        (200, Some("https://cdn.example/hls/mock/evt1/index.m3u8")),
        "{started}"
    );
    assert!(started["startedAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    let (s, err) = call(&app, "POST", "/events/evt1/live/start", None).await;
    assert_eq!((s, err["error_code"].as_str()), (409, Some("LIVE_ALREADY_RUNNING")));
    let (s, err) = call(&app, "POST", "/events/evt1/live/start", Some(json!({"source": "livekit"}))).await;
    assert_eq!((s, err["error_code"].as_str()), (503, Some("LIVE_SOURCE_UNAVAILABLE")));

    // A token shows the HLS path and counts its viewer once.
    let now = Utc::now().timestamp();
    let (s, minted) = call(&app, "POST", "/events/evt1/live/token", Some(json!({"ttl": 600}))).await;
    let token = minted["token"].as_str().expect("token").to_string();
    let exp = minted["exp"].as_i64().expect("exp");
    assert!(s == 200 && (now + 599..=now + 601).contains(&exp), "{minted}");
    assert!(signing::verify_token(VIEWER_KEY.as_bytes(), "evt1", &token, now).is_some(), "signed as documented");
    seen.push(minted.to_string());
    for _ in 0..2 {
        let (s, status) = call(&app, "GET", &format!("/events/evt1/live/status?token={token}"), None).await;
        assert_eq!(
            (s, status["running"].as_bool(), status["viewers"].as_u64()),
            (200, Some(true), Some(1)),
            "{status}"
        );
        assert_eq!(status["hlsPath"], "https://cdn.example/hls/mock/evt1/index.m3u8");
    }
    for path in [
        "/events/evt1/live/status",
        "/events/evt1/live/status?token=bogus",
        &format!("/events/evt2/live/status?token={token}"),
    ] {
        let (s, status) = call(&app, "GET", path, None).await;
        assert!(s == 200 && status.get("hlsPath").is_none(), "{path}: {status}");
    }
    let (_, err) = call(&app, "POST", "/events/evt1/live/token", Some(json!({"ttl": "long"}))).await;
    assert_eq!(err["error_code"], "INVALID_LIVE_REQUEST");

    // The viewer link's invite trades for a token that expires with it.
    let (s, link) = call(&app, "GET", "/events/evt1/live/viewer_link", None).await;
    let url = link["url"].as_str().expect("url").to_string();
    let invite = url.strip_prefix("https://web.example/events/evt1/live-view?invite=").expect("link shape").to_string();
    assert_eq!(s, 200);
    let granted = signing::verify_invite(VIEWER_KEY.as_bytes(), &invite, now).expect("a valid invite");
    let (s, exchanged) = call(&app, "POST", "/events/evt1/live/exchange_invite", Some(json!({"invite": invite}))).await;
    assert_eq!((s, exchanged["exp"].as_i64()), (200, Some(granted.exp)), "{exchanged}");
    seen.push(exchanged.to_string());
    let second = exchanged["token"].as_str().expect("token");
    let (_, status) = call(&app, "GET", &format!("/events/evt1/live/status?token={second}"), None).await;
    assert_eq!(status["viewers"], 2);
    for (body, why) in [
        (json!({"invite": invite.clone()}), "another event's invite"),
        (json!({"invite": ""}), "empty"),
        (json!({}), "missing"),
        (json!({"invite": format!("{invite}x")}), "tampered"),
    ] {
        let (s, err) = call(&app, "POST", "/events/evt2/live/exchange_invite", Some(body)).await;
        assert_eq!((s, err["error_code"].as_str()), (400, Some("INVALID_INVITE")), "{why}");
    }

    // The signed HLS URL: path-only signature, exp and sig appended, on the CDN.
    let (s, signed) = call(&app, "POST", "/api/events/evt1/live/viewer-token", None).await;
    let exp = signed["expTs"].as_i64().expect("exp");
    let sig = signing::url_signature(HLS_SECRET.as_bytes(), "/hls/evt1/index.m3u8", exp);
    assert_eq!(s, 200);
    assert_eq!(signed["viewerUrl"], format!("https://cdn.example/hls/evt1/index.m3u8?lang=en&exp={exp}&sig={sig}"));
    assert_eq!(signed["ttlSec"], 120);
    let (_, fresh) = call(&app, "GET", &format!("/api/events/evt1/live/refresh?expTs={exp}"), None).await;
    assert_eq!(fresh, json!({"viewerUrl": "", "expTs": exp, "refreshed": false}));
    let (_, renewed) =
        call(&app, "GET", &format!("/api/events/evt1/live/refresh?expTs={}&minRemainingSec=30", now + 10), None).await;
    assert_eq!(renewed["refreshed"], true, "{renewed}");
    assert!(renewed["viewerUrl"].as_str().is_some_and(|u| u.contains("&sig=")));
    let (s, err) = call(&app, "GET", "/api/events/evt1/live/refresh", None).await;
    assert_eq!((s, err["error_code"].as_str()), (400, Some("INVALID_LIVE_REQUEST")));
    seen.extend([signed.to_string(), renewed.to_string()]);

    // Stop: offline, viewers forgotten, no more tokens or signed URLs.
    let (_, stopped) = call(&app, "POST", "/events/evt1/live/stop", None).await;
    assert_eq!(stopped, json!({"stopped": true}));
    let (_, again) = call(&app, "POST", "/events/evt1/live/stop", None).await;
    assert_eq!(again, json!({"stopped": false}));
    let (_, status) = call(&app, "GET", &format!("/events/evt1/live/status?token={token}"), None).await;
    assert_eq!(status, json!({"running": false, "startedAt": null, "viewers": 0}));
    let (_, state) = call(&app, "GET", "/events/evt1/live", None).await;
    assert_eq!((state["isLive"].as_bool(), state["viewerUrl"].clone()), (Some(false), Value::Null));
    let (s, err) = call(&app, "POST", "/api/events/evt1/live/viewer-token", None).await;
    assert_eq!((s, err["error_code"].as_str()), (400, Some("EVENT_NOT_LIVE")));

    for answer in seen {
        assert!(!answer.contains(VIEWER_KEY) && !answer.contains(HLS_SECRET), "a secret in an answer: {answer}");
    }
}

#[tokio::test]
async fn guards_unset_keys_and_bad_event_ids_answer_stable_errors() {
    let app = start(tempfile::tempdir().expect("dir"), &env()).await;
    for (method, path) in
        [("POST", "heartbeat"), ("POST", "start"), ("POST", "stop"), ("POST", "token"), ("GET", "viewer_link")]
    {
        let url = app.url(&format!("/events/evt1/live/{path}"));
        let resp = app
            .client
            .request(method.parse().expect("m"), &url)
            .header("x-api-key", "k")
            .header("x-event-role", "admin");
        let body: Value = resp.send().await.expect("send").json().await.expect("json");
        assert_eq!(body["error_code"], "ADMIN_UNAUTHORIZED", "{path}: the original's role header is not enough");
    }
    let resp = app.client.get(app.url("/events/evt1/live")).send().await.expect("send");
    assert_eq!(resp.status().as_u16(), 401, "the API key guards the public routes");
    for bad in ["-evt", "e%2F..", &"e".repeat(65)] {
        let (s, err) = call(&app, "GET", &format!("/events/{bad}/live"), None).await;
        assert_eq!((s, err["error_code"].as_str()), (400, Some("INVALID_EVENT_ID")), "{bad}");
    }

    let unsigned = start(tempfile::tempdir().expect("dir"), &[("ADMIN_TOKEN", ADMIN)]).await;
    let (s, _) = call(&unsigned, "POST", "/events/evt1/live/start", None).await;
    assert_eq!(s, 200, "starting signs nothing");
    let (_, _) =
        call(&unsigned, "POST", "/events/evt1/live/heartbeat", Some(json!({"viewerUrl": "/hls/x.m3u8"}))).await;
    for (method, path, body) in [
        ("POST", "/events/evt1/live/token", None),
        ("GET", "/events/evt1/live/status?token=a.b.c", None),
        ("GET", "/events/evt1/live/viewer_link", None),
        ("POST", "/events/evt1/live/exchange_invite", Some(json!({"invite": "a.b"}))),
        ("POST", "/api/events/evt1/live/viewer-token", None),
    ] {
        let (s, err) = call(&unsigned, method, path, body).await;
        assert_eq!((s, err["error_code"].as_str()), (503, Some("LIVE_SIGNING_DISABLED")), "{path}");
    }
    let (s, status) = call(&unsigned, "GET", "/events/evt1/live/status", None).await;
    assert_eq!((s, status["running"].as_bool()), (200, Some(true)), "status without a token verifies nothing");
}

#[tokio::test]
async fn invite_exchanges_are_rate_limited_per_event_and_client_across_restarts() {
    let app = start(tempfile::tempdir().expect("dir"), &env()).await;
    for i in 0..10 {
        let (s, _) =
            call(&app, "POST", "/events/evt1/live/exchange_invite", Some(json!({"invite": format!("bad.{i}")}))).await;
        assert_eq!(s, 400, "attempt {i} is counted and refused on its merits");
    }
    let (s, err) = call(&app, "POST", "/events/evt1/live/exchange_invite", Some(json!({"invite": "bad.x"}))).await;
    assert_eq!((s, err["error_code"].as_str()), (429, Some("INVITE_RATE_LIMITED")));
    let (s, _) = call(&app, "POST", "/events/evt2/live/exchange_invite", Some(json!({"invite": "bad.x"}))).await;
    assert_eq!(s, 400, "another event has its own window");
    // The window lives in the store: a restart does not reset it.
    let dir = app.into_dir().await;
    let restarted = start(dir, &env()).await;
    let (s, _) = call(&restarted, "POST", "/events/evt1/live/exchange_invite", Some(json!({"invite": "bad.y"}))).await;
    assert_eq!(s, 429);
}

#[tokio::test]
async fn two_dispatchers_on_one_store_and_a_restart_see_the_same_event() {
    let a = start(tempfile::tempdir().expect("dir"), &env()).await;
    let b = twin(&a, &env()).await;
    call(&a, "POST", "/events/evt1/live/heartbeat", Some(json!({"viewerUrl": "/hls/evt1/index.m3u8"}))).await;
    call(&a, "POST", "/events/evt1/live/start", None).await;
    let (_, minted) = call(&a, "POST", "/events/evt1/live/token", None).await;
    let token = minted["token"].as_str().expect("token").to_string();
    // Viewers verified on either instance are one count.
    let (_, on_b) = call(&b, "GET", &format!("/events/evt1/live/status?token={token}"), None).await;
    assert_eq!((on_b["hlsPath"].as_str(), on_b["viewers"].as_u64()), (Some("/hls/mock/evt1/index.m3u8"), Some(1)));
    let (_, other) = call(&b, "POST", "/events/evt1/live/token", None).await;
    let (_, on_a) =
        call(&a, "GET", &format!("/events/evt1/live/status?token={}", other["token"].as_str().expect("t")), None).await;
    assert_eq!(on_a["viewers"], 2);
    // Racing starts on both: exactly one wins.
    let (ra, rb) = tokio::join!(
        call(&a, "POST", "/events/evt2/live/start", None),
        call(&b, "POST", "/events/evt2/live/start", None)
    );
    let mut statuses = [ra.0, rb.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);

    drop(b);
    let restarted = start(a.into_dir().await, &env()).await;
    let (_, status) = call(&restarted, "GET", &format!("/events/evt1/live/status?token={token}"), None).await;
    assert_eq!((status["running"].as_bool(), status["viewers"].as_u64()), (Some(true), Some(2)), "{status}");
    let (_, state) = call(&restarted, "GET", "/events/evt1/live", None).await;
    assert_eq!(state["isLive"], true);
}

#[tokio::test]
async fn an_event_goes_offline_when_its_heartbeats_stop() {
    let app = start(tempfile::tempdir().expect("dir"), &[env(), vec![("LIVE_HEARTBEAT_TTL_SEC", "1")]].concat()).await;
    let (_, state) = call(&app, "POST", "/events/evt1/live/heartbeat", Some(json!({"viewerUrl": "/hls/a.m3u8"}))).await;
    assert_eq!(state["isLive"], true);
    let offline = poll_until(std::time::Duration::from_secs(5), || async {
        let (_, state) = call(&app, "GET", "/events/evt1/live", None).await;
        (state["isLive"] == false).then_some(state)
    })
    .await
    .expect("offline within the window");
    assert_eq!((offline["viewerUrl"].clone(), offline["updatedTs"].is_i64()), (Value::Null, true));
}
