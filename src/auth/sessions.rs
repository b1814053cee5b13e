//! Starting a session: the row in `public.sessions` and the token pair handed to the client.

use chrono::Utc;
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::queries::{self, NewSession};
use crate::auth::tokens::{AccessTokens, RefreshToken};
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::http::client::ClientInfo;

/// The tokens a sign-in hands over: a short-lived access JWT and the session's refresh token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// Bearer token for `Authorization`, valid for `ACCESS_TOKEN_TTL`.
    pub access: String,
    /// Opaque token for `POST /api/users/auth/token/refresh/`; rotated on every use.
    pub refresh: String,
}

/// Opens a session for `user_id` on `conn` (inside the caller's transaction, so a failed
/// registration leaves no session behind) and signs its first access token.
pub async fn start_session(
    conn: &mut PgConnection,
    (tokens, config): (&AccessTokens, &Config),
    user_id: i64,
    client: &ClientInfo,
) -> ApiResult<TokenPair> {
    let session_id = Uuid::new_v4();
    let refresh = RefreshToken::generate();
    let lifetime = chrono::Duration::from_std(config.refresh_token_ttl).map_err(ApiError::internal)?;
    queries::insert_session(
        conn,
        &NewSession {
            id: session_id,
            user_id,
            refresh_token_hash: &refresh.digest(),
            expires_at: Utc::now() + lifetime,
            ip: client.ip,
            user_agent: &client.user_agent,
        },
    )
    .await?;
    let access = tokens.issue(user_id, session_id).map_err(ApiError::internal)?;
    Ok(TokenPair { access, refresh: refresh.expose().to_owned() })
}
