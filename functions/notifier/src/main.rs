//! Lambda entry point of the stream-triggered notifier (see the library).

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    recert_app::init_tracing(true);
    let courier = &notifier::courier_from_env().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<notifier::StreamEvent>| async move {
            Ok::<_, lambda_runtime::Error>(notifier::handle_stream(courier, event.payload).await)
        },
    ))
    .await
}
