//! The health Lambda binary: bootstrap, the model registry from the layer (so /ready reports every
//! variant), then every route in the library's `handle`.

use std::sync::Arc;

use models::{ModelRegistry, SessionOptions, Thresholds};

#[tokio::main]
async fn main() -> Result<(), common::lambda_http::Error> {
    common::bootstrap::run_lambda_with(
        |state| {
            let root = state.config.models_dir.clone().unwrap_or_else(ModelRegistry::default_root);
            // One session is enough to prove the default variant loads; health serves no inference.
            let options = SessionOptions { sessions: 1, ..SessionOptions::default() };
            state.with_extension(Arc::new(ModelRegistry::new(root, options, Thresholds::default())))
        },
        |state, req| async move { health::handle(&state, req).await },
    )
    .await
}
