//! A fault-injecting HTTP proxy for the storage tests: it sits between the S3 client and moto on
//! 127.0.0.1 and, for a chosen share of requests, answers 503 SlowDown or 500 InternalError,
//! drops the connection before or after forwarding (the second loses the answer of a request
//! that did land), or adds latency; it can also swallow every request (a hung backend).
//!
//! Which request gets which fault comes from a counter hashed with a seed, so a run's faults are
//! spread evenly and repeatable up to the order concurrent requests arrive in.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// What the proxy did to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forwarded untouched.
    None,
    /// 503 with S3's `SlowDown` error body, not forwarded.
    SlowDown,
    /// 500 with S3's `InternalError` body, not forwarded.
    InternalError,
    /// The connection closed before forwarding: the request never reached the store.
    ResetBefore,
    /// Forwarded, then the connection closed instead of answering: the request landed, its
    /// answer was lost.
    ResetAfter,
    /// Forwarded after a delay of up to 300 ms.
    Latency,
}

const KINDS: [Fault; 5] =
    [Fault::SlowDown, Fault::InternalError, Fault::ResetBefore, Fault::ResetAfter, Fault::Latency];

#[derive(Debug)]
struct Shared {
    upstream: String,
    seed: u64,
    /// Faulted share in parts per thousand.
    rate_per_mille: AtomicU64,
    hang: AtomicBool,
    counter: AtomicU64,
    log: Mutex<Vec<(String, Fault)>>,
    client: reqwest::Client,
}

/// A running proxy; it stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, the endpoint to give the S3 client.
    pub endpoint: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn mix(mut x: u64) -> u64 {
    // splitmix64: spreads consecutive counters over the whole range.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn s3_error(status: u16, code: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the fault proxy</Message><RequestId>fault</RequestId></Error>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// The error that makes hyper drop the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (e.g. moto's endpoint) that faults `rate` (0..=1) of
    /// requests, choosing among the faults by `seed`.
    pub async fn start(upstream: &str, rate: f64, seed: u64) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            seed,
            rate_per_mille: AtomicU64::new((rate.clamp(0.0, 1.0) * 1000.0).round() as u64),
            hang: AtomicBool::new(false),
            counter: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            client: reqwest::Client::builder().no_proxy().build().expect("proxy client"),
        });
        let accept = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let shared = accept.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(shared.clone(), req));
                    // A dropped connection ends here with an error, which is the point.
                    http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await.ok();
                });
            }
        });
        FaultProxy { endpoint, shared, task }
    }

    /// Changes the faulted share from the next request on.
    pub fn set_rate(&self, rate: f64) {
        self.shared.rate_per_mille.store((rate.clamp(0.0, 1.0) * 1000.0).round() as u64, Ordering::SeqCst);
    }

    /// While on, every request is held without an answer (a backend that hangs).
    pub fn set_hang(&self, on: bool) {
        self.shared.hang.store(on, Ordering::SeqCst);
    }

    /// `(method and path, fault)` of every request so far.
    pub fn log(&self) -> Vec<(String, Fault)> {
        self.shared.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// How many requests got `fault`.
    pub fn count(&self, fault: Fault) -> usize {
        self.log().iter().filter(|(_, f)| *f == fault).count()
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    if shared.hang.load(Ordering::SeqCst) {
        // Long enough to outlast any client deadline under test, bounded so nothing leaks forever.
        tokio::time::sleep(Duration::from_secs(120)).await;
        return Err(Dropped);
    }
    let n = shared.counter.fetch_add(1, Ordering::SeqCst);
    let roll = mix(n ^ shared.seed);
    let fault = if roll % 1000 < shared.rate_per_mille.load(Ordering::SeqCst) {
        KINDS[((roll / 1000) % KINDS.len() as u64) as usize]
    } else {
        Fault::None
    };
    let what = format!("{} {}", req.method(), req.uri().path());
    if let Ok(mut log) = shared.log.lock() {
        log.push((what, fault));
    }
    match fault {
        Fault::SlowDown => return Ok(s3_error(503, "SlowDown")),
        Fault::InternalError => return Ok(s3_error(500, "InternalError")),
        Fault::ResetBefore => return Err(Dropped),
        Fault::Latency => tokio::time::sleep(Duration::from_millis((roll >> 20) % 300)).await,
        Fault::None | Fault::ResetAfter => {}
    }
    let answer = forward(&shared, req).await?;
    if fault == Fault::ResetAfter {
        return Err(Dropped);
    }
    Ok(answer)
}

async fn forward(shared: &Shared, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut upstream = shared.client.request(parts.method.clone(), format!("{}{path}", shared.upstream));
    for (name, value) in &parts.headers {
        // reqwest sets its own Host and framing for the upstream connection.
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING
        {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.body(body).send().await.map_err(|_| Dropped)?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.map_err(|_| Dropped)?;
    response.body(Full::new(bytes)).map_err(|_| Dropped)
}
