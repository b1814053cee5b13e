//! The two counters that bound PIN guessing (docs/contract.md §11), both atomic in PostgreSQL and so
//! shared by every kassa instance:
//!
//! - per till: a PIN attempt is claimed (counted as a failure) before the PIN is checked, in
//!   one `update` of the device's row, so 50 parallel guesses from one till check at most
//!   [`DEVICE_FAILURES_BEFORE_LOCK`] PINs: the row lock orders them, the fifth claim within
//!   [`DEVICE_FAILURE_WINDOW_SECS`] locks the till, and the rest find it locked. A success
//!   gives back its own claim only: one member's right PINs do not clear the wrong ones typed
//!   against a colleague's.
//! - per employee: the same claim on the employee's PIN row, which also reads the hash to
//!   check; within 24 hours of the first, the tenth failure clears the PIN. A success gives
//!   its claim back.
//!
//! Both claims are one statement ([`claim_attempt`]) and a success settles both in one
//! ([`settle_right_pin`]): as two statements each, a PIN sign-in cost two more round trips and
//! one more commit (an fsync), which PostgreSQL serves beside the store's readers (docs/performance.md:
//! measured).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::config::PinLock;
use crate::db::schema::StoreTables;
use crate::error::{ApiError, ApiResult, ThrottleKind};

/// Wrong PINs in a row on one till that lock PIN sign-in there.
pub const DEVICE_FAILURES_BEFORE_LOCK: i32 = 5;

/// How long a till's wrong PINs count from the first of them: five within it lock the till.
pub const DEVICE_FAILURE_WINDOW_SECS: i64 = 15 * 60;

/// Wrong PINs for one employee, within 24 hours of the first, that clear their PIN.
pub const EMPLOYEE_FAILURES_BEFORE_CLEARING: i32 = 10;

/// An employee whose PIN may be checked: active, an active member of the store with an
/// active account, with a PIN. Holds the PIN's hash, so it is never logged.
#[derive(sqlx::FromRow)]
pub struct PinHolder {
    pub employee_id: i64,
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    /// Their role in the store (`public.store_memberships`).
    pub role: String,
    pub pin_hash: String,
    /// Failures counted in the current 24 hours, this attempt's claim included.
    pub failures: i32,
    /// The version of the store's roles in the same snapshot (`access::directory`).
    pub roles_version: i64,
}

impl std::fmt::Debug for PinHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinHolder").field("employee_id", &self.employee_id).finish_non_exhaustive()
    }
}

