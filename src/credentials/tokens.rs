//! Tokens (docs/contract.md §4, §15): short-lived access JWTs and opaque, rotating refresh
//! tokens.
//!
//! Access tokens are JWTs with `sub`, `sid`, `exp`, `iat`, `iss`, `aud` and `typ=access`,
//! signed with the ring's current asymmetric key (`credentials::signing_keys`: Ed25519 or
//! P-256, its `kid` in the header), so any service can verify them from the published JWKS
//! and none can mint one. The algorithm is the key's own and every claim is checked, so a
//! token signed with another algorithm or key, for another audience, or of another type
//! never passes. They carry no store: the tenant middleware checks membership per request.
//! A token is not accepted before its time: one issued in the future (`iat`) or not yet valid
//! (`nbf`), beyond the clock leeway, was not made by a kassa whose clock agrees with ours.
//!
//! HS256 tokens signed with `JWT_SECRET` by a release before the keys verify until the first
//! key has signed for one access-token lifetime (an upgrade signs nobody out); after that no
//! shared secret signs or verifies anything.
//!
//! Each instance holds the ring in memory and reads it again from PostgreSQL every
//! `refresh_every`, and at once (at most once a second) when a token names a `kid` it does
//! not know: a rotation on any instance reaches every other without a restart.
//!
//! Refresh tokens are 256 random bits, handed out once and stored only as their SHA-256.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::credentials::signing_keys::{self, KeyRing, KeySchedule, RingKey};
use crate::credentials::verified::{Verified, VerifiedTokens};
use crate::db::Db;
use crate::secrets::SecretSealer;

/// `iss` of every token kassa signs.
pub const ISSUER: &str = "kassa";
/// `aud` of access tokens: the POS apps' API.
pub const AUDIENCE: &str = "kassa-api";
/// `typ` of access tokens.
pub const ACCESS_TYPE: &str = "access";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user's id, as a string (RFC 7519 §4.1.2).
    pub sub: String,
    /// The session the token belongs to; revoking it revokes the token.
    pub sid: Uuid,
    pub exp: u64,
    pub iat: u64,
    pub iss: String,
    pub aud: String,
    pub typ: String,
    /// The one store a session opened on a paired till belongs to; absent for a session
    /// opened with a password. What such a session may call is `credentials::reach`'s list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_store_id: Option<i64>,
    /// The session may only enrol an authenticator (a store's policy requires one of this
    /// user, who has none yet): `credentials::reach` lists what it may call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enrolment_only: bool,
}

/// How far a session's access tokens reach beyond the ordinary: the store it is bound to,
/// and whether it may only enrol an authenticator. Read from the session's row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionReach {
    pub bound_store_id: Option<i64>,
    pub enrolment_only: bool,
}

impl AccessClaims {
    /// The user id in `sub`.
    #[must_use]
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
    /// The keys could not be read (the database is down and none were read before).
    #[error("the signing keys are unavailable")]
    Unavailable,
}

impl From<TokenError> for crate::error::ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Expired => crate::error::ApiError::TokenExpired,
            TokenError::Invalid => crate::error::ApiError::TokenInvalid,
            TokenError::Unavailable => crate::error::ApiError::ServiceUnavailable(anyhow::anyhow!(error)),
        }
    }
}

/// Seconds by which clocks of one deployment may disagree: `exp`, `nbf` and `iat` are checked
/// with this much grace. A minute would be too generous for a 15-minute token.
const LEEWAY_SECS: u64 = 5;

/// A token naming an unknown `kid` makes the ring be read again at most this often, so a
/// flood of made-up `kid`s costs the database one query a second.
const UNKNOWN_KID_REFRESH: Duration = Duration::from_secs(1);

/// The ring as last read, and when.
struct Loaded {
    ring: Arc<KeyRing>,
    at: Option<Instant>,
}

/// Signs access tokens with the ring's current key and verifies them with any of its keys
/// (and, for one token lifetime after the upgrade, HS256 ones with `JWT_SECRET`).
pub struct AccessTokens {
    keys: Arc<KeyHolder>,
    legacy: Option<DecodingKey>,
    /// Tokens whose signature this instance has already checked.
    verified: VerifiedTokens<AccessClaims>,
    ttl: Duration,
}

