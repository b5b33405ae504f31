//! Lambda entry point of the outbox sweeper: on each scheduled run, deliver every outbox message
//! that is due (see the library).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    recert_app::init_tracing(true);
    let courier = &notifier::courier_from_env().await?;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let r = courier.sweep().await?;
        tracing::info!(
            examined = r.examined,
            sent = r.sent,
            retrying = r.retrying,
            parked = r.parked,
            skipped = r.skipped,
            "outbox sweep"
        );
        Ok::<_, lambda_runtime::Error>(json!({
            "examined": r.examined, "sent": r.sent, "retrying": r.retrying,
            "parked": r.parked, "skipped": r.skipped,
        }))
    }))
    .await
}
