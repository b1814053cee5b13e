//! The connection pool, the circuit that fails fast while the database is unreachable, and
//! the readiness probe.
//!
//! The pool skips sqlx's ping before every acquire (`test_before_acquire(false)`): on this
//! hardware a ping costs as much as the query it guards (docs/decisions.md: measured), and a dead
//! connection surfaces as an error that the request maps to 503 anyway. Connections are
//! recycled after `DATABASE_MAX_LIFETIME` because each PostgreSQL backend caches the catalog
//! of every tenant schema it has touched (docs/contract.md §3); docs/performance.md shows the effect.
//!
//! Requests take connections through [`Db`], not the bare pool. While PostgreSQL is down,
//! sqlx retries a refused connection until `DATABASE_ACQUIRE_TIMEOUT`, so every request
//! would wait that long for its 503. [`Db`] instead probes the database as soon as taking a
//! connection is slow (over [`SUSPECT_AFTER`]) or fails as unreachable; once a probe cannot
//! reach it, every request (and those already waiting) fails at once with an unavailable
//! error (503), and one background task probes every [`PROBE_INTERVAL`] until it answers.

use std::future::Future;
use std::ops::Deref;
use std::pin::pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::pool::{MaybePoolConnection, PoolConnection};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, Postgres, SqlSafeStr, Transaction};
use tokio::sync::watch;

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
/// startup parameter: set both timeouts on the database role there instead (docs/operations.md).
/// Turning pooling on switches the whole process to unnamed statements (`db::session`).
#[must_use]
pub fn lazy_pool(config: &Config, options: PgConnectOptions) -> PgPool {
    let options = match config.db_transaction_pooling {
        true => {
            session::prefer_unnamed_statements();
            options
        }
        false => options.options(session::timeouts(config.request_timeout)),
    };
    pool_options(config, config.db_pool_size).connect_lazy_with(options.application_name("kassa"))
}

/// The pools of store-scoped work: `config.db_store_connections` pools of one connection
/// each, made like `public` (same server, settings and timeouts), each keeping
/// `config.db_statement_cache` prepared statements.
///
/// Why one connection per share of the stores: store reads are statements qualified with
/// the store's schema (`tenant::read`), one text per store, and PostgreSQL keeps a plan per
/// statement and a catalog cache per schema in every backend that ran them, for the life of
/// the backend (about 0.1 MiB per store, docs/performance.md). A store always reaching the
/// same backend makes each backend hold its share of the fleet, not all of it.
fn store_pools(config: &Config, public: &PgPool) -> Box<[PgPool]> {
    let options = (*public.connect_options()).clone().statement_cache_capacity(config.db_statement_cache);
    (0..config.db_store_connections)
        .map(|_| pool_options(config, 1).connect_lazy_with(options.clone()))
        .collect()
}

/// What every pool of kassa shares, whatever it serves.
fn pool_options(config: &Config, max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(config.db_acquire_timeout)
        .test_before_acquire(false)
        .idle_timeout(Duration::from_secs(10 * 60))
        .max_lifetime(config.db_max_lifetime)
        // A connection must never go back to the pool inside a transaction (its
        // transaction-local settings, a migration's search_path or the statement timeouts,
        // would reach the next request): close it instead.
        .after_release(|conn, _| {
            Box::pin(async move {
                use sqlx::Connection;
                Ok(!conn.is_in_transaction())
            })
        })
}

