//! What the fuzz targets share: building a request the way the dispatcher and the Lambda adapter
//! do, and the invariants of a validated [`analyze::request::Params`].

use common::lambda_http::http::{HeaderMap, HeaderValue, Method, Uri};
use common::lambda_http::Request;

/// A request for `target` (path and query; `default` when it does not parse) with `content_type`
/// (left out when it is not a valid header value) and `body`, built by the project's own
/// [`common::http::build_request`] (query parameters parsed, binary bodies kept binary).
pub fn request(method: Method, target: &str, default: &str, content_type: &str, body: Vec<u8>) -> Request {
    let uri: Uri = target.parse().or_else(|_| default.parse()).unwrap_or_default();
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert("content-type", v);
    }
    common::http::build_request(method, uri, headers, body)
}

/// Splits `data` at its first `n` newlines: `n` header lines (lossy UTF-8, `\r` trimmed) and the
/// rest as bytes. Lines that are missing are empty.
pub fn split_lines(data: &[u8], n: usize) -> (Vec<String>, &[u8]) {
    let mut lines = Vec::with_capacity(n);
    let mut rest = data;
    for _ in 0..n {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                lines.push(String::from_utf8_lossy(&rest[..i]).trim_end_matches('\r').to_string());
                rest = &rest[i + 1..];
            }
            None => {
                lines.push(String::from_utf8_lossy(rest).to_string());
                rest = &[];
            }
        }
    }
    (lines, rest)
}

/// Runs a future to completion on a current-thread runtime made once per process.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime")).block_on(f)
}

/// What validated parameters promise: a usable frame rate, a smoothing window of 1 to 25 frames
/// and a scale the kinematics can divide by (finite, above 0).
pub fn check_params(p: &analyze::request::Params) {
    use analyze::request::{MAX_FPS, MAX_SMOOTHING, MIN_FPS};
    assert!(p.fps.is_finite() && (MIN_FPS..=MAX_FPS).contains(&p.fps), "accepted fps {}", p.fps);
    assert!((1..=MAX_SMOOTHING).contains(&p.smoothing_window), "accepted smoothing_window {}", p.smoothing_window);
    assert!(p.m_per_px.is_finite() && p.m_per_px > 0.0, "accepted m_per_px {} from {p:?}", p.m_per_px);
    if let Some((w, h)) = p.frame_size {
        assert!((1..=16_384).contains(&w) && (1..=16_384).contains(&h), "accepted frame size {w}x{h}");
    }
}
