//! The analyze Lambda binary: bootstrap, then the model registry and inference engine installed
//! once per cold start; every route lives in the library's `handle`.

#[tokio::main]
async fn main() -> Result<(), common::lambda_http::Error> {
    common::bootstrap::run_lambda_with(analyze::install, |state, req| async move { analyze::handle(&state, req).await })
        .await
}
