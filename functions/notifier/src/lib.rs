//! The outbox's delivery Lambdas, both over [`recert_app::outbox::Courier`]:
//!
//! - `notifier` is triggered by the table's DynamoDB stream, filtered (in the template) to
//!   inserts of outbox items. Each record names one message by its keys; the courier claims it,
//!   sends it and records the result. A record is reported as a batch item failure only when the
//!   store could not be reached (so the stream retries it); a failed send is the courier's to
//!   retry (it reschedules the message for the sweeper) and never blocks the shard.
//! - `outbox-sweeper` runs on a schedule and delivers whatever is still due: the backstop for a
//!   lost stream record, and the path for retries.
//!
//! Neither reads JWT settings: they need the store, the rules and the mail settings only.

use recert_app::outbox::{Courier, Delivered};
use recert_domain::CertificationId;
use recert_store::codec;
use serde::{Deserialize, Serialize};

/// The courier both binaries run, from the environment (store and rules, mail settings), built
/// once at init with no network call.
pub async fn courier_from_env() -> Result<Courier, recert_app::config::ConfigError> {
    use recert_app::App;
    use recert_app::config::CoreConfig;
    use recert_app::outbox::NotifyConfig;
    let env = recert_app::secrets::environment().await?;
    let app = App::from_config(&CoreConfig::from_env(env)?).await?;
    Ok(Courier::from_config(&app, &NotifyConfig::from_env(env)?).await)
}

/// A DynamoDB stream event as Lambda delivers it; only what the notifier reads.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamChange,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "Keys")]
    pub keys: StreamKeys,
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamKeys {
    pub pk: StringValue,
    pub sk: StringValue,
}

/// A DynamoDB string attribute in stream JSON: `{"S": "..."}`.
#[derive(Debug, Clone, Deserialize)]
pub struct StringValue {
    #[serde(rename = "S")]
    pub s: String,
}

/// The partial batch response (`FunctionResponseTypes: [ReportBatchItemFailures]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The outbox message a record names: `(certification, message id)`; `None` for anything else.
pub fn outbox_key(record: &StreamRecord) -> Option<(CertificationId, uuid::Uuid)> {
    let certification = codec::parse_cert_pk(&record.dynamodb.keys.pk.s)?;
    let id = record
        .dynamodb
        .keys
        .sk
        .s
        .strip_prefix(codec::OUTBOX_PREFIX)?
        .parse()
        .ok()?;
    Some((certification, id))
}

/// Deliver the outbox message of every insert in `event`; report the records whose delivery
/// could not reach the store, so the stream hands them over again.
pub async fn handle_stream(courier: &Courier, event: StreamEvent) -> BatchResponse {
    let mut response = BatchResponse::default();
    let (mut sent, mut other) = (0usize, 0usize);
    for record in &event.records {
        let Some((certification, id)) = (record.event_name == "INSERT")
            .then(|| outbox_key(record))
            .flatten()
        else {
            other += 1;
            continue;
        };
        match courier.deliver(certification, id).await {
            Ok(Delivered::Sent) => sent += 1,
            Ok(_) => other += 1,
            Err(e) => {
                tracing::error!(error = %e, "outbox delivery could not reach the store; the stream will retry");
                response.batch_item_failures.push(ItemFailure {
                    item_identifier: record.dynamodb.sequence_number.clone(),
                });
            }
        }
    }
    tracing::info!(
        records = event.records.len(),
        sent,
        other,
        failed = response.batch_item_failures.len(),
        "stream batch"
    );
    response
}
