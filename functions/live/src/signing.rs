//! The live signatures, byte for byte as the original server made them, so its clients and
//! already-issued links keep working: viewer tokens and invites (LIVE_VIEWER_SIGN_KEY) and signed
//! HLS URLs (LIVE_SIGN_SECRET). Pure functions of their inputs and the time given; no I/O.
//!
//! - Token: `<viewer_id: 32 hex>.<exp>.<sig>`, sig = unpadded base64url of
//!   HMAC-SHA256(key, "{viewer_id}|{event_id}|{exp}").
//! - Invite: `b64url(J).b64url(HMAC-SHA256(key, J))`, J = compact JSON with sorted keys
//!   `{"event","exp","type":"invite"}`.
//! - HLS URL: `exp` and `sig` appended to the query, sig = hex HMAC-SHA256(secret,
//!   "<path>?exp=<exp>") over the path alone.
//!
//! Signatures are checked with the MAC's own constant-time comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], message: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message);
    mac
}

fn verify(key: &[u8], message: &[u8], signature_b64: &str) -> bool {
    // Padded signatures are refused like any other malformed one: the original never made them.
    match URL_SAFE_NO_PAD.decode(signature_b64) {
        Ok(sig) => mac(key, message).verify_slice(&sig).is_ok(),
        Err(_) => false,
    }
}

/// The signature of a viewer token.
pub fn token_signature(key: &[u8], viewer_id: &str, event_id: &str, exp: i64) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, format!("{viewer_id}|{event_id}|{exp}").as_bytes()).finalize().into_bytes())
}

/// A new viewer token for `event_id` expiring at `exp` (a fresh random viewer id).
pub fn mint_token(key: &[u8], event_id: &str, exp: i64) -> String {
    let viewer_id = uuid::Uuid::new_v4().simple().to_string();
    let sig = token_signature(key, &viewer_id, event_id, exp);
    format!("{viewer_id}.{exp}.{sig}")
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The viewer's 32-hex id.
    pub viewer_id: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// The viewer a token names, when it is well formed, signed for `event_id` and not expired at
/// `now`; `None` otherwise (which of these failed is not told).
pub fn verify_token(key: &[u8], event_id: &str, token: &str, now: i64) -> Option<Viewer> {
    let mut parts = token.split('.');
    let (viewer_id, exp, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || viewer_id.len() != 32 || !viewer_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let exp: i64 = exp.parse().ok()?;
    if exp <= now {
        return None;
    }
    verify(key, format!("{viewer_id}|{event_id}|{exp}").as_bytes(), sig)
        .then(|| Viewer { viewer_id: viewer_id.to_string(), exp })
}

/// The invite's JSON exactly as Python's `json.dumps(..., separators=(",", ":"), sort_keys=True)`
/// wrote it (event ids are ASCII, so no escaping differs).
fn invite_json(event_id: &str, exp: i64) -> String {
    let event = serde_json::Value::String(event_id.to_string());
    format!("{{\"event\":{event},\"exp\":{exp},\"type\":\"invite\"}}")
}

/// An invite to `event_id`, valid until `exp`.
pub fn mint_invite(key: &[u8], event_id: &str, exp: i64) -> String {
    let json = invite_json(event_id, exp);
    let sig = URL_SAFE_NO_PAD.encode(mac(key, json.as_bytes()).finalize().into_bytes());
    format!("{}.{sig}", URL_SAFE_NO_PAD.encode(json))
}

/// Why an invite was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteError {
    /// Not `<b64url json>.<b64url sig>` with the three fields.
    Malformed,
    /// The signature does not match.
    BadSignature,
    /// Past its `exp`.
    Expired,
}

impl InviteError {
    /// The client-facing reason.
    pub fn message(self) -> &'static str {
        match self {
            InviteError::Malformed => "invalid invite format",
            InviteError::BadSignature => "invalid invite signature",
            InviteError::Expired => "invite expired",
        }
    }
}

/// What a valid invite grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The event.
    pub event_id: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// Checks an invite: its JSON must be the canonical `{"event","exp","type":"invite"}` (what was
/// signed), its signature valid, and `exp` after `now`.
pub fn verify_invite(key: &[u8], invite: &str, now: i64) -> Result<Invite, InviteError> {
    let (encoded, sig) = invite.split_once('.').ok_or(InviteError::Malformed)?;
    let raw = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).map_err(|_| InviteError::Malformed)?;
    let payload: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| InviteError::Malformed)?;
    let event_id = payload.get("event").and_then(|v| v.as_str()).filter(|e| !e.is_empty());
    let exp = payload.get("exp").and_then(|v| v.as_i64());
    let (Some(event_id), Some(exp), Some("invite")) = (event_id, exp, payload.get("type").and_then(|v| v.as_str()))
    else {
        return Err(InviteError::Malformed);
    };
    if payload.as_object().is_none_or(|o| o.len() != 3) {
        return Err(InviteError::Malformed);
    }
    if !verify(key, invite_json(event_id, exp).as_bytes(), sig) {
        return Err(InviteError::BadSignature);
    }
    if exp <= now {
        return Err(InviteError::Expired);
    }
    Ok(Invite { event_id: event_id.to_string(), exp })
}

