//! The dispatcher binary as a separate process, for the tests that kill it or give it a
//! filesystem of its own: built once per test binary, started on a loopback port over a store
//! directory, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The debug dispatcher binary, built (once per test binary) from the current source.
pub fn dispatcher_binary() -> PathBuf {
    static BUILT: OnceLock<bool> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        Command::new("cargo")
            .args(["build", "-q", "-p", "local", "--bin", "dispatcher"])
            .current_dir(repo())
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(*built, "cargo build of the dispatcher failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo().join("target"), PathBuf::from);
    target.join("debug/dispatcher")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// The dispatcher's command line, run through `wrapper` when one is given (e.g. `unshare ...`,
/// which then execs the binary), with a development environment over the store under `dir`:
/// runs, uploads and the flag config, a 2 s run lease, one inference slot. Add more with `.env`.
pub fn dispatcher_command(dir: &Path, port: u16, wrapper: &[&str]) -> Command {
    let binary = dispatcher_binary();
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&binary);
            c
        }
        None => Command::new(&binary),
    };
    command
        .current_dir(repo())
        .env_remove("REQUIRE_API_KEY")
        .env_remove("APP_ENV")
        .env("PORT", port.to_string())
        .env("RUN_STORE_DIR", dir.join("runs"))
        .env("RUNS_UPLOAD_DIR", dir.join("uploads"))
        .env("FEATURE_FLAGS_CONFIG_PATH", dir.join("config/feature_flags.json"))
        .env("RUN_LEASE_SECONDS", "2")
        .env("INFERENCE_CONCURRENCY", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A started dispatcher process; SIGKILLed when dropped.
pub struct DispatcherProcess {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl DispatcherProcess {
    /// Starts `command` and waits until it listens on `port`.
    pub fn start(mut command: Command, port: u16) -> DispatcherProcess {
        let child = command.spawn().expect("dispatcher starts");
        let mut process = DispatcherProcess { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("the dispatcher exited before listening: {status}");
            }
            assert!(Instant::now() < deadline, "dispatcher did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        process
    }

    /// Its process id (also the id under /proc of the mount namespace it may run in).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for DispatcherProcess {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
