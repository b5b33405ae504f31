//! Bearer JWT authentication and role checks.
//!
//! Locally tokens are HS256 with a generated dev secret ([`Authenticator::hs256`], minted by
//! `recert-local token`). In production API Gateway's JWT authorizer checks the token first and the
//! function verifies it again with the issuer's public keys (RS256/ES256 from a JWKS given in
//! configuration — no network call at init or on the hot path — refreshed from the issuer's
//! discovery document when a token names a key not yet known: [`crate::jwks`]). Tokens are never
//! logged.

use crate::error::ApiError;
use crate::jwks::{KeySetError, PublishedKeys, parse_key_set};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
pub use recert_domain::Role;
use recert_domain::{Actor, CertificantId, ProviderId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The claims Recert reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
}

/// The authenticated caller: the token turned into the application's [`Actor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub actor: Actor,
}

impl Principal {
    /// The actor a token names. A certificant's `sub` must be their certificant id.
    pub fn from_claims(subject: String, role: Role) -> Result<Self, ApiError> {
        let actor = match role {
            Role::Certificant => Actor::Certificant(subject.parse().map_err(|_| {
                ApiError::Unauthorized("the bearer token's subject is not a certificant id")
            })?),
            Role::Provider => Actor::Provider {
                provider: ProviderId(subject.clone()),
                subject,
            },
            Role::Reviewer | Role::Auditor | Role::Committee | Role::Admin => {
                Actor::Staff { subject, role }
            }
        };
        Ok(Principal { actor })
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.actor.has_role(roles) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The token's subject (scopes the caller's idempotency keys).
    pub fn subject(&self) -> String {
        match &self.actor {
            Actor::Staff { subject, .. } | Actor::Provider { subject, .. } => subject.clone(),
            other => other.acted_by().subject,
        }
    }

    /// Whether the caller may see the data of `owner`: staff always, a certificant only their own.
    pub fn may_read(&self, owner: CertificantId) -> bool {
        self.actor.may_read(owner)
    }
}

enum Keys {
    Shared(DecodingKey),
    Published(Box<PublishedKeys>),
}

/// Verifies bearer tokens. Built once per process.
pub struct Authenticator {
    keys: Keys,
    issuer: String,
    audience: String,
    signer: Option<EncodingKey>,
    claims: ClaimNames,
    /// Tokens issued (`iat`) longer ago than this are refused, whatever their `exp`.
    max_age_seconds: Option<i64>,
}

/// Where a token carries who the caller is: configurable, so a standard issuer works (a Cognito
/// user pool cannot put our certificant id in `sub`, but can in `custom:certificant_id`, and
/// carries roles as `cognito:groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The claim holding a certificant's id (default `sub`).
    pub certificant_id: String,
    /// The claim holding one role (default `role`).
    pub role: String,
    /// A claim holding a list of groups, any of which may name a role (e.g. `cognito:groups`).
    pub groups: Option<String>,
    /// The claim holding a provider's id (default `sub`).
    pub provider_id: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            certificant_id: "sub".into(),
            role: "role".into(),
            groups: None,
            provider_id: "sub".into(),
        }
    }
}

/// When a token's groups name several roles, the one it acts with: the most privileged.
const ROLE_PRECEDENCE: [Role; 6] = [
    Role::Admin,
    Role::Committee,
    Role::Auditor,
    Role::Reviewer,
    Role::Provider,
    Role::Certificant,
];

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error(transparent)]
    KeySet(#[from] KeySetError),
    #[error("the HS256 secret must be at least 32 bytes")]
    WeakSecret,
}

