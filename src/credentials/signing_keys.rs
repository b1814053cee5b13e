//! The keys that sign access tokens (docs/contract.md §15): made here, kept in
//! `public.signing_keys` with the private half sealed under the key derived from
//! `SECRET_KEY`, and read back as a [`KeyRing`] every instance holds in memory.
//!
//! A key's life, all of it decided by timestamps in the table so every instance agrees
//! without talking to the others:
//! - *published* from its creation: the JWKS lists it, verifiers may cache it;
//! - *signing* from `signs_from` until a later key starts signing (a rotation sets
//!   `signs_from` one JWKS cache time ahead, so no verifier meets a `kid` it has not fetched);
//! - *verifying* after that, until the last token it signed has expired;
//! - *retired* then (or when an operator retires it at once): out of the JWKS, refused, its
//!   private half erased.
//!
//! kassa generates keys and converts them to PKCS#8 and JWK here; signing and verifying are
//! jsonwebtoken's (ed25519-dalek and p256 underneath).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType,
    Jwk, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sqlx::PgConnection;

use crate::config::SigningAlgorithm;
use crate::secrets::SecretSealer;

/// jsonwebtoken's name for `algorithm`.
#[must_use]
pub fn jws(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::EdDsa => Algorithm::EdDSA,
        SigningAlgorithm::Es256 => Algorithm::ES256,
    }
}

/// A freshly generated key pair: the private half as PKCS#8 DER (what jsonwebtoken signs
/// with), wiped on drop, and the public half as a JWK whose `kid` is its RFC 7638 thumbprint.
pub struct GeneratedKey {
    pub algorithm: SigningAlgorithm,
    pub jwk: Jwk,
    private_pkcs8: SecretBox<Vec<u8>>,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey").field("kid", &self.kid()).finish_non_exhaustive()
    }
}

impl GeneratedKey {
    /// A new key of `algorithm` from the OS CSPRNG.
    pub fn generate(algorithm: SigningAlgorithm) -> anyhow::Result<Self> {
        let seed = random_scalar(algorithm);
        Self::from_seed(algorithm, seed.expose_secret())
    }

    /// The key whose secret is `seed` (32 bytes: the Ed25519 seed, or the P-256 scalar).
    fn from_seed(algorithm: SigningAlgorithm, seed: &[u8; 32]) -> anyhow::Result<Self> {
        let (params, pkcs8) = match algorithm {
            SigningAlgorithm::EdDsa => ed25519_parts(seed)?,
            SigningAlgorithm::Es256 => p256_parts(seed)?,
        };
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(match algorithm {
                    SigningAlgorithm::EdDsa => KeyAlgorithm::EdDSA,
                    SigningAlgorithm::Es256 => KeyAlgorithm::ES256,
                }),
                ..CommonParameters::default()
            },
            algorithm: params,
        };
        jwk.common.key_id = Some(jwk.thumbprint(ThumbprintHash::SHA256)?);
        Ok(GeneratedKey { algorithm, jwk, private_pkcs8: pkcs8 })
    }

    /// The key's id: its thumbprint.
    #[must_use]
    pub fn kid(&self) -> &str {
        self.jwk.common.key_id.as_deref().unwrap_or_default()
    }
}

/// 32 random bytes that are a valid secret for `algorithm`: any 32 bytes are an Ed25519
/// seed; a P-256 scalar must be non-zero and below the group order, so draws outside are
/// redrawn (one in 2^32 is).
fn random_scalar(algorithm: SigningAlgorithm) -> SecretBox<[u8; 32]> {
    loop {
        let seed = SecretBox::init_with_mut(|bytes: &mut [u8; 32]| rand::fill(bytes));
        let valid = match algorithm {
            SigningAlgorithm::EdDsa => true,
            SigningAlgorithm::Es256 => p256::SecretKey::from_slice(seed.expose_secret()).is_ok(),
        };
        if valid {
            return seed;
        }
    }
}

fn ed25519_parts(seed: &[u8; 32]) -> anyhow::Result<(AlgorithmParameters, SecretBox<Vec<u8>>)> {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let signing = ed25519_dalek::SigningKey::from_bytes(seed);
    let pkcs8 = signing.to_pkcs8_der().map_err(|e| anyhow::anyhow!("encoding an Ed25519 key: {e}"))?;
    let params = AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
        key_type: OctetKeyPairType::OctetKeyPair,
        curve: EllipticCurve::Ed25519,
        x: URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()),
    });
    Ok((params, SecretBox::new(Box::new(pkcs8.as_bytes().to_vec()))))
}

