//! Secrets from Secrets Manager at cold start (issue 10): the variables that hold a secret may
//! instead name the secret that holds it.
//!
//! For each variable of [`SECRET_VARS`] (`CURSOR_SECRET`, `PAYMENT_WEBHOOK_SECRET`,
//! `PAYMENT_WEBHOOK_SECRET_PREVIOUS`), `<NAME>_ARN` set (not blank) names a Secrets Manager secret
//! whose `SecretString` is the value of `<NAME>`. [`resolve`] reads every named secret with its own
//! `GetSecretValue`, all concurrently (one round trip of latency), and returns a [`SecretEnv`]: the
//! base environment with the resolved values overlaid, which the configuration reads as it reads
//! the process environment ([`Env`]), so nothing downstream knows where a value came from. In AWS
//! the template passes only the ARNs, never a value, and each role may read exactly its secrets.
//!
//! - With no `<NAME>_ARN` set (local runs, tests, `scripts/bench-init`) nothing is called and no
//!   client is built: the overlay is the base environment.
//! - `<NAME>` and `<NAME>_ARN` both set is a configuration error: which one wins would be a guess.
//! - A secret that is missing, denied, binary-only or empty fails init with an error naming the
//!   variable and the ARN, never a value (the SDK's `Debug` of the answer redacts the value too).
//! - Resolved values are held in [`Secret`] (never printed) and never logged.
//!
//! [`environment`] is the one the Lambdas use: the process environment, resolved once per process.

use crate::config::{ConfigError, Env, ProcessEnv, Secret};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use std::fmt;

/// The variables that may come from Secrets Manager, each through `<NAME>_ARN`: the cursor key
/// (`recert-api`'s configuration) and the payment webhook's signing secrets (`recert-webhooks`).
pub const SECRET_VARS: [SecretVar; 3] = [
    SecretVar {
        name: "CURSOR_SECRET",
        arn_var: "CURSOR_SECRET_ARN",
    },
    SecretVar {
        name: "PAYMENT_WEBHOOK_SECRET",
        arn_var: "PAYMENT_WEBHOOK_SECRET_ARN",
    },
    SecretVar {
        name: "PAYMENT_WEBHOOK_SECRET_PREVIOUS",
        arn_var: "PAYMENT_WEBHOOK_SECRET_PREVIOUS_ARN",
    },
];

/// A variable that holds a secret, and the variable naming the Secrets Manager secret instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretVar {
    /// The variable the configuration reads, e.g. `CURSOR_SECRET`.
    pub name: &'static str,
    /// The variable holding the secret's ARN, e.g. `CURSOR_SECRET_ARN`.
    pub arn_var: &'static str,
}

