//! The live function: a live event's state and its viewers' signed, expiring access, on the
//! original server's paths and payloads.
//!
//! - `/events/{event_id}/live...`: the host's heartbeat and the stream's start/stop (admin token),
//!   viewer tokens and invite links (admin token, LIVE_VIEWER_SIGN_KEY), the public state and
//!   status, and the invite exchange (rate limited per event and client address).
//! - `/api/events/{event_id}/live/viewer-token|refresh`: the HLS viewer URL signed with
//!   LIVE_SIGN_SECRET.
//!
//! Better than the original: admin actions need `x-admin-token` (it trusted a client-set
//! `x-event-role: admin`), state lives in the blob store with compare-and-swap (it kept it in
//! process memory), and an unset secret answers 503 `LIVE_SIGNING_DISABLED` instead of signing
//! with a default. Neither secret, nor a token, reaches a log line.

pub mod signing;
pub mod state;

use chrono::{SecondsFormat, Utc};
use common::config::Secret;
use common::error::respond;
use common::error::{ApiError, ErrorCode};
use common::http::{json_response, query_param};
use common::lambda_http::http::StatusCode;
use common::lambda_http::request::RequestContext;
use common::lambda_http::{Body, Request, RequestExt, Response};
use common::routing::{self, Matched};
use common::state::AppState;
use serde_json::{json, Map, Value};

use crate::state::{Event, LiveStore, MAX_VIEWERS};

common::routes! {
    /// The event's stream state.
    State => GET "/events/{event_id}/live", ApiKey;
    /// The host is still streaming.
    Heartbeat => POST "/events/{event_id}/live/heartbeat", Admin;
    /// The host started streaming.
    Start => POST "/events/{event_id}/live/start", Admin;
    /// The host stopped streaming.
    Stop => POST "/events/{event_id}/live/stop", Admin;
    /// Mint a viewer token.
    MintToken => POST "/events/{event_id}/live/token", Admin;
    /// Is the stream up (and is this token valid).
    Status => GET "/events/{event_id}/live/status", ApiKey;
    /// An invite link for viewers.
    ViewerLink => GET "/events/{event_id}/live/viewer_link", Admin;
    /// An invite for a viewer token (rate limited).
    ExchangeInvite => POST "/events/{event_id}/live/exchange_invite", ApiKey;
    /// A signed HLS URL.
    SignedViewerUrl => POST "/api/events/{event_id}/live/viewer-token", ApiKey;
    /// A fresh signed URL.
    Refresh => GET "/api/events/{event_id}/live/refresh", ApiKey;
}

/// Lifetime of an invite, as the original's.
pub const INVITE_TTL_S: i64 = 900;
/// Default lifetime of a minted viewer token.
pub const DEFAULT_TOKEN_TTL_S: i64 = 900;
/// Longest viewer token `POST /token` mints (the original had no bound).
pub const MAX_TOKEN_TTL_S: i64 = 86_400;
/// Invite exchanges allowed per event and client address in [`EXCHANGE_WINDOW_MS`].
pub const EXCHANGE_LIMIT: usize = 10;
/// The exchange rate-limit window.
pub const EXCHANGE_WINDOW_MS: i64 = 60_000;

/// Serves one request (the Lambda entry and the tests): finds its route, then [`serve`].
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    routing::handle(&state.config, ROUTES, req, |req, matched| serve(state, req, matched)).await
}

/// Runs a matched route (the dispatcher calls this directly with its own match).
pub async fn serve(state: &AppState, req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    respond(run(state, &req, &matched).await)
}

