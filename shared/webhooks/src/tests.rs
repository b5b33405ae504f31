#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use chrono::TimeZone;
use std::collections::HashMap;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// Replace (or add) header `name` in a signed header list.
fn with_header(
    mut headers: Vec<(String, String)>,
    name: &str,
    value: &str,
) -> Vec<(String, String)> {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value.to_owned()));
    headers
}

fn without_header(mut headers: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap()
}

// Secrets made up for these tests (the Standard Webhooks ones are base64 of 24–32 bytes).
const STRIPE_CURRENT: &str = "whsec_9zT1cQ4vXk2LmN8pR5sW7yB3dF6gH0jK";
const STRIPE_OLD: &str = "whsec_old0000000000000000000000000000";
const SW_CURRENT: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn stripe_verifier(secrets: &[&str]) -> Verifier {
    let secrets = secrets
        .iter()
        .map(|s| WebhookSecret::stripe(s).unwrap())
        .collect();
    Verifier::new(Scheme::Stripe, secrets).unwrap()
}

fn sw_verifier(secrets: &[&str]) -> Verifier {
    let secrets = secrets
        .iter()
        .map(|s| WebhookSecret::standard_webhooks(s).unwrap())
        .collect();
    Verifier::new(Scheme::StandardWebhooks, secrets).unwrap()
}

const NOW: i64 = 1_772_366_400; // 2026-03-01T12:00:00Z

const STRIPE_SUCCEEDED: &str = r#"{"id":"evt_1Pq","object":"event","type":"payment_intent.succeeded","created":1772366390,"data":{"object":{"id":"pi_3Abc","object":"payment_intent","amount":12345,"amount_received":12345,"currency":"usd","metadata":{"order_number":"R-2026-000123"}}}}"#;

const SW_SUCCEEDED: &str = r#"{"type":"payment.succeeded","timestamp":"2026-03-01T11:59:50Z","data":{"order_number":"R-2026-000123","amount_minor":12345,"currency":"USD","payment_id":"pay_42"}}"#;

// ---------------------------------------------------------------------------------------------
// Reference vectors
// ---------------------------------------------------------------------------------------------

