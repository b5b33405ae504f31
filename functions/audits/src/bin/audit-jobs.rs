//! Lambda entry point of the scheduled audit jobs: the daily draw and the audit deadlines. The
//! seeds are sealed under the KMS key `AUDIT_SEED_KEY_ID` names (required).

use lambda_runtime::{LambdaEvent, service_fn};
use recert_app::App;
use recert_app::config::CoreConfig;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    recert_app::init_tracing(true);
    let env = recert_app::secrets::environment().await?;
    let key = audits::seed_key(recert_app::aws_sdk_config().await)?;
    let app = App::from_config(&CoreConfig::from_env(env)?)
        .await?
        .with_sealer(Arc::new(key));
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<audits::JobInput>| async move {
            audits::run_job(app, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
