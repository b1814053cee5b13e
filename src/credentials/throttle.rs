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
//!
//! Service clients (introspection and revocation) are counted per client id in fixed
//! one-minute windows, every call, claimed before it is answered; wrong-secret attempts at
//! a client id have a count of their own.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::{ApiError, ApiResult, ThrottleKind};
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
    within_limit((attempts, ThrottleKind::Login), limit, window_started_at, 60)
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
    let (attempts, window_started_at) =
        ACCOUNT_COUNTER.count_one(conn, &username::folded(username), ACCOUNT_WINDOW_MINUTES).await?;
    within_limit(
        (attempts, ThrottleKind::Login),
        limit,
        window_started_at,
        i64::from(ACCOUNT_WINDOW_MINUTES) * 60,
    )?;
    Ok(AccountClaim { window_started_at })
}

/// Gives back `claim` after a successful sign-in, if its window is still the current one
/// (a new window owes nothing to the old one's claims).
pub async fn release_account_attempt(
    conn: &mut PgConnection,
    username: &str,
    claim: AccountClaim,
) -> sqlx::Result<()> {
    ACCOUNT_COUNTER.give_back(conn, &username::folded(username), claim.window_started_at).await
}

/// Pairing attempts one client address may fail in a minute before it gets 429 (docs/contract.md §11).
pub const PAIRING_FAILURES_PER_MINUTE: u32 = 10;

/// Length of the pairing window.
const PAIRING_WINDOW_MINUTES: i32 = 1;

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
    let (failures, window_started_at) = PAIRING_COUNTER.count_one(conn, ip, PAIRING_WINDOW_MINUTES).await?;
    within_limit(
        (failures, ThrottleKind::Till),
        PAIRING_FAILURES_PER_MINUTE,
        window_started_at,
        i64::from(PAIRING_WINDOW_MINUTES) * 60,
    )?;
    Ok(PairingClaim { window_started_at })
}

/// Gives back `claim` after a pairing that succeeded: only failures count.
pub async fn release_pairing_attempt(
    conn: &mut PgConnection,
    ip: &str,
    claim: PairingClaim,
) -> sqlx::Result<()> {
    PAIRING_COUNTER.give_back(conn, ip, claim.window_started_at).await
}

/// Set-up codes one client address may fail in a minute before it gets 429, as for pairing
/// codes (docs/contract.md §16): the codes share a format, so they share a bound on guessing.
pub const SETUP_FAILURES_PER_MINUTE: u32 = PAIRING_FAILURES_PER_MINUTE;

/// A set-up attempt claimed against a client address's minute, to give back if the code
/// was right.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct SetupClaim {
    window_started_at: DateTime<Utc>,
}

/// Claims one set-up attempt from `ip` before the code is checked (so a flood of parallel
/// guesses checks at most [`SETUP_FAILURES_PER_MINUTE`] codes); 429 `too_many_attempts` past
/// the limit, with the seconds left of the minute.
pub async fn claim_setup_attempt(conn: &mut PgConnection, ip: &str) -> ApiResult<SetupClaim> {
    let (failures, window_started_at) = SETUP_COUNTER.count_one(conn, ip, PAIRING_WINDOW_MINUTES).await?;
    within_limit(
        (failures, ThrottleKind::Code),
        SETUP_FAILURES_PER_MINUTE,
        window_started_at,
        i64::from(PAIRING_WINDOW_MINUTES) * 60,
    )?;
    Ok(SetupClaim { window_started_at })
}

/// Gives back `claim` after a set-up code that was right: only failures count.
pub async fn release_setup_attempt(conn: &mut PgConnection, ip: &str, claim: SetupClaim) -> sqlx::Result<()> {
    SETUP_COUNTER.give_back(conn, ip, claim.window_started_at).await
}

/// Length of the registration window.
const REGISTRATION_WINDOW_MINUTES: i32 = 60;