/// Stripe's fixed vector from stripe/stripe-dotnet, `src/StripeTests/Services/Events/EventUtilityTest.cs`
/// (commit d33036292e0fba185de235ce26836eebba9f91fd): secret `webhook_secret`, `t=1533204620`,
/// body `src/StripeTests/Resources/event_test_signature.json` (LF line endings, trailing newline),
/// v1 `2220f87e…c3c7` (also reproduced with `openssl sha256 -hmac`). The fixture's secret lacks the
/// `whsec_` prefix our constructor requires, so the key is injected raw: the algorithm is the same
/// (the secret string's bytes are the key).
const STRIPE_DOTNET_BODY: &str = r#"{
  "id": "evt_123",
  "object": "event",
  "account": "acct_123",
  "api_version": "2017-05-25",
  "created": 1533204620,
  "data": {
    "object": {
      "id": "cus_123",
      "object": "customer",
      "created": 123456789,
      "email": "test@stripe.com",
      "livemode": false,
      "metadata": {}
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {
    "id": "req_123",
    "idempotency_key": "idempotency-key-123"
  },
  "type": "customer.created"
}
"#;
const STRIPE_DOTNET_HEADER: &str = "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";

fn stripe_dotnet_verifier() -> Verifier {
    Verifier::new(
        Scheme::Stripe,
        vec![WebhookSecret::from_raw_key(
            Scheme::Stripe,
            b"webhook_secret",
        )],
    )
    .unwrap()
}

#[test]
fn stripe_reference_vector_verifies() {
    let verifier = stripe_dotnet_verifier();
    let headers = pairs(&[("Stripe-Signature", STRIPE_DOTNET_HEADER)]);
    // The .NET test verifies 100 s after `t` with a 300 s tolerance.
    let event = verifier
        .verify(
            &headers,
            STRIPE_DOTNET_BODY.as_bytes(),
            at(1_533_204_620 + 100),
        )
        .unwrap();
    assert_eq!(
        event,
        PaymentEvent {
            event_id: "evt_123".into(),
            kind: PaymentKind::Other("customer.created".into()),
            order_number: None,
            amount_minor: None,
            currency: None,
            payment_reference: None,
            occurred_at: Some(at(1_533_204_620)),
        }
    );
    // Its RejectOutdatedTimestamp case: 400 s after `t`.
    assert_eq!(
        verifier.verify(
            &headers,
            STRIPE_DOTNET_BODY.as_bytes(),
            at(1_533_204_620 + 400)
        ),
        Err(WebhookError::Stale { age_seconds: 400 })
    );
    // Its RejectIncorrectSignature case: the body changed.
    let tampered = format!("{STRIPE_DOTNET_BODY}this_changes_the_json");
    assert_eq!(
        verifier.verify(&headers, tampered.as_bytes(), at(1_533_204_620 + 100)),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn stripe_reference_vector_signs() {
    let signed =
        stripe_dotnet_verifier().sign(STRIPE_DOTNET_BODY.as_bytes(), at(1_533_204_620), "ignored");
    assert_eq!(
        signed,
        pairs(&[(
            "Stripe-Signature",
            "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7"
        )])
    );
}

/// Standard Webhooks reference vectors, from standard-webhooks/standard-webhooks (commit
/// b2fa7b8719fb75d326b591077f5d1b385cfcdfae):
/// 1. `TestWebhookSign` / `sign function works` / `test_sign_function` in `libraries/go/webhook_test.go`,
///    `libraries/javascript/src/webhook.test.ts` and `libraries/python/tests/test_webhooks.py`;
/// 2. `test_sign` in `libraries/rust/src/lib.rs` (also the vector in /work/shared/LIFECYCLE-NOTES.md §2).
const SW_VECTORS: [(&str, &str, i64, &str, &str); 2] = [
    (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_330,
        r#"{"test": 2432232314}"#,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    ),
    (
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1_649_367_553,
        r#"{"email":"test@example.com","username":"test_user"}"#,
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
    ),
];

#[test]
fn standard_webhooks_reference_vectors_sign() {
    for (secret, id, ts, body, signature) in SW_VECTORS {
        let signed = sw_verifier(&[secret]).sign(body.as_bytes(), at(ts), id);
        assert_eq!(
            signed,
            pairs(&[
                ("webhook-id", id),
                ("webhook-timestamp", &ts.to_string()),
                ("webhook-signature", signature),
            ])
        );
    }
}

#[test]
fn standard_webhooks_reference_vectors_verify() {
    for (secret, id, ts, body, signature) in SW_VECTORS {
        let headers = pairs(&[
            ("webhook-id", id),
            ("webhook-timestamp", &ts.to_string()),
            ("webhook-signature", signature),
        ]);
        // The signature is accepted; the vectors' bodies are not payment events (no `type`).
        assert_eq!(
            sw_verifier(&[secret]).verify(&headers, body.as_bytes(), at(ts)),
            Err(WebhookError::BadPayload("missing string `type`".into()))
        );
        // Under another secret it is not.
        let other = if secret == SW_CURRENT {
            SW_OLD
        } else {
            SW_CURRENT
        };
        assert_eq!(
            sw_verifier(&[other]).verify(&headers, body.as_bytes(), at(ts)),
            Err(WebhookError::BadSignature)
        );
    }
}

/// The reference libraries' multi-signature case (`valid multi sig is valid` in
/// `libraries/go/webhook_test.go`): a wrong `v1`, a `v2`, the valid one, another wrong `v1`.
#[test]
fn standard_webhooks_reference_multi_signature_case() {
    let (secret, id, ts, body, signature) = SW_VECTORS[0];
    let junk = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    let list = format!("v1,{junk} v2,{junk} {signature} v1,{junk}");
    let headers = pairs(&[
        ("webhook-id", id),
        ("webhook-timestamp", &ts.to_string()),
        ("webhook-signature", &list),
    ]);
    assert!(matches!(
        sw_verifier(&[secret]).verify(&headers, body.as_bytes(), at(ts)),
        Err(WebhookError::BadPayload(_))
    ));
    // Only the wrong ones, and the "partial signature" case (`v1,` alone): rejected.
    for list in [format!("v1,{junk} v2,{junk}"), "v1,".to_owned()] {
        let headers = with_header(headers.clone(), "webhook-signature", &list);
        assert_eq!(
            sw_verifier(&[secret]).verify(&headers, body.as_bytes(), at(ts)),
            Err(WebhookError::BadSignature)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Valid, forged, stale
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_signatures_verify_for_both_schemes() {
    let stripe = stripe_verifier(&[STRIPE_CURRENT]);
    let headers = stripe.sign(STRIPE_SUCCEEDED.as_bytes(), at(NOW), "unused");
    assert_eq!(headers.len(), 1);
    assert!(header(&headers, "stripe-signature").starts_with(&format!("t={NOW},v1=")));
    let event = stripe
        .verify(&headers, STRIPE_SUCCEEDED.as_bytes(), at(NOW))
        .unwrap();
    assert_eq!(event.event_id, "evt_1Pq");
    assert_eq!(event.kind, PaymentKind::Succeeded);
    // Hex digits in either case.
    let (t, v1) = header(&headers, "stripe-signature")
        .split_once(",v1=")
        .unwrap();
    let upper = pairs(&[("Stripe-Signature", &format!("{t},v1={}", v1.to_uppercase()))]);
    assert!(
        stripe
            .verify(&upper, STRIPE_SUCCEEDED.as_bytes(), at(NOW))
            .is_ok()
    );

    let sw = sw_verifier(&[SW_CURRENT]);
    let headers = sw.sign(
        SW_SUCCEEDED.as_bytes(),
        at(NOW),
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    );
    let event = sw
        .verify(&headers, SW_SUCCEEDED.as_bytes(), at(NOW))
        .unwrap();
    assert_eq!(event.event_id, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    assert_eq!(event.kind, PaymentKind::Succeeded);
}

#[test]
fn forged_stripe_calls_are_rejected() {
    let verifier = stripe_verifier(&[STRIPE_CURRENT]);
    let body = STRIPE_SUCCEEDED.as_bytes();
    let bad = Err(WebhookError::BadSignature);

    // Signed with another secret.
    let forged = stripe_verifier(&[STRIPE_OLD]).sign(body, at(NOW), "");
    assert_eq!(verifier.verify(&forged, body, at(NOW)), bad);

    let genuine = verifier.sign(body, at(NOW), "");
    // Tampered body (amount changed).
    let tampered = STRIPE_SUCCEEDED.replace("12345", "1");
    assert_eq!(verifier.verify(&genuine, tampered.as_bytes(), at(NOW)), bad);
    // Timestamp moved (replaying an old signature under a fresh `t`).
    let v1 = header(&genuine, "Stripe-Signature")
        .split_once(",v1=")
        .unwrap()
        .1
        .to_owned();
    let moved = pairs(&[("Stripe-Signature", &format!("t={},v1={v1}", NOW + 1))]);
    assert_eq!(verifier.verify(&moved, body, at(NOW)), bad);
    // A signature of the wrong length, not hex, only a v0, or no signature at all.
    for value in [
        format!("t={NOW},v1={}", &v1[..62]),
        format!("t={NOW},v1={}", &v1[..63]),
        format!("t={NOW},v1={}", "zz".repeat(32)),
        format!("t={NOW},v1=bad_signature"),
        format!("t={NOW},v0={v1}"),
        format!("t={NOW}"),
        format!("t={NOW},v1="),
    ] {
        let headers = pairs(&[("Stripe-Signature", &value)]);
        assert_eq!(verifier.verify(&headers, body, at(NOW)), bad, "{value}");
    }
}

#[test]
fn forged_standard_webhooks_calls_are_rejected() {
    let verifier = sw_verifier(&[SW_CURRENT]);
    let body = SW_SUCCEEDED.as_bytes();
    let bad = Err(WebhookError::BadSignature);

    let forged = sw_verifier(&[SW_OLD]).sign(body, at(NOW), "msg_1");
    assert_eq!(verifier.verify(&forged, body, at(NOW)), bad);

    let genuine = verifier.sign(body, at(NOW), "msg_1");
    let tampered = SW_SUCCEEDED.replace("12345", "1");
    assert_eq!(verifier.verify(&genuine, tampered.as_bytes(), at(NOW)), bad);
    // The id and the timestamp are signed too.
    let other_id = with_header(genuine.clone(), "webhook-id", "msg_2");
    assert_eq!(verifier.verify(&other_id, body, at(NOW)), bad);
    let other_ts = with_header(genuine.clone(), "webhook-timestamp", &(NOW + 1).to_string());
    assert_eq!(verifier.verify(&other_ts, body, at(NOW)), bad);
    // A truncated signature, or only an asymmetric (`v1a`) entry.
    let sig = header(&genuine, "webhook-signature").to_owned();
    for value in [
        sig[..sig.len() - 4].to_owned(),
        sig.replacen("v1,", "v1a,", 1),
    ] {
        let headers = with_header(genuine.clone(), "webhook-signature", &value);
        assert_eq!(verifier.verify(&headers, body, at(NOW)), bad, "{value}");
    }
}

#[test]
fn timestamps_beyond_the_tolerance_are_stale_both_ways() {
    for verifier in [
        stripe_verifier(&[STRIPE_CURRENT]),
        sw_verifier(&[SW_CURRENT]),
    ] {
        let body = match verifier.scheme() {
            Scheme::Stripe => STRIPE_SUCCEEDED,
            Scheme::StandardWebhooks => SW_SUCCEEDED,
        }
        .as_bytes();
        let headers = verifier.sign(body, at(NOW), "msg_1");
        // Exactly at the edge: accepted.
        assert!(verifier.verify(&headers, body, at(NOW + 300)).is_ok());
        assert!(verifier.verify(&headers, body, at(NOW - 300)).is_ok());
        // One second beyond, either way: stale (age negative for a future timestamp).
        assert_eq!(
            verifier.verify(&headers, body, at(NOW + 301)),
            Err(WebhookError::Stale { age_seconds: 301 })
        );
        assert_eq!(
            verifier.verify(&headers, body, at(NOW - 301)),
            Err(WebhookError::Stale { age_seconds: -301 })
        );
        // A custom tolerance.
        let strict = verifier.clone().with_tolerance(Duration::from_secs(10));
        assert_eq!(strict.tolerance(), Duration::from_secs(10));
        assert!(strict.verify(&headers, body, at(NOW + 10)).is_ok());
        assert_eq!(
            strict.verify(&headers, body, at(NOW + 11)),
            Err(WebhookError::Stale { age_seconds: 11 })
        );
        // Stale is only said of an authentic message: a forgery is a forgery first.
        let forged = match verifier.scheme() {
            Scheme::Stripe => stripe_verifier(&[STRIPE_OLD]),
            Scheme::StandardWebhooks => sw_verifier(&[SW_OLD]),
        }
        .sign(body, at(NOW), "msg_1");
        assert_eq!(
            verifier.verify(&forged, body, at(NOW + 3600)),
            Err(WebhookError::BadSignature)
        );
    }
}

#[test]
fn a_far_off_timestamp_does_not_overflow() {
    let verifier = sw_verifier(&[SW_CURRENT]);
    let body = SW_SUCCEEDED.as_bytes();
    let key = WebhookSecret::standard_webhooks(SW_CURRENT).unwrap();
    let ts = "9223372036854775807"; // i64::MAX
    let sig = standard::sign(key.key(), "msg_1", ts, body);
    let headers = pairs(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", ts),
        ("webhook-signature", &format!("v1,{sig}")),
    ]);
    assert!(matches!(
        verifier.verify(&headers, body, at(NOW)),
        Err(WebhookError::Stale { age_seconds }) if age_seconds < 0
    ));
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_and_malformed_stripe_headers() {
    let verifier = stripe_verifier(&[STRIPE_CURRENT]);
    let body = STRIPE_SUCCEEDED.as_bytes();
    let none: Vec<(String, String)> = Vec::new();
    assert_eq!(
        verifier.verify(&none, body, at(NOW)),
        Err(WebhookError::MissingHeader("Stripe-Signature"))
    );
    assert_eq!(
        verifier.verify(&pairs(&[("Stripe-Signature", "  ")]), body, at(NOW)),
        Err(WebhookError::MissingHeader("Stripe-Signature"))
    );
    let v1 = "v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7";
    // The first three are stripe-go's ErrInvalidHeader cases (`webhook/client_test.go`).
    for value in [
        "t=".to_owned(),
        "v1,t=1".to_owned(),
        v1.to_owned(),
        format!("t=abc,{v1}"),
        format!("t=-5,{v1}"),
        format!("t=1.5,{v1}"),
        format!("t={NOW},t={NOW},{v1}"),
        format!("t={NOW},garbage"),
    ] {
        let headers = pairs(&[("Stripe-Signature", &value)]);
        assert_eq!(
            verifier.verify(&headers, body, at(NOW)),
            Err(WebhookError::MalformedHeader("Stripe-Signature")),
            "{value}"
        );
    }
}

#[test]
fn missing_and_malformed_standard_webhooks_headers() {
    let verifier = sw_verifier(&[SW_CURRENT]);
    let body = SW_SUCCEEDED.as_bytes();
    let genuine = verifier.sign(body, at(NOW), "msg_1");
    for (name, canonical) in [
        ("webhook-id", "webhook-id"),
        ("Webhook-Timestamp", "webhook-timestamp"),
        ("WEBHOOK-SIGNATURE", "webhook-signature"),
    ] {
        assert_eq!(
            verifier.verify(&without_header(genuine.clone(), name), body, at(NOW)),
            Err(WebhookError::MissingHeader(canonical))
        );
        assert_eq!(
            verifier.verify(&with_header(genuine.clone(), name, ""), body, at(NOW)),
            Err(WebhookError::MissingHeader(canonical))
        );
    }
    for ts in [
        "hello",
        "1.5",
        "-1",
        "+1772366400",
        "17723664000000000000000",
    ] {
        assert_eq!(
            verifier.verify(
                &with_header(genuine.clone(), "webhook-timestamp", ts),
                body,
                at(NOW)
            ),
            Err(WebhookError::MalformedHeader("webhook-timestamp")),
            "{ts}"
        );
    }
    let sig = header(&genuine, "webhook-signature").to_owned();
    let no_comma = format!("{sig} garbage");
    assert_eq!(
        verifier.verify(
            &with_header(genuine.clone(), "webhook-signature", &no_comma),
            body,
            at(NOW)
        ),
        Err(WebhookError::MalformedHeader("webhook-signature"))
    );
}

#[test]
fn header_lookup_is_case_insensitive_for_every_container() {
    let verifier = sw_verifier(&[SW_CURRENT]);
    let body = SW_SUCCEEDED.as_bytes();
    let signed = verifier.sign(body, at(NOW), "msg_1");
    let upper: Vec<(String, String)> = signed
        .iter()
        .map(|(n, v)| (n.to_ascii_uppercase(), v.clone()))
        .collect();
    assert!(verifier.verify(&upper, body, at(NOW)).is_ok());

    let borrowed: Vec<(&str, &str)> = upper
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert!(verifier.verify(&borrowed.as_slice(), body, at(NOW)).is_ok());
    let array = [
        ("Webhook-Id", header(&signed, "webhook-id")),
        ("Webhook-Timestamp", header(&signed, "webhook-timestamp")),
        ("Webhook-Signature", header(&signed, "webhook-signature")),
    ];
    assert!(verifier.verify(&array, body, at(NOW)).is_ok());

    let map: HashMap<String, String> = upper.into_iter().collect();
    assert!(verifier.verify(&map, body, at(NOW)).is_ok());
    let exact: HashMap<String, String> = signed.into_iter().collect();
    assert!(verifier.verify(&exact, body, at(NOW)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Rotation and multiple signatures
// ---------------------------------------------------------------------------------------------

#[test]
fn rotation_accepts_the_old_secret_only_while_it_is_configured() {
    for (scheme, current, old) in [
        (Scheme::Stripe, STRIPE_CURRENT, STRIPE_OLD),
        (Scheme::StandardWebhooks, SW_CURRENT, SW_OLD),
    ] {
        let body = match scheme {
            Scheme::Stripe => STRIPE_SUCCEEDED,
            Scheme::StandardWebhooks => SW_SUCCEEDED,
        }
        .as_bytes();
        let secret = |s: &str| WebhookSecret::parse(scheme, s).unwrap();
        let old_only = Verifier::new(scheme, vec![secret(old)]).unwrap();
        let rotating = Verifier::new(scheme, vec![secret(current), secret(old)]).unwrap();
        let new_only = Verifier::new(scheme, vec![secret(current)]).unwrap();

        let by_old = old_only.sign(body, at(NOW), "msg_1");
        let by_new = new_only.sign(body, at(NOW), "msg_1");
        assert!(rotating.verify(&by_old, body, at(NOW)).is_ok(), "{scheme}");
        assert!(rotating.verify(&by_new, body, at(NOW)).is_ok(), "{scheme}");
        // The rotating verifier signs with the current secret.
        assert_eq!(rotating.sign(body, at(NOW), "msg_1"), by_new);
        // Old secret removed: its signatures no longer pass.
        assert_eq!(
            new_only.verify(&by_old, body, at(NOW)),
            Err(WebhookError::BadSignature),
            "{scheme}"
        );
    }
}

#[test]
fn several_v1_entries_where_only_one_matches() {
    // Stripe sends one `v1` per active secret while a secret is rolled (and may add v0).
    let body = STRIPE_SUCCEEDED.as_bytes();
    let by_old = stripe_verifier(&[STRIPE_OLD]).sign(body, at(NOW), "");
    let by_new = stripe_verifier(&[STRIPE_CURRENT]).sign(body, at(NOW), "");
    let sig = |h: &[(String, String)]| {
        header(h, "Stripe-Signature")
            .split_once(",v1=")
            .unwrap()
            .1
            .to_owned()
    };
    let value = format!(
        "t={NOW},v1={},v1=bad_signature,v1={},v0={}",
        sig(&by_old),
        sig(&by_new),
        "00".repeat(32)
    );
    let headers = pairs(&[("Stripe-Signature", &value)]);
    for only in [STRIPE_CURRENT, STRIPE_OLD] {
        assert!(
            stripe_verifier(&[only])
                .verify(&headers, body, at(NOW))
                .is_ok()
        );
    }
    assert_eq!(
        stripe_verifier(&["whsec_neither"]).verify(&headers, body, at(NOW)),
        Err(WebhookError::BadSignature)
    );

    let body = SW_SUCCEEDED.as_bytes();
    let by_old = sw_verifier(&[SW_OLD]).sign(body, at(NOW), "msg_1");
    let by_new = sw_verifier(&[SW_CURRENT]).sign(body, at(NOW), "msg_1");
    let list = format!(
        "v1,AAAA v1a,{0}  {1} v1,{0}",
        header(&by_new, "webhook-signature").trim_start_matches("v1,"),
        header(&by_old, "webhook-signature"),
    );
    let headers = with_header(by_old.clone(), "webhook-signature", &list);
    // The old secret's entry matches; the new secret's is only present as v1a (ignored)...
    assert!(
        sw_verifier(&[SW_OLD])
            .verify(&headers, body, at(NOW))
            .is_ok()
    );
    // ...and as the last v1, so the new secret matches too.
    assert!(
        sw_verifier(&[SW_CURRENT])
            .verify(&headers, body, at(NOW))
            .is_ok()
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips and payload mapping
// ---------------------------------------------------------------------------------------------

#[test]
fn sign_then_verify_round_trips_for_both_schemes() {
    for verifier in [
        stripe_verifier(&[STRIPE_CURRENT, STRIPE_OLD]),
        sw_verifier(&[SW_CURRENT, SW_OLD]),
    ] {
        let body = match verifier.scheme() {
            Scheme::Stripe => STRIPE_SUCCEEDED,
            Scheme::StandardWebhooks => SW_SUCCEEDED,
        }
        .as_bytes();
        for t in [NOW - 120, NOW, NOW + 59] {
            let headers = verifier.sign(body, at(t), "msg_round_trip");
            let event = verifier.verify(&headers, body, at(NOW)).unwrap();
            assert_eq!(event.kind, PaymentKind::Succeeded);
            assert_eq!(event.order_number.as_deref(), Some("R-2026-000123"));
            assert_eq!(event.amount_minor, Some(12345));
            assert_eq!(event.currency.as_deref(), Some("USD"));
        }
    }
}

fn stripe_event(body: &str) -> Result<PaymentEvent, WebhookError> {
    let verifier = stripe_verifier(&[STRIPE_CURRENT]);
    let headers = verifier.sign(body.as_bytes(), at(NOW), "");
    verifier.verify(&headers, body.as_bytes(), at(NOW))
}

fn sw_event(body: &str) -> Result<PaymentEvent, WebhookError> {
    let verifier = sw_verifier(&[SW_CURRENT]);
    let headers = verifier.sign(body.as_bytes(), at(NOW), "msg_map");
    verifier.verify(&headers, body.as_bytes(), at(NOW))
}

#[test]
fn stripe_payloads_map_to_payment_events() {
    assert_eq!(
        stripe_event(STRIPE_SUCCEEDED).unwrap(),
        PaymentEvent {
            event_id: "evt_1Pq".into(),
            kind: PaymentKind::Succeeded,
            order_number: Some("R-2026-000123".into()),
            amount_minor: Some(12345),
            currency: Some("USD".into()),
            payment_reference: Some("pi_3Abc".into()),
            occurred_at: Some(at(1_772_366_390)),
        }
    );

    let failed = r#"{"id":"evt_2","type":"payment_intent.payment_failed","created":1772366000,"data":{"object":{"id":"pi_9","amount":5000,"currency":"eur","metadata":{"order_number":"R-7"},"last_payment_error":{"code":"card_declined"}}}}"#;
    assert_eq!(
        stripe_event(failed).unwrap(),
        PaymentEvent {
            event_id: "evt_2".into(),
            kind: PaymentKind::Failed,
            order_number: Some("R-7".into()),
            amount_minor: Some(5000),
            currency: Some("EUR".into()),
            payment_reference: Some("pi_9".into()),
            occurred_at: Some(at(1_772_366_000)),
        }
    );

    // A partial refund of a charge: the refunded amount, and the PaymentIntent as the reference.
    let refunded = r#"{"id":"evt_3","type":"charge.refunded","created":1772366100,"data":{"object":{"id":"ch_5","object":"charge","amount":12345,"amount_refunded":2345,"currency":"usd","payment_intent":"pi_3Abc","metadata":{}}}}"#;
    assert_eq!(
        stripe_event(refunded).unwrap(),
        PaymentEvent {
            event_id: "evt_3".into(),
            kind: PaymentKind::Refunded,
            order_number: None,
            amount_minor: Some(2345),
            currency: Some("USD".into()),
            payment_reference: Some("pi_3Abc".into()),
            occurred_at: Some(at(1_772_366_100)),
        }
    );
    // A charge without a PaymentIntent (expanded or absent): its own id.
    let expanded = r#"{"id":"evt_4","type":"charge.refunded","data":{"object":{"id":"ch_6","amount":100,"currency":"usd","payment_intent":{"id":"pi_7"}}}}"#;
    let event = stripe_event(expanded).unwrap();
    assert_eq!(event.payment_reference.as_deref(), Some("pi_7"));
    assert_eq!(event.amount_minor, Some(100));
    assert_eq!(event.occurred_at, None);
    let bare_charge = r#"{"id":"evt_5","type":"charge.refunded","data":{"object":{"id":"ch_6","amount":100,"amount_refunded":100,"currency":"usd","payment_intent":null}}}"#;
    assert_eq!(
        stripe_event(bare_charge)
            .unwrap()
            .payment_reference
            .as_deref(),
        Some("ch_6")
    );

    // Anything else is acknowledged as Other, its data not read (even if odd).
    let other = r#"{"id":"evt_6","type":"customer.subscription.updated","created":"2025-10-04T15:13:32.232083866Z","data":{"object":{"amount":"not a number"}}}"#;
    let event = stripe_event(other).unwrap();
    assert_eq!(
        event.kind,
        PaymentKind::Other("customer.subscription.updated".into())
    );
    assert_eq!(event.amount_minor, None);
    assert_eq!(
        event.occurred_at,
        Some(
            DateTime::parse_from_rfc3339("2025-10-04T15:13:32.232083866Z")
                .unwrap()
                .with_timezone(&Utc)
        )
    );
}

#[test]
fn standard_webhooks_payloads_map_to_payment_events() {
    assert_eq!(
        sw_event(SW_SUCCEEDED).unwrap(),
        PaymentEvent {
            event_id: "msg_map".into(),
            kind: PaymentKind::Succeeded,
            order_number: Some("R-2026-000123".into()),
            amount_minor: Some(12345),
            currency: Some("USD".into()),
            payment_reference: Some("pay_42".into()),
            occurred_at: Some(at(NOW - 10)),
        }
    );
    let failed = r#"{"type":"payment.failed","timestamp":"2026-03-01T13:00:00+01:00","data":{"order_number":"R-8","amount_minor":990,"currency":"gbp","payment_id":"pay_8"}}"#;
    assert_eq!(
        sw_event(failed).unwrap(),
        PaymentEvent {
            event_id: "msg_map".into(),
            kind: PaymentKind::Failed,
            order_number: Some("R-8".into()),
            amount_minor: Some(990),
            currency: Some("GBP".into()),
            payment_reference: Some("pay_8".into()),
            occurred_at: Some(at(NOW)),
        }
    );
    let refunded = r#"{"type":"payment.refunded","data":{"order_number":"R-9","amount_minor":500,"currency":"USD","payment_id":"pay_42"}}"#;
    assert_eq!(
        sw_event(refunded).unwrap(),
        PaymentEvent {
            event_id: "msg_map".into(),
            kind: PaymentKind::Refunded,
            order_number: Some("R-9".into()),
            amount_minor: Some(500),
            currency: Some("USD".into()),
            payment_reference: Some("pay_42".into()),
            occurred_at: None,
        }
    );
    // Optional data fields may be absent.
    let sparse = r#"{"type":"payment.succeeded","data":{}}"#;
    let event = sw_event(sparse).unwrap();
    assert_eq!(
        (event.order_number, event.amount_minor, event.currency),
        (None, None, None)
    );
    let other = r#"{"type":"payment.disputed","data":"whatever"}"#;
    assert_eq!(
        sw_event(other).unwrap().kind,
        PaymentKind::Other("payment.disputed".into())
    );
}

#[test]
fn bad_payloads_are_rejected_without_quoting_the_body() {
    let cases: [(&str, &str); 12] = [
        ("SECRET, not JSON", "body is not JSON (line 1, column 1)"),
        (r#"["SECRET"]"#, "body is not a JSON object"),
        (r#"{"data":{"SECRET":1}}"#, "missing string `type`"),
        (r#"{"type":""}"#, "missing string `type`"),
        (r#"{"type":["SECRET"]}"#, "`type` is not a string"),
        (r#"{"type":"payment.succeeded"}"#, "missing object `data`"),
        (
            r#"{"type":"payment.succeeded","data":{"amount_minor":"SECRET"}}"#,
            "`data.amount_minor` is not an integer",
        ),
        (
            r#"{"type":"payment.succeeded","data":{"amount_minor":12.5}}"#,
            "`data.amount_minor` is not an integer",
        ),
        (
            r#"{"type":"payment.succeeded","data":{"currency":"SECRET"}}"#,
            "`data.currency` is not a three-letter ISO 4217 code",
        ),
        (
            r#"{"type":"payment.succeeded","data":{"order_number":42}}"#,
            "`data.order_number` is not a string",
        ),
        (
            r#"{"type":"payment.succeeded","timestamp":"SECRET","data":{}}"#,
            "`timestamp` is not an RFC 3339 date-time",
        ),
        (
            r#"{"type":"payment.refunded","data":{"payment_id":{"SECRET":1}}}"#,
            "`data.payment_id` is not a string",
        ),
    ];
    for (body, reason) in cases {
        let err = sw_event(body).unwrap_err();
        assert_eq!(err, WebhookError::BadPayload(reason.into()), "{body}");
        assert!(!err.to_string().contains("SECRET"));
    }

    let stripe_cases: [(&str, &str); 6] = [
        (
            r#"{"type":"payment_intent.succeeded"}"#,
            "missing string `id`",
        ),
        (r#"{"id":"evt_1"}"#, "missing string `type`"),
        (
            r#"{"id":"evt_1","type":"payment_intent.succeeded","created":"SECRET"}"#,
            "`created` is not an RFC 3339 date-time",
        ),
        (
            r#"{"id":"evt_1","type":"payment_intent.succeeded","data":{}}"#,
            "missing object `data.object`",
        ),
        (
            r#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"amount":"SECRET"}}}"#,
            "`data.object.amount` is not an integer",
        ),
        (
            r#"{"id":"evt_1","type":"charge.refunded","data":{"object":{"payment_intent":7}}}"#,
            "`data.object.payment_intent` is not an id",
        ),
    ];
    for (body, reason) in stripe_cases {
        let err = stripe_event(body).unwrap_err();
        assert_eq!(err, WebhookError::BadPayload(reason.into()), "{body}");
        assert!(!err.to_string().contains("SECRET"));
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration and secrecy
// ---------------------------------------------------------------------------------------------

#[test]
fn debug_output_never_shows_a_secret() {
    let stripe = stripe_verifier(&[STRIPE_CURRENT, STRIPE_OLD]);
    let sw = sw_verifier(&[SW_CURRENT, SW_OLD]);
    let printed = [
        format!("{stripe:?}"),
        format!("{stripe:#?}"),
        format!("{sw:?}"),
        format!("{:?}", WebhookSecret::stripe(STRIPE_CURRENT).unwrap()),
        format!(
            "{:?}",
            WebhookSecret::standard_webhooks(SW_CURRENT).unwrap()
        ),
    ];
    for text in &printed {
        assert!(text.contains("<redacted>"), "{text}");
        for secret in [STRIPE_CURRENT, STRIPE_OLD, SW_CURRENT, SW_OLD] {
            let body = secret.trim_start_matches("whsec_");
            assert!(!text.contains(&body[..8]), "{text}");
        }
        // Nor the key bytes, as a derived Debug of a Vec<u8> would print them.
        assert!(!text.contains("key: ["), "{text}");
    }
    assert!(printed[0].contains("Stripe") && printed[0].contains("300"));
}

#[test]
fn secrets_are_validated_per_scheme_without_echoing_them() {
    let stripe_bad = [
        "",
        "whsec_",
        "sk_live_51Habc",
        "whsec_has space",
        "webhook_secret",
    ];
    for value in stripe_bad {
        let err = WebhookSecret::stripe(value).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::InvalidSecret {
                scheme: Scheme::Stripe,
                ..
            }
        ));
        if value.len() > 6 {
            assert!(!err.to_string().contains(&value[6..]), "{err}");
        }
    }
    // Surrounding whitespace (a trailing newline from a secrets file) is not part of the key.
    let padded = stripe_verifier(&[STRIPE_CURRENT]);
    let trimmed = Verifier::new(
        Scheme::Stripe,
        vec![WebhookSecret::stripe(&format!(" {STRIPE_CURRENT}\n")).unwrap()],
    )
    .unwrap();
    assert_eq!(
        padded.sign(b"{}", at(NOW), ""),
        trimmed.sign(b"{}", at(NOW), "")
    );

    let sw_bad = [
        "",
        "whsec_",
        "whsec_not base64!",
        "whsec_AAAAAAAAAAAAAAAAAAAAAA==", // 16 bytes: below the spec's 24
        &format!("whsec_{}", "A".repeat(88)), // 66 bytes: above 64
        "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whpk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ];
    for value in sw_bad {
        let err = WebhookSecret::standard_webhooks(value).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::InvalidSecret {
                scheme: Scheme::StandardWebhooks,
                ..
            }
        ));
        if value.len() > 6 {
            assert!(!err.to_string().contains(&value[6..]), "{err}");
        }
    }
    // Prefix optional and padding optional, as in the reference libraries.
    let reference = sw_verifier(&[SW_CURRENT]).sign(b"{}", at(NOW), "m");
    for value in [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ",
    ] {
        assert_eq!(sw_verifier(&[value]).sign(b"{}", at(NOW), "m"), reference);
    }
    let unpadded = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAA"; // 25 bytes, `==` padding dropped
    assert!(WebhookSecret::standard_webhooks(unpadded).is_ok());
    assert!(WebhookSecret::standard_webhooks(&format!("{unpadded}==")).is_ok());
}

#[test]
fn verifier_takes_one_or_two_secrets_of_its_scheme() {
    let s = || WebhookSecret::stripe(STRIPE_CURRENT).unwrap();
    assert_eq!(
        Verifier::new(Scheme::Stripe, vec![]).unwrap_err(),
        ConfigError::SecretCount(0)
    );
    assert_eq!(
        Verifier::new(Scheme::Stripe, vec![s(), s(), s()]).unwrap_err(),
        ConfigError::SecretCount(3)
    );
    assert_eq!(
        Verifier::new(Scheme::StandardWebhooks, vec![s()]).unwrap_err(),
        ConfigError::SchemeMismatch {
            expected: Scheme::StandardWebhooks,
            found: Scheme::Stripe
        }
    );
    assert_eq!(
        Verifier::new(Scheme::Stripe, vec![s()])
            .unwrap()
            .tolerance(),
        DEFAULT_TOLERANCE
    );
}

#[test]
fn scheme_names_parse() {
    assert_eq!("stripe".parse::<Scheme>().unwrap(), Scheme::Stripe);
    assert_eq!(
        " Standard-Webhooks ".parse::<Scheme>().unwrap(),
        Scheme::StandardWebhooks
    );
    assert_eq!(
        "svix".parse::<Scheme>().unwrap_err(),
        ConfigError::UnknownScheme
    );
    for scheme in [Scheme::Stripe, Scheme::StandardWebhooks] {
        assert_eq!(scheme.to_string().parse::<Scheme>().unwrap(), scheme);
    }
}

fn from_vars(vars: &[(&'static str, &str)]) -> Result<Verifier, ConfigError> {
    let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    Verifier::from_lookup(|var| Ok(vars.get(var).cloned()))
}

#[test]
fn configuration_from_variables() {
    // Defaults to Stripe; one secret.
    let v = from_vars(&[(ENV_SECRET, STRIPE_CURRENT)]).unwrap();
    assert_eq!(v.scheme(), Scheme::Stripe);
    assert_eq!(v.secrets.len(), 1);
    // An empty scheme or previous secret counts as unset.
    let v = from_vars(&[
        (ENV_SCHEME, ""),
        (ENV_SECRET, STRIPE_CURRENT),
        (ENV_SECRET_PREVIOUS, " "),
    ])
    .unwrap();
    assert_eq!((v.scheme(), v.secrets.len()), (Scheme::Stripe, 1));
    // Rotation: both secrets, current first.
    let v = from_vars(&[
        (ENV_SCHEME, "standard-webhooks"),
        (ENV_SECRET, SW_CURRENT),
        (ENV_SECRET_PREVIOUS, SW_OLD),
    ])
    .unwrap();
    assert_eq!((v.scheme(), v.secrets.len()), (Scheme::StandardWebhooks, 2));
    assert_eq!(
        v.sign(b"{}", at(NOW), "m"),
        sw_verifier(&[SW_CURRENT]).sign(b"{}", at(NOW), "m")
    );

    // Errors name the variable, never the value.
    let err = from_vars(&[]).unwrap_err();
    assert_eq!(err, ConfigError::Missing { var: ENV_SECRET });
    assert_eq!(err.to_string(), "PAYMENT_WEBHOOK_SECRET is not set");
    assert_eq!(
        from_vars(&[(ENV_SECRET, "")]).unwrap_err(),
        ConfigError::Missing { var: ENV_SECRET }
    );

    let err = from_vars(&[
        (ENV_SCHEME, "paypal-SECRETISH"),
        (ENV_SECRET, STRIPE_CURRENT),
    ])
    .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            var: ENV_SCHEME,
            ..
        }
    ));
    assert!(!err.to_string().contains("SECRETISH"), "{err}");

    let err = from_vars(&[(ENV_SECRET, "sk_live_SECRETISH")]).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            var: ENV_SECRET,
            ..
        }
    ));
    assert!(
        err.to_string()
            .starts_with("PAYMENT_WEBHOOK_SECRET is not a valid stripe webhook secret"),
        "{err}"
    );
    assert!(!err.to_string().contains("SECRETISH"), "{err}");

    // A Stripe secret under the Standard Webhooks scheme is caught, naming the variable.
    let err = from_vars(&[
        (ENV_SCHEME, "standard-webhooks"),
        (ENV_SECRET, SW_CURRENT),
        (ENV_SECRET_PREVIOUS, "whsec_SECRETISH!"),
    ])
    .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            var: ENV_SECRET_PREVIOUS,
            ..
        }
    ));
    assert!(!err.to_string().contains("SECRETISH"), "{err}");

    // A variable that is not UTF-8 (as from_env reports it).
    let err = Verifier::from_lookup(|var| {
        Err(ConfigError::Invalid {
            var,
            reason: "is not valid UTF-8".into(),
        })
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "PAYMENT_WEBHOOK_SCHEME is not valid UTF-8");
}
