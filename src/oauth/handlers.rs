//! HTTP handlers for `/oauth/`: introspection (RFC 7662) and revocation (RFC 7009) for the
//! platform's service clients (docs/contract.md §15).
//!
//! Each call first authenticates the client (HTTP Basic) and claims one call of its
//! per-minute allowance; then the token is looked at. A token is live exactly when the
//! bearer extractor (`credentials::extractor`) or a refresh would accept it now, read from
//! the database on every call, so a logout shows on the very next one.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::credentials::queries as account_queries;
use crate::credentials::throttle::{self, ClientCall};
use crate::credentials::tokens::{ISSUER, OpaqueToken, TokenError};
use crate::db::Session;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::no_store::NoStore;
use crate::http::openapi::{ClientRefusals, FormRejections};
use crate::oauth::forms::{
    ClientCredentials, FIRST_PARTY_CLIENT_ID, IntrospectRequest, IntrospectionResponse, RevokeRequest,
    RevokeResponse, TokenForm, TokenKind,
};
use crate::oauth::queries;
use crate::state::AppState;
use crate::tenant::layer::is_well_formed;

/// Whether a token is live, and what it stands for (RFC 7662 introspection).
///
/// `{"active": false}` for anything that is not live: expired, revoked, signed out, its account deactivated, a
/// wrong signature, unknown. For a live access token: `sub`, `sid`, `exp`, `iat`, `iss`,
/// `aud`, `client_id` (`kassa` for kassa's own sign-ins), `token_type` (`Bearer`) and
/// `username`; for a live refresh token the same without `aud`, with the session's start
/// and end as `iat` and `exp` and `token_type` `refresh_token`. Naming a store
/// (`tenant_key`, or `X-Tenant-Key`) adds the user's `role` and `permissions` there, and
/// answers inactive when the user is not its active member (or the store is unknown or
/// deactivated).
///
/// **Authentication**: a service client (`kassa clients create`), HTTP Basic. Calls per
/// client are limited to `INTROSPECTION_RATE_LIMIT_PER_MINUTE`.
#[utoipa::path(post, path = "/oauth/introspect", tag = "oauth", security(("clientBasic" = [])),
    request_body(content = IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "What the token stands for, or `{\"active\": false}`; `Cache-Control: no-store`", body = IntrospectionResponse),
        (status = 400, description = "validation_error (`error`: `invalid_request`): `token` missing, blank or too long, a field sent twice, or `tenant_key` and `X-Tenant-Key` naming different stores", body = ErrorBody),
        ClientRefusals,
        FormRejections,
    ))]
pub async fn introspect(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<NoStore<Json<IntrospectionResponse>>> {
    authenticate_client(&app, &headers).await?;
    let form = TokenForm::parse(&headers, &body)?;
    let store_id = match &form.tenant_key {
        Some(key) => match active_store(&app, key).await? {
            Some(store_id) => Some(store_id),
            None => return Ok(NoStore(Json(IntrospectionResponse::inactive()))),
        },
        None => None,
    };
    for kind in form.kinds {
        let answer = match kind {
            TokenKind::Access => introspect_access(&app, form.token.expose_secret(), store_id).await?,
            TokenKind::Refresh => introspect_refresh(&app, form.token.expose_secret(), store_id).await?,
        };
        if let Some(answer) = answer {
            return Ok(NoStore(Json(answer)));
        }
    }
    Ok(NoStore(Json(IntrospectionResponse::inactive())))
}

/// Ends the session of an access or refresh token (RFC 7009 revocation).
///
/// As a logout would: every token of that session stops working at once. Answers 200 whatever the token was (unknown,
/// expired, already revoked), as RFC 7009 §2.2 asks.
///
/// **Authentication**: a service client (`kassa clients create`), HTTP Basic; its calls
/// count against `INTROSPECTION_RATE_LIMIT_PER_MINUTE` with its introspections.
#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth", security(("clientBasic" = [])),
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done: the token's session, if it had a live one, has ended", body = RevokeResponse),
        (status = 400, description = "validation_error (`error`: `invalid_request`): `token` missing, blank or too long, or a field sent twice", body = ErrorBody),
        ClientRefusals,
        FormRejections,
    ))]