/// The ring as this instance holds it, and what reading it again takes. Shared with the
/// background task that reads a stale ring again, so no request waits for that read (a
/// request that signs holds a connection in its transaction: waiting for a second one could
/// starve the pool under a burst).
struct KeyHolder {
    db: Db,
    sealer: Arc<SecretSealer>,
    schedule: KeySchedule,
    refresh_every: Duration,
    loaded: RwLock<Loaded>,
    /// One refresh at a time per instance; the others keep using the ring they have.
    refreshing: tokio::sync::Mutex<()>,
    /// A background refresh is spawned and not finished: requests that find the ring stale
    /// meanwhile spawn no other (a burst would otherwise spawn one task per request).
    background_refresh: AtomicBool,
    last_unknown_kid_refresh: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Tokens that live `config.access_token_ttl`, signed with keys kept in `db` and sealed by
    /// `sealer`; the ring is read on first use.
    #[must_use]
    pub fn new(config: &Config, db: Db, sealer: Arc<SecretSealer>) -> Self {
        let keys = KeyHolder {
            db,
            sealer,
            schedule: KeySchedule {
                algorithm: config.signing_algorithm,
                rotation: config.signing_key_rotation,
                publish_lead: config.jwks_max_age + refresh_every(config),
                verify_for: config.access_token_ttl + Duration::from_secs(LEEWAY_SECS),
            },
            refresh_every: refresh_every(config),
            loaded: RwLock::new(Loaded { ring: Arc::new(KeyRing::default()), at: None }),
            refreshing: tokio::sync::Mutex::new(()),
            background_refresh: AtomicBool::new(false),
            last_unknown_kid_refresh: Mutex::new(None),
        };
        AccessTokens {
            keys: Arc::new(keys),
            legacy: config
                .legacy_jwt_secret
                .as_ref()
                .map(|secret| DecodingKey::from_secret(secret.expose_secret().as_bytes())),
            verified: VerifiedTokens::default(),
            ttl: config.access_token_ttl,
        }
    }

    /// What the keys' maintenance follows (the configuration's schedule).
    #[must_use]
    pub fn schedule(&self) -> KeySchedule {
        self.keys.schedule
    }

    /// How long before it signs a rotated key is published.
    #[must_use]
    pub fn publish_lead(&self) -> Duration {
        self.keys.schedule.publish_lead
    }

    /// Reads the keys now (making the first one if there is none), so the first requests
    /// find them held: a server calls this before it serves.
    pub async fn load(&self) -> Result<(), TokenError> {
        match self.keys.refresh(true).await {
            Some(ring) if !ring.keys.is_empty() => Ok(()),
            _ => Err(TokenError::Unavailable),
        }
    }

    /// How long an access token lives.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed access token for `user_id` in session `session_id`, bound to the store
    /// `bound_store_id` when the session is.
    pub async fn issue(&self, user_id: i64, session_id: Uuid, reach: SessionReach) -> anyhow::Result<String> {
        let ring = self.ring().await.map_err(|_| anyhow::anyhow!(TokenError::Unavailable))?;
        let key = ring.signer_at(Utc::now()).ok_or_else(|| anyhow::anyhow!("no signing key can sign now"))?;
        let now = unix_now();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id,
            iat: now,
            exp: now + self.ttl.as_secs(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            typ: ACCESS_TYPE.to_owned(),
            bound_store_id: reach.bound_store_id,
            enrolment_only: reach.enrolment_only,
        };
        sign(key, &claims)
    }

