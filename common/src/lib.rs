//! Shared foundation of every golfiq function: configuration, auth, the error contract, HTTP
//! plumbing, the run domain and its store, and start-up.
//!
//! # Layout
//! - [`config`]: `Config::from_env()`, every runbook variable, staging validation.
//! - [`auth`]: API key and admin token guards (constant time).
//! - [`error`]: `ApiError` and the one mapping of error codes to HTTP.
//! - [`routing`]: route tables of `(method, path, guard, endpoint)` and matching.
//! - [`http`]: request building, JSON responses, CORS, the request log line.
//! - [`runs`]: the run record, ids, enums and lifecycle (no I/O).
//! - [`storage`]: the `BlobStore` trait and its backends.
//! - [`run_store`]: runs on a blob store: CAS transitions, indexed newest-first listing, deletion.
//! - [`flags`]: feature-flag config, validation, merge and evaluation (no I/O).
//! - [`flag_store`]: the flag config and its audit log on a blob store.
//! - [`uploads`]: upload tickets (presigned S3 PUT or the dispatcher's PUT) for bodies too large
//!   for Lambda.
//! - [`state`]: `AppState`, built once per process.
//! - [`bootstrap`]: tracing and the Lambda loop around a handler.

pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod error;
pub mod flag_store;
pub mod flags;
pub mod http;
pub mod legacy_runs;
pub mod metrics;
pub mod routing;
pub mod run_store;
pub mod runs;
pub mod state;
pub mod storage;
pub mod uploads;

/// The crate version reported by GET /health.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from (`unknown` outside a checkout).
pub const GIT_SHA: &str = env!("GOLFIQ_GIT_SHA");

pub use lambda_http;
