//! Starting a session: the row in `public.sessions` and the token pair handed to the client;
//! and the refresh token that follows each one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::Config;
use crate::credentials::queries::{self, NewSession, SessionProof, StoreBinding, TillBinding};
use crate::credentials::tokens::{AccessTokens, RefreshToken, SessionReach};
use crate::error::{ApiError, ApiResult};
use crate::http::client::ClientInfo;
use crate::secrets::{Purpose, derive_key};

/// The tokens a sign-in hands over: a short-lived access JWT and the session's refresh token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// Bearer token for `Authorization`, valid for `ACCESS_TOKEN_TTL`.
    pub access: String,
    /// Opaque token for `POST /api/users/auth/token/refresh/`; rotated on every use.
    pub refresh: String,
}

/// Opens a session for `user_id` on `conn` (inside the caller's transaction, so a failed
/// registration leaves no session behind) and signs its first access token. `proof` says
/// what shows the credential is still current (`queries::SessionProof`); 401
/// `authentication_failed` when it no longer is.
pub async fn start_session(
    conn: &mut PgConnection,
    signing: (&AccessTokens, &Config),
    user_id: i64,
    client: &ClientInfo,
    proof: SessionProof<'_>,
) -> ApiResult<TokenPair> {
    open_session(conn, signing, (user_id, proof), client, OpenedFor::Anything).await
}

/// Like [`start_session`], for someone a store's policy requires to sign in with two steps
/// who has no authenticator yet: the session reaches only enrolment, `me` and logout
/// (`credentials::reach`) until they confirm one.
pub async fn start_enrolment_only_session(
    conn: &mut PgConnection,
    signing: (&AccessTokens, &Config),
    user_id: i64,
    client: &ClientInfo,
    proof: SessionProof<'_>,
) -> ApiResult<TokenPair> {
    open_session(conn, signing, (user_id, proof), client, OpenedFor::EnrolmentOnly).await
}

/// Like [`start_session`], for a member who signed in by PIN on a paired till: the session
/// is bound to `till`, in a transaction that holds its credentials locked.
pub async fn start_till_session(
    conn: &mut PgConnection,
    signing: (&AccessTokens, &Config),
    user_id: i64,
    client: &ClientInfo,
    till: TillBinding,
) -> ApiResult<TokenPair> {
    let till = OpenedFor::Store(till.into());
    open_session(conn, signing, (user_id, SessionProof::InTransaction), client, till).await
}

/// Like [`start_session`], for an account that belongs to one store (a store's shared staff
/// account): the session, and every access token it yields, is bound to `store_id`.
pub async fn start_store_bound_session(
    conn: &mut PgConnection,
    signing: (&AccessTokens, &Config),
    (user_id, proof): (i64, SessionProof<'_>),
    client: &ClientInfo,
    store_id: i64,
) -> ApiResult<TokenPair> {
    let binding = StoreBinding { device_id: None, store_id };
    open_session(conn, signing, (user_id, proof), client, OpenedFor::Store(binding)).await
}

/// What a new session may reach.
enum OpenedFor {
    Anything,
    Store(StoreBinding),
    EnrolmentOnly,
}

async fn open_session(
    conn: &mut PgConnection,
    (tokens, config): (&AccessTokens, &Config),
    (user_id, proof): (i64, SessionProof<'_>),
    client: &ClientInfo,
    opened_for: OpenedFor,
) -> ApiResult<TokenPair> {
    let (binding, enrolment_only) = match opened_for {
        OpenedFor::Anything => (None, false),
        OpenedFor::Store(binding) => (Some(binding), false),
        OpenedFor::EnrolmentOnly => (None, true),
    };
    let session_id = Uuid::new_v4();
    let refresh = RefreshToken::generate();
    let lifetime = chrono::Duration::from_std(config.refresh_token_ttl).map_err(ApiError::internal)?;
    let new = NewSession {
        id: session_id,
        user_id,
        refresh_token_hash: &refresh.digest(),
        expires_at: Utc::now() + lifetime,
        ip: client.ip,
        user_agent: &client.user_agent,
        binding,
        enrolment_only,
    };
    if !queries::insert_session(conn, &new, proof).await? {
        return Err(ApiError::InvalidCredentials);
    }
    let reach = SessionReach { bound_store_id: binding.map(|binding| binding.store_id), enrolment_only };
    let access = tokens.issue(user_id, session_id, reach).await.map_err(ApiError::internal)?;
    Ok(TokenPair { access, refresh: refresh.expose().to_owned() })
}

/// The refresh token that replaces `token` when it is refreshed:
/// HMAC-SHA256(K, token), K the key derived from `SECRET_KEY` for this purpose (`secrets`),
/// base64url like a generated one (256 bits, 43 characters).
///
/// Derived rather than drawn at random so that a retry of the same refresh (the client lost
/// the answer) yields the very token the first answer carried, on any instance, without the
/// plaintext being stored anywhere: the database keeps only digests, and a successor can
/// only be computed from the live plaintext token and the secret. Whoever holds `token`
/// within the retry window gets its successor, which is what a random replacement would
/// have given them too.
pub fn successor_of(token: &RefreshToken, master: &SecretString) -> ApiResult<RefreshToken> {
    let key = derive_key(master, Purpose::RefreshSuccessor);
    let successor = hmac_sha256(key.expose_secret(), token.expose().as_bytes())?;
    Ok(RefreshToken::presented(URL_SAFE_NO_PAD.encode(successor)))
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> ApiResult<Vec<u8>> {
    // HMAC takes keys of any length; the error case cannot happen, and is not a panic.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(ApiError::internal)?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> SecretString {
        SecretString::from(value.to_owned())
    }

    #[test]
    fn a_successor_is_fixed_by_its_token_and_the_secret_and_looks_generated() {
        let key = secret("0123456789abcdef0123456789abcdef");
        let token = RefreshToken::generate();
        let first = successor_of(&token, &key).unwrap();
        let again = successor_of(&RefreshToken::presented(token.expose().to_owned()), &key).unwrap();
        assert_eq!(first.expose(), again.expose());
        assert_eq!(first.expose().len(), 43);
        assert_ne!(first.expose(), token.expose());

        let other_token = successor_of(&RefreshToken::generate(), &key).unwrap();
        let other_secret = successor_of(&token, &secret("another-secret-another-secret-000")).unwrap();
        assert_ne!(first.expose(), other_token.expose());
        assert_ne!(first.expose(), other_secret.expose());
    }
}