/// Claims one registration from `ip` before anything else is done for it; 429
/// `too_many_attempts` with the seconds until the hour's window ends once `limit`
/// registrations were attempted in it.
pub async fn claim_registration(conn: &mut PgConnection, ip: &str, limit: u32) -> ApiResult<()> {
    let (attempts, window_started_at) =
        REGISTRATION_COUNTER.count_one(conn, ip, REGISTRATION_WINDOW_MINUTES).await?;
    within_limit(
        (attempts, ThrottleKind::Registration),
        limit,
        window_started_at,
        i64::from(REGISTRATION_WINDOW_MINUTES) * 60,
    )
}

/// Length of a service client's window.
const SERVICE_CLIENT_WINDOW_MINUTES: i32 = 1;

/// Whether a service client's call proved its secret: the two are counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCall {
    /// The right secret: the client's own allowance.
    Authenticated,
    /// A wrong secret for a known client id: an allowance of its own, so a stranger's flood
    /// is bounded without spending the real client's.
    WrongSecret,
}

/// Claims one call of the service client `client_id` (docs/contract.md §15) in the current
/// minute; 429 `too_many_attempts` with the seconds left of it once `limit` calls of the
/// same kind were made in it. Atomic and shared by every instance, like the other claims.
pub async fn claim_service_client_call(
    conn: &mut PgConnection,
    client_id: &str,
    call: ClientCall,
    limit: u32,
) -> ApiResult<()> {
    let key = match call {
        ClientCall::Authenticated => client_id.to_owned(),
        ClientCall::WrongSecret => format!("failed:{client_id}"),
    };
    let (calls, window_started_at) =
        SERVICE_CLIENT_COUNTER.count_one(conn, &key, SERVICE_CLIENT_WINDOW_MINUTES).await?;
    let calls = (calls, ThrottleKind::ServiceClient);
    within_limit(calls, limit, window_started_at, i64::from(SERVICE_CLIENT_WINDOW_MINUTES) * 60)
}

/// `Ok` while `attempts` is within `limit`, else 429 with the seconds left of the window of
/// `window_secs` that began at `window_started_at`.
fn within_limit(
    (attempts, kind): (i32, ThrottleKind),
    limit: u32,
    window_started_at: DateTime<Utc>,
    window_secs: i64,
) -> ApiResult<()> {
    if i64::from(attempts) <= i64::from(limit) {
        return Ok(());
    }
    let window_ends = window_started_at + chrono::Duration::seconds(window_secs);
    let retry_after_secs = (window_ends - Utc::now()).num_seconds().clamp(1, window_secs);
    Err(ApiError::TooManyAttempts { retry_after_secs: u64::try_from(retry_after_secs).unwrap_or(1), kind })
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
    let (failures, window_started_at) =
        DEVICE_COUNTER.count_one(conn, device_id, ACCOUNT_WINDOW_MINUTES).await?;
    let within = i64::from(failures) <= i64::from(DEVICE_FAILURES_PER_15_MINUTES);
    Ok(within.then_some(DeviceClaim { window_started_at }))
}

/// Gives back `claim` after a successful sign-in, if its window is still the current one.
pub async fn release_device_attempt(
    conn: &mut PgConnection,
    device_id: &str,
    claim: DeviceClaim,
) -> sqlx::Result<()> {
    DEVICE_COUNTER.give_back(conn, device_id, claim.window_started_at).await
}

/// Second-step codes (TOTP or recovery) one account may try in 15 minutes, whatever the
/// challenge or route (docs/contract.md §16).
pub const SECOND_STEP_FAILURES_PER_15_MINUTES: u32 = 10;

/// A second-step code claimed against an account's window, to give back if it was right.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct SecondStepClaim {
    window_started_at: DateTime<Utc>,
}

/// Claims one second-step code check for `user_id` before the code is checked, so a flood of
/// parallel guesses checks at most [`SECOND_STEP_FAILURES_PER_15_MINUTES`] codes; 429
/// `too_many_attempts` past the limit, with the seconds left of the window.
pub async fn claim_second_step(conn: &mut PgConnection, user_id: i64) -> ApiResult<SecondStepClaim> {
    let key = format!("user:{user_id}");
    let (failures, window_started_at) =
        SECOND_STEP_COUNTER.count_one(conn, &key, ACCOUNT_WINDOW_MINUTES).await?;
    within_limit(
        (failures, ThrottleKind::Code),
        SECOND_STEP_FAILURES_PER_15_MINUTES,
        window_started_at,
        i64::from(ACCOUNT_WINDOW_MINUTES) * 60,
    )?;
    Ok(SecondStepClaim { window_started_at })
}

