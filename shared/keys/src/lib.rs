//! Recert's keys: a secret sealed under a key the function never holds.
//!
//! [`Sealer`] seals a few bytes bound to a context (the text that says what they are, e.g. the
//! audit period `2026-12`), and opens them again only with the same context. Two keepers:
//!
//! - [`FileKey`]: a 256-bit key in a local file (created `0600` on first use), AES-256-GCM from
//!   `ring` with the context as associated data. For the local server, rehearsals and tests.
//! - `kms::KmsKey` (feature `kms`): AWS KMS `Encrypt` / `Decrypt` under one key, the context as the
//!   encryption context. The key never leaves KMS; the key policy and IAM let only the audit
//!   jobs' role use it, so reading the table is not enough to read a sealed seed.
//!
//! A sealed value names the key that sealed it ([`Sealed::key`]), so opening it with another
//! keeper fails with a clear error instead of garbage. Must not depend on the domain or on any
//! function crate; never logs a key or a plaintext.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

#[cfg(feature = "kms")]
pub mod kms;

/// A sealed value: the key that sealed it and the ciphertext (base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key: String,
    pub ciphertext: String,
}

/// Why a value could not be sealed or opened. Never carries a key or a plaintext.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The keeper could not be reached or refused (KMS throttling, access denied, a network error).
    #[error("the key service failed: {0}")]
    Unavailable(String),
    /// The value was sealed by another key than this keeper's.
    #[error("sealed under key {sealed_by}, but this keeper holds {holds}")]
    OtherKey { sealed_by: String, holds: String },
    /// The ciphertext does not open with this key and context (tampered, or another context).
    #[error("the sealed value does not open with its key and context")]
    DoesNotOpen,
    /// The key file cannot be read or written, or does not hold a key.
    #[error("key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
}

/// Seals and opens small secrets bound to a context.
#[async_trait]
pub trait Sealer: Send + Sync + fmt::Debug {
    /// `plaintext` sealed under this keeper's key, bound to `context`.
    async fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Sealed, KeyError>;
    /// The plaintext of `sealed`, if it was sealed by this keeper's key for `context`.
    async fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, KeyError>;
}

/// A 256-bit AES-GCM key held in memory, read from (or created in) a file. Its `Debug` shows its
/// fingerprint only.
pub struct FileKey {
    key: LessSafeKey,
    name: String,
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKey").field("name", &self.name).finish()
    }
}

impl FileKey {
    /// The key in `path` (64 hex characters), created with a fresh random key (mode `0600`) if the
    /// file does not exist.
    pub fn open_or_create(path: &Path) -> Result<FileKey, KeyError> {
        let fail = |reason: String| KeyError::KeyFile {
            path: path.to_owned(),
            reason,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_key_file(path).map_err(|e| fail(e.to_string()))?
            }
            Err(e) => return Err(fail(e.to_string())),
        };
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| fail("does not hold a key (64 hex characters)".into()))?;
        Ok(FileKey::from_bytes(bytes))
    }

    /// A key that lives as long as the process (tests).
    pub fn ephemeral() -> FileKey {
        FileKey::from_bytes(random_bytes())
    }

    fn from_bytes(bytes: [u8; 32]) -> FileKey {
        let fingerprint = hex::encode(&Sha256::digest(bytes)[..8]);
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map(LessSafeKey::new);
        // AES-256 takes any 32 bytes: `new` fails only on a wrong length.
        #[allow(clippy::expect_used)]
        let key = key.expect("a 32-byte AES-256 key");
        FileKey {
            key,
            name: format!("file:{fingerprint}"),
        }
    }
}

/// 32 bytes from the operating system's random source.
pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    // The OS source fails only when the system has none at all: nothing can run then.
    #[allow(clippy::expect_used)]
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random source");
    bytes
}

/// Write a fresh key to `path` (which must not exist), readable by its owner only.
fn create_key_file(path: &Path) -> std::io::Result<String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let text = hex::encode(random_bytes());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes())?;
            Ok(text)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Sealer for FileKey {
    async fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Sealed, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Unavailable("no random source".into()))?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| KeyError::DoesNotOpen)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(Sealed {
            key: self.name.clone(),
            ciphertext: STANDARD.encode(out),
        })
    }

    async fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, KeyError> {
        if sealed.key != self.name {
            return Err(KeyError::OtherKey {
                sealed_by: sealed.key.clone(),
                holds: self.name.clone(),
            });
        }
        let bytes = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| KeyError::DoesNotOpen)?;
        if bytes.len() < NONCE_LEN {
            return Err(KeyError::DoesNotOpen);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::DoesNotOpen)?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .map_err(|_| KeyError::DoesNotOpen)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp_key_path() -> PathBuf {
        std::env::temp_dir()
            .join(format!("recert-keys-{}", uuid::Uuid::now_v7().simple()))
            .join("seal.key")
    }

    #[tokio::test]
    async fn a_sealed_value_opens_only_with_its_key_and_context() {
        let key = FileKey::ephemeral();
        let sealed = key.seal("2026-12", b"the seed").await.unwrap();
        assert!(sealed.key.starts_with("file:"));
        assert_eq!(key.open("2026-12", &sealed).await.unwrap(), b"the seed");
        assert!(matches!(
            key.open("2027-01", &sealed).await,
            Err(KeyError::DoesNotOpen)
        ));
        let other = FileKey::ephemeral();
        assert!(matches!(
            other.open("2026-12", &sealed).await,
            Err(KeyError::OtherKey { .. })
        ));
        let mut tampered = sealed.clone();
        let mut bytes = STANDARD.decode(&tampered.ciphertext).unwrap();
        bytes[NONCE_LEN] ^= 1;
        tampered.ciphertext = STANDARD.encode(bytes);
        assert!(matches!(
            key.open("2026-12", &tampered).await,
            Err(KeyError::DoesNotOpen)
        ));
        assert_ne!(
            key.seal("2026-12", b"the seed").await.unwrap(),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[tokio::test]
    async fn the_key_file_is_created_once_owner_only_and_read_again() {
        let path = temp_key_path();
        let first = FileKey::open_or_create(&path).unwrap();
        let sealed = first.seal("2026-12", b"seed").await.unwrap();
        let again = FileKey::open_or_create(&path).unwrap();
        assert_eq!(again.open("2026-12", &sealed).await.unwrap(), b"seed");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{first:?}").contains(&std::fs::read_to_string(&path).unwrap()));
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            FileKey::open_or_create(&path),
            Err(KeyError::KeyFile { .. })
        ));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
