//! `AuthUser` and `SignedIn`: the signed-in caller, for handlers that require one.
//!
//! Both verify the bearer access token (signature, pinned algorithm, every claim) and then
//! that its session is live and its account active, so logout, revocation, password changes
//! and deactivation take effect on the very next request (docs/contract.md §4). `AuthUser` also enforces
//! the `must_change_password` gate; `SignedIn` does not, and is for the few routes such a
//! user may still call (change-password, logout, their own sessions). Handlers never parse
//! tokens themselves.

use std::sync::Arc;

use crate::db::Db;
use axum::extract::{FromRef, FromRequestParts, MatchedPath};
use axum::http::header;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::credentials::queries;
use crate::credentials::reach::{enrolment_only_may_call, store_bound_may_call};
use crate::credentials::tokens::AccessTokens;
use crate::error::ApiError;

/// The authenticated caller, who is not required to change their password first.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: i64,
    pub session_id: Uuid,
    pub username: String,
    pub must_change_password: bool,
    /// The store a session opened on a paired till belongs to (`credentials::reach`).
    pub bound_store_id: Option<i64>,
}

/// The authenticated caller, even one who must change their password.
#[derive(Debug, Clone)]
pub struct SignedIn(pub AuthUser);

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Db: FromRef<S>,
    Arc<AccessTokens>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = authenticate(parts, state).await?;
        if user.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(user)
    }
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    Db: FromRef<S>,
    Arc<AccessTokens>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(SignedIn)
    }
}

/// The (user id, session id) of a valid bearer access token; the session itself is checked
/// by the caller, against the database. A token of a store-bound session is refused here on
/// every route `credentials::reach` does not list.
pub(crate) async fn access_claims(parts: &Parts, tokens: &AccessTokens) -> Result<(i64, Uuid), ApiError> {
    let token = bearer_token(parts)?;
    let claims = tokens.verify(token).await?;
    let user_id = claims.user_id().ok_or(ApiError::TokenInvalid)?;
    if claims.bound_store_id.is_some() {
        check_store_bound_reach(parts)?;
    }
    if claims.enrolment_only {
        check_enrolment_reach(parts)?;
    }
    Ok((user_id, claims.sid))
}

/// 403 `two_factor_enrolment_required` unless a session that may only enrol an
/// authenticator may call this route.
fn check_enrolment_reach(parts: &Parts) -> Result<(), ApiError> {
    let route = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str);
    match enrolment_only_may_call(&parts.method, route) {
        true => Ok(()),
        false => Err(ApiError::TwoFactorEnrolmentRequired),
    }
}

/// 403 `permission_denied` unless a store-bound session may call this route.
fn check_store_bound_reach(parts: &Parts) -> Result<(), ApiError> {
    let route = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str);
    match store_bound_may_call(&parts.method, route) {
        true => Ok(()),
        false => Err(ApiError::PermissionDenied),
    }
}

async fn authenticate<S>(parts: &Parts, state: &S) -> Result<AuthUser, ApiError>
where
    Db: FromRef<S>,
    Arc<AccessTokens>: FromRef<S>,
{
    let (user_id, session_id) = access_claims(parts, &Arc::<AccessTokens>::from_ref(state)).await?;
    let mut conn = crate::db::Session::open(&Db::from_ref(state)).await?;
    let user = queries::find_live_session_user(&mut conn, session_id, user_id)
        .await?
        .ok_or(ApiError::TokenInvalid)?;
    tracing::Span::current().record("user.id", user.user_id);
    // The session row decides, also for a till's token signed before tokens named the store.
    if user.bound_store_id.is_some() {
        check_store_bound_reach(parts)?;
    }
    Ok(AuthUser {
        user_id: user.user_id,
        session_id,
        username: user.username,
        must_change_password: user.must_change_password,
        bound_store_id: user.bound_store_id,
    })
}

/// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110).
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or(ApiError::NotAuthenticated)?;
    let value = value.to_str().map_err(|_| ApiError::TokenInvalid)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::TokenInvalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::NotAuthenticated);
    }
    Ok(token.trim())
}
