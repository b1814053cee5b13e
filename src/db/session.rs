//! Statements and connections that stay correct behind a transaction-pooling PgBouncer.
//!
//! With `DATABASE_TRANSACTION_POOLING=true` kassa may sit behind PgBouncer in
//! `pool_mode = transaction` (docs/contract.md §3), which hands the PostgreSQL server connection to
//! another client whenever the server reports "idle, no transaction open". Two things sqlx
//! does by default break there:
//!
//! - It names its prepared statements `sqlx_s_1`, `sqlx_s_2`, … per client connection. Two
//!   clients sharing one server connection collide ("prepared statement sqlx_s_1 already
//!   exists"), and a name prepared on one server is missing on the next. PgBouncer 1.18
//!   (Debian's) cannot track them. [`query`], [`query_as`] and [`query_scalar`] prepare
//!   unnamed statements instead when pooling is on.
//! - It sends a statement as Parse/Describe/Sync, then Bind/Execute/Sync. Between the two
//!   Syncs the server is idle, so outside a transaction PgBouncer may run the Bind on a server
//!   where another client's unnamed statement waits: a wrong statement with this client's
//!   values. So with pooling on, every statement runs inside a transaction: [`Session`] is a
//!   pool connection that has begun one, and committing it is [`Session::finish`].
//!
//! Simple-protocol messages (`sqlx::raw_sql`, one message for all their statements, as a
//! store transaction's `BEGIN` with its settings is) are safe either way. With pooling off,
//! a [`Session`] is a plain pool connection and [`query`] prepares named statements that sqlx caches.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{PgConnection, Postgres, SqlSafeStr, Transaction};

use crate::db::Db;

/// Whether statements are prepared unnamed for this process.
///
/// Whether a pool goes through a transaction pooler is the pool's own fact
/// ([`Db::transaction_pooling`]: it decides how sessions pin transactions and where timeouts
/// are set). Only the choice of statement names is process-wide, because statements are
/// built far from the connection they run on. It only ever turns on, as soon as any pool
/// of the process pools transactions ([`prefer_unnamed_statements`]): unnamed statements are
/// correct on every server (they cost a parse each time), named ones are not behind a pooler.
static UNNAMED_STATEMENTS: AtomicBool = AtomicBool::new(false);

/// Makes every statement of this process unnamed, from now on.
pub fn prefer_unnamed_statements() {
    UNNAMED_STATEMENTS.store(true, Ordering::Relaxed);
}

fn persistent() -> bool {
    !UNNAMED_STATEMENTS.load(Ordering::Relaxed)
}

/// `sqlx::query`, prepared unnamed under transaction pooling.
pub fn query<'q>(sql: impl SqlSafeStr) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql).persistent(persistent())
}

/// `sqlx::query` as an unnamed statement always: for a statement a connection runs rarely
/// (a store's roles, read once per version), which kept prepared would only push a hot
/// statement out of the connection's bounded cache and hold a plan in the backend.
pub fn query_once<'q>(sql: impl SqlSafeStr) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql).persistent(false)
}

/// `sqlx::query_as`, prepared unnamed under transaction pooling.
pub fn query_as<'q, O>(sql: impl SqlSafeStr) -> QueryAs<'q, Postgres, O, PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, PgRow>,
{
    sqlx::query_as(sql).persistent(persistent())
}

/// `sqlx::query_scalar`, prepared unnamed under transaction pooling.
pub fn query_scalar<'q, O>(sql: impl SqlSafeStr) -> QueryScalar<'q, Postgres, O, PgArguments>
where
    (O,): for<'r> sqlx::FromRow<'r, PgRow>,
{
    sqlx::query_scalar(sql).persistent(persistent())
}

/// A pool connection for a request's statements outside the tenant transaction. Derefs to
/// the connection; `conn.begin()` on it opens a transaction (a savepoint under pooling).
///
/// Writes made directly on it are kept only after [`Session::finish`]; dropping an
/// unfinished session rolls back under pooling (sqlx rolls back a dropped transaction
/// before the connection is reused), so call `finish` once the request's writes are done.
#[must_use = "a Session holds a pooled connection; under transaction pooling its writes are kept only by `finish`"]
pub struct Session(Inner);

enum Inner {
    Autocommit(PoolConnection<Postgres>),
    Pinned(Transaction<'static, Postgres>),
}

impl Session {
    /// A connection from `pool`; under transaction pooling one that has begun a transaction,
    /// which pins the PgBouncer server connection until [`Session::finish`]. Fails at once
    /// while the database is down ([`Db`]).
    pub async fn open(pool: &Db) -> sqlx::Result<Session> {
        Ok(Session(match pool.transaction_pooling() {
            true => Inner::Pinned(pool.begin().await?),
            false => Inner::Autocommit(pool.acquire().await?),
        }))
    }

    /// Commits what was written under transaction pooling; nothing to do otherwise.
    pub async fn finish(self) -> sqlx::Result<()> {
        match self.0 {
            Inner::Pinned(tx) => tx.commit().await,
            Inner::Autocommit(_) => Ok(()),
        }
    }
}

impl Deref for Session {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match &self.0 {
            Inner::Autocommit(conn) => conn,
            Inner::Pinned(tx) => tx,
        }
    }
}

impl DerefMut for Session {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.0 {
            Inner::Autocommit(conn) => conn,
            Inner::Pinned(tx) => tx,
        }
    }
}

/// The two session timeouts kassa runs with, derived from `REQUEST_TIMEOUT`: a statement
/// may run as long as its request could (`statement_timeout`), and a session idle inside a
/// transaction for twice that is ended by PostgreSQL (`idle_in_transaction_session_timeout`).
#[must_use]
pub fn timeouts(request_timeout: std::time::Duration) -> [(&'static str, String); 2] {
    let request_ms = request_timeout.as_millis().max(1);
    [
        ("statement_timeout", format!("{request_ms}ms")),
        ("idle_in_transaction_session_timeout", format!("{}ms", request_ms * 2)),
    ]
}

/// The `BEGIN` of a store-scoped transaction, with the [`timeouts`] set local to it in the
/// same round trip when the pool cannot set them per connection (transaction pooling, see
/// `db::pool::lazy_pool`): a plain `BEGIN` otherwise.
#[must_use]
pub fn begin_sql(db: &Db, request_timeout: std::time::Duration) -> String {
    if !db.transaction_pooling() {
        return "BEGIN".to_owned();
    }
    let settings: Vec<String> = timeouts(request_timeout)
        .iter()
        .map(|(name, value)| format!("set_config('{name}', '{value}', true)"))
        .collect();
    format!("BEGIN; SELECT {}", settings.join(", "))
}
