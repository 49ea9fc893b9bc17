//! The dispatcher binary: tracing, config, state, then serve every route on 0.0.0.0:PORT.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    common::bootstrap::init_tracing();
    let state = common::bootstrap::state_or_exit().await;
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", state.config.port)).await?;
    tracing::info!(addr = %listener.local_addr()?, "dispatcher listening");
    local::run(listener, local::Services::new(state), local::shutdown_signal()).await
}
