//! SQL for accounts and sessions in `public`.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::validate::username;

/// An account as shown to its owner (never with the hash).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub is_active: bool,
    pub must_change_password: bool,
}

/// What a new account holds; `password_hash` is a PHC string made off the async workers.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
}

/// The unique indexes a new account's username can violate: one letter case
/// (`users_username_key`, which the previous release relies on too) and one look-alike key
/// (`users_username_lookalike_key`, see [`username::key`]). Either means 409 `username_taken`.
pub const USERNAME_CONSTRAINTS: &[&str] = &["users_username_key", "users_username_lookalike_key"];

/// True when an account already uses `username` or one that looks like it: the same key, or
/// the same letters in another case. Accounts without a key yet (written by the previous
/// release) are compared here by their keys computed in Rust.
pub async fn username_exists(conn: &mut PgConnection, username: &str) -> sqlx::Result<bool> {
    username_used_besides(conn, username, None).await
}

/// [`username_exists`] among the accounts other than `except`: whether account `except` may
/// take `username` (a rename may change the letter case of one's own name).
#[tracing::instrument(skip_all, err)]
pub async fn username_used_besides(
    conn: &mut PgConnection,
    username: &str,
    except: Option<i64>,
) -> sqlx::Result<bool> {
    let key = username::key(username);
    let taken: bool = crate::db::query_scalar(
        "select exists (select 1 from public.users
                        where (username_key = $1 or lower(username) = lower($2))
                          and ($3::bigint is null or id <> $3))",
    )
    .bind(&key)
    .bind(username)
    .bind(except)
    .fetch_one(&mut *conn)
    .await?;
    if taken {
        return Ok(true);
    }
    // Normally none: `fill_username_keys` keys them before this release serves.
    let mut after_id = 0;
    loop {
        let batch = unkeyed_accounts_after(conn, after_id).await?;
        if batch.iter().any(|(id, name)| Some(*id) != except && username::key(name) == key) {
            return Ok(true);
        }
        match batch.last() {
            Some(&(last_id, _)) => after_id = last_id,
            None => return Ok(false),
        }
    }
}

/// Most unkeyed accounts read at once.
const UNKEYED_BATCH: i64 = 1000;

/// Accounts whose look-alike key is not stored yet, after id `after_id`, oldest first: ids
/// and usernames, at most [`UNKEYED_BATCH`].
async fn unkeyed_accounts_after(conn: &mut PgConnection, after_id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    crate::db::query_as(
        "select id, username from public.users where username_key is null and id > $1 order by id limit $2",
    )
    .bind(after_id)
    .bind(UNKEYED_BATCH)
    .fetch_all(conn)
    .await
}

/// What [`fill_username_keys`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyFill {
    /// Accounts that got their key.
    pub keyed: u64,
    /// Accounts left without one: an older account already holds a key they look like
    /// (both existed before look-alikes were refused). They keep signing in by their own
    /// name; no new account can look like either.
    pub look_alikes: Vec<i64>,
}

/// Stores the look-alike key of every account that has none: those made before keys
/// existed and those the previous release made during a rollout. Run after the public
/// migrations (`kassa migrate`, MIGRATE_ON_START). Oldest first, so of two look-alikes that
/// both already exist the older keeps the key. Each account is its own statement: a key a
/// registration took meanwhile leaves that account unkeyed instead of failing the run.
#[tracing::instrument(skip_all, err)]
pub async fn fill_username_keys(pool: &sqlx::PgPool) -> sqlx::Result<KeyFill> {
    let mut conn = pool.acquire().await?;
    let conn = &mut *conn;
    let mut fill = KeyFill::default();
    let mut after_id = 0;
    loop {
        let batch = unkeyed_accounts_after(conn, after_id).await?;
        let Some(&(last_id, _)) = batch.last() else { break };
        for (id, name) in batch {
            let written = crate::db::query(
                "update public.users set username_key = $2
                 where id = $1 and username_key is null
                   and not exists (select 1 from public.users where username_key = $2)",
            )
            .bind(id)
            .bind(username::key(&name))
            .execute(&mut *conn)
            .await;
            let keyed = match written {
                Ok(done) => done.rows_affected() == 1,
                // Taken by a registration between the check and the write.
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => false,
                Err(error) => return Err(error),
            };
            match keyed {
                true => fill.keyed += 1,
                false => fill.look_alikes.push(id),
            }
        }
        after_id = last_id;
    }
    if !fill.look_alikes.is_empty() {
        tracing::warn!(
            user.ids = ?fill.look_alikes,
            "accounts whose usernames look like older accounts' keep their names but hold no look-alike key"
        );
    }
    Ok(fill)
}

