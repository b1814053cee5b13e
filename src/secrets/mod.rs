//! The one master secret of the configuration (`SECRET_KEY`) and the keys derived from it.
//!
//! Each purpose gets its own key, derived with HKDF-SHA256 under its own label, so a key
//! that leaks or is misused for one purpose tells nothing about another, and a purpose can
//! move to a new label (a new key) without touching the master secret. Secrets kassa must
//! read back later (a store's shared staff password) are sealed with XChaCha20-Poly1305:
//! authenticated encryption with a random 192-bit nonce per value, so random nonces never
//! repeat in practice and any change to a stored value is detected when it is opened.
//!
//! Keys live in [`SecretBox`]es: they are wiped when dropped and `Debug` never prints them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

/// What a derived key is for; each purpose has a label of its own and so a key of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Sealing secrets stored in the database that kassa must read back (signing keys,
    /// stores' staff passwords).
    SecretsAtRest,
    /// The HMAC key that makes a refresh token's successor (`credentials::sessions`).
    RefreshSuccessor,
    /// The HMAC key of the console's form tokens (CSRF).
    ConsoleForms,
    /// The HMAC key of the console's device cookies.
    ConsoleDevices,
}

impl Purpose {
    /// The HKDF `info` for this purpose. A new label is a new key: a rotation adds a label
    /// (and a sealed-value version, below) rather than changing this one.
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::SecretsAtRest => b"kassa secrets at rest v1",
            Purpose::RefreshSuccessor => b"kassa refresh successor v1",
            Purpose::ConsoleForms => b"kassa console forms v1",
            Purpose::ConsoleDevices => b"kassa console devices v1",
        }
    }
}

/// The HKDF salt: fixed, naming the application, so the same master secret used elsewhere
/// (an operator reusing a value) still yields keys of kassa's own.
const HKDF_SALT: &[u8] = b"kassa master secret";

/// A 256-bit key derived from the master secret for one purpose.
pub type DerivedKey = SecretBox<[u8; 32]>;

/// The key for `purpose`, derived from `master` with HKDF-SHA256.
#[must_use]
pub fn derive_key(master: &SecretString, purpose: Purpose) -> DerivedKey {
    derive_with_label(master, purpose.label())
}

fn derive_with_label(master: &SecretString, label: &[u8]) -> DerivedKey {
    let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), master.expose_secret().as_bytes());
    SecretBox::init_with_mut(|key: &mut [u8; 32]| {
        // 32 bytes is far below HKDF-SHA256's limit of 255 × 32, so expand cannot fail.
        hkdf.expand(label, key).expect("32 bytes is a valid HKDF-SHA256 output length");
    })
}

/// The prefix of a value sealed under [`Purpose::SecretsAtRest`]'s first key. Opening
/// looks at it first, so values sealed under a later key can sit beside these.
const SEALED_V1: &str = "v1:";
const NONCE_LEN: usize = 24;

/// Why a sealed value could not be opened (or, never in practice, sealed).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Not a value this version of kassa sealed: an unknown prefix or bad encoding.
    #[error("the sealed value has an unknown format")]
    Malformed,
    /// Changed, sealed for another context, or sealed under another key.
    #[error("the sealed value does not authenticate under this key and context")]
    NotAuthentic,
}

/// Seals and opens secrets stored at rest, under the key derived for that purpose.
pub struct SecretSealer {
    key: DerivedKey,
}

impl std::fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSealer([REDACTED])")
    }
}