/// Takes a connection with `acquire` and opens a transaction on it with `begin` (`BEGIN`
/// when `None`), in a task of its own.
///
/// sqlx 0.9.0 returns a connection to the pool still inside a transaction when the future
/// is dropped during `BEGIN` (a client that hangs up, a timeout): the `BEGIN` is already in
/// the connection's buffer but the transaction is not yet counted, so nothing queues its
/// rollback, and the pool's release check (`after_release`) sees no transaction. The task
/// always finishes; if nobody awaits it any more, the transaction it made is dropped there,
/// which queues a rollback that runs before the connection is reused. Every transaction of
/// a request is opened here.
async fn begin_detached(
    acquire: impl Future<Output = sqlx::Result<PoolConnection<Postgres>>> + Send + 'static,
    begin: Option<String>,
) -> sqlx::Result<Transaction<'static, Postgres>> {
    let task = async move {
        let conn = acquire.await?;
        let begin = begin.map(|sql| AssertSqlSafe(sql).into_sql_str());
        Transaction::begin(MaybePoolConnection::PoolConnection(conn), begin).await
    };
    tokio::spawn(task)
        .await
        .map_err(|failed| sqlx::Error::Protocol(format!("the task opening a transaction failed: {failed}")))?
}

/// One round trip that proves the database answers (one simple-protocol message, which
/// a transaction pooler cannot split). Fails at once while [`Db`] knows it is down.
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    let select = db.guarded(sqlx::raw_sql("select 1").execute(db.pool()));
    match tokio::time::timeout(READINESS_TIMEOUT, select).await {
        Ok(result) => result.map(|_| ()),
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

/// How long a store-scoped request waits for its store's connection before it also takes a
/// connection for `public` if one comes first. Store connections keep each backend's share
/// of plans and catalog small, but one connection per share also means a burst at one store
/// (or a slow statement) queues every store of its share behind it; past this wait the
/// request borrows from `public` instead, whose backends then cache that store too (bounded
/// by their statement cache and `DATABASE_MAX_LIFETIME`). Far above a store read's time
/// under load (p99 ≤ 50 ms in the benchmark), so the borrowing stays rare.
pub const STORE_PATIENCE: Duration = Duration::from_millis(200);

/// How long taking a connection may take before the database is probed. Taking an idle
/// connection takes microseconds and opening one a few milliseconds; a refused connection
/// is retried by sqlx until `DATABASE_ACQUIRE_TIMEOUT`, which is what this cuts short.
pub const SUSPECT_AFTER: Duration = Duration::from_millis(100);
/// The least time between two probes: while the database is down, how often it is tried
/// (and so how soon its return is noticed); while it is up but slow to hand out
/// connections (a saturated pool), at most this many probe connections are opened.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(200);
/// How long one probe (connect, `select 1`) may take before it counts as unreachable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The pool with its circuit: what every request takes connections from. Cheap to clone;
/// clones share the pool and the circuit. Derefs to the pool for the command line and
/// migrations, which have no one to answer quickly.
#[derive(Clone)]
pub struct Db(Arc<Shared>);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("transaction_pooling", &self.0.transaction_pooling)
            .field("down", &self.is_down())
            .finish_non_exhaustive()
    }
}

struct Shared {
    /// Work in `public`.
    pool: PgPool,
    /// Store-scoped work: store `id` always takes `stores[id % len]` ([`store_pools`]).
    stores: Box<[PgPool]>,
    /// The pool reaches PostgreSQL through a transaction pooler: sessions pin a
    /// transaction and timeouts are set per transaction (`db::session`).
    transaction_pooling: bool,
    /// True while a probe could not reach the database: taking a connection fails at once.
    down: watch::Sender<bool>,
    /// A probe task is running; there is at most one per pool.
    probing: AtomicBool,
    /// Whether the server is a Citus coordinator ([`Db::is_citus`]), once asked.
    citus: std::sync::OnceLock<bool>,
    /// When the last probe started, to keep them [`PROBE_INTERVAL`] apart.
    last_probe: Mutex<Option<Instant>>,
}

impl Db {
    /// Whether the server is a Citus coordinator (`citus_version()`, [`crate::db::citus`]):
    /// asked on first need, then held. The few statements Citus plans differently from one
    /// server take their Citus form by it.
    pub async fn is_citus(&self) -> sqlx::Result<bool> {
        if let Some(citus) = self.0.citus.get() {
            return Ok(*citus);
        }
        let citus = crate::db::citus::version(&self.0.pool).await?.is_some();
        Ok(*self.0.citus.get_or_init(|| citus))
    }