    /// The claims of a valid access token; anything else is `Invalid` or `Expired`.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let ring = self.ring().await?;
        let now = unix_now();
        let known = self.verified.get(token, now.saturating_sub(LEEWAY_SECS));
        if let Some(hit) = known.filter(|hit| ring.verifier(&hit.kid, hit.alg).is_some()) {
            return Ok(hit.claims);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg == Algorithm::HS256 {
            return self.verify_legacy(token, &ring);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let ring = match ring.verifier(&kid, header.alg) {
            Some(_) => ring,
            None => self.keys.refresh_for_unknown_kid().await.ok_or(TokenError::Invalid)?,
        };
        let key = ring.verifier(&kid, header.alg).ok_or(TokenError::Invalid)?;
        let claims = verify_with(token, &key.decoding, header.alg)?;
        let verified = Verified { claims: claims.clone(), exp: claims.exp, kid, alg: header.alg };
        self.verified.insert(token, verified, now);
        Ok(claims)
    }

    /// The public keys to publish (the JWKS).
    pub async fn published_keys(&self) -> Result<Vec<jsonwebtoken::jwk::Jwk>, TokenError> {
        Ok(self.ring().await?.published())
    }

    /// The ring, read again first when it is older than `refresh_every`. A failed read keeps
    /// the ring already held (the database being down does not stop verification); with
    /// none held, `Unavailable`.
    async fn ring(&self) -> Result<Arc<KeyRing>, TokenError> {
        let (ring, fresh) = self.keys.snapshot();
        if fresh {
            return Ok(ring);
        }
        if !ring.keys.is_empty() {
            // Held but stale: this request goes on with it, one task reads the keys again.
            if !self.keys.background_refresh.swap(true, Ordering::AcqRel) {
                let keys = Arc::clone(&self.keys);
                tokio::spawn(async move {
                    let _done = BackgroundRefreshDone(&keys);
                    keys.refresh(false).await;
                });
            }
            return Ok(ring);
        }
        self.keys.refresh(false).await.filter(|ring| !ring.keys.is_empty()).ok_or(TokenError::Unavailable)
    }
}

/// Clears [`KeyHolder::background_refresh`] when the task ends, however it ends.
struct BackgroundRefreshDone<'a>(&'a KeyHolder);

impl Drop for BackgroundRefreshDone<'_> {
    fn drop(&mut self) {
        self.0.background_refresh.store(false, Ordering::Release);
    }
}

impl KeyHolder {
    fn snapshot(&self) -> (Arc<KeyRing>, bool) {
        let loaded = self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = loaded.at.is_some_and(|at| at.elapsed() < self.refresh_every);
        (Arc::clone(&loaded.ring), fresh)
    }

    async fn refresh_for_unknown_kid(&self) -> Option<Arc<KeyRing>> {
        {
            let mut last =
                self.last_unknown_kid_refresh.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_REFRESH) {
                return None;
            }
            *last = Some(Instant::now());
        }
        self.refresh(true).await
    }

    /// Reads the ring again (maintaining the table first when the schedule asks), unless
    /// another task of this instance is doing so: then it waits for that one, or, when
    /// `forced` is false and a ring is held, returns at once with `None`.
    async fn refresh(&self, forced: bool) -> Option<Arc<KeyRing>> {
        let started = Instant::now();
        let _guard = match self.refreshing.try_lock() {
            Ok(guard) => guard,
            Err(_) if !forced && !self.snapshot().0.keys.is_empty() => return None,
            Err(_) => self.refreshing.lock().await,
        };
        let (ring, _) = self.snapshot();
        let read_meanwhile =
            self.loaded.read().ok().and_then(|loaded| loaded.at).is_some_and(|at| at >= started);
        if read_meanwhile {
            return Some(ring);
        }
        match self.read_ring(&ring).await {
            Ok(ring) => {
                let ring = Arc::new(ring);
                let mut loaded = self.loaded.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                *loaded = Loaded { ring: Arc::clone(&ring), at: Some(Instant::now()) };
                Some(ring)
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "reading the signing keys failed; keeping the keys held");
                None
            }
        }
    }

    async fn read_ring(&self, held: &KeyRing) -> anyhow::Result<KeyRing> {
        let mut conn = crate::db::Session::open(&self.db).await?;
        if needs_maintenance(held, &self.schedule, Utc::now()) {
            let done = signing_keys::maintain(&mut conn, &self.schedule, &self.sealer).await?;
            if let Some(kid) = &done.created {
                tracing::info!(kid, "signing key created");
            }
            for kid in &done.retired {
                tracing::info!(kid, "signing key retired: the last token it signed has expired");
            }
        }
        let (rows, asymmetric_since) = signing_keys::load(&mut conn).await?;
        conn.finish().await?;
        let keys =
            rows.into_iter().map(|row| RingKey::open(row, &self.sealer)).collect::<anyhow::Result<_>>()?;
        Ok(KeyRing::new(keys, asymmetric_since))
    }
}

