//! Building the application state from the environment (once per process / Lambda environment).
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TABLE_NAME` | the DynamoDB table: set, it selects the DynamoDB store (with the standard AWS variables: `AWS_REGION`, credentials, `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local) | — (embedded store) |
//! | `RECERT_DB_PATH` | embedded SQLite file (when `TABLE_NAME` is unset) | `.recert/recert.db` |
//! | `JWT_ISSUER`, `JWT_AUDIENCE` | expected `iss` / `aud` | `recert-local` / `recert` |
//! | `JWT_JWKS` | the issuer's public keys (JWKS JSON, RS256/ES256) — production | — |
//! | `JWT_HS256_SECRET` | shared secret (≥ 32 bytes) — development only | — |
//! | `CURSOR_SECRET` | key for pagination cursors (≥ 32 bytes); required with `JWT_JWKS` | derived from the HS256 secret |
//! | `RECERT_RULES_PATH` | a rules file replacing the compiled-in default | — |

use crate::auth::{AuthConfigError, Authenticator};
use crate::cursor::CursorCodec;
use crate::state::AppState;
use recert_domain::{RuleBook, SystemClock};
use recert_store::Store;
use recert_store::dynamodb::{DynamoStore, TABLE_NAME_ENV};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_ISSUER: &str = "recert-local";
pub const DEFAULT_AUDIENCE: &str = "recert";
pub const DEFAULT_DB_PATH: &str = ".recert/recert.db";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("set JWT_JWKS (production) or JWT_HS256_SECRET (development)")]
    NoKeys,
    #[error("CURSOR_SECRET (at least 32 bytes) is required with JWT_JWKS")]
    NoCursorSecret,
    #[error("auth configuration: {0}")]
    Auth(#[from] AuthConfigError),
    #[error("rules file {path}: {source}")]
    Rules {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("TABLE_NAME must name the DynamoDB table (this build has no embedded store)")]
    NoTable,
    #[error("store: {0}")]
    Store(#[from] recert_store::StoreError),
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The cursor key derived from another secret (domain-separated, so the two never coincide).
pub fn derive_cursor_key(secret: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"recert cursor key\0");
    h.update(secret);
    h.finalize().to_vec()
}

pub fn load_rules(path: Option<&Path>) -> Result<RuleBook, ConfigError> {
    match path {
        None => Ok(RuleBook::default_rules()),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Rules {
                path: p.to_path_buf(),
                source: Box::new(e),
            })?;
            RuleBook::from_toml(&text).map_err(|e| ConfigError::Rules {
                path: p.to_path_buf(),
                source: Box::new(e),
            })
        }
    }
}

/// The authenticator and cursor codec from `JWT_*` / `CURSOR_SECRET`.
pub fn auth_from_env() -> Result<(Authenticator, CursorCodec), ConfigError> {
    let issuer = env("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into());
    let audience = env("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into());
    if let Some(jwks) = env("JWT_JWKS") {
        let auth = Authenticator::from_jwks(&jwks, &issuer, &audience)?;
        let cursor = env("CURSOR_SECRET")
            .filter(|s| s.len() >= 32)
            .ok_or(ConfigError::NoCursorSecret)?;
        return Ok((
            auth,
            CursorCodec::new(&derive_cursor_key(cursor.as_bytes())),
        ));
    }
    let secret = env("JWT_HS256_SECRET").ok_or(ConfigError::NoKeys)?;
    let auth = Authenticator::hs256(secret.as_bytes(), &issuer, &audience)?;
    let cursor_key = env("CURSOR_SECRET").unwrap_or(secret);
    Ok((
        auth,
        CursorCodec::new(&derive_cursor_key(cursor_key.as_bytes())),
    ))
}

/// The store the environment names: DynamoDB when `TABLE_NAME` is set (no network call here),
/// else the embedded SQLite file at `RECERT_DB_PATH` (only in builds with the `sqlite` feature; the
/// Lambdas are built without it and require `TABLE_NAME`).
pub async fn store_from_env() -> Result<Arc<dyn Store>, ConfigError> {
    if env(TABLE_NAME_ENV).is_some() {
        return Ok(Arc::new(DynamoStore::from_env().await?));
    }
    #[cfg(feature = "sqlite")]
    {
        let db = env("RECERT_DB_PATH").unwrap_or_else(|| DEFAULT_DB_PATH.into());
        Ok(Arc::new(recert_store::sqlite::SqliteStore::open(
            Path::new(&db),
        )?))
    }
    #[cfg(not(feature = "sqlite"))]
    Err(ConfigError::NoTable)
}

/// The whole state from the environment (see the table above for the store's selection).
pub async fn state_from_env() -> Result<AppState, ConfigError> {
    let (auth, cursors) = auth_from_env()?;
    let rules = load_rules(env("RECERT_RULES_PATH").as_deref().map(Path::new))?;
    let store = store_from_env().await?;
    Ok(AppState {
        store,
        auth: Arc::new(auth),
        rules: Arc::new(rules),
        clock: Arc::new(SystemClock),
        cursors,
    })
}