/// Creates an account. A taken username violates one of [`USERNAME_CONSTRAINTS`].
#[tracing::instrument(skip_all, err)]
pub async fn insert_user(conn: &mut PgConnection, new: &NewUser<'_>) -> sqlx::Result<UserRow> {
    crate::db::query_as(
        "insert into public.users (username, username_key, password_hash, first_name, last_name, email, phone)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning id, username, first_name, last_name, email, phone, is_active, must_change_password",
    )
    .bind(new.username)
    .bind(username::key(new.username))
    .bind(new.password_hash)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.email)
    .bind(new.phone)
    .fetch_one(conn)
    .await
}

/// The account with `id`.
#[tracing::instrument(skip_all, fields(user.id = id), err)]
pub async fn find_user(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<UserRow>> {
    crate::db::query_as(
        "select id, username, first_name, last_name, email, phone, is_active, must_change_password
         from public.users where id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A new session row.
#[derive(Debug)]
pub struct NewSession<'a> {
    pub id: Uuid,
    pub user_id: i64,
    pub refresh_token_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    pub user_agent: &'a str,
    /// A store-bound session (a till's PIN sign-in, a store's shared staff account): its
    /// store, and its till when it has one.
    pub binding: Option<StoreBinding>,
    /// Reaches only enrolment (`credentials::reach`): a store's policy requires two-step
    /// sign-in of the user, who has not turned it on.
    pub enrolment_only: bool,
}

/// The store a store-bound session belongs to, and the paired till it was opened on, if
/// any (the store's shared staff account signs in with a password, on no till).
#[derive(Debug, Clone, Copy)]
pub struct StoreBinding {
    pub device_id: Option<i64>,
    pub store_id: i64,
}

impl From<TillBinding> for StoreBinding {
    fn from(till: TillBinding) -> Self {
        StoreBinding { device_id: Some(till.device_id), store_id: till.store_id }
    }
}

/// The paired till a session was opened on, and its store: the session is listed with the
/// till's name, ends when the till is revoked, and is a member of no other store.
#[derive(Debug, Clone, Copy)]
pub struct TillBinding {
    pub device_id: i64,
    pub store_id: i64,
}

/// What a new session's credential is proved by, in the statement that records it.
#[derive(Debug, Clone, Copy)]
pub enum SessionProof<'a> {
    /// The account's password hash as the sign-in checked it: the session is recorded only
    /// if the account is still active with that very hash. The account's row stays locked
    /// (`for share`) until the transaction ends, so a password change or reset that has
    /// not committed yet waits for it and then ends the session, and one that has committed
    /// refuses it.
    PasswordHash(&'a str),
    /// Proved by the transaction already: a registration's new account, or a PIN sign-in
    /// whose credentials `tills::lockout::settle_right_pin` holds locked.
    InTransaction,
}

/// Records a session, if its credential is still current; false when it no longer is.
#[tracing::instrument(skip_all, fields(user.id = new.user_id), err)]
pub async fn insert_session(
    conn: &mut PgConnection,
    new: &NewSession<'_>,
    proof: SessionProof<'_>,
) -> sqlx::Result<bool> {
    let password_hash = match proof {
        SessionProof::PasswordHash(hash) => Some(hash),
        SessionProof::InTransaction => None,
    };
    crate::db::query(
        "with account as (
             select id from public.users
             where id = $2 and ($9::text is null or (is_active and password_hash = $9))
             for share
         )
         insert into public.sessions
             (id, user_id, refresh_token_hash, expires_at, ip, user_agent, device_id, store_id, enrolment_only)
         select $1, account.id, $3, $4, $5, $6, $7, $8, $10 from account",
    )
    .bind(new.id)
    .bind(new.user_id)
    .bind(new.refresh_token_hash)
    .bind(new.expires_at)
    .bind(new.ip)
    .bind(new.user_agent)
    .bind(new.binding.and_then(|binding| binding.device_id))
    .bind(new.binding.map(|binding| binding.store_id))
    .bind(password_hash)
    .bind(new.enrolment_only)
    .execute(conn)
    .await
    .map(|done| done.rows_affected() == 1)
}

/// The signed-in user behind a live session: the session is not revoked or past its
/// absolute lifetime, and the account is active.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub must_change_password: bool,
    /// The store of a session opened on a paired till.
    pub bound_store_id: Option<i64>,
}

