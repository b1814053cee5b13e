//! Tokens (docs/contract.md §4): short-lived access JWTs and opaque, rotating refresh tokens.
//!
//! Access tokens are HS256 JWTs with `sub`, `sid`, `exp`, `iat`, `iss`, `aud` and
//! `typ=access`; the algorithm is pinned and every claim is checked, so a token signed with
//! another algorithm, for another audience, or of another type never passes. They carry no
//! store: the tenant middleware checks membership per request. A token is not accepted
//! before its time: one issued in the future (`iat`) or not yet valid (`nbf`), beyond the
//! clock leeway, was not made by a kassa whose clock agrees with ours.
//!
//! Refresh tokens are 256 random bits, handed out once and stored only as their SHA-256.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

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
}

impl From<TokenError> for crate::error::ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Expired => crate::error::ApiError::TokenExpired,
            TokenError::Invalid => crate::error::ApiError::TokenInvalid,
        }
    }
}

/// Seconds by which clocks of one deployment may disagree: `exp`, `nbf` and `iat` are checked
/// with this much grace. A minute would be too generous for a 15-minute token.
const LEEWAY_SECS: u64 = 5;

/// Signs and verifies access tokens with the `JWT_SECRET`.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Keys from `secret`; tokens live `ttl`.
    #[must_use]
    pub fn new(secret: &SecretString, ttl: Duration) -> Self {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        AccessTokens {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            ttl,
        }
    }

    /// How long an access token lives.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed access token for `user_id` in session `session_id`, bound to the store
    /// `bound_store_id` when the session is.
    pub fn issue(
        &self,
        user_id: i64,
        session_id: Uuid,
        bound_store_id: Option<i64>,
    ) -> anyhow::Result<String> {
        let now = unix_now();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id,
            iat: now,
            exp: now + self.ttl.as_secs(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            typ: ACCESS_TYPE.to_owned(),
            bound_store_id,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The claims of a valid access token; anything else is `Invalid` or `Expired`.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )?;
        let claims = data.claims;
        // jsonwebtoken checks `exp` and `nbf` but not `iat`.
        let issued_in_the_future = claims.iat > unix_now().saturating_add(LEEWAY_SECS);
        if claims.typ != ACCESS_TYPE || claims.user_id().is_none() || issued_in_the_future {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
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

    fn keys() -> AccessTokens {
        AccessTokens::new(
            &SecretString::from("0123456789abcdef0123456789abcdef".to_owned()),
            Duration::from_secs(900),
        )
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let keys = keys();
        let sid = Uuid::new_v4();
        let claims = keys.verify(&keys.issue(42, sid, None).unwrap()).unwrap();
        assert_eq!((claims.user_id(), claims.sid, claims.typ.as_str()), (Some(42), sid, "access"));
    }

    #[test]
    fn tokens_signed_otherwise_or_tampered_are_invalid() {
        let keys = keys();
        let token = keys.issue(42, Uuid::new_v4(), None).unwrap();
        let other = AccessTokens::new(
            &SecretString::from("another-secret-another-secret-000".to_owned()),
            Duration::from_secs(900),
        );
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));

        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        payload["sub"] = "1".into();
        parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
        assert_eq!(keys.verify(&parts.join(".")), Err(TokenError::Invalid));

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", token.split('.').nth(1).unwrap());
        assert_eq!(keys.verify(&unsigned), Err(TokenError::Invalid));
        assert_eq!(keys.verify("garbage"), Err(TokenError::Invalid));
    }

    /// A token signed with the test secret, with `claims` over a valid token's.
    fn signed(keys: &AccessTokens, claims: serde_json::Value) -> String {
        let valid = keys.verify(&keys.issue(42, Uuid::new_v4(), None).unwrap()).unwrap();
        let mut payload = serde_json::to_value(valid).unwrap();
        payload.as_object_mut().unwrap().extend(claims.as_object().unwrap().clone());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &payload, &keys.encoding).unwrap()
    }

    #[test]
    fn a_token_issued_in_the_future_is_invalid() {
        let keys = keys();
        let now = unix_now();
        let refused = signed(&keys, serde_json::json!({"iat": now + 60, "exp": now + 960}));
        assert_eq!(keys.verify(&refused), Err(TokenError::Invalid));
        let within_leeway = signed(&keys, serde_json::json!({"iat": now + 3}));
        assert!(keys.verify(&within_leeway).is_ok(), "clocks a few seconds apart still agree");
    }

    #[test]
    fn a_token_not_yet_valid_is_invalid() {
        let keys = keys();
        let now = unix_now();
        let refused = signed(&keys, serde_json::json!({"nbf": now + 60}));
        assert_eq!(keys.verify(&refused), Err(TokenError::Invalid));
        let malformed = signed(&keys, serde_json::json!({"nbf": "soon"}));
        assert_eq!(keys.verify(&malformed), Err(TokenError::Invalid));
        for fine in [now - 60, now + 3] {
            assert!(keys.verify(&signed(&keys, serde_json::json!({"nbf": fine}))).is_ok(), "nbf {fine}");
        }
    }

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
