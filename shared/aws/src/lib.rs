//! The AWS SDK's shared configuration, and how it differs in Lambda (issue 15, cold start and
//! package size); its HTTP client ([`HttpsClient`]); and the configuration for an emulator
//! (DynamoDB Local, moto: [`emulator`]).
//!
//! Outside Lambda (the local server, tests, a developer's shell) it is the SDK's default chain from
//! `aws-config`, unchanged: the standard variables, `~/.aws/config` and `~/.aws/credentials`, SSO or
//! assume-role profiles, and an HTTPS client trusting the system's roots. That chain is the
//! `default-chain` feature (on by default; the Lambdas leave it out).
//!
//! In Lambda ([`in_lambda`]) region and credentials always come from the environment the service
//! sets, so [`from_environment`] builds the configuration from the variables alone, without
//! `aws-config`: no profile file is opened, no credentials chain is probed, and the binaries do not
//! link `aws-config`'s providers and the STS client they bring (the assume-role and web-identity
//! steps of the chain). Its HTTPS client trusts [`AWS_ROOTS_PEM`], compiled in, instead of parsing
//! every certificate under `/etc/ssl/certs`: DynamoDB, SES, S3 and Secrets Manager are the only
//! hosts a function calls, and every AWS endpoint chains to Amazon Trust Services. The client is
//! ours ([`HttpsClient`]: hyper's HTTP/1.1 client, rustls on ring, the same crypto library as
//! the rest of the binary) rather than the SDK's default, which links HTTP/2 and proxy support no
//! function uses; plain `http://` endpoints (DynamoDB Local, moto) work as before.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::RetryConfig;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use std::collections::BTreeMap;

mod connector;
pub use connector::HttpsClient;

/// The roots of Amazon Trust Services (Amazon Root CA 1–4, Starfield Services Root CA G2).
pub const AWS_ROOTS_PEM: &str = include_str!("aws-roots.pem");

/// Whether this process is a Lambda function (the Runtime API's address is set).
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty())
}

/// The Lambdas' HTTPS client: the compiled-in roots only.
pub fn lambda_http_client() -> Result<HttpsClient, rustls::Error> {
    HttpsClient::trusting(AWS_ROOTS_PEM.as_bytes())
}

/// The shared configuration of this process: [`from_environment`] in Lambda (or in a build without
/// the `default-chain` feature), else `aws-config`'s default chain.
pub async fn load() -> SdkConfig {
    #[cfg(feature = "default-chain")]
    if !in_lambda() {
        return aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
    }
    from_environment(std::env::vars())
}

/// The shared configuration from environment variables alone, read the way `aws-config` reads
/// them (the variables only, never a profile file):
///
/// - region: `AWS_REGION`, else `AWS_DEFAULT_REGION`;
/// - credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (what Lambda
///   sets from the execution role; they do not change during a process). Without them no provider
///   is set and a call fails as the SDK fails without credentials;
/// - endpoints: `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_DYNAMODB`), else
///   `AWS_ENDPOINT_URL`, both ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`;
/// - `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT` (`true` / `false`);
/// - retries: the standard mode (each client sets its own attempts and timeouts).
///
/// Not read (no Lambda sets them, and the chain would need `aws-config`): profiles and
/// `AWS_PROFILE`, container or instance credentials, web identity, `AWS_MAX_ATTEMPTS`,
/// `AWS_RETRY_MODE`, `AWS_SDK_UA_APP_ID`, account-ID endpoint mode. The HTTPS client trusts the
/// compiled-in roots ([`AWS_ROOTS_PEM`]).
pub fn from_environment(vars: impl IntoIterator<Item = (String, String)>) -> SdkConfig {
    let env = Environment(
        vars.into_iter()
            .filter(|(name, value)| name.starts_with("AWS_") && !value.trim().is_empty())
            .collect(),
    );
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard());
    builder.set_region(
        env.get("AWS_REGION")
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .map(|region| Region::new(region.to_owned())),
    );
    if let (Some(key), Some(secret)) = (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        builder.set_credentials_provider(Some(SharedCredentialsProvider::new(Credentials::new(
            key,
            secret,
            env.get("AWS_SESSION_TOKEN").map(str::to_owned),
            None,
            "Environment",
        ))));
    }
    builder.set_use_fips(env.flag("AWS_USE_FIPS_ENDPOINT"));
    builder.set_use_dual_stack(env.flag("AWS_USE_DUALSTACK_ENDPOINT"));
    if !env.ignores_endpoints() {
        builder.set_endpoint_url(env.get(ENDPOINT_URL).map(str::to_owned));
    }
    match lambda_http_client() {
        Ok(client) => {
            builder.set_http_client(Some(SharedHttpClient::new(client)));
        }
        // Only a broken build gets here (a test parses the roots): every call then fails with
        // the SDK's "no HTTP client" error, which names the cause.
        Err(error) => tracing::error!(%error, "compiled-in AWS roots unusable"),
    }
    builder.service_config(env).build()
}

