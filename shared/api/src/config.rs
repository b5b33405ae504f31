//! The HTTP functions' configuration: [`recert_app::config::CoreConfig`] (store, rules) plus
//! token verification and the cursor key, read once per process.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | (every [`CoreConfig`] variable) | `TABLE_NAME`, `RECERT_DB_PATH`, `RECERT_RULES_PATH` | |
//! | `JWT_ISSUER`, `JWT_AUDIENCE` | expected `iss` / `aud` | `recert-local` / `recert` |
//! | `JWT_JWKS` | the issuer's public keys (JWKS JSON, RS256/ES256) — production; read at init, no network call | — |
//! | `JWT_DISCOVERY_URL` | the issuer's OpenID discovery document (`https://…/.well-known/openid-configuration`): on a token naming a key not held, the keys are fetched from its `jwks_uri` (key rotation without a redeploy; [`crate::jwks`]) | — |
//! | `JWT_JWKS_REFRESH_SECONDS` | the least time between two such fetches | `60` |
//! | `JWT_HS256_SECRET` | shared secret (≥ 32 bytes) — development only | — |
//! | `CURSOR_SECRET` | key for pagination cursors (≥ 32 bytes); required with `JWT_JWKS` or `JWT_DISCOVERY_URL` | derived from the HS256 secret |
//! | `CURSOR_SECRET_ARN` | Lambda: the Secrets Manager secret holding `CURSOR_SECRET`, read at cold start ([`recert_app::secrets`]); not with `CURSOR_SECRET` | — |
//! | `JWT_CERTIFICANT_CLAIM` | the claim holding a certificant's id (e.g. `custom:certificant_id`) | `sub` |
//! | `JWT_ROLE_CLAIM` | the claim holding one role | `role` |
//! | `JWT_GROUPS_CLAIM` | a claim listing groups that name roles (e.g. `cognito:groups`); the most privileged wins | — |
//! | `JWT_PROVIDER_CLAIM` | the claim holding a provider's id | `sub` |
//! | `JWT_MAX_TOKEN_AGE_SECONDS` | refuse tokens issued (`iat`) longer ago than this | `86400` |

use crate::auth::{Authenticator, ClaimNames};
use crate::cursor::CursorCodec;
use crate::jwks::{DEFAULT_REFRESH_INTERVAL, PublishedKeys, issuer_url, parse_key_set};
use crate::state::AppState;
use recert_app::App;
use recert_app::config::{ConfigError, CoreConfig, Env, Secret};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const DEFAULT_ISSUER: &str = "recert-local";
pub const DEFAULT_AUDIENCE: &str = "recert";
/// The shortest secret accepted for HS256 tokens and cursors.
pub const MIN_SECRET_BYTES: usize = 32;

/// The cursor key derived from another secret (domain-separated, so the two never coincide).
pub fn derive_cursor_key(secret: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"recert cursor key\0");
    h.update(secret);
    h.finalize().to_vec()
}

/// How tokens are verified.
#[derive(Debug, Clone)]
pub enum TokenKeys {
    /// Production: the issuer's published public keys, from configuration (`jwks`) and/or fetched
    /// from its discovery document when a token names a key not held.
    Published {
        jwks: Option<String>,
        discovery_url: Option<http::Uri>,
        refresh_interval: Duration,
    },
    /// Development: a shared secret that can also mint tokens.
    Hs256(Secret),
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub core: CoreConfig,
    pub issuer: String,
    pub audience: String,
    pub keys: TokenKeys,
    pub cursor_secret: Secret,
    pub claims: ClaimNames,
    pub max_token_age_seconds: i64,
}

/// The default maximum token age: a day.
pub const DEFAULT_MAX_TOKEN_AGE_SECONDS: i64 = 86_400;