impl Authenticator {
    /// Development: one shared HS256 secret that can also mint tokens.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Result<Self, AuthConfigError> {
        if secret.len() < 32 {
            return Err(AuthConfigError::WeakSecret);
        }
        crate::token_crypto::install();
        Ok(Authenticator {
            keys: Keys::Shared(DecodingKey::from_secret(secret)),
            issuer: issuer.into(),
            audience: audience.into(),
            signer: Some(EncodingKey::from_secret(secret)),
            claims: ClaimNames::default(),
            max_age_seconds: None,
        })
    }

    /// Production: the issuer's published public keys (a JWKS document), RS256 or ES256 only.
    pub fn from_jwks(
        jwks_json: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, AuthConfigError> {
        let keys = PublishedKeys::fixed(parse_key_set(jwks_json)?);
        Ok(Self::published(keys, issuer, audience))
    }

    /// Production with key rotation: the issuer's keys as [`PublishedKeys`] (see [`crate::jwks`]).
    pub fn published(keys: PublishedKeys, issuer: &str, audience: &str) -> Self {
        crate::token_crypto::install();
        Authenticator {
            keys: Keys::Published(Box::new(keys)),
            issuer: issuer.into(),
            audience: audience.into(),
            signer: None,
            claims: ClaimNames::default(),
            max_age_seconds: None,
        }
    }

    /// Read the caller from these claims instead of the defaults.
    pub fn with_claims(mut self, claims: ClaimNames) -> Self {
        self.claims = claims;
        self
    }

    /// Refuse tokens issued more than `seconds` ago.
    pub fn with_max_age(mut self, seconds: i64) -> Self {
        self.max_age_seconds = Some(seconds);
        self
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = 30;
        v
    }

    /// The caller the verified claims name (see [`ClaimNames`]).
    fn principal(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Principal, ApiError> {
        let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let from_groups = self.claims.groups.as_ref().and_then(|name| {
            let groups: Vec<&str> = claims
                .get(name)?
                .as_array()?
                .iter()
                .filter_map(|g| g.as_str())
                .collect();
            ROLE_PRECEDENCE
                .into_iter()
                .find(|r| groups.contains(&r.as_str()))
        });
        let role = match from_groups {
            Some(r) => r,
            None => text(&self.claims.role)
                .and_then(|r| r.parse().ok())
                .ok_or(ApiError::Unauthorized("the bearer token names no role"))?,
        };
        let subject = text("sub").ok_or(ApiError::Unauthorized("the bearer token is invalid"))?;
        let issued_at = claims.get("iat").and_then(|v| v.as_i64());
        if let (Some(max), Some(iat)) = (self.max_age_seconds, issued_at)
            && chrono::Utc::now().timestamp() - iat > max
        {
            return Err(ApiError::Unauthorized(
                "the bearer token is too old; sign in again",
            ));
        }
        match role {
            Role::Certificant => {
                let id = text(&self.claims.certificant_id).ok_or(ApiError::Unauthorized(
                    "the bearer token carries no certificant id",
                ))?;
                Principal::from_claims(id, role)
            }
            Role::Provider => {
                let provider = text(&self.claims.provider_id).ok_or(ApiError::Unauthorized(
                    "the bearer token carries no provider id",
                ))?;
                Ok(Principal {
                    actor: Actor::Provider {
                        subject,
                        provider: ProviderId(provider),
                    },
                })
            }
            _ => Principal::from_claims(subject, role),
        }
    }

    /// Verify a bearer token. The error text is safe to return (it never echoes the token).
    ///
    /// With published keys, a token naming a key not held may first fetch the issuer's keys
    /// (rate-limited, see [`crate::jwks`]).
    pub async fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let invalid = ApiError::Unauthorized("the bearer token is invalid");
        let header = decode_header(token)
            .map_err(|_| ApiError::Unauthorized("the bearer token is malformed"))?;
        let published;
        let (key, alg) = match &self.keys {
            Keys::Shared(k) => (k, Algorithm::HS256),
            Keys::Published(keys) => {
                let kid = header.kid.as_deref().ok_or(ApiError::Unauthorized(
                    "the bearer token names no key (kid)",
                ))?;
                published = keys.for_kid(kid).await;
                let (k, alg) = published
                    .get(kid)
                    .ok_or(ApiError::Unauthorized("the bearer token's key is unknown"))?;
                (k, *alg)
            }
        };
        if header.alg != alg {
            return Err(invalid);
        }
        let data =
            decode::<serde_json::Map<String, serde_json::Value>>(token, key, &self.validation(alg))
                .map_err(|e| match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        ApiError::Unauthorized("the bearer token has expired")
                    }
                    jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                        ApiError::Unauthorized("the bearer token is not valid yet (nbf)")
                    }
                    _ => ApiError::Unauthorized("the bearer token is invalid"),
                })?;
        self.principal(&data.claims)
    }

    /// Mint a token (development secret only).
    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        now_unix: i64,
        ttl_seconds: i64,
    ) -> Option<String> {
        let signer = self.signer.as_ref()?;
        let claims = Claims {
            sub: subject.into(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now_unix,
            exp: now_unix + ttl_seconds,
        };
        encode(&Header::new(Algorithm::HS256), &claims, signer).ok()
    }
}