/// The shared configuration for an emulator at `endpoint` (DynamoDB Local, moto): dummy static
/// credentials, `AWS_REGION` or `us-east-1`, and the Lambdas' HTTP client ([`from_environment`]).
/// Makes no network call.
pub fn emulator(endpoint: &str) -> SdkConfig {
    let region = std::env::var("AWS_REGION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "us-east-1".into());
    from_environment(
        [
            ("AWS_REGION", region.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            (ENDPOINT_URL, endpoint),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned())),
    )
}

const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// The `AWS_*` variables [`from_environment`] was given: what the SDK's clients ask for per
/// service (their endpoint URL) when they are built.
#[derive(Debug, Clone)]
struct Environment(BTreeMap<String, String>);

impl Environment {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim())
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.get(name)
            .and_then(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    tracing::warn!(variable = name, "neither true nor false: ignored");
                    None
                }
            })
    }

    fn ignores_endpoints(&self) -> bool {
        self.flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") == Some(true)
    }
}

impl LoadServiceConfig for Environment {
    /// `<env>_<SERVICE ID in upper snake case>` (e.g. `AWS_ENDPOINT_URL_SECRETS_MANAGER`), else
    /// `<env>`: `aws-config`'s order for environment variables.
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.env() == ENDPOINT_URL && self.ignores_endpoints() {
            return None;
        }
        let service = key.service_id().to_uppercase().replace(' ', "_");
        self.get(&format!("{}_{service}", key.env()))
            .or_else(|| self.get(key.env()))
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_credential_types::provider::ProvideCredentials;
    use aws_sdk_dynamodb::config::retry::RetryConfig;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn key<'a>(service: &'a str) -> ServiceConfigKey<'a> {
        ServiceConfigKey::builder()
            .service_id(service)
            .env(ENDPOINT_URL)
            .profile("endpoint_url")
            .build()
            .unwrap()
    }

    #[test]
    fn the_compiled_in_roots_are_the_five_amazon_trust_services_roots() {
        assert_eq!(
            AWS_ROOTS_PEM.matches("-----BEGIN CERTIFICATE-----").count(),
            5
        );
        assert_eq!(
            AWS_ROOTS_PEM.matches("-----END CERTIFICATE-----").count(),
            5
        );
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let parsed = CertificateDer::pem_slice_iter(AWS_ROOTS_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(parsed.len(), 5);
        assert!(lambda_http_client().is_ok());
        assert!(HttpsClient::trusting(b"not a certificate").is_err());
    }

    #[tokio::test]
    async fn region_credentials_and_flags_come_from_the_variables() {
        let sdk = from_environment(vars(&[
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_REGION", "ca-central-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret"),
            ("AWS_SESSION_TOKEN", "session"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "FALSE"),
            ("HOME", "/nowhere"),
        ]));
        assert_eq!(sdk.region().unwrap().as_ref(), "ca-central-1");
        assert_eq!(sdk.use_fips(), Some(true));
        assert_eq!(sdk.use_dual_stack(), Some(false));
        assert!(sdk.http_client().is_some(), "the compiled-in roots client");
        let credentials = sdk
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "not-a-real-secret");
        assert_eq!(credentials.session_token(), Some("session"));

        let fallback = from_environment(vars(&[("AWS_DEFAULT_REGION", "eu-west-1")]));
        assert_eq!(fallback.region().unwrap().as_ref(), "eu-west-1");
        assert!(fallback.credentials_provider().is_none());
        assert_eq!(fallback.use_fips(), None);
    }

    #[test]
    fn a_service_endpoint_wins_over_the_global_one_unless_endpoints_are_ignored() {
        let env = vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:2"),
        ]);
        let sdk = from_environment(env.clone());
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:1"));
        let services = sdk.service_config().unwrap();
        assert_eq!(
            services.load_config(key("Secrets Manager")).as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(
            services.load_config(key("DynamoDB")).as_deref(),
            Some("http://127.0.0.1:1")
        );

        let mut ignored = env;
        ignored.push(("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS".into(), "true".into()));
        let sdk = from_environment(ignored);
        assert_eq!(sdk.endpoint_url(), None);
        assert_eq!(
            sdk.service_config()
                .unwrap()
                .load_config(key("Secrets Manager")),
            None
        );
    }

    /// A DynamoDB client built from the environment reaches the endpoint its variable names
    /// (through the compiled-in roots client): an HTTPS call to a closed local port gets as far as
    /// the connection, and fails as a connection error.
    #[tokio::test]
    async fn a_client_from_the_environment_loads_the_roots_and_connects() {
        let sdk = from_environment(vars(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "https://127.0.0.1:9"),
        ]));
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .retry_config(RetryConfig::disabled())
            .build();
        let error = aws_sdk_dynamodb::Client::from_conf(config)
            .list_tables()
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(error, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
            "{error:?}"
        );
    }
}
