//! The hello-world Lambda `scripts/bench-init` measures the functions' init against: the
//! `lambda_runtime` README's function (a Tokio runtime, one handler echoing its event), built with
//! the workspace's release profile. Nothing else: no tracing, no SDK, no configuration.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
