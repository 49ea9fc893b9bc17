//! The health Lambda binary: bootstrap, the weights catalog from the layer (so /ready reports every
//! variant, verified by checksum without linking ONNX Runtime), then every route in the library's
//! `handle`.

use std::sync::Arc;

use model_catalog::WeightsCatalog;

#[tokio::main]
async fn main() -> Result<(), common::lambda_http::Error> {
    common::bootstrap::run_lambda_with(
        |app| {
            let root = app.config.models_dir.clone().unwrap_or_else(model_catalog::default_root);
            health::HealthState::new(app).with_models(Arc::new(WeightsCatalog::new(root)))
        },
        |state, req| async move { health::handle(&state, req).await },
    )
    .await
}