impl HttpConfig {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let core = CoreConfig::from_env(env)?;
        let issuer = env
            .var("JWT_ISSUER")
            .unwrap_or_else(|| DEFAULT_ISSUER.into());
        let audience = env
            .var("JWT_AUDIENCE")
            .unwrap_or_else(|| DEFAULT_AUDIENCE.into());
        let cursor = env.secret("CURSOR_SECRET", MIN_SECRET_BYTES)?;
        let jwks = env.var("JWT_JWKS");
        let discovery_url = env
            .var("JWT_DISCOVERY_URL")
            .map(|url| {
                issuer_url(&url).map_err(|e| ConfigError::Invalid {
                    var: "JWT_DISCOVERY_URL",
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        let (keys, cursor_secret) = if jwks.is_some() || discovery_url.is_some() {
            let cursor = cursor.ok_or(ConfigError::Missing {
                var: "CURSOR_SECRET",
                why: "pagination cursors need a key of at least 32 bytes when tokens come from the issuer's keys",
            })?;
            let refresh_interval = match env.var("JWT_JWKS_REFRESH_SECONDS") {
                None => DEFAULT_REFRESH_INTERVAL,
                Some(v) => {
                    v.parse()
                        .map(Duration::from_secs)
                        .map_err(|_| ConfigError::Invalid {
                            var: "JWT_JWKS_REFRESH_SECONDS",
                            reason: "must be a whole number of seconds".into(),
                        })?
                }
            };
            let keys = TokenKeys::Published {
                jwks,
                discovery_url,
                refresh_interval,
            };
            (keys, cursor)
        } else {
            let secret = env
                .secret("JWT_HS256_SECRET", MIN_SECRET_BYTES)?
                .ok_or(ConfigError::Missing {
                    var: "JWT_JWKS",
                    why: "set it to the issuer's JWKS and/or JWT_DISCOVERY_URL (production), or set JWT_HS256_SECRET (development)",
                })?;
            let cursor = cursor.unwrap_or_else(|| secret.clone());
            (TokenKeys::Hs256(secret), cursor)
        };
        let defaults = ClaimNames::default();
        let claims = ClaimNames {
            certificant_id: env
                .var("JWT_CERTIFICANT_CLAIM")
                .unwrap_or(defaults.certificant_id),
            role: env.var("JWT_ROLE_CLAIM").unwrap_or(defaults.role),
            groups: env.var("JWT_GROUPS_CLAIM"),
            provider_id: env
                .var("JWT_PROVIDER_CLAIM")
                .unwrap_or(defaults.provider_id),
        };
        let max_token_age_seconds = match env.var("JWT_MAX_TOKEN_AGE_SECONDS") {
            None => DEFAULT_MAX_TOKEN_AGE_SECONDS,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n: &i64| *n > 0)
                .ok_or(ConfigError::Invalid {
                    var: "JWT_MAX_TOKEN_AGE_SECONDS",
                    reason: "must be a positive number of seconds".into(),
                })?,
        };
        Ok(HttpConfig {
            core,
            issuer,
            audience,
            keys,
            cursor_secret,
            claims,
            max_token_age_seconds,
        })
    }

    /// The token verifier these settings describe.
    pub fn authenticator(&self) -> Result<Authenticator, ConfigError> {
        let invalid = |var: &'static str| {
            move |e: crate::auth::AuthConfigError| ConfigError::Invalid {
                var,
                reason: e.to_string(),
            }
        };
        let auth = match &self.keys {
            TokenKeys::Published {
                jwks,
                discovery_url,
                refresh_interval,
            } => {
                let initial = jwks
                    .as_deref()
                    .map(parse_key_set)
                    .transpose()
                    .map_err(|e| invalid("JWT_JWKS")(e.into()))?;
                let keys = match (initial, discovery_url) {
                    (initial, Some(url)) => PublishedKeys::refreshed(
                        initial.unwrap_or_default(),
                        url.clone(),
                        &self.issuer,
                        *refresh_interval,
                    ),
                    (Some(initial), None) => PublishedKeys::fixed(initial),
                    (None, None) => {
                        return Err(ConfigError::Missing {
                            var: "JWT_JWKS",
                            why: "set it, or JWT_DISCOVERY_URL, or JWT_HS256_SECRET (development)",
                        });
                    }
                };
                Ok(Authenticator::published(keys, &self.issuer, &self.audience))
            }
            TokenKeys::Hs256(secret) => {
                Authenticator::hs256(secret.expose().as_bytes(), &self.issuer, &self.audience)
                    .map_err(invalid("JWT_HS256_SECRET"))
            }
        }?;
        Ok(auth
            .with_claims(self.claims.clone())
            .with_max_age(self.max_token_age_seconds))
    }

    /// The HTTP state over an application built from [`Self::core`].
    pub fn state(&self, app: App) -> Result<AppState, ConfigError> {
        Ok(AppState::new(
            app,
            self.authenticator()?,
            CursorCodec::new(&derive_cursor_key(self.cursor_secret.expose().as_bytes())),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn production_keys_require_a_cursor_secret_and_say_so() {
        let env = HashMap::from([("JWT_JWKS", r#"{"keys":[]}"#), ("TABLE_NAME", "t")]);
        let e = HttpConfig::from_env(&env).unwrap_err().to_string();
        assert!(e.contains("CURSOR_SECRET"), "{e}");
    }

    #[test]
    fn no_keys_at_all_names_the_variables() {
        let env: HashMap<&str, &str> = HashMap::from([("TABLE_NAME", "t")]);
        let e = HttpConfig::from_env(&env).unwrap_err().to_string();
        assert!(
            e.contains("JWT_JWKS") && e.contains("JWT_HS256_SECRET"),
            "{e}"
        );
    }

    #[test]
    fn the_config_never_prints_its_secrets() {
        let secret = "dev-secret-0123456789abcdef-0123456789";
        let env = HashMap::from([("JWT_HS256_SECRET", secret), ("TABLE_NAME", "t")]);
        let config = HttpConfig::from_env(&env).unwrap();
        assert!(!format!("{config:?}").contains(secret));
        assert!(config.authenticator().is_ok());
    }

    #[test]
    fn a_discovery_url_alone_is_enough_and_must_be_https() {
        let cursor = "cursor-secret-0123456789abcdef-0123456789";
        let url = "https://cognito-idp.ca-central-1.amazonaws.com/ca-central-1_Example/.well-known/openid-configuration";
        let env = HashMap::from([
            ("JWT_DISCOVERY_URL", url),
            ("CURSOR_SECRET", cursor),
            ("TABLE_NAME", "t"),
        ]);
        let config = HttpConfig::from_env(&env).unwrap();
        // Built without a network call: the keys are fetched on the first token.
        assert!(config.authenticator().is_ok());
        for bad in [
            "http://issuer.example/.well-known/openid-configuration",
            "not a url",
        ] {
            let env = HashMap::from([
                ("JWT_DISCOVERY_URL", bad),
                ("CURSOR_SECRET", cursor),
                ("TABLE_NAME", "t"),
            ]);
            let e = HttpConfig::from_env(&env).unwrap_err().to_string();
            assert!(e.contains("JWT_DISCOVERY_URL"), "{e}");
        }
    }
}