    /// `pool` (made by [`lazy_pool`] from `config`) for work in `public`, and the store
    /// connections `config` asks for, beside it on the same server, all behind one circuit.
    #[must_use]
    pub fn new(pool: PgPool, config: &Config) -> Db {
        Db(Arc::new(Shared {
            stores: store_pools(config, &pool),
            pool,
            transaction_pooling: config.db_transaction_pooling,
            down: watch::Sender::new(false),
            probing: AtomicBool::new(false),
            citus: std::sync::OnceLock::new(),
            last_probe: Mutex::new(None),
        }))
    }

    /// Whether this pool goes through a transaction pooler.
    #[must_use]
    pub fn transaction_pooling(&self) -> bool {
        self.0.transaction_pooling
    }

    /// The bare pool, which never fails fast.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.0.pool
    }

    /// Every pool: `public`'s, then the store connections'.
    pub fn pools(&self) -> impl Iterator<Item = &PgPool> {
        self.0.pools()
    }

    /// True while the database is known to be unreachable.
    #[must_use]
    pub fn is_down(&self) -> bool {
        *self.0.down.borrow()
    }

    /// A pool connection, or at once an unavailable error while the database is down.
    pub async fn acquire(&self) -> sqlx::Result<PoolConnection<Postgres>> {
        self.guarded(self.0.pool.acquire()).await
    }

    /// The connection that serves store `store_id`, failing fast like [`Db::acquire`]; when
    /// another request of its share of the stores holds it for longer than
    /// [`STORE_PATIENCE`], whichever comes first of it and a connection for `public`.
    pub async fn acquire_for_store(&self, store_id: i64) -> sqlx::Result<PoolConnection<Postgres>> {
        self.guarded(self.store_connection(store_id)).await
    }

    /// See [`Db::acquire_for_store`]. Both pools hand out connections without a test or a
    /// hook (`test_before_acquire(false)`), so the acquire that loses the race gives up
    /// nothing it had taken.
    async fn store_connection(&self, store_id: i64) -> sqlx::Result<PoolConnection<Postgres>> {
        let own = self.store_pool(store_id);
        if let Some(conn) = own.try_acquire() {
            return Ok(conn);
        }
        let mut waiting = pin!(own.acquire());
        tokio::select! {
            taken = &mut waiting => return taken,
            () = tokio::time::sleep(STORE_PATIENCE) => {}
        }
        tokio::select! {
            taken = &mut waiting => taken,
            taken = self.0.pool.acquire() => taken,
        }
    }

    /// A transaction on the connection that serves store `store_id`, opened by `begin` (a
    /// `BEGIN; …` message that may set transaction-local settings in the same round trip).
    pub async fn begin_for_store(
        &self,
        store_id: i64,
        begin: String,
    ) -> sqlx::Result<Transaction<'static, Postgres>> {
        let db = self.clone();
        begin_detached(async move { db.acquire_for_store(store_id).await }, Some(begin)).await
    }

    fn store_pool(&self, store_id: i64) -> &PgPool {
        let shares = self.0.stores.len() as u64;
        // A share index is below the number of pools, which is a u32.
        #[allow(clippy::cast_possible_truncation)]
        let share = (store_id.unsigned_abs() % shares) as usize;
        &self.0.stores[share]
    }

    /// `PgPool::begin`, failing fast like [`Db::acquire`], and safe to drop while it runs
    /// ([`begin_detached`]).
    pub async fn begin(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        let pool = self.0.pool.clone();
        self.guarded(begin_detached(async move { pool.acquire().await }, None)).await
    }

    /// Runs `taking` (something that takes a connection from the pool) unless the database
    /// is down; suspects an outage when it is slow or fails as unavailable, and gives up on
    /// it as soon as a probe finds the database unreachable.
    async fn guarded<T>(&self, taking: impl Future<Output = sqlx::Result<T>>) -> sqlx::Result<T> {
        if self.is_down() {
            return Err(unreachable());
        }
        let mut taking = pin!(taking);
        let mut down = self.0.down.subscribe();
        let mut patience = SUSPECT_AFTER;
        let taken = loop {
            tokio::select! {
                biased;
                taken = &mut taking => break taken,
                _ = down.wait_for(|down| *down) => break Err(unreachable()),
                // Asked again every interval: a probe that found the database up a moment
                // ago has ended, and this wait may be the first sign of a new outage.
                () = tokio::time::sleep(patience) => {
                    self.suspect();
                    patience = PROBE_INTERVAL;
                }
            }
        };
        if let Err(error) = &taken
            && super::is_unavailable(error)
        {
            self.suspect();
        }
        taken
    }

    /// Starts the probe task unless it is running.
    fn suspect(&self) {
        if !self.0.probing.swap(true, Ordering::AcqRel) {
            tokio::spawn(probe_until_reachable(Arc::downgrade(&self.0)));
        }
    }
}

