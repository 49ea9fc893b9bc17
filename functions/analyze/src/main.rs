//! The analyze Lambda binary: bootstrap, then the analyze state (model registry, inference engine,
//! job queue) built once per cold start; every route lives in the library's `handle`.

#[tokio::main]
async fn main() -> Result<(), common::lambda_http::Error> {
    common::bootstrap::run_lambda_with(analyze::AnalyzeState::new, |state, req| async move {
        analyze::handle(&state, req).await
    })
    .await
}
