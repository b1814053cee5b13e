//! SQL for accounts and sessions in `public`.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

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

/// True when an account already uses `username`, in any letter case.
#[tracing::instrument(skip_all, err)]
pub async fn username_exists(conn: &mut PgConnection, username: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from public.users where lower(username) = lower($1))")
        .bind(username)
        .fetch_one(conn)
        .await
}

/// Creates an account. A taken username violates `users_username_key`.
#[tracing::instrument(skip_all, err)]
pub async fn insert_user(conn: &mut PgConnection, new: &NewUser<'_>) -> sqlx::Result<UserRow> {
    sqlx::query_as(
        "insert into public.users (username, password_hash, first_name, last_name, email, phone)
         values ($1, $2, $3, $4, $5, $6)
         returning id, username, first_name, last_name, email, phone, is_active, must_change_password",
    )
    .bind(new.username)
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
    sqlx::query_as(
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
}

/// Records a session.
#[tracing::instrument(skip_all, fields(user.id = new.user_id), err)]
pub async fn insert_session(conn: &mut PgConnection, new: &NewSession<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into public.sessions (id, user_id, refresh_token_hash, expires_at, ip, user_agent)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new.id)
    .bind(new.user_id)
    .bind(new.refresh_token_hash)
    .bind(new.expires_at)
    .bind(new.ip)
    .bind(new.user_agent)
    .execute(conn)
    .await
    .map(|_| ())
}

/// The signed-in user behind a live session: the session is not revoked or past its
/// absolute lifetime, and the account is active.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub must_change_password: bool,
}

/// The user of session `session_id` if it is live and belongs to `user_id`.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn find_live_session_user(
    conn: &mut PgConnection,
    session_id: Uuid,
    user_id: i64,
) -> sqlx::Result<Option<SessionUser>> {
    sqlx::query_as(
        "select u.id as user_id, u.username, u.must_change_password
         from public.sessions s join public.users u on u.id = s.user_id
         where s.id = $1 and s.user_id = $2 and s.revoked_at is null and s.expires_at > now() and u.is_active",
    )
    .bind(session_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}