impl Deref for Db {
    type Target = PgPool;

    fn deref(&self) -> &PgPool {
        &self.0.pool
    }
}

/// What a request gets while the database is down: an I/O error, which `is_unavailable`
/// (and so the API, with 503) counts as an outage.
fn unreachable() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "the database is unreachable; a background probe is waiting for it to come back",
    ))
}

/// The probe task: probes until the database is reachable, opening or closing the circuit
/// on each outcome. It holds the pool only while probing, so a dropped [`Db`] ends it.
async fn probe_until_reachable(shared: Weak<Shared>) {
    loop {
        let wait = match shared.upgrade() {
            Some(db) => db.until_next_probe(),
            None => return,
        };
        tokio::time::sleep(wait).await;
        let Some(db) = shared.upgrade() else { return };
        match probe(&db.pool.connect_options()).await {
            Err(error) if means_unreachable(&error) => {
                if !db.down.send_replace(true) {
                    tracing::warn!(%error, "the database is unreachable: requests answer 503 at once until it is back");
                }
            }
            // Reachable, even if it refused the probe for another reason (the pool will meet
            // that reason too, and report it).
            _ => {
                if *db.down.borrow() {
                    for pool in db.pools() {
                        close_idle_connections(pool).await;
                    }
                    db.down.send_replace(false);
                    tracing::info!("the database is reachable again");
                }
                db.probing.store(false, Ordering::Release);
                return;
            }
        }
    }
}

impl Shared {
    /// See [`Db::pools`].
    fn pools(&self) -> impl Iterator<Item = &PgPool> {
        std::iter::once(&self.pool).chain(self.stores.iter())
    }

    /// How long until the next probe may start; records it as started then.
    fn until_next_probe(&self) -> Duration {
        let now = Instant::now();
        let mut last = self.last_probe.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = last.map_or(now, |last| (last + PROBE_INTERVAL).max(now));
        *last = Some(next);
        next - now
    }
}

/// Opens a connection of its own (not from the pool, whose connects sqlx retries) and runs
/// `select 1` on it.
async fn probe(options: &PgConnectOptions) -> sqlx::Result<()> {
    let attempt = async {
        let mut conn = PgConnection::connect_with(options).await?;
        sqlx::raw_sql("select 1").execute(&mut conn).await?;
        conn.close().await
    };
    tokio::time::timeout(PROBE_TIMEOUT, attempt).await.unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

/// Whether a failed probe means the database cannot be reached (or is not serving yet).
/// "Too many connections" (53300) does not: the server answers, and the pool's open
/// connections still serve requests.
fn means_unreachable(error: &sqlx::Error) -> bool {
    let full = matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("53300"));
    super::is_unavailable(error) && !full
}

/// Closes the connections left idle in the pool when the database went away: they predate
/// the outage (a restarted server has dropped them), and the first requests after it would
/// otherwise each meet one and fail.
async fn close_idle_connections(pool: &PgPool) {
    for _ in 0..pool.num_idle() {
        let Some(conn) = pool.try_acquire() else { break };
        // The goodbye message may have nowhere to go; the socket is closed either way.
        let _ = tokio::time::timeout(Duration::from_millis(100), conn.close()).await;
    }
}
