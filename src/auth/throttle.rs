//! Login throttling per (username, client IP) (SPEC §4).
//!
//! An attempt is claimed with one atomic upsert *before* the password is checked, so 50
//! parallel guesses get at most `LOGIN_RATE_LIMIT_PER_MINUTE` password checks: the row lock
//! orders them and the rest see the counter past the limit. A successful sign-in clears only
//! its own (username, IP) row, so it cannot unlock an attacker elsewhere. Windows are fixed
//! minutes from the first failure. The counter lives in PostgreSQL so every kassa instance
//! shares it.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::{ApiError, ApiResult};

/// Claims one attempt for (`username`, `ip`); 429 `too_many_attempts` with the seconds until
/// the window ends once `limit` attempts were made in it.
pub async fn claim_attempt(conn: &mut PgConnection, username: &str, ip: &str, limit: u32) -> ApiResult<()> {
    let (attempts, window_started_at): (i32, DateTime<Utc>) = crate::db::query_as(
        "insert into public.login_throttle as t (username_key, client_ip, window_started_at, attempts)
         values (lower($1), $2, now(), 1)
         on conflict (username_key, client_ip) do update set
             attempts = case when t.window_started_at <= now() - interval '1 minute' then 1 else t.attempts + 1 end,
             window_started_at = case when t.window_started_at <= now() - interval '1 minute' then now()
                                      else t.window_started_at end
         returning attempts, window_started_at",
    )
    .bind(username)
    .bind(ip)
    .fetch_one(conn)
    .await?;
    if i64::from(attempts) <= i64::from(limit) {
        return Ok(());
    }
    let window_ends = window_started_at + chrono::Duration::seconds(60);
    let retry_after_secs = (window_ends - Utc::now()).num_seconds().clamp(1, 60);
    Err(ApiError::TooManyAttempts { retry_after_secs: u64::try_from(retry_after_secs).unwrap_or(60) })
}

/// Forgets the attempts of (`username`, `ip`) after a successful sign-in.
pub async fn clear_attempts(conn: &mut PgConnection, username: &str, ip: &str) -> sqlx::Result<()> {
    crate::db::query("delete from public.login_throttle where username_key = lower($1) and client_ip = $2")
        .bind(username)
        .bind(ip)
        .execute(conn)
        .await
        .map(|_| ())
}
