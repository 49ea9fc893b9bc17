//! Records the git commit the binary was built from, for GET /health.
use std::process::Command;

fn main() {
    // GOLFIQ_GIT_SHA wins so container and Lambda builds without a .git directory can pass it in.
    let sha = std::env::var("GOLFIQ_GIT_SHA").ok().filter(|s| !s.is_empty()).or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
    });
    println!("cargo:rustc-env=GOLFIQ_GIT_SHA={}", sha.unwrap_or_else(|| "unknown".into()));
    println!("cargo:rerun-if-env-changed=GOLFIQ_GIT_SHA");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
