//! Files at rest are sealed with AES-256-GCM under the configured key; the message id is the
//! associated data, so a file renamed onto another message does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use thiserror::Error;

/// First bytes of a sealed file (format version 1).
const MAGIC: &[u8; 5] = b"SRVM\x01";
const NONCE_LEN: usize = 12;

/// A sealing failure.
#[derive(Debug, Error, PartialEq)]
pub enum SealError {
    /// The key is not 64 hex digits.
    #[error("the videomail key must be 64 hex digits (32 bytes)")]
    BadKey,
    /// The file is not a sealed message, was changed, or belongs to another message or key.
    #[error("the stored message does not open (damaged, or another key)")]
    Damaged,
}

/// A key for sealing and opening.
#[derive(Clone)]
pub struct Key(Aes256Gcm);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    /// From 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, SealError> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SealError::BadKey);
        }
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16))
            .collect::<Result<_, _>>()
            .map_err(|_| SealError::BadKey)?;
        Aes256Gcm::new_from_slice(&bytes)
            .map(Key)
            .map_err(|_| SealError::BadKey)
    }

    /// A new random key, as 64 hex digits.
    pub fn generate_hex() -> String {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        crate::token::hex(&k)
    }

    /// Seals `plain` for message `id`.
    pub fn seal(&self, id: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: id.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a file sealed for message `id`.
    pub fn open(&self, id: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(MAGIC).ok_or(SealError::Damaged)?;
        if rest.len() < NONCE_LEN {
            return Err(SealError::Damaged);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| SealError::Damaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_files_open_only_with_their_key_and_id() {
        let key = Key::from_hex(&Key::generate_hex()).unwrap();
        let sealed = key.seal("m1", b"webm bytes");
        assert!(!sealed.windows(4).any(|w| w == b"webm"), "not in the clear");
        assert_eq!(key.open("m1", &sealed).unwrap(), b"webm bytes");
        assert_eq!(key.open("m2", &sealed), Err(SealError::Damaged));
        let other = Key::from_hex(&Key::generate_hex()).unwrap();
        assert_eq!(other.open("m1", &sealed), Err(SealError::Damaged));
        let mut bent = sealed.clone();
        let last = bent.len() - 1;
        bent[last] ^= 1;
        assert_eq!(key.open("m1", &bent), Err(SealError::Damaged));
        assert_eq!(key.open("m1", b"SRVM"), Err(SealError::Damaged));
    }

    #[test]
    fn keys_must_be_64_hex_digits() {
        assert_eq!(Key::from_hex("abc").unwrap_err(), SealError::BadKey);
        assert_eq!(
            Key::from_hex(&"z".repeat(64)).unwrap_err(),
            SealError::BadKey
        );
        assert!(Key::from_hex(&"0a".repeat(32)).is_ok());
    }
}
