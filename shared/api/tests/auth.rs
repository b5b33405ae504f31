//! Production verification with published keys (JWKS, RS256/ES256), against throwaway test keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use recert_api::auth::{Authenticator, Claims};
use recert_api::{ApiError, Role};

const JWKS: &str = include_str!("fixtures/test-only-jwks.json");
const RSA: &str = include_str!("fixtures/test-only-rsa.pem");
const EC: &str = include_str!("fixtures/test-only-ec.pem");

fn claims(iss: &str, aud: &str, exp_in: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: "u-1".into(),
        role: Role::Reviewer,
        iss: iss.into(),
        aud: aud.into(),
        iat: now,
        exp: now + exp_in,
    }
}

fn sign(alg: Algorithm, kid: &str, key: &EncodingKey, c: &Claims) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    encode(&h, c, key).unwrap()
}

fn auth() -> Authenticator {
    Authenticator::from_jwks(JWKS, "https://issuer.example", "recert").unwrap()
}

#[test]
fn rs256_and_es256_tokens_from_the_published_keys_are_accepted() {
    let rsa = EncodingKey::from_rsa_pem(RSA.as_bytes()).unwrap();
    let ec = EncodingKey::from_ec_pem(EC.as_bytes()).unwrap();
    let c = claims("https://issuer.example", "recert", 300);
    let p = auth()
        .verify(&sign(Algorithm::RS256, "test-rsa", &rsa, &c))
        .unwrap();
    assert_eq!(
        p.actor,
        recert_domain::Actor::Staff {
            subject: "u-1".into(),
            role: Role::Reviewer
        }
    );
    assert!(
        auth()
            .verify(&sign(Algorithm::ES256, "test-ec", &ec, &c))
            .is_ok()
    );
}

#[test]
fn wrong_issuer_audience_kid_or_expiry_is_unauthorized() {
    let rsa = EncodingKey::from_rsa_pem(RSA.as_bytes()).unwrap();
    let bad = [
        sign(
            Algorithm::RS256,
            "test-rsa",
            &rsa,
            &claims("https://evil.example", "recert", 300),
        ),
        sign(
            Algorithm::RS256,
            "test-rsa",
            &rsa,
            &claims("https://issuer.example", "other", 300),
        ),
        sign(
            Algorithm::RS256,
            "unknown",
            &rsa,
            &claims("https://issuer.example", "recert", 300),
        ),
        sign(
            Algorithm::RS256,
            "test-rsa",
            &rsa,
            &claims("https://issuer.example", "recert", -3600),
        ),
        // The RSA key presented under the EC key's id: algorithm mismatch.
        sign(
            Algorithm::RS256,
            "test-ec",
            &rsa,
            &claims("https://issuer.example", "recert", 300),
        ),
    ];
    for token in bad {
        assert!(matches!(
            auth().verify(&token),
            Err(ApiError::Unauthorized(_))
        ));
    }
}

#[test]
fn an_hs256_token_is_refused_when_keys_are_published() {
    let hs = EncodingKey::from_secret(b"guessable-secret-guessable-secret!!");
    let token = sign(
        Algorithm::HS256,
        "test-rsa",
        &hs,
        &claims("https://issuer.example", "recert", 300),
    );
    assert!(matches!(
        auth().verify(&token),
        Err(ApiError::Unauthorized(_))
    ));
}

#[test]
fn a_jwks_without_usable_keys_or_a_short_secret_is_a_configuration_error() {
    assert!(Authenticator::from_jwks(r#"{"keys": []}"#, "i", "a").is_err());
    assert!(Authenticator::hs256(b"short", "i", "a").is_err());
}

/// A token shaped like a Cognito user pool's: the certificant id in a custom claim, roles as
/// groups, no `role` claim.
fn cognito(extra: serde_json::Value) -> String {
    let rsa = EncodingKey::from_rsa_pem(RSA.as_bytes()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut c = serde_json::json!({
        "sub": "3f1c9a6e-0000-4000-8000-cognito-user",
        "iss": "https://issuer.example",
        "aud": "recert",
        "iat": now,
        "exp": now + 300,
        "token_use": "id",
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("test-rsa".into());
    encode(&h, &c, &rsa).unwrap()
}

fn cognito_auth() -> Authenticator {
    auth()
        .with_claims(recert_api::auth::ClaimNames {
            certificant_id: "custom:certificant_id".into(),
            groups: Some("cognito:groups".into()),
            ..Default::default()
        })
        .with_max_age(3600)
}

#[test]
fn a_cognito_shaped_token_names_the_certificant_and_the_role_through_configured_claims() {
    let id = "0193f1c9-a6e0-7000-8000-000000000042";
    let p = cognito_auth()
        .verify(&cognito(serde_json::json!({
            "custom:certificant_id": id,
            "cognito:groups": ["certificant"],
        })))
        .unwrap();
    assert_eq!(
        p.actor,
        recert_domain::Actor::Certificant(id.parse().unwrap())
    );
    // Several groups: the most privileged acts.
    let p = cognito_auth()
        .verify(&cognito(
            serde_json::json!({"cognito:groups": ["reviewer", "admin"]}),
        ))
        .unwrap();
    assert_eq!(p.actor.role(), Some(Role::Admin));
    // A certificant without the id claim, or no role at all: 401.
    assert!(
        cognito_auth()
            .verify(&cognito(
                serde_json::json!({"cognito:groups": ["certificant"]})
            ))
            .is_err()
    );
    assert!(
        cognito_auth()
            .verify(&cognito(serde_json::json!({})))
            .is_err()
    );
}

#[test]
fn a_token_not_valid_yet_or_too_old_is_unauthorized() {
    let now = chrono::Utc::now().timestamp();
    let future = cognito(serde_json::json!({"cognito:groups": ["admin"], "nbf": now + 600}));
    match cognito_auth().verify(&future) {
        Err(ApiError::Unauthorized(why)) => assert!(why.contains("not valid yet"), "{why}"),
        other => panic!("{other:?}"),
    }
    let old = cognito(serde_json::json!({"cognito:groups": ["admin"], "iat": now - 7200}));
    match cognito_auth().verify(&old) {
        Err(ApiError::Unauthorized(why)) => assert!(why.contains("too old"), "{why}"),
        other => panic!("{other:?}"),
    }
}