impl AccessTokens {
    /// An HS256 token of a release before the keys, while such tokens may still be live: the
    /// first key has signed for less than a token lifetime (and the clock leeway).
    fn verify_legacy(&self, token: &str, ring: &KeyRing) -> Result<AccessClaims, TokenError> {
        let legacy = self.legacy.as_ref().ok_or(TokenError::Invalid)?;
        let since = ring.asymmetric_since.ok_or(TokenError::Invalid)?;
        let window = signing_keys::chrono_duration(self.ttl + Duration::from_secs(LEEWAY_SECS));
        if Utc::now() >= since + window {
            return Err(TokenError::Invalid);
        }
        verify_with(token, legacy, Algorithm::HS256)
    }
}

/// How often an instance reads the keys again: a quarter of the JWKS cache time, between one
/// second and a minute, so a published key reaches every instance long before it signs.
fn refresh_every(config: &Config) -> Duration {
    (config.jwks_max_age / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Whether the table needs [`signing_keys::maintain`] at `now`: no key signs, the newest is
/// due for rotation, or a superseded key's tokens have all expired.
fn needs_maintenance(ring: &KeyRing, schedule: &KeySchedule, now: DateTime<Utc>) -> bool {
    let Some(newest) = ring.keys.iter().map(|key| key.created_at).max() else {
        return true;
    };
    let rotation_due = now - newest >= signing_keys::chrono_duration(schedule.rotation);
    let verify_for = signing_keys::chrono_duration(schedule.verify_for);
    let expired =
        ring.keys.iter().any(|key| key.superseded_at.is_some_and(|at| at <= now && now - at > verify_for));
    ring.signer_at(now).is_none() || rotation_due || expired
}

fn sign(key: &RingKey, claims: &AccessClaims) -> anyhow::Result<String> {
    let encoding = key
        .encoding
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("signing key {} has no private half", key.kid))?;
    let mut header = Header::new(signing_keys::jws(key.algorithm));
    header.kid = Some(key.kid.clone());
    Ok(jsonwebtoken::encode(&header, claims, encoding)?)
}

/// The validation every access token passes, for `alg` only.
fn validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS;
    validation
}

fn verify_with(token: &str, key: &DecodingKey, alg: Algorithm) -> Result<AccessClaims, TokenError> {
    let data =
        jsonwebtoken::decode::<AccessClaims>(token, key, &validation(alg)).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
    let claims = data.claims;
    // jsonwebtoken checks `exp` and `nbf` but not `iat`.
    let issued_in_the_future = claims.iat > unix_now().saturating_add(LEEWAY_SECS);
    if claims.typ != ACCESS_TYPE || claims.user_id().is_none() || issued_in_the_future {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

/// An opaque secret as handed to a client: a session's refresh token, a till's device
/// token, an approval. Stored only as its digest.
pub struct OpaqueToken(SecretString);

/// The refresh token of a session.
pub type RefreshToken = OpaqueToken;

impl OpaqueToken {
    /// 256 bits from the OS CSPRNG, base64url without padding (43 characters).
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        OpaqueToken(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Wraps a token a client presented.
    #[must_use]
    pub fn presented(token: String) -> Self {
        OpaqueToken(SecretString::from(token))
    }

    /// What the database stores: SHA-256 of the token. The token has 256 bits of entropy,
    /// so a fast hash suffices (nothing to brute-force), and lookups stay one index probe.
    #[must_use]
    pub fn digest(&self) -> Vec<u8> {
        Sha256::digest(self.0.expose_secret().as_bytes()).to_vec()
    }

    /// The token itself, for the one response that hands it over.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_long_random_and_stored_as_digests() {
        let (a, b) = (RefreshToken::generate(), RefreshToken::generate());
        assert_eq!(a.expose().len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert_eq!(a.digest(), Sha256::digest(a.expose().as_bytes()).to_vec());
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.digest(), RefreshToken::presented(a.expose().to_owned()).digest());
        assert_eq!(a.digest().len(), 32);
    }
}
