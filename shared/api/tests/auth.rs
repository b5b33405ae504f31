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