/// Claims one PIN attempt for employee `employee_id` of store `store_id` (tables `tables`)
/// on device `device_id`, in one statement (one round trip, one commit): the device's
/// failure in a row first, then, only if the device was open, the employee's; 429
/// `too_many_attempts` with the seconds left while the device is locked. The claim
/// that makes the fifth failure in a row locks the device at once (for `lock.first`,
/// doubled for each lock in a row, at most `lock.max`), and is still checked: if its PIN
/// is right, giving its claim back lifts the lock ([`settle_right_pin`]). The employee with what
/// checking their PIN needs; `None` when there is no such employee who may sign in, they
/// have no PIN, or it is out of attempts for the day (about to be cleared).
pub async fn claim_attempt(
    conn: &mut PgConnection,
    device_id: i64,
    lock: PinLock,
    tables: &StoreTables,
    (store_id, employee_id): (i64, i64),
) -> ApiResult<Option<PinHolder>> {
    // The outer select reads the device's row as it was before the update: when the claim
    // found the device locked, that is the lock. Every CTE sees the same snapshot, and the
    // employee's claim runs only when the device's returned a row. The employee's claim
    // reads the time as `holder.claimed_at` (now(), the same instant): Citus refuses a
    // function that is not immutable inside CASE in an update of a store's table.
    let template = format!(
        "with device as (
             update public.devices set {device_claim}
             where id = $1 and (pin_locked_until is null or pin_locked_until <= now())
             returning id
         ), holder as (
             select e.id, e.user_id, e.first_name, e.last_name, m.role, now() as claimed_at
             from {{employees}} e
             join public.store_memberships m on m.user_id = e.user_id and m.store_id = $6 and m.is_active
             join public.users u on u.id = e.user_id and u.is_active
             where e.id = $5 and e.is_active and exists (select 1 from device)
         ), claimed as (
             update {{employee_pins}} p set
                 failures = case when p.failures_since is null
                                      or p.failures_since <= holder.claimed_at - interval '24 hours'
                                 then 1 else p.failures + 1 end,
                 failures_since = case when p.failures_since is null
                                            or p.failures_since <= holder.claimed_at - interval '24 hours'
                                       then holder.claimed_at else p.failures_since end
             from holder
             where p.employee_id = holder.id
               and (p.failures < $7 or p.failures_since <= holder.claimed_at - interval '24 hours')
             returning p.employee_id, p.pin_hash, p.failures
         ), employee as (
             select h.id as employee_id, h.user_id, h.first_name, h.last_name, h.role, c.pin_hash, c.failures,
                    st.roles_version
             from holder h join claimed c on c.employee_id = h.id join public.stores st on st.id = $6
         )
         select exists (select 1 from device) as device_claimed, d.pin_locked_until, e.*
         from public.devices d left join employee e on true
         where d.id = $1",
        device_claim = device_claim_assignments(),
    );
    let row: Option<ClaimRow> = crate::db::query_as(tables.sql(&template))
        .bind(device_id)
        .bind(DEVICE_FAILURES_BEFORE_LOCK)
        .bind(lock.first.as_secs_f64())
        .bind(lock.max.as_secs_f64())
        .bind(employee_id)
        .bind(store_id)
        .bind(EMPLOYEE_FAILURES_BEFORE_CLEARING)
        .fetch_optional(conn)
        .await?;
    // The device was revoked since its token was checked.
    let row = row.ok_or(ApiError::DeviceInvalid)?;
    if !row.device_claimed {
        let retry_after_secs = seconds_until(row.pin_locked_until);
        return Err(ApiError::TooManyAttempts { retry_after_secs, kind: ThrottleKind::Till });
    }
    Ok(row.holder())
}

/// The `set` list of a claim on a till's row: one more attempt in the window (a new window
/// when none is open, it has passed, or it ended in a lock), and the lock when this is the
/// window's fifth. Every expression reads the row as it was before the claim, the row the
/// update has locked, so parallel claims count one after another. Locks in a row (each
/// doubles the next) are forgotten once a window opens more than a window after the last
/// lock ended. `$2`: [`DEVICE_FAILURES_BEFORE_LOCK`], `$3`/`$4`: the first and longest lock.
fn device_claim_assignments() -> String {
    let window = format!("make_interval(secs => {DEVICE_FAILURE_WINDOW_SECS})");
    let fresh = format!(
        "(pin_failures_since is null or pin_failures >= $2 or pin_failures_since <= now() - {window})"
    );
    let claimed = format!("(case when {fresh} then 1 else pin_failures + 1 end)");
    let lockouts = format!(
        "(case when {fresh} and (pin_locked_until is null or pin_locked_until <= now() - {window}) \
              then 0 else pin_lockouts end)"
    );
    format!(
        "pin_failures = {claimed},
         pin_failures_since = case when {fresh} then now() else pin_failures_since end,
         pin_lockouts = {lockouts} + case when {claimed} >= $2 then 1 else 0 end,
         pin_locked_until = case when {claimed} >= $2
             then now() + least($3 * power(2::float8, least({lockouts}, 40)), $4) * interval '1 second'
             else pin_locked_until end"
    )
}

/// Whole seconds until `until`, rounded up (a client that waits that long finds the till
/// open); at least 1.
fn seconds_until(until: Option<DateTime<Utc>>) -> u64 {
    let left = until.map_or(1, |until| (until - Utc::now()).num_milliseconds());
    u64::try_from((left + 999) / 1000).unwrap_or(1).max(1)
}

/// [`claim_attempt`]'s row: the employee's columns are null when there was none to claim.
#[derive(sqlx::FromRow)]
struct ClaimRow {
    device_claimed: bool,
    pin_locked_until: Option<DateTime<Utc>>,
    employee_id: Option<i64>,
    user_id: Option<i64>,
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
    pin_hash: Option<String>,
    failures: Option<i32>,
    roles_version: Option<i64>,
}

