//! The HTTP functions' configuration: [`recert_app::config::CoreConfig`] (store, rules) plus
//! token verification and the cursor key, read once per process.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | (every [`CoreConfig`] variable) | `TABLE_NAME`, `RECERT_DB_PATH`, `RECERT_RULES_PATH` | |
//! | `JWT_ISSUER`, `JWT_AUDIENCE` | expected `iss` / `aud` | `recert-local` / `recert` |
//! | `JWT_JWKS` | the issuer's public keys (JWKS JSON, RS256/ES256) — production | — |
//! | `JWT_HS256_SECRET` | shared secret (≥ 32 bytes) — development only | — |
//! | `CURSOR_SECRET` | key for pagination cursors (≥ 32 bytes); required with `JWT_JWKS` | derived from the HS256 secret |

use crate::auth::Authenticator;
use crate::cursor::CursorCodec;
use crate::state::AppState;
use recert_app::App;
use recert_app::config::{ConfigError, CoreConfig, Env, Secret};
use sha2::{Digest, Sha256};

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
    /// Production: the issuer's published public keys.
    Jwks(String),
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
}

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
        let (keys, cursor_secret) = if let Some(jwks) = env.var("JWT_JWKS") {
            let cursor = cursor.ok_or(ConfigError::Missing {
                var: "CURSOR_SECRET",
                why: "pagination cursors need a key of at least 32 bytes when tokens come from JWT_JWKS",
            })?;
            (TokenKeys::Jwks(jwks), cursor)
        } else {
            let secret = env
                .secret("JWT_HS256_SECRET", MIN_SECRET_BYTES)?
                .ok_or(ConfigError::Missing {
                    var: "JWT_JWKS",
                    why: "set it to the issuer's JWKS (production), or set JWT_HS256_SECRET (development)",
                })?;
            let cursor = cursor.unwrap_or_else(|| secret.clone());
            (TokenKeys::Hs256(secret), cursor)
        };
        Ok(HttpConfig {
            core,
            issuer,
            audience,
            keys,
            cursor_secret,
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
        match &self.keys {
            TokenKeys::Jwks(jwks) => Authenticator::from_jwks(jwks, &self.issuer, &self.audience)
                .map_err(invalid("JWT_JWKS")),
            TokenKeys::Hs256(secret) => {
                Authenticator::hs256(secret.expose().as_bytes(), &self.issuer, &self.audience)
                    .map_err(invalid("JWT_HS256_SECRET"))
            }
        }
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
}