/// The user of session `session_id` if it is live and belongs to `user_id`.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn find_live_session_user(
    conn: &mut PgConnection,
    session_id: Uuid,
    user_id: i64,
) -> sqlx::Result<Option<SessionUser>> {
    crate::db::query_as(
        "select u.id as user_id, u.username, u.must_change_password, s.store_id as bound_store_id
         from public.sessions s join public.users u on u.id = s.user_id
         where s.id = $1 and s.user_id = $2 and s.revoked_at is null and s.expires_at > now() and u.is_active",
    )
    .bind(session_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// What sign-in needs: the hash to check and the account to answer with, read in one
/// statement. The only struct that ever holds a password hash.
#[derive(sqlx::FromRow)]
pub struct UserForLogin {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password_hash: String,
    pub is_active: bool,
    pub must_change_password: bool,
}

/// The `where` and `order by` that find the accounts a typed `$2` (whose key is `$1`) may
/// name: those with its look-alike key, and any with the same letters in another case (an
/// account without a key yet, or one whose key newer Unicode data would compute otherwise),
/// the latter first. [`named`] picks the account among them.
macro_rules! accounts_named {
    () => {
        "where username_key = $1 or lower(username) = lower($2) order by lower(username) = lower($2) desc, id"
    };
}

/// The account signing in as `username`: the one whose name is `username` after NFKC and
/// case folding (`ADMIN` and `ａｄｍｉｎ` find `admin`), never a mere look-alike.
#[tracing::instrument(skip_all, err)]
pub async fn find_user_for_login(
    conn: &mut PgConnection,
    username: &str,
) -> sqlx::Result<Option<UserForLogin>> {
    let candidates: Vec<UserForLogin> = crate::db::query_as(concat!(
        "select id, username, first_name, last_name, email, password_hash, is_active, must_change_password
         from public.users ",
        accounts_named!()
    ))
    .bind(username::key(username))
    .bind(username)
    .fetch_all(conn)
    .await?;
    Ok(named(candidates, username, |account| &account.username))
}

/// Of `candidates` (in [`accounts_named`] order), the account `typed` names: the first whose
/// name folds (NFKC, case) to what `typed` folds to, or is `typed` in another case.
fn named<T>(candidates: Vec<T>, typed: &str, name_of: impl Fn(&T) -> &str) -> Option<T> {
    let folded = username::folded(typed);
    let lower = typed.to_lowercase();
    candidates.into_iter().find(|account| {
        let name = name_of(account);
        username::folded(name) == folded || name.to_lowercase() == lower
    })
}

/// The hash of user `id`, for checking a current password.
#[tracing::instrument(skip_all, fields(user.id = id), err)]
pub async fn find_password_hash(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    crate::db::query_scalar("select password_hash from public.users where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Stores a new hash; `must_change_password` says whether the user must replace it.
#[tracing::instrument(skip_all, fields(user.id = id), err)]
pub async fn update_password_hash(
    conn: &mut PgConnection,
    id: i64,
    password_hash: &str,
    must_change_password: bool,
) -> sqlx::Result<()> {
    crate::db::query(
        "update public.users set password_hash = $2, must_change_password = $3, updated_at = now() where id = $1",
    )
    .bind(id)
    .bind(password_hash)
    .bind(must_change_password)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Replaces user `id`'s hash `old` with `new` (the same password under current
/// parameters); false when the hash is no longer `old` (the password changed meanwhile).
#[tracing::instrument(skip_all, fields(user.id = id), err)]
pub async fn upgrade_password_hash(
    conn: &mut PgConnection,
    id: i64,
    old: &str,
    new: &str,
) -> sqlx::Result<bool> {
    crate::db::query("update public.users set password_hash = $3 where id = $1 and password_hash = $2")
        .bind(id)
        .bind(old)
        .bind(new)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
}

/// Whether `user_id` is a store's shared staff account, whose password only its store's
/// owner changes, by rotating it (the sealed copy the owner reads back changes with it).
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn is_shared_staff_account(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    crate::db::query_scalar("select exists (select 1 from public.staff_accounts where user_id = $1)")
        .bind(user_id)
        .fetch_one(conn)
        .await
}

/// Revokes session `session_id` of `user_id`; false when there was no such live session.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn revoke_session(conn: &mut PgConnection, user_id: i64, session_id: Uuid) -> sqlx::Result<bool> {
    let result = crate::db::query(
        "update public.sessions set revoked_at = now() where id = $1 and user_id = $2 and revoked_at is null",
    )
    .bind(session_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Revokes every live session of `user_id` except `keep`; returns how many ended.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn revoke_user_sessions(
    conn: &mut PgConnection,
    user_id: i64,
    keep: Option<Uuid>,
) -> sqlx::Result<u64> {
    let result = crate::db::query(
        "update public.sessions set revoked_at = now()
         where user_id = $1 and revoked_at is null and ($2::uuid is null or id <> $2)",
    )
    .bind(user_id)
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// A session as its owner sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    pub user_agent: String,
    /// The till's name, for a session opened there by PIN.
    pub device_name: Option<String>,
}

/// The signed-in user of a console cookie (the session's current refresh token).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CookieSession {
    pub session_id: Uuid,
    pub user_id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    /// The session reaches only enrolment (docs/contract.md §16): the console shows the
    /// two-step page and no store.
    pub enrolment_only: bool,
}

/// The live session whose current refresh token hashes to `digest`, of an active user, used
/// within `idle_timeout_secs`; marks it used (at most once a minute, so a busy page does not
/// write on every request).
#[tracing::instrument(skip_all, err)]
pub async fn find_cookie_session(
    conn: &mut PgConnection,
    digest: &[u8],
    idle_timeout_secs: f64,
) -> sqlx::Result<Option<CookieSession>> {
    crate::db::query_as(
        "with found as (
             select s.id, s.user_id, s.last_used_at, s.enrolment_only
             from public.sessions s join public.users u on u.id = s.user_id
             where s.refresh_token_hash = $1 and s.revoked_at is null and s.expires_at > now()
               and s.last_used_at > now() - make_interval(secs => $2) and u.is_active
         ), touched as (
             update public.sessions s set last_used_at = now() from found
             where s.id = found.id and found.last_used_at < now() - interval '1 minute'
             returning s.id
         )
         select found.id as session_id, u.id as user_id, u.username, u.first_name, u.last_name,
                found.enrolment_only
         from found join public.users u on u.id = found.user_id",
    )
    .bind(digest)
    .bind(idle_timeout_secs)
    .fetch_optional(conn)
    .await
}

/// The live sessions of `user_id`, most recently used first.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn list_live_sessions(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<SessionRow>> {
    crate::db::query_as(
        "select s.id, s.created_at, s.last_used_at, s.ip, s.user_agent, d.name as device_name
         from public.sessions s left join public.devices d on d.id = s.device_id
         where s.user_id = $1 and s.revoked_at is null and s.expires_at > now()
         order by s.last_used_at desc, s.created_at desc",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// The session a refresh token was rotated for: what its next access token carries.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct RotatedSession {
    pub session_id: Uuid,
    pub user_id: i64,
    pub bound_store_id: Option<i64>,
    pub enrolment_only: bool,
}

/// Refreshes the session holding `presented`: `successor` (derived from `presented`, see
/// `credentials::sessions::successor_of`) becomes its token, and `presented` is retired: the
/// session's id, its user and the store it is bound to, if any. `None` when no live session
/// of an active user accepts `presented`.
///
/// A retry is `presented` again after it was rotated away, within `grace_secs` of that
/// rotation, while its successor is still the current token: the row is left as it is
/// (the grace still counts from the first rotation, so retries cannot stretch it) and the
/// same successor is handed out again, so whichever answer reached the client stays valid.
/// Once the successor has been used, `presented` is an older token (reuse), as it is after
/// the grace, or always when `grace_secs` is 0.
///
/// Parallel retries queue on the row lock; each re-reads the committed row and finds
/// itself a retry, so every one answers the same successor.
#[tracing::instrument(skip_all, err)]
pub async fn rotate_refresh_token(
    conn: &mut PgConnection,
    presented: &[u8],
    successor: &[u8],
    idle_timeout_secs: f64,
    grace_secs: f64,
) -> sqlx::Result<Option<RotatedSession>> {
    crate::db::query_as(
        "with rotated as (
             update public.sessions s set
                 previous_refresh_token_hash = case when s.refresh_token_hash = $1
                                                    then $1 else s.previous_refresh_token_hash end,
                 refresh_token_hash = $2,
                 rotated_at = case when s.refresh_token_hash = $1 then now() else s.rotated_at end,
                 last_used_at = now()
             from public.users u
             where u.id = s.user_id and u.is_active
               and s.revoked_at is null and s.expires_at > now()
               and s.last_used_at > now() - make_interval(secs => $3)
               and (s.refresh_token_hash = $1
                    or ($4 > 0 and s.previous_refresh_token_hash = $1 and s.refresh_token_hash = $2
                        and s.rotated_at > now() - make_interval(secs => $4)))
             returning s.id, s.user_id, s.store_id, s.enrolment_only, s.previous_refresh_token_hash
         ), retired as (
             insert into public.retired_refresh_tokens (token_hash, session_id)
             select previous_refresh_token_hash, id from rotated
             on conflict (token_hash) do nothing
         )
         select id as session_id, user_id, store_id as bound_store_id, enrolment_only from rotated",
    )
    .bind(presented)
    .bind(successor)
    .bind(idle_timeout_secs)
    .bind(grace_secs)
    .fetch_optional(conn)
    .await
}

/// Revokes the session that once held the retired refresh token `presented`, if any: a
/// reuse means the token was copied. Returns whether a session was found.
#[tracing::instrument(skip_all, err)]
pub async fn revoke_session_of_retired_token(
    conn: &mut PgConnection,
    presented: &[u8],
) -> sqlx::Result<bool> {
    let found: Option<Uuid> = crate::db::query_scalar(
        "update public.sessions set revoked_at = coalesce(revoked_at, now())
         where id = (select session_id from public.retired_refresh_tokens where token_hash = $1)
         returning id",
    )
    .bind(presented)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Whether the session holding `presented` as its current token has ended by time.
#[tracing::instrument(skip_all, err)]
pub async fn is_refresh_token_expired(
    conn: &mut PgConnection,
    presented: &[u8],
    idle_timeout_secs: f64,
) -> sqlx::Result<bool> {
    crate::db::query_scalar(
        "select exists (select 1 from public.sessions where refresh_token_hash = $1 and revoked_at is null
             and (expires_at <= now() or last_used_at <= now() - make_interval(secs => $2)))",
    )
    .bind(presented)
    .bind(idle_timeout_secs)
    .fetch_one(conn)
    .await
}

/// The caller of a store-scoped request, read by `public.store_caller` in the request's own
/// transaction or statement: their live session and active account, their active role in
/// the store (`None`: not a member), and the schema the registry gives the store, all in
/// one round trip.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionMember {
    /// The schema the registry gives the store whose membership was checked, checked
    /// against the schema the request's statements name.
    #[sqlx(rename = "store_schema")]
    pub schema: Option<String>,
    pub user_id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub must_change_password: bool,
    /// The code of the member's role in the store; `None`: not an active member.
    pub role: Option<String>,
    /// The version of the store's roles in the same snapshot (`access::directory`): the
    /// definitions the request uses are the ones of exactly this version.
    pub roles_version: Option<i64>,
}

/// An account as the operator's list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub must_change_password: bool,
    /// `slug:role` of each store they work in, oldest first; `(inactive)` marks a
    /// deactivated membership.
    pub stores: String,
}

/// Every account whose username contains `search` (any letter case), oldest first.
#[tracing::instrument(skip_all, err)]
pub async fn list_accounts(pool: &sqlx::PgPool, search: Option<&str>) -> sqlx::Result<Vec<AccountRow>> {
    crate::db::query_as(
        "select u.id, u.username, u.first_name, u.last_name, u.is_active, u.must_change_password,
                coalesce(string_agg(s.slug || ':' || m.role || case when m.is_active then '' else ' (inactive)' end,
                                    ', ' order by s.id), '') as stores
         from public.users u
         left join public.store_memberships m on m.user_id = u.id
         left join public.stores s on s.id = m.store_id
         where $1::text is null or strpos(lower(u.username), lower($1)) > 0
         group by u.id order by u.id",
    )
    .bind(search)
    .fetch_all(pool)
    .await
}

/// Lets the account `username` names (as sign-in finds it) sign in, or stops it; its id, if
/// it exists.
#[tracing::instrument(skip_all, fields(active), err)]
pub async fn set_account_active(
    conn: &mut PgConnection,
    username: &str,
    active: bool,
) -> sqlx::Result<Option<i64>> {
    let candidates: Vec<(i64, String)> =
        crate::db::query_as(concat!("select id, username from public.users ", accounts_named!()))
            .bind(username::key(username))
            .bind(username)
            .fetch_all(&mut *conn)
            .await?;
    let Some((id, _)) = named(candidates, username, |(_, name)| name) else {
        return Ok(None);
    };
    crate::db::query("update public.users set is_active = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(active)
        .execute(conn)
        .await?;
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_names_the_account_by_folded_name_and_never_a_mere_look_alike() {
        let accounts = || vec![(1, "admin".to_owned()), (2, "ａｄｍｉｎ２".to_owned())];
        let found = |typed: &str| named(accounts(), typed, |(_, name)| name).map(|(id, _)| id);
        assert_eq!(found("ADMIN"), Some(1));
        assert_eq!(found("ａｄｍｉｎ"), Some(1));
        assert_eq!(found("admin2"), Some(2));
        assert_eq!(found("аdmin"), None, "Cyrillic а: a look-alike, not the name");
    }
}