/// An environment with secrets resolved from Secrets Manager overlaid on a base one.
pub struct SecretEnv<E = ProcessEnv> {
    base: E,
    resolved: Vec<(&'static str, Secret)>,
}

impl<E> SecretEnv<E> {
    /// The variables whose values were resolved from Secrets Manager.
    pub fn resolved(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.resolved.iter().map(|(name, _)| *name)
    }
}

impl<E> fmt::Debug for SecretEnv<E> {
    /// Names only: never a value, of the base or of a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretEnv")
            .field("resolved", &self.resolved().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<E: Env> Env for SecretEnv<E> {
    fn var(&self, name: &str) -> Option<String> {
        match self.resolved.iter().find(|(n, _)| *n == name) {
            Some((_, secret)) => Some(secret.expose().to_owned()),
            None => self.base.var(name),
        }
    }
}

/// The secrets `env` asks for: each [`SECRET_VARS`] entry whose `<NAME>_ARN` is set, with the
/// ARN. An error when a variable is also set directly. Makes no call.
pub fn requested(env: &dyn Env) -> Result<Vec<(SecretVar, String)>, ConfigError> {
    let mut wanted = Vec::new();
    for var in SECRET_VARS {
        let Some(arn) = env.var(var.arn_var) else {
            continue;
        };
        if env.var(var.name).is_some() {
            return Err(ConfigError::SecretConflict {
                var: var.name,
                arn_var: var.arn_var,
            });
        }
        wanted.push((var, arn.trim().to_owned()));
    }
    Ok(wanted)
}

/// `base` with every secret it names (`<NAME>_ARN`) read from Secrets Manager through `client`,
/// all concurrently, as `<NAME>`. With none named, `base` as it is (no call).
pub async fn resolve<E: Env>(base: E, client: &Client) -> Result<SecretEnv<E>, ConfigError> {
    let wanted = requested(&base)?;
    let resolved = futures::future::try_join_all(wanted.into_iter().map(|(var, arn)| async move {
        Ok::<_, ConfigError>((var.name, fetch(client, var, &arn).await?))
    }))
    .await?;
    Ok(SecretEnv { base, resolved })
}

/// [`resolve`] with a client from the shared AWS configuration ([`crate::aws_sdk_config`]), built
/// only when a secret is named: with none, no client, no configuration load, no call.
pub async fn overlay<E: Env>(base: E) -> Result<SecretEnv<E>, ConfigError> {
    if requested(&base)?.is_empty() {
        return Ok(SecretEnv {
            base,
            resolved: Vec::new(),
        });
    }
    resolve(base, &client(crate::aws_sdk_config().await)).await
}

/// The process environment with its secrets resolved ([`overlay`]), once per process: what every
/// Lambda's configuration reads.
pub async fn environment() -> Result<&'static SecretEnv<ProcessEnv>, ConfigError> {
    static ENV: tokio::sync::OnceCell<SecretEnv<ProcessEnv>> = tokio::sync::OnceCell::const_new();
    ENV.get_or_try_init(|| overlay(ProcessEnv)).await
}

/// A Secrets Manager client from the shared AWS configuration (region, credentials,
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER`; in Lambda the compiled-in roots, see [`crate::aws`]).
pub fn client(sdk: &aws_types::SdkConfig) -> Client {
    Client::new(sdk)
}

/// The `SecretString` of the secret `arn`, for `var`. Errors name `var.arn_var` and `arn` only.
async fn fetch(client: &Client, var: SecretVar, arn: &str) -> Result<Secret, ConfigError> {
    let fail = |reason: String| ConfigError::SecretUnavailable {
        arn_var: var.arn_var,
        arn: arn.to_owned(),
        reason,
    };
    let output = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| fail(format!("GetSecretValue failed: {}", describe(&e))))?;
    match output.secret_string() {
        Some(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
        Some(_) => Err(fail("its SecretString is empty".into())),
        None => Err(fail(
            "it has no SecretString (a binary secret is not supported)".into(),
        )),
    }
}

/// Why `GetSecretValue` failed, from the error's code, message and causes: never the raw response
/// (an answer that could not be read may well hold the value), so never `Debug` or
/// `DisplayErrorContext`, which print it.
fn describe(error: &SdkError<GetSecretValueError, HttpResponse>) -> String {
    match error {
        SdkError::ServiceError(e) => {
            let e = e.err();
            format!(
                "{}: {}",
                e.code().unwrap_or("service error"),
                e.message().unwrap_or("no message")
            )
        }
        SdkError::ResponseError(_) => "its answer could not be read".into(),
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn overlaid(
        base: HashMap<&'static str, &'static str>,
        resolved: Vec<(&'static str, &str)>,
    ) -> SecretEnv<HashMap<&'static str, &'static str>> {
        SecretEnv {
            base,
            resolved: resolved
                .into_iter()
                .map(|(n, v)| (n, Secret::new(v)))
                .collect(),
        }
    }

    #[test]
    fn a_resolved_secret_reads_as_its_variable_and_the_rest_comes_from_the_base() {
        let env = overlaid(
            HashMap::from([("TABLE_NAME", "recert-dev"), ("CURSOR_SECRET_ARN", "arn:x")]),
            vec![("CURSOR_SECRET", "c".repeat(40).as_str())],
        );
        assert_eq!(env.var("CURSOR_SECRET"), Some("c".repeat(40)));
        assert_eq!(
            env.secret("CURSOR_SECRET", 32).unwrap().unwrap().expose(),
            "c".repeat(40)
        );
        assert_eq!(env.var("TABLE_NAME").as_deref(), Some("recert-dev"));
        assert_eq!(env.var("PAYMENT_WEBHOOK_SECRET"), None);
    }

    #[test]
    fn the_overlay_prints_names_never_values() {
        let env = overlaid(
            HashMap::from([("JWT_HS256_SECRET", "base-value-base-value-base-value-x")]),
            vec![("CURSOR_SECRET", "resolved-value-resolved-value-xyz")],
        );
        let shown = format!("{env:?}");
        assert!(shown.contains("CURSOR_SECRET"), "{shown}");
        assert!(
            !shown.contains("resolved-value") && !shown.contains("base-value"),
            "{shown}"
        );
    }

    #[test]
    fn only_the_set_arn_variables_are_requested() {
        let env = HashMap::from([
            (
                "CURSOR_SECRET_ARN",
                " arn:aws:secretsmanager:us-east-1:123456789012:secret:c ",
            ),
            ("PAYMENT_WEBHOOK_SECRET_PREVIOUS_ARN", "  "),
            ("PAYMENT_WEBHOOK_SECRET", "whsec_plain"),
        ]);
        let wanted = requested(&env).unwrap();
        assert_eq!(
            wanted,
            vec![(
                SECRET_VARS[0],
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:c".to_owned()
            )]
        );
        assert!(requested(&HashMap::<&str, &str>::new()).unwrap().is_empty());
    }

    #[test]
    fn a_variable_set_both_ways_is_an_error_naming_both_and_quoting_neither() {
        let env = HashMap::from([
            ("PAYMENT_WEBHOOK_SECRET", "whsec_plain-value"),
            ("PAYMENT_WEBHOOK_SECRET_ARN", "arn:the-arn"),
        ]);
        let e = requested(&env).unwrap_err().to_string();
        assert!(
            e.contains("PAYMENT_WEBHOOK_SECRET ") && e.contains("PAYMENT_WEBHOOK_SECRET_ARN"),
            "{e}"
        );
        assert!(!e.contains("plain-value"), "{e}");
    }

    /// An answer that cannot be read is described without its body (which may hold the value).
    #[test]
    fn an_unreadable_answer_is_not_quoted() {
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        let raw = HttpResponse::new(
            StatusCode::try_from(200).unwrap(),
            SdkBody::from(r#"{"SecretString":"the-value-itself"#),
        );
        let error: SdkError<GetSecretValueError, HttpResponse> =
            SdkError::response_error("truncated JSON", raw);
        let text = describe(&error);
        assert!(!text.contains("the-value-itself"), "{text}");
        assert_eq!(text, "its answer could not be read");
    }

    /// Without any `_ARN` variable, no client is built (no AWS configuration needed at all).
    #[tokio::test]
    async fn with_no_arn_the_overlay_is_the_base_and_calls_nothing() {
        let env = overlay(HashMap::from([("CURSOR_SECRET", "plain")]))
            .await
            .unwrap();
        assert_eq!(env.resolved().count(), 0);
        assert_eq!(env.var("CURSOR_SECRET").as_deref(), Some("plain"));
    }
}