pub async fn revoke_token(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<NoStore<Json<RevokeResponse>>> {
    let client_id = authenticate_client(&app, &headers).await?;
    let form = TokenForm::parse(&headers, &body)?;
    let token = form.token.expose_secret();
    let mut conn = Session::open(&app.db).await?;
    for kind in form.kinds {
        let ended = match kind {
            TokenKind::Access => match app.tokens.verify(token).await {
                Ok(claims) => match claims.user_id() {
                    Some(user_id) => account_queries::revoke_session(&mut conn, user_id, claims.sid).await?,
                    None => false,
                },
                Err(TokenError::Unavailable) => return Err(TokenError::Unavailable.into()),
                Err(TokenError::Expired | TokenError::Invalid) => false,
            },
            TokenKind::Refresh => {
                queries::revoke_refresh_session(&mut conn, &OpaqueToken::presented(token.to_owned()).digest())
                    .await?
            }
        };
        if ended {
            tracing::info!(client.id = %client_id, "a service client ended a session");
            break;
        }
    }
    conn.finish().await?;
    Ok(NoStore(Json(RevokeResponse {})))
}

/// The client id of the service client whose HTTP Basic credentials `headers` carry, after
/// claiming one call of its minute's allowance; 401 `invalid_client` for missing, unknown or
/// wrong credentials (a wrong secret spends an allowance of its own), 429 past the limit.
async fn authenticate_client(app: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    let presented = ClientCredentials::from_headers(headers)?;
    let mut conn = Session::open(&app.db).await?;
    let Some(stored) = queries::find_secret_hash(&mut conn, &presented.client_id).await? else {
        conn.finish().await?;
        return Err(ApiError::InvalidClient);
    };
    let digest = OpaqueToken::presented(presented.secret.expose_secret().to_owned()).digest();
    let call = match bool::from(digest.ct_eq(&stored)) {
        true => ClientCall::Authenticated,
        false => ClientCall::WrongSecret,
    };
    let limit = app.config.introspection_rate_limit_per_minute;
    throttle::claim_service_client_call(&mut conn, &presented.client_id, call, limit).await?;
    // The claim is kept whether the secret was right or not.
    conn.finish().await?;
    match call {
        ClientCall::Authenticated => Ok(presented.client_id),
        ClientCall::WrongSecret => Err(ApiError::InvalidClient),
    }
}

/// The id of the active store whose key is `tenant_key`, resolved as the tenant layer does
/// (malformed keys never reach the database; the store cache); `None` for a key that names
/// no store, or a deactivated one.
async fn active_store(app: &AppState, tenant_key: &str) -> ApiResult<Option<i64>> {
    if !is_well_formed(tenant_key) {
        return Ok(None);
    }
    let store = app.stores.resolve(&app.db, tenant_key).await.map_err(|error| {
        ApiError::ServiceUnavailable(
            anyhow::Error::new(error).context("the store registry could not be read"),
        )
    })?;
    Ok(store.filter(|store| store.is_active).map(|store| store.id))
}

/// The answer for `token` as an access token: `None` when it is not one kassa signed (it may
/// be a refresh token), else whether its session is live now, with the user's role in
/// `store_id` when one was named.
async fn introspect_access(
    app: &AppState,
    token: &str,
    store_id: Option<i64>,
) -> ApiResult<Option<IntrospectionResponse>> {
    let claims = match app.tokens.verify(token).await {
        Ok(claims) => claims,
        // Signed by kassa but past its time: not live, and not a refresh token either.
        Err(TokenError::Expired) => {
            return Ok(Some(IntrospectionResponse::inactive()));
        }
        Err(TokenError::Invalid) => return Ok(None),
        // The keys could not be read: 503, never a guess either way.
        Err(unavailable @ TokenError::Unavailable) => return Err(unavailable.into()),
    };
    let Some(user_id) = claims.user_id() else { return Ok(Some(IntrospectionResponse::inactive())) };
    let mut conn = Session::open(&app.db).await?;
    let live = match store_id {
        Some(store_id) => queries::member_role(&mut conn, claims.sid, user_id, store_id)
            .await?
            .map(|member| (member.username, Some(member.role))),
        None => account_queries::find_live_session_user(&mut conn, claims.sid, user_id)
            .await?
            .map(|user| (user.username, None)),
    };
    conn.finish().await?;
    let Some((username, role)) = live else { return Ok(Some(IntrospectionResponse::inactive())) };
    let answer = IntrospectionResponse {
        active: true,
        sub: Some(claims.sub),
        sid: Some(claims.sid),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        iss: Some(claims.iss),
        aud: Some(claims.aud),
        client_id: Some(FIRST_PARTY_CLIENT_ID),
        token_type: Some("Bearer"),
        username: Some(username),
        ..IntrospectionResponse::default()
    };
    Ok(Some(match role {
        Some(role) => answer.in_store(role),
        None => answer,
    }))
}

/// The answer for `token` as a refresh token: `None` unless it is the current token of a
/// live session, else that session's facts, with the user's role in `store_id` when one was
/// named (inactive when they are no member there).
async fn introspect_refresh(
    app: &AppState,
    token: &str,
    store_id: Option<i64>,
) -> ApiResult<Option<IntrospectionResponse>> {
    let digest = OpaqueToken::presented(token.to_owned()).digest();
    let idle_secs = app.config.session_idle_timeout.as_secs_f64();
    let mut conn = Session::open(&app.db).await?;
    let Some(session) = queries::find_refresh_session(&mut conn, &digest, idle_secs).await? else {
        conn.finish().await?;
        return Ok(None);
    };
    let role = match store_id {
        Some(store_id) => {
            match queries::member_role(&mut conn, session.session_id, session.user_id, store_id).await? {
                Some(member) => Some(member.role),
                None => {
                    conn.finish().await?;
                    return Ok(Some(IntrospectionResponse::inactive()));
                }
            }
        }
        None => None,
    };
    conn.finish().await?;
    let answer = IntrospectionResponse {
        active: true,
        sub: Some(session.user_id.to_string()),
        sid: Some(session.session_id),
        exp: Some(unix_seconds(session.expires_at)),
        iat: Some(unix_seconds(session.created_at)),
        iss: Some(ISSUER.to_owned()),
        client_id: Some(FIRST_PARTY_CLIENT_ID),
        token_type: Some("refresh_token"),
        username: Some(session.username),
        ..IntrospectionResponse::default()
    };
    Ok(Some(match role {
        Some(role) => answer.in_store(role),
        None => answer,
    }))
}

/// `at` in whole seconds since the epoch (0 for an instant before it, which no session has).
fn unix_seconds(at: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}
