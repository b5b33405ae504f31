//! [`recert_app::secrets`] against moto's Secrets Manager: a secret created in moto resolves into
//! the variable the configuration reads, two secrets are read concurrently (two requests in flight
//! at once, seen by an interceptor), an unknown ARN fails naming its variable and ARN but no value,
//! and a variable set both plainly and by ARN is refused before any call.
//!
//! `RECERT_MOTO_ENDPOINT` names the server (`scripts/moto start` prints it). Without it these use
//! `http://127.0.0.1:5055` when something listens there, and otherwise they SKIP with a line on
//! stderr (so a bare `cargo test` works without python); with the variable set, an unreachable
//! server fails them. Each test creates secrets of its own (unique names), so they share one moto.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use recert_app::config::{ConfigError, Env};
use recert_app::secrets;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use uuid::Uuid;

#[path = "../../test-support/moto.rs"]
mod moto;
use moto::endpoint;

/// The shared AWS configuration as the Lambdas build it ([`recert_app::aws::from_environment`]),
/// pointed at moto by `AWS_ENDPOINT_URL_SECRETS_MANAGER`, with dummy credentials.
fn sdk_config(endpoint: &str) -> aws_types::SdkConfig {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    recert_app::aws::from_environment(
        [
            ("AWS_REGION", region.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned())),
    )
}

/// A secret in moto holding `value`: its ARN.
async fn create_secret(client: &Client, value: &str) -> String {
    let name = format!("recert/test/{}", Uuid::now_v7().simple());
    let created = client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create_secret {name}: {e:?}"));
    created.arn().expect("moto returns the ARN").to_owned()
}

fn random_value(prefix: &str) -> String {
    format!(
        "{prefix}-{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

#[tokio::test]
async fn a_secret_in_moto_resolves_into_the_variable_the_configuration_reads() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let client = secrets::client(&sdk_config(&endpoint));
    let value = random_value("cursor");
    let arn = create_secret(&client, &value).await;
    let base = HashMap::from([
        ("TABLE_NAME", "recert-test"),
        ("CURSOR_SECRET_ARN", arn.as_str()),
    ]);
    let env = secrets::resolve(base, &client).await.unwrap();
    assert_eq!(env.resolved().collect::<Vec<_>>(), ["CURSOR_SECRET"]);
    let secret = env.secret("CURSOR_SECRET", 32).unwrap().unwrap();
    assert_eq!(secret.expose(), value);
    assert_eq!(env.var("TABLE_NAME").as_deref(), Some("recert-test"));
    assert!(
        !format!("{env:?}").contains(&value),
        "the overlay never prints a value"
    );
}

/// Counts the requests in flight and remembers the most at once.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

#[derive(Debug, Clone)]
struct CountInFlight(Arc<InFlight>);

impl Intercept for CountInFlight {
    fn name(&self) -> &'static str {
        "CountInFlight"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let now = self.0.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.max.fetch_max(now, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn two_secrets_resolve_concurrently() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let sdk = sdk_config(&endpoint);
    let setup = secrets::client(&sdk);
    let cursor = random_value("cursor");
    let webhook = format!("whsec_{}", random_value("webhook"));
    let cursor_arn = create_secret(&setup, &cursor).await;
    let webhook_arn = create_secret(&setup, &webhook).await;

    let in_flight = Arc::new(InFlight::default());
    let client = Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&sdk)
            .interceptor(CountInFlight(in_flight.clone()))
            .build(),
    );
    let base = HashMap::from([
        ("CURSOR_SECRET_ARN", cursor_arn.as_str()),
        ("PAYMENT_WEBHOOK_SECRET_ARN", webhook_arn.as_str()),
        ("PAYMENT_WEBHOOK_SECRET_PREVIOUS_ARN", ""),
    ]);
    let env = secrets::resolve(base, &client).await.unwrap();
    assert_eq!(env.var("CURSOR_SECRET"), Some(cursor));
    assert_eq!(env.var("PAYMENT_WEBHOOK_SECRET"), Some(webhook));
    assert_eq!(
        env.var("PAYMENT_WEBHOOK_SECRET_PREVIOUS"),
        None,
        "an empty ARN is none"
    );
    assert_eq!(
        in_flight.max.load(Ordering::SeqCst),
        2,
        "both GetSecretValue requests were in flight at once"
    );
}

#[tokio::test]
async fn an_unknown_arn_fails_naming_the_variable_and_the_arn_but_no_value() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let client = secrets::client(&sdk_config(&endpoint));
    let value = random_value("cursor");
    let known = create_secret(&client, &value).await;
    let unknown = format!(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:recert/missing/{}-AbCdEf",
        Uuid::now_v7().simple()
    );
    let base = HashMap::from([
        ("CURSOR_SECRET_ARN", known.as_str()),
        ("PAYMENT_WEBHOOK_SECRET_ARN", unknown.as_str()),
    ]);
    let error = secrets::resolve(base, &client).await.unwrap_err();
    assert!(
        matches!(&error, ConfigError::SecretUnavailable { arn_var: "PAYMENT_WEBHOOK_SECRET_ARN", arn, .. } if *arn == unknown),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("PAYMENT_WEBHOOK_SECRET_ARN") && message.contains(&unknown),
        "{message}"
    );
    assert!(message.contains("ResourceNotFound"), "says why: {message}");
    assert!(!message.contains(&value), "{message}");
    assert!(
        !message.contains("Response {"),
        "never the raw answer: {message}"
    );
    assert!(!format!("{error:?}").contains(&value), "{error:?}");
}

#[tokio::test]
async fn a_variable_set_plainly_and_by_arn_is_refused() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let client = secrets::client(&sdk_config(&endpoint));
    let arn = create_secret(&client, &random_value("cursor")).await;
    let plain = random_value("plain");
    let base = HashMap::from([
        ("CURSOR_SECRET", plain.as_str()),
        ("CURSOR_SECRET_ARN", arn.as_str()),
    ]);
    let error = secrets::resolve(base, &client).await.unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::SecretConflict {
                var: "CURSOR_SECRET",
                arn_var: "CURSOR_SECRET_ARN"
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("CURSOR_SECRET and CURSOR_SECRET_ARN are both set"),
        "{message}"
    );
    assert!(!message.contains(&plain), "{message}");
}