async fn run(state: &AppState, req: &Request, matched: &Matched<Endpoint>) -> Result<Response<Body>, ApiError> {
    let event_id = event_id(matched.param("event_id"))?;
    let live = Live { state, store: LiveStore::new(state.blobs.clone()), event_id, now: Utc::now().timestamp() };
    let body = match matched.endpoint {
        Endpoint::State => live.state_view(&live.store.event(event_id).await?),
        Endpoint::Heartbeat => live.heartbeat(&json_body(req)?).await?,
        Endpoint::Start => live.start(&json_body(req)?).await?,
        Endpoint::Stop => live.stop().await?,
        Endpoint::MintToken => live.mint_token(&json_body(req)?).await?,
        Endpoint::Status => live.status(query_param(req, "token").filter(|t| !t.is_empty())).await?,
        Endpoint::ViewerLink => live.viewer_link().await?,
        Endpoint::ExchangeInvite => live.exchange_invite(&json_body(req)?, &client_address(req)).await?,
        Endpoint::SignedViewerUrl => live.signed_viewer_url().await?,
        Endpoint::Refresh => live.refresh(req).await?,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// Event ids become storage key segments: 1-64 of `[A-Za-z0-9_-]`, starting with a letter or digit.
fn event_id(raw: &str) -> Result<&str, ApiError> {
    let ok = (1..=64).contains(&raw.len())
        && raw.as_bytes()[0].is_ascii_alphanumeric()
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(raw).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidEventId,
            "event_id must be 1-64 of A-Z a-z 0-9 _ - starting with a letter or digit",
        )
    })
}

/// The body as a JSON object; an empty body is `{}` (every live body is optional but the invite).
fn json_body(req: &Request) -> Result<Map<String, Value>, ApiError> {
    let bytes = req.body().as_ref();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(ErrorCode::InvalidJson, "body must be a JSON object")),
        Err(e) => Err(ApiError::new(ErrorCode::InvalidJson, format!("body is not valid JSON: {e}"))),
    }
}

/// An optional string field; null and absent are both `None`.
fn text_field(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            Err(ApiError::new(ErrorCode::InvalidLiveRequest, format!("{field} must be a string, got {other}")))
        }
    }
}

/// The caller's address: API Gateway's `sourceIp`, which the dispatcher fills from the socket.
fn client_address(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".into())
}

fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn key_of<'a>(secret: &'a Option<Secret>, name: &str) -> Result<&'a [u8], ApiError> {
    secret.as_ref().map(|s| s.expose().as_bytes()).ok_or_else(|| {
        ApiError::new(
            ErrorCode::LiveSigningDisabled,
            format!("live signing is disabled on this server: {name} is not set"),
        )
    })
}

/// One request's view of one event.
struct Live<'a> {
    state: &'a AppState,
    store: LiveStore,
    event_id: &'a str,
    now: i64,
}

