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

fn sign<C: serde::Serialize>(alg: Algorithm, kid: &str, key: &EncodingKey, c: &C) -> String {
    recert_api::token_crypto::install();
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    encode(&h, c, key).unwrap()
}

fn auth() -> Authenticator {
    Authenticator::from_jwks(JWKS, "https://issuer.example", "recert").unwrap()
}

#[tokio::test]
async fn rs256_and_es256_tokens_from_the_published_keys_are_accepted() {
    let rsa = EncodingKey::from_rsa_pem(RSA.as_bytes()).unwrap();
    let ec = EncodingKey::from_ec_pem(EC.as_bytes()).unwrap();
    let c = claims("https://issuer.example", "recert", 300);
    let p = auth()
        .verify(&sign(Algorithm::RS256, "test-rsa", &rsa, &c))
        .await
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
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn wrong_issuer_audience_kid_or_expiry_is_unauthorized() {
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
            auth().verify(&token).await,
            Err(ApiError::Unauthorized(_))
        ));
    }
}

#[tokio::test]
async fn an_hs256_token_is_refused_when_keys_are_published() {
    let hs = EncodingKey::from_secret(b"guessable-secret-guessable-secret!!");
    let token = sign(
        Algorithm::HS256,
        "test-rsa",
        &hs,
        &claims("https://issuer.example", "recert", 300),
    );
    assert!(matches!(
        auth().verify(&token).await,
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
    sign(Algorithm::RS256, "test-rsa", &rsa, &c)
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

#[tokio::test]
async fn a_cognito_shaped_token_names_the_certificant_and_the_role_through_configured_claims() {
    let id = "0193f1c9-a6e0-7000-8000-000000000042";
    let p = cognito_auth()
        .verify(&cognito(serde_json::json!({
            "custom:certificant_id": id,
            "cognito:groups": ["certificant"],
        })))
        .await
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
        .await
        .unwrap();
    assert_eq!(p.actor.role(), Some(Role::Admin));
    // A certificant without the id claim, or no role at all: 401.
    assert!(
        cognito_auth()
            .verify(&cognito(
                serde_json::json!({"cognito:groups": ["certificant"]})
            ))
            .await
            .is_err()
    );
    assert!(
        cognito_auth()
            .verify(&cognito(serde_json::json!({})))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_token_not_valid_yet_or_too_old_is_unauthorized() {
    let now = chrono::Utc::now().timestamp();
    let future = cognito(serde_json::json!({"cognito:groups": ["admin"], "nbf": now + 600}));
    match cognito_auth().verify(&future).await {
        Err(ApiError::Unauthorized(why)) => assert!(why.contains("not valid yet"), "{why}"),
        other => panic!("{other:?}"),
    }
    let old = cognito(serde_json::json!({"cognito:groups": ["admin"], "iat": now - 7200}));
    match cognito_auth().verify(&old).await {
        Err(ApiError::Unauthorized(why)) => assert!(why.contains("too old"), "{why}"),
        other => panic!("{other:?}"),
    }
}

mod rotation {
    //! Key rotation without a redeploy: a token naming a key not held fetches the issuer's keys
    //! from its discovery document (a real HTTP server on loopback here), rate-limited.
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use recert_api::jwks::{PublishedKeys, issuer_url, parse_key_set};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    struct Issuer {
        base: String,
        discovery_hits: Arc<AtomicUsize>,
        jwks_hits: Arc<AtomicUsize>,
    }

    /// An issuer publishing `jwks` and naming itself `issuer` in its discovery document.
    async fn issuer(issuer: &'static str, jwks: &'static str) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let discovery_hits = Arc::new(AtomicUsize::new(0));
        let jwks_hits = Arc::new(AtomicUsize::new(0));
        let (d, j, b) = (discovery_hits.clone(), jwks_hits.clone(), base.clone());
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move {
                    d.fetch_add(1, Ordering::SeqCst);
                    axum::Json(serde_json::json!({
                        "issuer": issuer,
                        "jwks_uri": format!("{b}/jwks.json"),
                    }))
                }),
            )
            .route(
                "/jwks.json",
                get(move || async move {
                    j.fetch_add(1, Ordering::SeqCst);
                    jwks
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Issuer {
            base,
            discovery_hits,
            jwks_hits,
        }
    }

    /// The fixture JWKS with only its RSA key: what the function was deployed with.
    fn rsa_only() -> recert_api::jwks::KeyMap {
        let mut set: serde_json::Value = serde_json::from_str(JWKS).unwrap();
        set["keys"]
            .as_array_mut()
            .unwrap()
            .retain(|k| k["kid"] == "test-rsa");
        parse_key_set(&set.to_string()).unwrap()
    }

    fn refreshing(at: &Issuer, interval: Duration) -> Authenticator {
        let url = issuer_url(&format!("{}/.well-known/openid-configuration", at.base)).unwrap();
        let keys = PublishedKeys::refreshed(rsa_only(), url, "https://issuer.example", interval);
        Authenticator::published(keys, "https://issuer.example", "recert")
    }

    fn ec_token(kid: &str) -> String {
        let ec = EncodingKey::from_ec_pem(EC.as_bytes()).unwrap();
        sign(
            Algorithm::ES256,
            kid,
            &ec,
            &claims("https://issuer.example", "recert", 300),
        )
    }

    #[tokio::test]
    async fn a_rotated_key_is_fetched_once_and_made_up_kids_are_rate_limited() {
        let at = issuer("https://issuer.example", JWKS).await;
        let auth = Arc::new(refreshing(&at, Duration::from_secs(60)));
        // The held key works without any fetch.
        let rsa = EncodingKey::from_rsa_pem(RSA.as_bytes()).unwrap();
        let c = claims("https://issuer.example", "recert", 300);
        auth.verify(&sign(Algorithm::RS256, "test-rsa", &rsa, &c))
            .await
            .unwrap();
        assert_eq!(at.discovery_hits.load(Ordering::SeqCst), 0);
        // The issuer rotated to its EC key: ten requests at once, one fetch, all accepted.
        let calls = (0..10).map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { auth.verify(&ec_token("test-ec")).await })
        });
        for call in calls {
            assert!(call.await.unwrap().is_ok());
        }
        assert_eq!(at.discovery_hits.load(Ordering::SeqCst), 1);
        assert_eq!(at.jwks_hits.load(Ordering::SeqCst), 1);
        // A made-up kid is refused, and within the interval it fetches nothing.
        for n in 0..5 {
            let e = auth.verify(&ec_token(&format!("made-up-{n}"))).await;
            assert!(matches!(e, Err(ApiError::Unauthorized(_))), "{e:?}");
        }
        assert_eq!(at.discovery_hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn after_the_interval_an_unknown_kid_fetches_again() {
        let at = issuer("https://issuer.example", JWKS).await;
        let auth = refreshing(&at, Duration::from_millis(200));
        assert!(auth.verify(&ec_token("made-up-1")).await.is_err());
        assert!(auth.verify(&ec_token("made-up-2")).await.is_err());
        assert_eq!(at.discovery_hits.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(auth.verify(&ec_token("made-up-3")).await.is_err());
        assert_eq!(at.discovery_hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_issuer_that_is_not_the_configured_one_is_not_trusted() {
        // Its discovery document names another issuer: its keys are never used.
        let at = issuer("https://evil.example", JWKS).await;
        let auth = refreshing(&at, Duration::from_secs(60));
        let e = auth.verify(&ec_token("test-ec")).await;
        assert!(matches!(e, Err(ApiError::Unauthorized(_))), "{e:?}");
        assert_eq!(at.jwks_hits.load(Ordering::SeqCst), 0);
        // The keys held still work.
        let rsa = EncodingKey::from_rsa_pem(RSA.as_bytes()).unwrap();
        let c = claims("https://issuer.example", "recert", 300);
        assert!(
            auth.verify(&sign(Algorithm::RS256, "test-rsa", &rsa, &c))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_a_401_not_an_error_of_ours() {
        // A port nobody listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/openid-configuration",
            closed.local_addr().unwrap()
        );
        drop(closed);
        let keys = PublishedKeys::refreshed(
            rsa_only(),
            issuer_url(&url).unwrap(),
            "https://issuer.example",
            Duration::from_secs(60),
        );
        let auth = Authenticator::published(keys, "https://issuer.example", "recert");
        let e = auth.verify(&ec_token("test-ec")).await;
        assert!(matches!(e, Err(ApiError::Unauthorized(_))), "{e:?}");
    }

    #[tokio::test]
    async fn configured_by_its_variables_a_function_picks_up_a_rotated_key() {
        let at = issuer("https://issuer.example", JWKS).await;
        let mut deployed: serde_json::Value = serde_json::from_str(JWKS).unwrap();
        deployed["keys"]
            .as_array_mut()
            .unwrap()
            .retain(|k| k["kid"] == "test-rsa");
        let deployed = deployed.to_string();
        let discovery = format!("{}/.well-known/openid-configuration", at.base);
        let env = std::collections::HashMap::from([
            ("TABLE_NAME", "t"),
            ("JWT_ISSUER", "https://issuer.example"),
            ("JWT_AUDIENCE", "recert"),
            ("JWT_JWKS", deployed.as_str()),
            ("JWT_DISCOVERY_URL", discovery.as_str()),
            ("CURSOR_SECRET", "cursor-secret-0123456789abcdef-0123456789"),
        ]);
        let auth = recert_api::config::HttpConfig::from_env(&env)
            .unwrap()
            .authenticator()
            .unwrap();
        // Nothing fetched to build it (init stays off the network).
        assert_eq!(at.discovery_hits.load(Ordering::SeqCst), 0);
        assert!(auth.verify(&ec_token("test-ec")).await.is_ok());
        assert_eq!(at.jwks_hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn only_https_or_loopback_http_issuer_urls_are_accepted() {
        assert!(issuer_url("https://issuer.example/.well-known/openid-configuration").is_ok());
        assert!(issuer_url("http://127.0.0.1:8080/x").is_ok());
        assert!(issuer_url("http://issuer.example/x").is_err());
        assert!(issuer_url("ftp://issuer.example/x").is_err());
    }
}
