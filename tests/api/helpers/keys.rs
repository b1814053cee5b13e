//! Signing keys as a test sees them: the claims inside a token, and claims signed with the
//! key kassa signs with now (read from the database and opened with the test master secret),
//! for tests that need a token kassa could have issued with other claims.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use kassa::credentials::signing_keys::{self, KeyRing, RingKey, jws};
use kassa::secrets::SecretSealer;
use secrecy::SecretString;
use serde_json::Value;

use super::{TEST_JWT_SECRET, TestApp};

/// The claims of `token` (not verified).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

/// The header of `token` (not verified).
pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("a JWT has a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON header")
}

/// The keys `conn`'s database holds, opened with the test master secret.
pub async fn key_ring_in(conn: &mut sqlx::PgConnection) -> KeyRing {
    let sealer = SecretSealer::from_master(&SecretString::from(TEST_JWT_SECRET));
    let (rows, since) = signing_keys::load(conn).await.unwrap();
    let keys: Vec<RingKey> = rows.into_iter().map(|row| RingKey::open(row, &sealer).unwrap()).collect();
    KeyRing::new(keys, since)
}

/// Every spelling of `key`'s private half a leak could take: its PKCS#8 document in base64,
/// its seed (Ed25519) in base64, base64url and hex.
pub fn private_key_spellings(key: &RingKey) -> Vec<String> {
    use base64::engine::general_purpose::STANDARD;
    let der = key.encoding.as_ref().expect("a key that signs").as_bytes().to_vec();
    // PKCS#8 of an Ed25519 key: the seed is the OCTET STRING (04 20) after the algorithm.
    assert_eq!(der[14..16], [0x04, 0x20], "an Ed25519 PKCS#8 document");
    let seed = &der[16..48];
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    vec![STANDARD.encode(&der), URL_SAFE_NO_PAD.encode(seed), STANDARD.encode(seed), hex]
}

impl TestApp {
    /// The keys as the database holds them, opened with the test master secret.
    pub async fn key_ring(&self) -> KeyRing {
        key_ring_in(&mut self.pool.acquire().await.unwrap()).await
    }

    /// `claims` signed with the key that signs now, with its `kid`: what kassa itself would
    /// issue with those claims.
    pub async fn sign_as_kassa(&self, claims: &Value) -> String {
        let ring = Arc::new(self.key_ring().await);
        let key = ring.signer_at(Utc::now()).expect("a key signs (a token was issued before)");
        let mut header = jsonwebtoken::Header::new(jws(key.algorithm));
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, key.encoding.as_ref().unwrap()).unwrap()
    }

    /// `token`'s claims with `changes` laid over them, signed again by [`Self::sign_as_kassa`].
    pub async fn resigned(&self, token: &str, changes: Value) -> String {
        let mut claims = claims_of(token);
        claims.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
        self.sign_as_kassa(&claims).await
    }
}