fn p256_parts(scalar: &[u8; 32]) -> anyhow::Result<(AlgorithmParameters, SecretBox<Vec<u8>>)> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::EncodePrivateKey;
    let secret = p256::SecretKey::from_slice(scalar).map_err(|_| anyhow::anyhow!("not a P-256 scalar"))?;
    let pkcs8 = secret.to_pkcs8_der().map_err(|e| anyhow::anyhow!("encoding a P-256 key: {e}"))?;
    let point = secret.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        anyhow::bail!("a P-256 public key without coordinates");
    };
    let params = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
        key_type: EllipticCurveKeyType::EC,
        curve: EllipticCurve::P256,
        x: URL_SAFE_NO_PAD.encode(x),
        y: URL_SAFE_NO_PAD.encode(y),
    });
    Ok((params, SecretBox::new(Box::new(pkcs8.as_bytes().to_vec()))))
}

/// What a sealed private key is bound to: a ciphertext copied to another key's row fails
/// to open.
fn seal_context(kid: &str) -> String {
    format!("signing key {kid}")
}

/// A key as the table holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub algorithm: String,
    pub public_jwk: sqlx::types::Json<Jwk>,
    pub private_key_ciphertext: Option<String>,
    pub created_at: DateTime<Utc>,
    pub signs_from: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// One key of the ring, ready to verify (and, with its private half, to sign).
pub struct RingKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    pub jwk: Jwk,
    pub decoding: DecodingKey,
    pub encoding: Option<EncodingKey>,
    pub created_at: DateTime<Utc>,
    pub signs_from: DateTime<Utc>,
    /// When a later key started signing; `None` while this one is the newest to sign.
    pub superseded_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for RingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("signs_from", &self.signs_from)
            .finish_non_exhaustive()
    }
}

impl RingKey {
    /// Opens `row` (a key not retired): its public half always, its private half when the
    /// sealer opens it.
    pub fn open(row: KeyRow, sealer: &SecretSealer) -> anyhow::Result<Self> {
        let algorithm = SigningAlgorithm::parse(&row.algorithm).ok_or_else(|| {
            anyhow::anyhow!("signing key {} has unknown algorithm {}", row.kid, row.algorithm)
        })?;
        let jwk = row.public_jwk.0;
        let decoding = DecodingKey::from_jwk(&jwk)?;
        let encoding = match &row.private_key_ciphertext {
            Some(sealed) => Some(open_private(sealed, &row.kid, algorithm, sealer)?),
            None => None,
        };
        Ok(RingKey {
            kid: row.kid,
            algorithm,
            jwk,
            decoding,
            encoding,
            created_at: row.created_at,
            signs_from: row.signs_from,
            superseded_at: None,
        })
    }
}

fn open_private(
    sealed: &str,
    kid: &str,
    algorithm: SigningAlgorithm,
    sealer: &SecretSealer,
) -> anyhow::Result<EncodingKey> {
    let encoded = sealer
        .open(sealed, &seal_context(kid))
        .map_err(|e| anyhow::anyhow!("the private half of signing key {kid} does not open: {e}"))?;
    let der = STANDARD
        .decode(encoded.expose_secret())
        .map_err(|_| anyhow::anyhow!("the private half of signing key {kid} is not base64"))?;
    let der = SecretBox::new(Box::new(der));
    Ok(match algorithm {
        SigningAlgorithm::EdDsa => EncodingKey::from_ed_der(der.expose_secret()),
        SigningAlgorithm::Es256 => EncodingKey::from_ec_der(der.expose_secret()),
    })
}

/// Every key an instance signs and verifies with, as read at `loaded_at`.
#[derive(Debug, Default)]
pub struct KeyRing {
    /// The keys not retired, oldest `signs_from` first.
    pub keys: Vec<RingKey>,
    /// When the first asymmetric key started signing, on a database upgraded from a release
    /// that signed with `JWT_SECRET`: its HS256 tokens verify for one token lifetime after.
    pub asymmetric_since: Option<DateTime<Utc>>,
}

impl KeyRing {
    /// The ring of `rows` (not retired, any order).
    #[must_use]
    pub fn new(mut keys: Vec<RingKey>, asymmetric_since: Option<DateTime<Utc>>) -> Self {
        keys.sort_by_key(|key| key.signs_from);
        let starts: Vec<DateTime<Utc>> = keys.iter().map(|key| key.signs_from).collect();
        for (index, key) in keys.iter_mut().enumerate() {
            key.superseded_at = starts[index + 1..].first().copied();
        }
        KeyRing { keys, asymmetric_since }
    }

    /// The key that signs at `now`: the newest whose `signs_from` has come.
    #[must_use]
    pub fn signer_at(&self, now: DateTime<Utc>) -> Option<&RingKey> {
        self.keys.iter().rev().find(|key| key.signs_from <= now && key.encoding.is_some())
    }

    /// The key `kid` of algorithm `alg`, if it verifies.
    #[must_use]
    pub fn verifier(&self, kid: &str, alg: Algorithm) -> Option<&RingKey> {
        self.keys.iter().find(|key| key.kid == kid && jws(key.algorithm) == alg)
    }

