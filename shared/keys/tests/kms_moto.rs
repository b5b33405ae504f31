//! [`KmsKey`] against moto's KMS: a value sealed under a key opens with the same key and context
//! only. `RECERT_MOTO_ENDPOINT` names the server (`scripts/moto start`); without it the tests
//! skip with a notice (the test command always sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../test-support/moto.rs"]
mod moto;

use recert_keys::kms::KmsKey;
use recert_keys::{KeyError, Sealer};

/// A new symmetric key in moto: its ARN.
async fn new_key(endpoint: &str) -> (aws_types::SdkConfig, String) {
    let sdk = recert_aws::emulator(endpoint);
    let client = aws_sdk_kms::Client::new(&sdk);
    let key = client
        .create_key()
        .description("recert test: audit seeds")
        .send()
        .await
        .expect("CreateKey");
    let arn = key.key_metadata().and_then(|m| m.arn()).unwrap().to_owned();
    (sdk, arn)
}

#[tokio::test]
async fn a_value_sealed_under_a_kms_key_opens_only_for_its_context() {
    let Some(endpoint) = moto::endpoint().await else {
        return;
    };
    let (sdk, arn) = new_key(&endpoint).await;
    let key = KmsKey::new(&sdk, arn.clone());
    let sealed = key.seal("2026-12", b"0123456789abcdef").await.unwrap();
    assert_eq!(sealed.key, arn, "the sealed value names its key");
    assert!(!sealed.ciphertext.contains("0123456789abcdef"));
    assert_eq!(
        key.open("2026-12", &sealed).await.unwrap(),
        b"0123456789abcdef"
    );
    let other_context = key.open("2027-01", &sealed).await;
    assert!(
        matches!(other_context, Err(KeyError::DoesNotOpen)),
        "{other_context:?}"
    );
    let (_, other_arn) = new_key(&endpoint).await;
    let other = KmsKey::new(&sdk, other_arn);
    assert!(matches!(
        other.open("2026-12", &sealed).await,
        Err(KeyError::OtherKey { .. })
    ));
}

#[tokio::test]
async fn an_unknown_key_is_unavailable_not_a_panic() {
    let Some(endpoint) = moto::endpoint().await else {
        return;
    };
    let sdk = recert_aws::emulator(&endpoint);
    let key = KmsKey::new(
        &sdk,
        "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    );
    let e = key.seal("2026-12", b"seed").await.unwrap_err();
    assert!(matches!(e, KeyError::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("Encrypt"), "{e}");
}
