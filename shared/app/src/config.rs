//! Typed configuration, read once per process from the environment.
//!
//! Every binary kind reads what it needs and nothing more: [`CoreConfig`] (store, rules) is all a
//! scheduled job or a stream consumer needs; HTTP functions add their token and cursor settings
//! in `recert-api` on top of it. A missing or bad variable is a startup error that names it.
//! Secrets are held in [`Secret`], whose `Debug` never prints them.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TABLE_NAME` | the DynamoDB table; set, it selects the DynamoDB store (region, credentials, `AWS_ENDPOINT_URL_DYNAMODB` from the standard AWS variables) | — (the embedded store) |
//! | `RECERT_DB_PATH` | the embedded SQLite file (when `TABLE_NAME` is unset; builds with the `sqlite` feature only) | `.recert/recert.db` |
//! | `RECERT_RULES_PATH` | a rules file replacing the compiled-in default | — |
//!
//! In Lambda, a variable holding a secret (`CURSOR_SECRET`, `PAYMENT_WEBHOOK_SECRET`,
//! `PAYMENT_WEBHOOK_SECRET_PREVIOUS`) may instead be given as `<NAME>_ARN`, the ARN of the Secrets
//! Manager secret holding it, read once at cold start (see [`crate::secrets`]); never both.

use recert_domain::RuleBook;
use recert_store::StoreError;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub const TABLE_NAME: &str = "TABLE_NAME";
pub const DB_PATH: &str = "RECERT_DB_PATH";
pub const RULES_PATH: &str = "RECERT_RULES_PATH";
pub const DEFAULT_DB_PATH: &str = ".recert/recert.db";

/// A secret value: compared and used, never printed (`Debug` shows `Secret([redacted])`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that uses it (a key derivation, a client).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Why the configuration cannot be used. Names the variable; never quotes a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is not set: {why}")]
    Missing {
        var: &'static str,
        why: &'static str,
    },
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("rules file {path}: {source}")]
    Rules {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("store: {0}")]
    Store(#[source] StoreError),
    #[error(
        "{var} and {arn_var} are both set: set one (the value itself, or the ARN of the Secrets Manager secret holding it)"
    )]
    SecretConflict {
        var: &'static str,
        arn_var: &'static str,
    },
    #[error("{arn_var}: the secret {arn} cannot be read: {reason}")]
    SecretUnavailable {
        arn_var: &'static str,
        arn: String,
        reason: String,
    },
}

/// Where configuration comes from: the process environment, or a map in tests.
pub trait Env {
    /// The variable's value; unset and blank are the same.
    fn var(&self, name: &str) -> Option<String>;

    /// The variable as a secret of at least `min_len` bytes, if set.
    fn secret(&self, name: &'static str, min_len: usize) -> Result<Option<Secret>, ConfigError> {
        match self.var(name) {
            None => Ok(None),
            Some(v) if v.len() >= min_len => Ok(Some(Secret(v))),
            Some(_) => Err(ConfigError::Invalid {
                var: name,
                reason: format!("must be at least {min_len} bytes"),
            }),
        }
    }
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Env for HashMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*v).to_owned())
    }
}

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    DynamoDb {
        table: String,
    },
    #[cfg(feature = "sqlite")]
    Sqlite {
        path: PathBuf,
    },
}

impl StoreConfig {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        if let Some(table) = env.var(TABLE_NAME) {
            return Ok(StoreConfig::DynamoDb { table });
        }
        #[cfg(feature = "sqlite")]
        {
            let path = env.var(DB_PATH).unwrap_or_else(|| DEFAULT_DB_PATH.into());
            Ok(StoreConfig::Sqlite { path: path.into() })
        }
        #[cfg(not(feature = "sqlite"))]
        Err(ConfigError::Missing {
            var: TABLE_NAME,
            why: "it names the DynamoDB table (this build has no embedded store)",
        })
    }
}

/// What every binary needs: the store and the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    pub store: StoreConfig,
    pub rules_path: Option<PathBuf>,
}

impl CoreConfig {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(CoreConfig {
            store: StoreConfig::from_env(env)?,
            rules_path: env.var(RULES_PATH).map(PathBuf::from),
        })
    }
}

/// The compiled-in rules, or the file at `path`.
pub fn load_rules(path: Option<&Path>) -> Result<RuleBook, ConfigError> {
    let Some(p) = path else {
        return Ok(RuleBook::default_rules());
    };
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| ConfigError::Rules {
        path: p.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(p).map_err(|e| fail(Box::new(e)))?;
    RuleBook::from_toml(&text).map_err(|e| fail(Box::new(e)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2-hunter2-hunter2-hunter2-x");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(s.expose(), "hunter2-hunter2-hunter2-hunter2-x");
    }

    #[test]
    fn a_short_secret_names_its_variable_without_quoting_it() {
        let env = HashMap::from([("CURSOR_SECRET", "short-secret")]);
        let e = env.secret("CURSOR_SECRET", 32).unwrap_err().to_string();
        assert!(
            e.contains("CURSOR_SECRET") && !e.contains("short-secret"),
            "{e}"
        );
    }

    #[test]
    fn table_name_selects_dynamodb_and_blank_is_unset() {
        let env = HashMap::from([("TABLE_NAME", "recert-dev")]);
        assert_eq!(
            CoreConfig::from_env(&env).unwrap().store,
            StoreConfig::DynamoDb {
                table: "recert-dev".into()
            }
        );
        let blank = HashMap::from([("TABLE_NAME", "  ")]);
        assert!(!matches!(
            CoreConfig::from_env(&blank).unwrap().store,
            StoreConfig::DynamoDb { .. }
        ));
    }

    #[test]
    fn a_bad_rules_file_names_its_path() {
        let e = load_rules(Some(Path::new("/nonexistent/rules.toml"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/rules.toml"), "{e}");
    }
}