impl SecretSealer {
    /// The sealer whose key is derived from the master secret.
    #[must_use]
    pub fn from_master(master: &SecretString) -> Self {
        SecretSealer { key: derive_key(master, Purpose::SecretsAtRest) }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.expose_secret().into())
    }

    /// `plaintext` sealed for `context` (what the value belongs to, e.g. which store's
    /// staff password: a sealed value copied to another row then fails to open), as text:
    /// `v1:` and the base64url of nonce and ciphertext.
    pub fn seal(&self, plaintext: &SecretString, context: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let aad = associated_data(context);
        let payload = Payload { msg: plaintext.expose_secret().as_bytes(), aad: &aad };
        let ciphertext =
            self.cipher().encrypt(&XNonce::from(nonce), payload).map_err(|_| SealError::NotAuthentic)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{SEALED_V1}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// The plaintext of a value [`SecretSealer::seal`] made for `context` under this key.
    pub fn open(&self, sealed: &str, context: &str) -> Result<SecretString, SealError> {
        let encoded = sealed.strip_prefix(SEALED_V1).ok_or(SealError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Malformed)?;
        let aad = associated_data(context);
        let plaintext = self
            .cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| SealError::NotAuthentic)?;
        let text = String::from_utf8(plaintext).map_err(|_| SealError::Malformed)?;
        Ok(SecretString::from(text))
    }
}

/// The authenticated (not encrypted) data of a sealed value: its version and its context.
fn associated_data(context: &str) -> Vec<u8> {
    format!("{SEALED_V1}{context}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(value: &str) -> SecretString {
        SecretString::from(value.to_owned())
    }

    fn secret(value: &str) -> SecretString {
        SecretString::from(value.to_owned())
    }

    const MASTER: &str = "5b1d9e3f7a2c4e6081f3a5c7e9b2d4f6";

    #[test]
    fn a_sealed_secret_opens_to_itself_and_never_shows_it() {
        let sealer = SecretSealer::from_master(&master(MASTER));
        let sealed = sealer.seal(&secret("Kq7m-x3Rt-Hb9w"), "store 7").unwrap();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("Kq7m"));
        assert_eq!(sealer.open(&sealed, "store 7").unwrap().expose_secret(), "Kq7m-x3Rt-Hb9w");
        // A fresh nonce each time: the same secret never seals to the same text.
        assert_ne!(sealer.seal(&secret("Kq7m-x3Rt-Hb9w"), "store 7").unwrap(), sealed);
        assert_eq!(format!("{sealer:?}"), "SecretSealer([REDACTED])");
    }

    #[test]
    fn a_changed_value_does_not_open() {
        let sealer = SecretSealer::from_master(&master(MASTER));
        let sealed = sealer.seal(&secret("Kq7m-x3Rt-Hb9w"), "store 7").unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("v1:{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(sealer.open(&tampered, "store 7").unwrap_err(), SealError::NotAuthentic);
        assert_eq!(sealer.open(&sealed, "store 8").unwrap_err(), SealError::NotAuthentic);
        assert_eq!(sealer.open("v2:abc", "store 7").unwrap_err(), SealError::Malformed);
        assert_eq!(sealer.open("v1:!!", "store 7").unwrap_err(), SealError::Malformed);
        assert_eq!(sealer.open("v1:", "store 7").unwrap_err(), SealError::Malformed);
    }

    #[test]
    fn another_master_secret_does_not_open_it() {
        let sealed = SecretSealer::from_master(&master(MASTER)).seal(&secret("pass"), "store 7").unwrap();
        let other = SecretSealer::from_master(&master("0f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c"));
        assert_eq!(other.open(&sealed, "store 7").unwrap_err(), SealError::NotAuthentic);
    }

    #[test]
    fn each_label_derives_its_own_key() {
        let master = master(MASTER);
        let at_rest = derive_key(&master, Purpose::SecretsAtRest);
        assert_eq!(at_rest.expose_secret(), derive_key(&master, Purpose::SecretsAtRest).expose_secret());
        // The same master under another label, and another master under the same label.
        let other_label = derive_with_label(&master, b"kassa refresh retry v1");
        assert_ne!(at_rest.expose_secret(), other_label.expose_secret());
        let other_master = derive_key(&SecretString::from("x".repeat(40)), Purpose::SecretsAtRest);
        assert_ne!(at_rest.expose_secret(), other_master.expose_secret());
        assert_ne!(at_rest.expose_secret().as_slice(), MASTER.as_bytes()[..32].as_ref());
    }
}