impl Live<'_> {
    fn viewer_key(&self) -> Result<&[u8], ApiError> {
        key_of(&self.state.config.live_viewer_sign_key, "LIVE_VIEWER_SIGN_KEY")
    }

    fn cdn(&self, url: &str) -> String {
        signing::on_cdn(url, self.state.config.live.media_cdn_base_url.as_deref())
    }

    fn is_live(&self, event: &Event) -> bool {
        let hb = &event.heartbeat;
        let ttl = i64::try_from(self.state.config.live.heartbeat_ttl_sec).unwrap_or(i64::MAX);
        !hb.forced_offline && hb.updated_ts.is_some_and(|t| self.now - t < ttl)
    }

    /// `{isLive, viewerUrl, startedTs, updatedTs, streamId, latencyMode}`, as the original's
    /// `LiveState`: the session fields only while live.
    fn state_view(&self, event: &Event) -> Value {
        let hb = &event.heartbeat;
        let live = self.is_live(event);
        let latency = hb.latency_mode.clone().unwrap_or_else(|| self.state.config.live.latency_mode.clone());
        json!({
            "isLive": live,
            "viewerUrl": if live { hb.viewer_url.as_deref().map(|u| self.cdn(u)) } else { None },
            "startedTs": if live { hb.started_ts } else { None },
            "updatedTs": hb.updated_ts,
            "streamId": if live { hb.stream_id.clone() } else { None },
            "latencyMode": latency,
        })
    }

    async fn heartbeat(&self, body: &Map<String, Value>) -> Result<Value, ApiError> {
        let (stream_id, viewer_url, latency) =
            (text_field(body, "streamId")?, text_field(body, "viewerUrl")?, text_field(body, "latencyMode")?);
        let now = self.now;
        let event = self
            .store
            .update_event(self.event_id, |event| {
                let hb = &mut event.heartbeat;
                hb.started_ts.get_or_insert(now);
                hb.updated_ts = Some(now);
                hb.forced_offline = false;
                // A field sent as "" clears it; a field left out keeps its value.
                for (slot, value) in [
                    (&mut hb.stream_id, &stream_id),
                    (&mut hb.viewer_url, &viewer_url),
                    (&mut hb.latency_mode, &latency),
                ] {
                    if let Some(v) = value {
                        *slot = Some(v.clone()).filter(|v| !v.is_empty());
                    }
                }
                Ok((event.clone(), true))
            })
            .await?;
        Ok(self.state_view(&event))
    }

    async fn start(&self, body: &Map<String, Value>) -> Result<Value, ApiError> {
        let source = text_field(body, "source")?.unwrap_or_else(|| "mock".into());
        let hls_path = if source == "mock" {
            format!("{}/{}/index.m3u8", self.state.config.live.mock_prefix, self.event_id)
        } else if self.state.config.live.livekit_whip_url.is_some() {
            format!("/hls/{}/index.m3u8", self.event_id)
        } else {
            return Err(ApiError::new(
                ErrorCode::LiveSourceUnavailable,
                format!("source {source:?} needs LIVEKIT_WHIP_URL, which is not set; use \"mock\""),
            ));
        };
        let started_at = rfc3339(self.now);
        self.store
            .update_event(self.event_id, |event| {
                if event.stream.running {
                    return Err(ApiError::new(ErrorCode::LiveAlreadyRunning, "live stream already running"));
                }
                event.stream = state::Stream {
                    running: true,
                    hls_path: Some(hls_path.clone()),
                    started_at: Some(started_at.clone()),
                    source: Some(source.clone()),
                    viewers: Vec::new(),
                };
                Ok(((), true))
            })
            .await?;
        tracing::info!(event_id = self.event_id, source, "live stream started");
        Ok(json!({"hlsPath": self.cdn(&hls_path), "startedAt": started_at}))
    }

    async fn stop(&self) -> Result<Value, ApiError> {
        let stopped = self
            .store
            .update_event(self.event_id, |event| {
                let was_running = event.stream.running;
                event.stream = state::Stream::default();
                // As the original: offline until the next heartbeat, keeping the last one's time.
                let hb = &mut event.heartbeat;
                *hb = state::Heartbeat { updated_ts: hb.updated_ts, forced_offline: true, ..Default::default() };
                Ok((was_running, true))
            })
            .await?;
        tracing::info!(event_id = self.event_id, stopped, "live stream stopped");
        Ok(json!({"stopped": stopped}))
    }

    async fn require_running(&self) -> Result<Event, ApiError> {
        let event = self.store.event(self.event_id).await?;
        if event.stream.running {
            Ok(event)
        } else {
            Err(ApiError::new(ErrorCode::LiveNotRunning, "live stream not running"))
        }
    }

    async fn mint_token(&self, body: &Map<String, Value>) -> Result<Value, ApiError> {
        let ttl = match body.get("ttl") {
            None | Some(Value::Null) => DEFAULT_TOKEN_TTL_S,
            Some(other) => match other.as_number().and_then(common::http::whole_number) {
                Some(ttl) => ttl,
                None => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidLiveRequest,
                        format!("ttl must be whole seconds, got {other}"),
                    ))
                }
            },
        }
        .clamp(1, MAX_TOKEN_TTL_S);
        let key = self.viewer_key()?;
        self.require_running().await?;
        let exp = self.now + ttl;
        Ok(json!({"token": signing::mint_token(key, self.event_id, exp), "exp": exp}))
    }

    async fn status(&self, token: Option<String>) -> Result<Value, ApiError> {
        let viewer = match &token {
            Some(t) => signing::verify_token(self.viewer_key()?, self.event_id, t, self.now),
            None => None,
        };
        let event = match &viewer {
            // A valid token counts its viewer, once, while the stream runs.
            Some(v) => {
                self.store
                    .update_event(self.event_id, |event| {
                        let s = &mut event.stream;
                        let new = s.running && !s.viewers.contains(&v.viewer_id) && s.viewers.len() < MAX_VIEWERS;
                        if new {
                            s.viewers.push(v.viewer_id.clone());
                        }
                        Ok((event.clone(), new))
                    })
                    .await?
            }
            None => self.store.event(self.event_id).await?,
        };
        let s = &event.stream;
        let mut body = json!({
            "running": s.running,
            "startedAt": s.started_at,
            "viewers": if s.running { s.viewers.len() } else { 0 },
        });
        if let (Some(_), true, Some(path)) = (&viewer, s.running, &s.hls_path) {
            body["hlsPath"] = Value::String(self.cdn(path));
        }
        Ok(body)
    }

    async fn viewer_link(&self) -> Result<Value, ApiError> {
        let key = self.viewer_key()?;
        self.require_running().await?;
        let invite = signing::mint_invite(key, self.event_id, self.now + INVITE_TTL_S);
        let base = &self.state.config.live.web_base_url;
        Ok(json!({"url": format!("{base}/events/{}/live-view?invite={invite}", self.event_id)}))
    }

    async fn exchange_invite(&self, body: &Map<String, Value>, client: &str) -> Result<Value, ApiError> {
        let invite = text_field(body, "invite")?.filter(|i| !i.is_empty());
        let Some(invite) = invite else {
            return Err(ApiError::new(ErrorCode::InvalidInvite, "invite required"));
        };
        let key = self.viewer_key()?;
        let admitted = self
            .store
            .admit_exchange(self.event_id, client, self.now * 1000, EXCHANGE_LIMIT, EXCHANGE_WINDOW_MS)
            .await?;
        if !admitted {
            return Err(ApiError::new(ErrorCode::InviteRateLimited, "too many invite exchanges; wait a minute"));
        }
        let granted = signing::verify_invite(key, &invite, self.now)
            .map_err(|e| ApiError::new(ErrorCode::InvalidInvite, e.message()))?;
        if granted.event_id != self.event_id {
            return Err(ApiError::new(ErrorCode::InvalidInvite, "invite does not match event"));
        }
        // The token lives as long as the invite had left, as the original's.
        Ok(json!({"token": signing::mint_token(key, self.event_id, granted.exp), "exp": granted.exp}))
    }

    async fn signed_viewer_url(&self) -> Result<Value, ApiError> {
        let secret = key_of(&self.state.config.live_sign_secret, "LIVE_SIGN_SECRET")?;
        let event = self.store.event(self.event_id).await?;
        let url = event.heartbeat.viewer_url.as_deref().filter(|_| self.is_live(&event));
        let Some(url) = url else {
            return Err(ApiError::new(ErrorCode::EventNotLive, "event not live"));
        };
        let ttl = i64::try_from(self.state.config.live.sign_ttl_sec).unwrap_or(120);
        let exp = self.now + ttl;
        Ok(json!({"viewerUrl": self.cdn(&signing::sign_url(secret, url, exp)), "expTs": exp, "ttlSec": ttl}))
    }

    async fn refresh(&self, req: &Request) -> Result<Value, ApiError> {
        let int = |name: &str, default: Option<i64>| -> Result<i64, ApiError> {
            match query_param(req, name) {
                Some(v) => v.trim().parse().map_err(|_| {
                    ApiError::new(ErrorCode::InvalidLiveRequest, format!("{name} must be an integer, got {v:?}"))
                }),
                None => {
                    default.ok_or_else(|| ApiError::new(ErrorCode::InvalidLiveRequest, format!("{name} is required")))
                }
            }
        };
        let exp_ts = int("expTs", None)?;
        let min_remaining = int("minRemainingSec", Some(30))?;
        if exp_ts.saturating_sub(self.now) >= min_remaining {
            return Ok(json!({"viewerUrl": "", "expTs": exp_ts, "refreshed": false}));
        }
        let mut fresh = self.signed_viewer_url().await?;
        fresh["refreshed"] = Value::Bool(true);
        fresh.as_object_mut().map(|o| o.remove("ttlSec"));
        Ok(fresh)
    }
}
