//! Login throttling per (username, client IP), and per account across all IPs (docs/contract.md §4).
//!
//! An attempt is claimed with one atomic upsert *before* the password is checked, so 50
//! parallel guesses get at most `LOGIN_RATE_LIMIT_PER_MINUTE` password checks: the row lock
//! orders them and the rest see the counter past the limit. A successful sign-in clears only
//! its own (username, IP) row, so it cannot unlock an attacker elsewhere. Windows are fixed
//! minutes from the first failure. The counter lives in PostgreSQL so every kassa instance
//! shares it.
//!
//! The per-IP limit alone lets many addresses guess one password, so each account also has
//! `LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES` attempts per fixed 15-minute window, claimed the same
//! way. A success gives back only its own claim: the failures stay until the window ends, so
//! the owner signing in cannot reopen the account to whoever is guessing, and the owner's own
//! sign-ins do not use up the budget.
//!
//! A username is counted by its folded form (NFKC and case folding, `validate::username`),
//! the form sign-in compares: every spelling that reaches one account (`ADMIN`, `ａｄｍｉｎ`)
//! spends that account's budget. A client is its `ClientInfo::ip_key`: an IPv6 client's /64.
//!
//! Registrations are counted per client address in fixed one-hour windows, claimed the same
//! way before the username is even looked at: each one provisions a schema, so a client may
//! not fill the database, nor probe for usernames, faster than the operator allows. Every
//! attempt counts, a successful one too, since a success is what costs a schema.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::{ApiError, ApiResult};
use crate::validate::username;

/// Length of the per-account window.
const ACCOUNT_WINDOW_MINUTES: i32 = 15;

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
    .bind(username::folded(username))
    .bind(ip)
    .fetch_one(conn)
    .await?;
    within_limit(attempts, limit, window_started_at, 60)
}

/// Forgets the attempts of (`username`, `ip`) after a successful sign-in.
pub async fn clear_attempts(conn: &mut PgConnection, username: &str, ip: &str) -> sqlx::Result<()> {
    crate::db::query("delete from public.login_throttle where username_key = lower($1) and client_ip = $2")
        .bind(username::folded(username))
        .bind(ip)
        .execute(conn)
        .await
        .map(|_| ())
}

/// An attempt claimed against an account's window, to give back if it succeeds.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct AccountClaim {
    window_started_at: DateTime<Utc>,
}

/// Claims one attempt at `username` from any address; 429 `too_many_attempts` with the
/// seconds until the 15-minute window ends once `limit` attempts were made in it.
pub async fn claim_account_attempt(
    conn: &mut PgConnection,
    username: &str,
    limit: u32,
) -> ApiResult<AccountClaim> {
    let (attempts, window_started_at): (i32, DateTime<Utc>) = crate::db::query_as(
        "insert into public.login_account_throttle as t (username_key, window_started_at, attempts)
         values (lower($1), now(), 1)
         on conflict (username_key) do update set
             attempts = case when t.window_started_at <= now() - make_interval(mins => $2) then 1
                             else t.attempts + 1 end,
             window_started_at = case when t.window_started_at <= now() - make_interval(mins => $2) then now()
                                      else t.window_started_at end
         returning attempts, window_started_at",
    )
    .bind(username::folded(username))
    .bind(ACCOUNT_WINDOW_MINUTES)
    .fetch_one(conn)
    .await?;
    within_limit(attempts, limit, window_started_at, i64::from(ACCOUNT_WINDOW_MINUTES) * 60)?;
    Ok(AccountClaim { window_started_at })
}

/// Gives back `claim` after a successful sign-in, if its window is still the current one
/// (a new window owes nothing to the old one's claims).
pub async fn release_account_attempt(
    conn: &mut PgConnection,
    username: &str,
    claim: AccountClaim,
) -> sqlx::Result<()> {
    crate::db::query(
        "update public.login_account_throttle set attempts = attempts - 1
         where username_key = lower($1) and window_started_at = $2 and attempts > 0",
    )
    .bind(username::folded(username))
    .bind(claim.window_started_at)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Pairing attempts one client address may fail in a minute before it gets 429 (docs/contract.md §11).
pub const PAIRING_FAILURES_PER_MINUTE: u32 = 10;

/// A pairing attempt claimed against a client address's minute, to give back if the code
/// was right.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct PairingClaim {
    window_started_at: DateTime<Utc>,
}

/// Claims one pairing attempt from `ip` before the code is checked (so a flood of parallel
/// guesses checks at most [`PAIRING_FAILURES_PER_MINUTE`] codes); 429 `too_many_attempts`
/// past the limit, with the seconds left of the minute.
pub async fn claim_pairing_attempt(conn: &mut PgConnection, ip: &str) -> ApiResult<PairingClaim> {
    let (failures, window_started_at): (i32, DateTime<Utc>) = crate::db::query_as(
        "insert into public.pairing_throttle as t (client_ip, window_started_at, failures)
         values ($1, now(), 1)
         on conflict (client_ip) do update set
             failures = case when t.window_started_at <= now() - interval '1 minute' then 1
                             else t.failures + 1 end,
             window_started_at = case when t.window_started_at <= now() - interval '1 minute' then now()
                                      else t.window_started_at end
         returning failures, window_started_at",
    )
    .bind(ip)
    .fetch_one(conn)
    .await?;
    within_limit(failures, PAIRING_FAILURES_PER_MINUTE, window_started_at, 60)?;
    Ok(PairingClaim { window_started_at })
}

