//! The AWS SDK's shared configuration, and how it differs in Lambda (issue 15, cold start).
//!
//! Outside Lambda (the local server, tests, a developer's shell) it is the SDK's default chain,
//! unchanged: the standard variables, `~/.aws/config` and `~/.aws/credentials`, and an HTTPS client
//! trusting the system's roots. In Lambda ([`in_lambda`]), where region and credentials always
//! come from the environment, init does neither of the two file-system walks the defaults do:
//!
//! - no shared config files: the profile set is one empty in-memory file, so every setting (region,
//!   credentials, `AWS_ENDPOINT_URL*`, FIPS, dual-stack, …) still comes from the variables, the
//!   way the default chain reads them, but `~/.aws/*` is never opened;
//! - the HTTPS client trusts [`AWS_ROOTS_PEM`], compiled in, instead of parsing every certificate
//!   under `/etc/ssl/certs`: DynamoDB, SES and S3 are the only hosts a function calls, and every
//!   AWS endpoint chains to Amazon Trust Services. The client is otherwise the SDK's default one
//!   (hyper, rustls on aws-lc, the same crypto provider as the rest of the binary), and plain
//!   `http://` endpoints (DynamoDB Local) work as before.

// The aliases aws-config's `profile_files` takes (deprecated for aws-runtime's names, the same types).
#[allow(deprecated)]
use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

/// The roots of Amazon Trust Services (Amazon Root CA 1–4, Starfield Services Root CA G2).
pub const AWS_ROOTS_PEM: &str = include_str!("aws-roots.pem");

/// Whether this process is a Lambda function (the Runtime API's address is set).
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty())
}

/// The TLS settings of the Lambdas' HTTPS client: the compiled-in roots only.
pub fn lambda_tls_context() -> Result<TlsContext, aws_smithy_http_client::HttpClientError> {
    TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AWS_ROOTS_PEM.as_bytes()))
        .build()
}

/// The loader of the shared configuration: the SDK's defaults, or in Lambda (`lambda`) the same
/// without the shared config files and with the compiled-in roots (see the module).
pub fn loader(lambda: bool) -> aws_config::ConfigLoader {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if !lambda {
        return loader;
    }
    #[allow(deprecated)]
    let loader = loader.profile_files(
        ProfileFiles::builder()
            .with_contents(ProfileFileKind::Config, "")
            .build(),
    );
    match lambda_tls_context() {
        Ok(context) => loader.http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context)
                .build_https(),
        ),
        Err(error) => {
            tracing::warn!(%error, "compiled-in AWS roots unusable: falling back to the system's");
            loader
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::{Credentials, Region};

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
        assert!(lambda_tls_context().is_ok());
    }

    /// The roots are parsed when a client first connects (a bad one would panic there): an HTTPS
    /// call to a closed local port gets as far as the connection, and fails as a connection error.
    #[tokio::test]
    async fn the_lambda_https_client_loads_the_roots_and_connects() {
        let sdk = loader(true)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url("https://127.0.0.1:9")
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