/// The hex signature of an HLS URL's path at `exp`.
pub fn url_signature(secret: &[u8], path: &str, exp: i64) -> String {
    mac(secret, format!("{path}?exp={exp}").as_bytes())
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `url` (absolute, or a path with an optional query) with `exp` and `sig` set in its query; the
/// other parameters keep their order, any earlier `exp`/`sig` is replaced.
pub fn sign_url(secret: &[u8], url: &str, exp: i64) -> String {
    let (head, fragment) = match url.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (url, None),
    };
    let (before_query, query) = head.split_once('?').unwrap_or((head, ""));
    // The path is what follows scheme://host, or the whole thing for a relative URL.
    let path_start =
        before_query.find("://").map(|i| before_query[i + 3..].find('/').map_or(before_query.len(), |p| i + 3 + p));
    let path = &before_query[path_start.unwrap_or(0)..];
    let sig = url_signature(secret, path, exp);
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "exp" && k != "sig") {
        out.append_pair(&k, &v);
    }
    out.append_pair("exp", &exp.to_string()).append_pair("sig", &sig);
    let mut signed = format!("{before_query}?{}", out.finish());
    if let Some(f) = fragment {
        signed.push('#');
        signed.push_str(f);
    }
    signed
}

/// `url` served from `cdn_base` (scheme and host swapped, path and query kept); a relative path is
/// put under it. Anything that is not http(s) or a path is left as it is.
pub fn on_cdn(url: &str, cdn_base: Option<&str>) -> String {
    let Some(base) = cdn_base else { return url.to_string() };
    if url.starts_with('/') {
        return format!("{base}{url}");
    }
    for scheme in ["https://", "http://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let tail = rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]);
            return format!("{base}{tail}");
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"viewer-key";

    #[test]
    fn golden_values_match_the_original_server() {
        assert_eq!(
            token_signature(KEY, "abc123", "evt1", 1_700_000_900),
            "U4vIStUGuXj_eOEv-2IJwxqiTk7-So8Pc4tbAgVJtZs"
        );
        assert_eq!(
            mint_invite(KEY, "evt1", 1_700_000_900),
            "eyJldmVudCI6ImV2dDEiLCJleHAiOjE3MDAwMDA5MDAsInR5cGUiOiJpbnZpdGUifQ.PrziOrdjPCNC6kHDHg0ZGYNsLXoVQHZhm2njYHqP158"
        );
        assert_eq!(
            url_signature(b"secret", "/hls/evt1/index.m3u8", 1_700_000_120),
            "77e52dbf9716493fd5559cce51f820d8e7ada70c0713028dbd4f1d4071e94597"
        );
    }

    #[test]
    fn tokens_verify_only_for_their_event_key_and_time() {
        let token = mint_token(KEY, "evt1", 2_000);
        let viewer = verify_token(KEY, "evt1", &token, 1_999).expect("valid");
        assert_eq!((viewer.viewer_id.len(), viewer.exp), (32, 2_000));
        assert_eq!(verify_token(KEY, "evt2", &token, 1_999), None, "another event");
        assert_eq!(verify_token(b"other", "evt1", &token, 1_999), None, "another key");
        assert_eq!(verify_token(KEY, "evt1", &token, 2_000), None, "expired at exp");
        let (id, rest) = token.split_once('.').expect("parts");
        let later = format!("{id}.{}", rest.replacen("2000", "2001", 1));
        assert_eq!(verify_token(KEY, "evt1", &later, 1_999), None, "exp is signed");
        for bad in ["", "a.b.c", "x.2000.sig", &format!("{token}.x"), &format!("{token}=")] {
            assert_eq!(verify_token(KEY, "evt1", bad, 0), None, "{bad:?}");
        }
    }

    #[test]
    fn invites_verify_and_say_why_not() {
        let invite = mint_invite(KEY, "evt1", 2_000);
        assert_eq!(verify_invite(KEY, &invite, 1_000), Ok(Invite { event_id: "evt1".into(), exp: 2_000 }));
        assert_eq!(verify_invite(KEY, &invite, 2_000), Err(InviteError::Expired));
        assert_eq!(verify_invite(b"other", &invite, 1_000), Err(InviteError::BadSignature));
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(invite_json("evt2", 2_000)),
            invite.split_once('.').expect("dot").1
        );
        assert_eq!(verify_invite(KEY, &forged, 1_000), Err(InviteError::BadSignature));
        let extra = URL_SAFE_NO_PAD.encode(r#"{"event":"evt1","exp":2000,"type":"invite","x":1}"#);
        for bad in ["", "nodot", "!!.sig", &format!("{extra}.sig"), &format!("{}.sig", URL_SAFE_NO_PAD.encode("[]"))] {
            assert_eq!(verify_invite(KEY, bad, 1_000), Err(InviteError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn signed_urls_keep_their_query_and_sign_the_path_only() {
        let sig = url_signature(b"secret", "/hls/evt1/index.m3u8", 1_700_000_120);
        assert_eq!(
            sign_url(b"secret", "https://media.example/hls/evt1/index.m3u8?lang=en&exp=1", 1_700_000_120),
            format!("https://media.example/hls/evt1/index.m3u8?lang=en&exp=1700000120&sig={sig}")
        );
        assert_eq!(
            sign_url(b"secret", "/hls/evt1/index.m3u8", 1_700_000_120),
            format!("/hls/evt1/index.m3u8?exp=1700000120&sig={sig}")
        );
        assert_eq!(
            on_cdn("https://origin.example:8443/a/b.m3u8?x=1", Some("https://cdn.example")),
            "https://cdn.example/a/b.m3u8?x=1"
        );
        assert_eq!(on_cdn("/hls/a.m3u8", Some("https://cdn.example")), "https://cdn.example/hls/a.m3u8");
        assert_eq!(on_cdn("rtmp://x/y", Some("https://cdn.example")), "rtmp://x/y");
        assert_eq!(on_cdn("https://origin.example/a", None), "https://origin.example/a");
    }
}