/// Gives back `claim` after a pairing that succeeded: only failures count.
pub async fn release_pairing_attempt(
    conn: &mut PgConnection,
    ip: &str,
    claim: PairingClaim,
) -> sqlx::Result<()> {
    crate::db::query(
        "update public.pairing_throttle set failures = failures - 1
         where client_ip = $1 and window_started_at = $2 and failures > 0",
    )
    .bind(ip)
    .bind(claim.window_started_at)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Length of the registration window.
const REGISTRATION_WINDOW_MINUTES: i32 = 60;

/// Claims one registration from `ip` before anything else is done for it; 429
/// `too_many_attempts` with the seconds until the hour's window ends once `limit`
/// registrations were attempted in it.
pub async fn claim_registration(conn: &mut PgConnection, ip: &str, limit: u32) -> ApiResult<()> {
    let (attempts, window_started_at): (i32, DateTime<Utc>) = crate::db::query_as(
        "insert into public.registration_throttle as t (client_ip, window_started_at, attempts)
         values ($1, now(), 1)
         on conflict (client_ip) do update set
             attempts = case when t.window_started_at <= now() - make_interval(mins => $2) then 1
                             else t.attempts + 1 end,
             window_started_at = case when t.window_started_at <= now() - make_interval(mins => $2) then now()
                                      else t.window_started_at end
         returning attempts, window_started_at",
    )
    .bind(ip)
    .bind(REGISTRATION_WINDOW_MINUTES)
    .fetch_one(conn)
    .await?;
    within_limit(attempts, limit, window_started_at, i64::from(REGISTRATION_WINDOW_MINUTES) * 60)
}

/// `Ok` while `attempts` is within `limit`, else 429 with the seconds left of the window of
/// `window_secs` that began at `window_started_at`.
fn within_limit(
    attempts: i32,
    limit: u32,
    window_started_at: DateTime<Utc>,
    window_secs: i64,
) -> ApiResult<()> {
    if i64::from(attempts) <= i64::from(limit) {
        return Ok(());
    }
    let window_ends = window_started_at + chrono::Duration::seconds(window_secs);
    let retry_after_secs = (window_ends - Utc::now()).num_seconds().clamp(1, window_secs);
    Err(ApiError::TooManyAttempts { retry_after_secs: u64::try_from(retry_after_secs).unwrap_or(1) })
}

/// Failed sign-ins one device cookie may make in 15 minutes before it stops counting as a
/// known device: room for a person mistyping, little for someone guessing.
pub const DEVICE_FAILURES_PER_15_MINUTES: u32 = 10;

/// A sign-in attempt claimed against a device cookie's window, to give back if it succeeds.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct DeviceClaim {
    window_started_at: DateTime<Utc>,
}

/// Claims one sign-in attempt for the device cookie `device_id` (a browser that signed in
/// before), before the password is checked: `Some` while the cookie's own allowance of
/// [`DEVICE_FAILURES_PER_15_MINUTES`] lasts, `None` once it is spent (the cookie then counts
/// as absent and the account's cap applies). Atomic and shared by every instance, like the
/// other claims; a success gives its claim back, so only failures use the allowance.
pub async fn claim_device_attempt(
    conn: &mut PgConnection,
    device_id: &str,
) -> ApiResult<Option<DeviceClaim>> {
    let (failures, window_started_at): (i32, DateTime<Utc>) = crate::db::query_as(
        "insert into public.login_device_throttle as t (device_id, window_started_at, failures)
         values ($1, now(), 1)
         on conflict (device_id) do update set
             failures = case when t.window_started_at <= now() - make_interval(mins => $2) then 1
                             else t.failures + 1 end,
             window_started_at = case when t.window_started_at <= now() - make_interval(mins => $2) then now()
                                      else t.window_started_at end
         returning failures, window_started_at",
    )
    .bind(device_id)
    .bind(ACCOUNT_WINDOW_MINUTES)
    .fetch_one(conn)
    .await?;
    let within = i64::from(failures) <= i64::from(DEVICE_FAILURES_PER_15_MINUTES);
    Ok(within.then_some(DeviceClaim { window_started_at }))
}

/// Gives back `claim` after a successful sign-in, if its window is still the current one.
pub async fn release_device_attempt(
    conn: &mut PgConnection,
    device_id: &str,
    claim: DeviceClaim,
) -> sqlx::Result<()> {
    crate::db::query(
        "update public.login_device_throttle set failures = failures - 1
         where device_id = $1 and window_started_at = $2 and failures > 0",
    )
    .bind(device_id)
    .bind(claim.window_started_at)
    .execute(conn)
    .await
    .map(|_| ())
}