impl ClaimRow {
    fn holder(self) -> Option<PinHolder> {
        Some(PinHolder {
            employee_id: self.employee_id?,
            user_id: self.user_id?,
            first_name: self.first_name?,
            last_name: self.last_name?,
            role: self.role?,
            pin_hash: self.pin_hash?,
            failures: self.failures?,
            roles_version: self.roles_version?,
        })
    }
}

/// The credentials a right PIN was checked against, as the claim read them.
pub struct CheckedPin<'a> {
    pub store_id: i64,
    pub user_id: i64,
    pub employee_id: i64,
    /// The hash the typed PIN matched: a PIN replaced since no longer has it.
    pub pin_hash: &'a str,
}

/// After a right PIN on device `device_id` (tables `tables`), in one statement of the
/// transaction that opens the session: the attempt claimed on the till and on the employee
/// is given back (only wrong PINs count; when this attempt was the one that locked the till,
/// the lock goes with it), after proving that every credential the sign-in rests on is still
/// the one it checked: the account active, the membership active, the till not revoked, the
/// PIN the same. Those rows stay locked until the transaction ends, in the order every
/// change takes them (account, membership, till, PIN), so a change that commits first is
/// seen here and refuses the sign-in, and one that commits after finds the session and ends
/// it. `device_invalid` when the till was revoked meanwhile, `invalid_pin` when anything else
/// changed.
pub async fn settle_right_pin(
    conn: &mut PgConnection,
    device_id: i64,
    tables: &StoreTables,
    checked: &CheckedPin<'_>,
) -> ApiResult<()> {
    let sql = tables.sql(
        "with member as (
             select u.id from public.users u
             join public.store_memberships m on m.user_id = u.id and m.store_id = $3 and m.is_active
             where u.id = $4 and u.is_active
             for share of u, m
         ), device as (
             update public.devices set
                 pin_failures = greatest(pin_failures - 1, 0),
                 pin_locked_until = case when pin_failures >= $6 and pin_locked_until > now()
                                         then null else pin_locked_until end,
                 pin_lockouts = case when pin_failures >= $6 and pin_locked_until > now()
                                     then greatest(pin_lockouts - 1, 0) else pin_lockouts end
             where id = $1 and revoked_at is null and exists (select 1 from member)
             returning id
         ), pin as (
             update {employee_pins} set failures = greatest(failures - 1, 0)
             where employee_id = $2 and pin_hash = $5 and exists (select 1 from device)
             returning employee_id
         )
         select exists (select 1 from device) as device_current, exists (select 1 from pin) as pin_current",
    );
    let (device_current, pin_current): (bool, bool) = crate::db::query_as(sql)
        .bind(device_id)
        .bind(checked.employee_id)
        .bind(checked.store_id)
        .bind(checked.user_id)
        .bind(checked.pin_hash)
        .bind(DEVICE_FAILURES_BEFORE_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    match (device_current, pin_current) {
        (_, true) => Ok(()),
        (false, false) if device_revoked(conn, device_id).await? => Err(ApiError::DeviceInvalid),
        _ => Err(ApiError::InvalidPin),
    }
}

/// Whether till `device_id` is revoked (or gone): why a settled sign-in found no till.
async fn device_revoked(conn: &mut PgConnection, device_id: i64) -> sqlx::Result<bool> {
    let active: Option<bool> =
        crate::db::query_scalar("select revoked_at is null from public.devices where id = $1")
            .bind(device_id)
            .fetch_optional(conn)
            .await?;
    Ok(active != Some(true))
}

/// Clears employee `employee_id`'s PIN if it has run out of attempts (the tenth failure in
/// 24 hours); true when this call cleared it (a concurrent failure may have already).
pub async fn clear_exhausted_pin(
    conn: &mut PgConnection,
    tables: &StoreTables,
    employee_id: i64,
) -> sqlx::Result<bool> {
    let sql = tables
        .sql("delete from {employee_pins} where employee_id = $1 and failures >= $2 returning employee_id");
    let cleared: Option<i64> = crate::db::query_scalar(sql)
        .bind(employee_id)
        .bind(EMPLOYEE_FAILURES_BEFORE_CLEARING)
        .fetch_optional(conn)
        .await?;
    Ok(cleared.is_some())
}
