//! The analyze worker Lambda binary: consumes the SQS job queue of asynchronous analyses, one
//! message per invocation, reporting the ones to retry as batch item failures.

use aws_lambda_events::event::sqs::SqsEvent;
use common::lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::bootstrap::init_tracing();
    let state = analyze::AnalyzeState::new(common::bootstrap::state_or_exit().await);
    let state = &state;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(analyze::jobs::handle_sqs_batch(state, event.payload).await)
    }))
    .await
}
