//! Lambda entry point of the scheduled jobs (see the library).

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
        move |event: LambdaEvent<jobs::JobInput>| async move {
            jobs::run(app, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
