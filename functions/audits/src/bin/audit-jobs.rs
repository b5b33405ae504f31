//! Lambda entry point of the scheduled audit jobs: the daily draw and the audit deadlines.

use lambda_runtime::{LambdaEvent, service_fn};
use recert_app::App;
use recert_app::config::CoreConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    recert_app::init_tracing(true);
    let app = App::from_config(&CoreConfig::from_env(
        recert_app::secrets::environment().await?,
    )?)
    .await?;
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
