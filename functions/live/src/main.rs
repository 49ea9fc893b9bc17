//! The live Lambda binary: bootstrap only; every route lives in the library's `handle`.

#[tokio::main]
async fn main() -> Result<(), common::lambda_http::Error> {
    common::bootstrap::run_lambda(|state, req| async move { live::handle(&state, req).await }).await
}
