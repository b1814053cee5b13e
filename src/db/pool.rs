//! The connection pool and the readiness probe.
//!
//! The pool skips sqlx's ping before every acquire (`test_before_acquire(false)`): on this
//! hardware a ping costs as much as the query it guards (PERF-NOTES.md), and a dead
//! connection surfaces as an error that the request maps to 503 anyway. Connections are
//! recycled after `DATABASE_MAX_LIFETIME` because each PostgreSQL backend caches the catalog
//! of every tenant schema it has touched (SPEC §3); README "Performance" shows the effect.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::Config;
use crate::db::session;

/// How long `/readyz` waits for the database before calling it down.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Parses `DATABASE_URL` into connection options, naming the variable on failure.
pub fn options_from_url(url: &str) -> Result<PgConnectOptions, crate::config::ConfigError> {
    PgConnectOptions::from_str(url).map_err(|_| crate::config::ConfigError {
        variable: "DATABASE_URL",
        problem: "is not a PostgreSQL URL like postgres://user:password@host:5432/kassa".to_owned(),
    })
}

/// A pool that connects on demand, so kassa starts (and answers `/healthz`) while the
/// database is still coming up; requests meanwhile answer 503.
///
/// Every session gets `statement_timeout` = `REQUEST_TIMEOUT`: when a request is cut off
/// (timeout, client gone), dropping its future does not stop the statement on the server,
/// and the connection stays busy until the statement ends; the server-side bound makes that
/// no longer than the request could have run. `idle_in_transaction_session_timeout` at twice
/// that is the last line of defence: a session idle inside a transaction is ended by
/// PostgreSQL rather than kept.
///
/// Behind a transaction pooler (`DATABASE_TRANSACTION_POOLING`) session settings would land
/// on whichever server connection PgBouncer picked, and PgBouncer refuses the `options`
/// startup parameter: set both timeouts on the database role there instead (README).
/// Turning pooling on switches the whole process to unnamed statements (`db::session`).
#[must_use]
pub fn lazy_pool(config: &Config, options: PgConnectOptions) -> PgPool {
    let options = match config.db_transaction_pooling {
        true => {
            session::set_transaction_pooling(true);
            options
        }
        false => options.options(session::timeouts(config.request_timeout)),
    };
    PgPoolOptions::new()
        .max_connections(config.db_pool_size)
        .acquire_timeout(config.db_acquire_timeout)
        .test_before_acquire(false)
        .idle_timeout(Duration::from_secs(10 * 60))
        .max_lifetime(config.db_max_lifetime)
        // A connection must never go back to the pool inside a transaction (its
        // transaction-local search_path would reach the next request): close it instead.
        .after_release(|conn, _| {
            Box::pin(async move {
                use sqlx::Connection;
                Ok(!conn.is_in_transaction())
            })
        })
        .connect_lazy_with(options.application_name("kassa"))
}

/// One round trip that proves the database answers (one simple-protocol message, which
/// a transaction pooler cannot split).
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(READINESS_TIMEOUT, sqlx::raw_sql("select 1").execute(pool)).await {
        Ok(result) => result.map(|_| ()),
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}
