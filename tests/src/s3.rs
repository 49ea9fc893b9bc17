//! A real S3-compatible server for the tests: `moto_server` (PyPI `moto[server]`, installed by
//! `make setup` into .tools/venv) started once per test binary on 127.0.0.1, one bucket per test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::Client;

/// The running server; killed when the test process exits.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn moto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/moto_server");
    if local.exists() {
        return local;
    }
    PathBuf::from("moto_server")
}

fn start() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
    let bin = moto_binary();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} ({e}); run `make setup` to install moto[server]", bin.display()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Moto { endpoint: format!("http://127.0.0.1:{port}"), child }
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The shared server, started on first use.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(start)
}

/// A client for the shared server (static test credentials, path-style).
pub fn client() -> Client {
    client_at(&moto().endpoint, common::storage::s3::Resilience::default())
}

/// A client for an S3 endpoint on loopback (moto, or a proxy in front of it) with the backend's
/// retries and deadlines as `resilience` sets them.
pub fn client_at(endpoint: &str, resilience: common::storage::s3::Resilience) -> Client {
    let builder = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "golfiq-tests"))
        .endpoint_url(endpoint)
        .force_path_style(true);
    Client::from_conf(resilience.apply(builder).build())
}

/// A fresh bucket for one test.
pub async fn bucket(client: &Client) -> String {
    let name = format!("golfiq-{}", uuid::Uuid::new_v4().simple());
    client.create_bucket().bucket(&name).send().await.unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
    name
}

/// An SQS client for the shared server (moto serves SQS beside S3).
pub fn sqs_client() -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "golfiq-tests"))
        .endpoint_url(&moto().endpoint)
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// A fresh queue with a dead-letter queue after `max_receives` receives, and a short visibility
/// timeout so redeliveries come quickly: (queue URL, DLQ URL).
pub async fn queue_with_dlq(client: &aws_sdk_sqs::Client, max_receives: u32, visibility_s: u32) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = format!("golfiq-{}", uuid::Uuid::new_v4().simple());
    let dlq = client.create_queue().queue_name(format!("{name}-dlq")).send().await.expect("create DLQ");
    let dlq_url = dlq.queue_url().expect("dlq url").to_string();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("DLQ attributes");
    let dlq_arn = attrs.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).expect("arn").clone();
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receives}"}}"#);
    let queue = client
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, visibility_s.to_string())
        .send()
        .await
        .expect("create queue");
    (queue.queue_url().expect("url").to_string(), dlq_url)
}