    /// The public keys to publish: every key not retired.
    #[must_use]
    pub fn published(&self) -> Vec<Jwk> {
        self.keys.iter().map(|key| key.jwk.clone()).collect()
    }
}

/// What the maintenance of the ring does over time (the schedule in the configuration).
#[derive(Debug, Clone, Copy)]
pub struct KeySchedule {
    pub algorithm: SigningAlgorithm,
    /// A key signs this long before a newer one replaces it (`SIGNING_KEY_ROTATION`).
    pub rotation: Duration,
    /// A new key is published this long before it signs (the JWKS cache time and one ring
    /// refresh), so every verifier can know it first.
    pub publish_lead: Duration,
    /// A superseded key verifies this long (the access token lifetime and the clock leeway).
    pub verify_for: Duration,
}

/// The keys not retired, and, on a database that had sessions before the keys (HS256
/// tokens of the release before may be live), when the first key started signing.
pub async fn load(conn: &mut PgConnection) -> sqlx::Result<(Vec<KeyRow>, Option<DateTime<Utc>>)> {
    let rows: Vec<KeyRow> = crate::db::query_as(
        "select kid, algorithm, public_jwk, private_key_ciphertext, created_at, signs_from, retired_at
         from public.signing_keys where retired_at is null order by signs_from",
    )
    .fetch_all(&mut *conn)
    .await?;
    let legacy_since: Option<DateTime<Utc>> = crate::db::query_scalar(
        "select (select min(signs_from) from public.signing_keys)
         from public.signing_key_upgrade where hs256_sessions_existed",
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    Ok((rows, legacy_since))
}

/// Every key, retired ones included, newest first (`kassa keys list`).
pub async fn list_all(conn: &mut PgConnection) -> sqlx::Result<Vec<KeyRow>> {
    crate::db::query_as(
        "select kid, algorithm, public_jwk, null::text as private_key_ciphertext, created_at, signs_from, retired_at
         from public.signing_keys order by signs_from desc, created_at desc",
    )
    .fetch_all(conn)
    .await
}

/// Stores `key`, signing from `signs_from`, its private half sealed.
pub async fn insert(
    conn: &mut PgConnection,
    key: &GeneratedKey,
    signs_from: DateTime<Utc>,
    sealer: &SecretSealer,
) -> anyhow::Result<()> {
    let encoded = SecretString::from(STANDARD.encode(key.private_pkcs8.expose_secret()));
    let sealed = sealer
        .seal(&encoded, &seal_context(key.kid()))
        .map_err(|e| anyhow::anyhow!("sealing a signing key: {e}"))?;
    crate::db::query(
        "insert into public.signing_keys (kid, algorithm, public_jwk, private_key_ciphertext, signs_from)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(key.kid())
    .bind(key.algorithm.as_str())
    .bind(sqlx::types::Json(&key.jwk))
    .bind(sealed)
    .bind(signs_from)
    .execute(conn)
    .await?;
    Ok(())
}

/// Retires `kid` now: out of the JWKS, its tokens refused, its private half erased. False
/// when there is no such key not yet retired.
pub async fn retire(conn: &mut PgConnection, kid: &str) -> sqlx::Result<bool> {
    let done = crate::db::query(
        "update public.signing_keys set retired_at = now(), private_key_ciphertext = null
         where kid = $1 and retired_at is null",
    )
    .bind(kid)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What [`maintain`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Maintenance {
    /// The key created, if one was.
    pub created: Option<String>,
    /// The keys retired because the last token they signed has expired.
    pub retired: Vec<String>,
}

/// Brings the table in line with `schedule` at the database's `now()`, under a lock so that
/// instances doing it at once do it once: a first key that signs at once when there is none
/// to sign; a new key published `publish_lead` ahead when the newest is `rotation` old; the
/// superseded keys whose tokens have all expired retired.
pub async fn maintain(
    conn: &mut PgConnection,
    schedule: &KeySchedule,
    sealer: &SecretSealer,
) -> anyhow::Result<Maintenance> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    crate::db::query("lock table public.signing_keys in share row exclusive mode").execute(&mut *tx).await?;
    let now: DateTime<Utc> = crate::db::query_scalar("select now()").fetch_one(&mut *tx).await?;
    let (rows, _) = load(&mut tx).await?;
    let mut done = Maintenance {
        retired: retire_expired(&mut tx, &rows, now, schedule.verify_for).await?,
        created: None,
    };
    let live: Vec<&KeyRow> = rows.iter().filter(|row| !done.retired.contains(&row.kid)).collect();
    let signer_exists = live.iter().any(|row| row.signs_from <= now);
    let newest_created = live.iter().map(|row| row.created_at).max();
    let signs_from = match (signer_exists, newest_created) {
        (false, _) => Some(now),
        (true, Some(created)) if now - created >= chrono_duration(schedule.rotation) => {
            Some(now + chrono_duration(schedule.publish_lead))
        }
        _ => None,
    };
    if let Some(signs_from) = signs_from {
        let key = GeneratedKey::generate(schedule.algorithm)?;
        insert(&mut tx, &key, signs_from, sealer).await?;
        done.created = Some(key.kid().to_owned());
    }
    tx.commit().await?;
    Ok(done)
}

/// Retires each key of `rows` that a later key superseded more than `verify_for` ago.
async fn retire_expired(
    conn: &mut PgConnection,
    rows: &[KeyRow],
    now: DateTime<Utc>,
    verify_for: Duration,
) -> sqlx::Result<Vec<String>> {
    let mut retired = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let superseded_at =
            rows[index + 1..].iter().map(|later| later.signs_from).find(|start| *start <= now);
        if superseded_at.is_some_and(|at| now - at > chrono_duration(verify_for))
            && retire(conn, &row.kid).await?
        {
            retired.push(row.kid.clone());
        }
    }
    Ok(retired)
}

/// Creates a key of `algorithm` that signs `publish_lead` from now (`kassa keys rotate`;
/// zero lead signs at once, for a key that must be replaced now).
pub async fn rotate(
    conn: &mut PgConnection,
    algorithm: SigningAlgorithm,
    publish_lead: Duration,
    sealer: &SecretSealer,
) -> anyhow::Result<(String, DateTime<Utc>)> {
    let now: DateTime<Utc> = crate::db::query_scalar("select now()").fetch_one(&mut *conn).await?;
    let signs_from = now + chrono_duration(publish_lead);
    let key = GeneratedKey::generate(algorithm)?;
    insert(conn, &key, signs_from, sealer).await?;
    Ok((key.kid().to_owned(), signs_from))
}

/// `duration` as chrono's, saturating at a century (the configuration never asks for more).
#[must_use]
pub fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or_else(|_| chrono::Duration::days(36_500))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> SecretSealer {
        SecretSealer::from_master(&SecretString::from("5b1d9e3f7a2c4e6081f3a5c7e9b2d4f6".to_owned()))
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint_of_the_public_key() {
        // RFC 8037 appendix A.3: the thumbprint of the Ed25519 key of A.1 and A.2.
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap()
            .try_into()
            .unwrap();
        let key = GeneratedKey::from_seed(SigningAlgorithm::EdDsa, &seed).unwrap();
        let AlgorithmParameters::OctetKeyPair(params) = &key.jwk.algorithm else { panic!("not OKP") };
        assert_eq!(params.x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn a_sealed_key_opens_only_under_its_own_kid() {
        for algorithm in [SigningAlgorithm::EdDsa, SigningAlgorithm::Es256] {
            let key = GeneratedKey::generate(algorithm).unwrap();
            let encoded = SecretString::from(STANDARD.encode(key.private_pkcs8.expose_secret()));
            let sealed = sealer().seal(&encoded, &seal_context(key.kid())).unwrap();
            assert!(!sealed.contains(encoded.expose_secret()));
            assert!(open_private(&sealed, key.kid(), algorithm, &sealer()).is_ok());
            assert!(open_private(&sealed, "another-kid", algorithm, &sealer()).is_err());
        }
    }

    #[test]
    fn the_newest_key_whose_time_has_come_signs() {
        let now = Utc::now();
        let ring = KeyRing::new(
            [(-120, "old"), (-60, "current"), (60, "next")]
                .into_iter()
                .map(|(offset, name)| test_key(name, now + chrono::Duration::seconds(offset)))
                .collect(),
            None,
        );
        assert_eq!(ring.signer_at(now).map(|key| key.kid.as_str()), Some("current"));
        assert_eq!(ring.keys[0].superseded_at, Some(now - chrono::Duration::seconds(60)));
        assert_eq!(
            ring.signer_at(now + chrono::Duration::seconds(61)).map(|key| key.kid.as_str()),
            Some("next")
        );
        assert_eq!(ring.published().len(), 3, "a key is published before it signs");
    }

    fn test_key(kid: &str, signs_from: DateTime<Utc>) -> RingKey {
        let key = GeneratedKey::generate(SigningAlgorithm::EdDsa).unwrap();
        RingKey {
            kid: kid.to_owned(),
            algorithm: SigningAlgorithm::EdDsa,
            decoding: DecodingKey::from_jwk(&key.jwk).unwrap(),
            encoding: Some(EncodingKey::from_ed_der(key.private_pkcs8.expose_secret())),
            jwk: key.jwk,
            created_at: signs_from,
            signs_from,
            superseded_at: None,
        }
    }
}
