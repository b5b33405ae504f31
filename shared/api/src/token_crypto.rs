//! The signatures of bearer tokens, on `ring`: the same library that secures every TLS connection of
//! the functions (the SDK's client, the JWKS refresh), so a function links one crypto library.
//!
//! `jsonwebtoken` keeps its cryptography behind a [`CryptoProvider`] and ships two (aws-lc, the
//! RustCrypto crates); either would add a second crypto library beside rustls's. This is a third,
//! limited to the algorithms Recert accepts: HS256 (the local dev secret), RS256 and ES256 (an
//! issuer's JWKS, [`crate::jwks`]). A token naming any other algorithm is refused before a key is
//! touched, and a key is only used with the algorithm of its own family (no HS256 over an RSA public
//! key). JWK thumbprints and the key utilities `jsonwebtoken` uses to *write* JWKs are not needed,
//! and are left unimplemented (they panic, which no code path reaches).
//!
//! [`install`] makes it the process's provider; every [`crate::auth::Authenticator`] constructor calls
//! it, and code that calls `jsonwebtoken` directly (tests signing tokens) calls it first.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
    UnparsedPublicKey,
};

/// The provider: [`install`] it, or pass it where a `&'static CryptoProvider` is wanted.
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Make [`PROVIDER`] the process's `jsonwebtoken` provider (idempotent).
///
/// # Panics
/// If another provider was installed first, or `jsonwebtoken` was used before this call (it then
/// fixes its own default): either would leave tokens unverifiable, a bug to find at startup.
pub fn install() {
    if let Err(other) = PROVIDER.install_default() {
        assert!(
            std::ptr::eq(other, &PROVIDER),
            "another jsonwebtoken CryptoProvider was installed, or jsonwebtoken was used before recert_api::token_crypto::install"
        );
    }
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let wanted = match alg {
        Algorithm::HS256 => AlgorithmFamily::Hmac,
        Algorithm::RS256 => AlgorithmFamily::Rsa,
        Algorithm::ES256 => AlgorithmFamily::Ec,
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    if key.family() != wanted {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(KeyVerifier {
        alg: *alg,
        key: key.clone(),
    }))
}

fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    let rejected = |_| Error::from(ErrorKind::InvalidKeyFormat);
    let signer = match (alg, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => {
            KeySigner::Hs256(hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()))
        }
        (Algorithm::RS256, AlgorithmFamily::Rsa) => {
            KeySigner::Rs256(RsaKeyPair::from_der(key.as_bytes()).map_err(rejected)?)
        }
        (Algorithm::ES256, AlgorithmFamily::Ec) => KeySigner::Es256(
            EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                key.as_bytes(),
                &SystemRandom::new(),
            )
            .map_err(rejected)?,
        ),
        (Algorithm::HS256 | Algorithm::RS256 | Algorithm::ES256, _) => {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    Ok(Box::new(signer))
}

/// A published key (or the shared secret) and the one algorithm it verifies. RSA keys are the
/// modulus and exponent of a JWK (the only RSA keys Recert reads); others fail closed.
struct KeyVerifier {
    alg: Algorithm,
    key: DecodingKey,
}

impl Verifier<Vec<u8>> for KeyVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match (self.alg, self.key.kind()) {
            (Algorithm::HS256, DecodingKeyKind::SecretOrDer(secret)) => {
                hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), msg, sig)
            }
            (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, msg, sig)
            }
            (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(msg, sig)
            }
            _ => return Err(signature::Error::new()),
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for KeyVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// A private key (or the shared secret), parsed once per signature.
enum KeySigner {
    Hs256(hmac::Key),
    Rs256(RsaKeyPair),
    Es256(EcdsaKeyPair),
}

impl Signer<Vec<u8>> for KeySigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let failed = |_| signature::Error::new();
        match self {
            KeySigner::Hs256(key) => Ok(hmac::sign(key, msg).as_ref().to_vec()),
            KeySigner::Rs256(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
            KeySigner::Es256(pair) => Ok(pair
                .sign(&SystemRandom::new(), msg)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
        }
    }
}