/// Gives back `claim` after a right code: only wrong codes count.
pub async fn release_second_step(
    conn: &mut PgConnection,
    user_id: i64,
    claim: SecondStepClaim,
) -> sqlx::Result<()> {
    SECOND_STEP_COUNTER.give_back(conn, &format!("user:{user_id}"), claim.window_started_at).await
}

/// A table of fixed-window counters, one row per key: the per-account, pairing, set-up, registration,
/// device and service-client counts share this upsert and differ only in names.
struct CounterTable {
    /// The table, in `public`.
    table: &'static str,
    /// The key column.
    key: &'static str,
    /// How the key column is written from the bound key (`$1`).
    key_value: &'static str,
    /// The column that counts.
    counter: &'static str,
}

const ACCOUNT_COUNTER: CounterTable = CounterTable {
    table: "login_account_throttle",
    key: "username_key",
    key_value: "lower($1)",
    counter: "attempts",
};
const PAIRING_COUNTER: CounterTable =
    CounterTable { table: "pairing_throttle", key: "client_ip", key_value: "$1", counter: "failures" };
const SETUP_COUNTER: CounterTable =
    CounterTable { table: "setup_throttle", key: "client_ip", key_value: "$1", counter: "failures" };
const REGISTRATION_COUNTER: CounterTable =
    CounterTable { table: "registration_throttle", key: "client_ip", key_value: "$1", counter: "attempts" };
const DEVICE_COUNTER: CounterTable =
    CounterTable { table: "login_device_throttle", key: "device_id", key_value: "$1", counter: "failures" };
const SECOND_STEP_COUNTER: CounterTable =
    CounterTable { table: "two_factor_throttle", key: "counter_key", key_value: "$1", counter: "failures" };
const SERVICE_CLIENT_COUNTER: CounterTable = CounterTable {
    table: "service_client_throttle",
    key: "counter_key",
    key_value: "$1",
    counter: "attempts",
};

impl CounterTable {
    /// Counts one more for `key` in one atomic upsert, in a new window when the last one
    /// began `window_minutes` or more ago: the count and when its window began.
    async fn count_one(
        &self,
        conn: &mut PgConnection,
        key: &str,
        window_minutes: i32,
    ) -> sqlx::Result<(i32, DateTime<Utc>)> {
        let CounterTable { table, key: column, key_value, counter } = self;
        let sql = format!(
            "insert into public.{table} as t ({column}, window_started_at, {counter})
             values ({key_value}, now(), 1)
             on conflict ({column}) do update set
                 {counter} = case when t.window_started_at <= now() - make_interval(mins => $2) then 1
                                  else t.{counter} + 1 end,
                 window_started_at = case when t.window_started_at <= now() - make_interval(mins => $2) then now()
                                          else t.window_started_at end
             returning {counter}, window_started_at"
        );
        // Every name above is one of the constants of this module, never input.
        crate::db::query_as(sqlx::AssertSqlSafe(sql)).bind(key).bind(window_minutes).fetch_one(conn).await
    }

    /// Takes back one count of `key`, if its window is still the one that began at
    /// `window_started_at` (a new window owes nothing to the old one's claims).
    async fn give_back(
        &self,
        conn: &mut PgConnection,
        key: &str,
        window_started_at: DateTime<Utc>,
    ) -> sqlx::Result<()> {
        let CounterTable { table, key: column, key_value, counter } = self;
        let sql = format!(
            "update public.{table} set {counter} = {counter} - 1
             where {column} = {key_value} and window_started_at = $2 and {counter} > 0"
        );
        crate::db::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .bind(window_started_at)
            .execute(conn)
            .await
            .map(|_| ())
    }
}