impl JwtSigner for KeySigner {
    fn algorithm(&self) -> Algorithm {
        match self {
            KeySigner::Hs256(_) => Algorithm::HS256,
            KeySigner::Rs256(_) => Algorithm::RS256,
            KeySigner::Es256(_) => Algorithm::ES256,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jsonwebtoken::crypto::{sign, verify};
    use jsonwebtoken::jwk::JwkSet;

    // The throwaway keys of the auth tests (tests/fixtures/README.md).
    const JWKS: &str = include_str!("../tests/fixtures/test-only-jwks.json");
    const RSA_PRIVATE: &str = include_str!("../tests/fixtures/test-only-rsa.pem");
    const EC_PRIVATE: &str = include_str!("../tests/fixtures/test-only-ec.pem");

    /// The published (JWK) key `kid`, as [`crate::jwks`] reads it.
    fn published(kid: &str) -> DecodingKey {
        let set: JwkSet = serde_json::from_str(JWKS).unwrap();
        DecodingKey::from_jwk(set.find(kid).unwrap()).unwrap()
    }

    #[test]
    fn each_accepted_algorithm_verifies_its_own_signature_and_not_a_tampered_message() {
        install();
        let cases = [
            (
                Algorithm::HS256,
                EncodingKey::from_secret(b"dev-secret"),
                DecodingKey::from_secret(b"dev-secret"),
            ),
            (
                Algorithm::RS256,
                EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap(),
                published("test-rsa"),
            ),
            (
                Algorithm::ES256,
                EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap(),
                published("test-ec"),
            ),
        ];
        for (alg, signing, verifying) in cases {
            let sig = sign(b"header.claims", &signing, alg).unwrap();
            assert!(
                verify(&sig, b"header.claims", &verifying, alg).unwrap(),
                "{alg:?}"
            );
            assert!(
                !verify(&sig, b"header.claimz", &verifying, alg).unwrap(),
                "{alg:?}"
            );
        }
        let other_secret = DecodingKey::from_secret(b"another-secret");
        let sig = sign(
            b"m",
            &EncodingKey::from_secret(b"dev-secret"),
            Algorithm::HS256,
        )
        .unwrap();
        assert!(!verify(&sig, b"m", &other_secret, Algorithm::HS256).unwrap());
    }

    /// Why verifying with `key` under `alg` is refused.
    fn verify_refused(key: &DecodingKey, alg: Algorithm) -> ErrorKind {
        install();
        verify("c2ln", b"m", key, alg).unwrap_err().into_kind()
    }

    /// Why signing with `key` under `alg` is refused.
    fn sign_refused(key: &EncodingKey, alg: Algorithm) -> ErrorKind {
        install();
        sign(b"m", key, alg).unwrap_err().into_kind()
    }

    #[test]
    fn a_key_is_used_only_with_the_algorithm_of_its_family() {
        use ErrorKind::InvalidAlgorithm;
        let secret = DecodingKey::from_secret(b"dev-secret");
        // The classic confusion: the issuer's public RSA key taken as an HMAC secret.
        assert_eq!(
            verify_refused(&published("test-rsa"), Algorithm::HS256),
            InvalidAlgorithm
        );
        assert_eq!(
            verify_refused(&published("test-ec"), Algorithm::RS256),
            InvalidAlgorithm
        );
        assert_eq!(verify_refused(&secret, Algorithm::ES256), InvalidAlgorithm);
        let secret = EncodingKey::from_secret(b"dev-secret");
        assert_eq!(sign_refused(&secret, Algorithm::RS256), InvalidAlgorithm);
    }

    #[test]
    fn algorithms_recert_does_not_accept_are_refused() {
        use ErrorKind::UnsupportedAlgorithm;
        let secret = DecodingKey::from_secret(b"dev-secret");
        for alg in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS512,
            Algorithm::PS256,
        ] {
            assert_eq!(
                verify_refused(&secret, alg),
                UnsupportedAlgorithm,
                "{alg:?}"
            );
        }
        assert_eq!(
            verify_refused(&published("test-ec"), Algorithm::ES384),
            UnsupportedAlgorithm
        );
        let secret = EncodingKey::from_secret(b"dev-secret");
        assert_eq!(
            sign_refused(&secret, Algorithm::HS512),
            UnsupportedAlgorithm
        );
    }

    #[test]
    fn a_private_key_that_is_not_one_is_refused_when_signing() {
        let not_rsa = EncodingKey::from_rsa_der(b"not a key");
        assert_eq!(
            sign_refused(&not_rsa, Algorithm::RS256),
            ErrorKind::InvalidKeyFormat
        );
        let not_ec = EncodingKey::from_ec_der(b"not a key");
        assert_eq!(
            sign_refused(&not_ec, Algorithm::ES256),
            ErrorKind::InvalidKeyFormat
        );
    }

    #[test]
    fn installing_again_is_harmless() {
        install();
        install();
        assert!(std::ptr::eq(
            PROVIDER.install_default().unwrap_err(),
            &PROVIDER
        ));
    }
}
