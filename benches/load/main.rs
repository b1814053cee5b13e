//! kassa's load benchmark: real HTTP against a release build on a fresh database.
//!
//! ```sh
//! cargo bench --bench load -- pos                          # the POS fleet under wrk, beside pgbench -S (pos.rs)
//! cargo bench --bench load -- registration                 # 1, 1,000 and 10,000 stores
//! cargo bench --bench load -- registration --levels 1,100  # a quick look
//! cargo bench --bench load -- me                           # GET /auth/me/ with 1 and 10,000 stores
//! cargo bench --bench load -- fleet                        # 10,000 stores: provisioning, a migration rollout, disk
//! ```
//!
//! `pos` runs the release `kassa` binary as a process of its own and drives it with wrk. The
//! other scenarios serve the router in-process on a loopback port (built by the same
//! `build_router` as production) and drive it with reqwest. All run against `DATABASE_URL`
//! or else the embedded cluster (durable, as in dev), on a database created fresh for the
//! run and dropped at the end.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

mod pos;
use kassa::config::Config;
use kassa::credentials::queries::{NewUser, insert_user};
use kassa::db::embedded::{EmbeddedCluster, EmbeddedOptions};
use kassa::db::{migrate, pool};
use kassa::registry::provision::{SlugChoice, StaffSeed, StoreOwner, provision_store};
use kassa::registry::queries::StoreProfile;
use kassa::registry::staff_account::StaffPassword;
use kassa::router::build_router;
use kassa::secrets::SecretSealer;
use kassa::state::AppState;
use secrecy::SecretString;
use sqlx::migrate::{Migration, MigrationType};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Acquire, AssertSqlSafe, Connection, PgConnection, PgPool, SqlSafeStr};

#[derive(Debug, Parser)]
#[command(about = "kassa load benchmark")]
struct Args {
    #[command(subcommand)]
    scenario: Scenario,
    /// Accepted for `cargo bench` compatibility.
    #[arg(long, hide = true, global = true)]
    bench: bool,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Registration latency (hashing included) with N stores already provisioned.
    Registration {
        /// Store counts at which to measure, ascending.
        #[arg(long, value_delimiter = ',', default_value = "1,1000,10000")]
        levels: Vec<usize>,
        /// Registrations timed at each level, one after another.
        #[arg(long, default_value_t = 50)]
        samples: usize,
        /// Concurrent provisioning jobs while seeding stores.
        #[arg(long, default_value_t = 4)]
        seed_jobs: usize,
    },
    /// `GET /api/users/auth/me/` throughput with 1 store, then roaming over many stores.
    Me {
        /// Store counts at which to measure, ascending.
        #[arg(long, value_delimiter = ',', default_value = "1,10000")]
        levels: Vec<usize>,
        /// Seconds each level runs.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
    },
    /// Schema-per-tenant at scale: provision N stores at the previous tenant migration, roll
    /// the newest real one and then one synthetic migration per `--jobs` value out to all of
    /// them with the runner `kassa migrate` uses, and measure disk, catalog and PostgreSQL
    /// backend memory.
    Fleet {
        /// Stores to provision.
        #[arg(long, default_value_t = 10_000)]
        stores: usize,
        /// Concurrent provisioning jobs.
        #[arg(long, default_value_t = 4)]
        seed_jobs: usize,
        /// `--jobs` of each rollout measured (one new migration per value).
        #[arg(long, value_delimiter = ',', default_value = "4")]
        jobs: Vec<usize>,
    },
    /// The POS fleet: S stores x E employees, every scenario under wrk beside `pgbench -S`
    /// (docs/performance.md; the issue "load benchmark").
    Pos(pos::PosArgs),
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match args.scenario {
        Scenario::Registration { levels, samples, seed_jobs } => {
            runtime.block_on(registration(&levels, samples, seed_jobs))
        }
        Scenario::Me { levels, seconds, clients } => {
            runtime.block_on(me(&levels, Duration::from_secs(seconds), clients))
        }
        Scenario::Fleet { stores, seed_jobs, jobs } => runtime.block_on(fleet(stores, seed_jobs, &jobs)),
        Scenario::Pos(args) => runtime.block_on(pos::run(args)),
    }
}

/// A fresh database on `DATABASE_URL` or the embedded cluster, dropped when done.
struct BenchDb {
    admin: PgConnectOptions,
    /// The admin connection as a URL, for processes (kassa, pgbench).
    admin_url: url::Url,
    name: String,
    _cluster: Option<EmbeddedCluster>,
}

impl BenchDb {
    async fn create() -> anyhow::Result<Self> {
        let (admin_url, cluster) = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => (url, None),
            None => {
                let root =
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("kassa-bench-cluster");
                let options = EmbeddedOptions { root, bin_dir: None, durable: true };
                let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&options)).await??;
                let admin = cluster.connect_options("postgres");
                let url = format!(
                    "postgres://{}@{}:{}/postgres",
                    admin.get_username(),
                    admin.get_host(),
                    admin.get_port()
                );
                (url, Some(cluster))
            }
        };
        let admin = pool::options_from_url(&admin_url)?;
        let admin_url = url::Url::parse(&admin_url)?;
        let db = BenchDb { admin, admin_url, name: String::new(), _cluster: cluster };
        let name = db.create_sibling("kassa").await?;
        Ok(BenchDb { name, ..db })
    }

    /// Creates a fresh database `kassa_bench_<prefix>_<random>` in the same cluster.
    async fn create_sibling(&self, prefix: &str) -> anyhow::Result<String> {
        let name = format!("kassa_bench_{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect_with(&self.admin).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("create database {name}"))).execute(&mut conn).await?;
        conn.close().await?;
        Ok(name)
    }

    async fn drop_sibling(&self, name: &str) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect_with(&self.admin).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("drop database {name} with (force)"))).execute(&mut conn).await?;
        Ok(())
    }

    fn options(&self) -> PgConnectOptions {
        self.admin.clone().database(&self.name)
    }

    /// The benchmark database as a URL.
    fn url(&self) -> String {
        self.url_of(&self.name)
    }

    /// Database `name` of the same cluster as a URL.
    fn url_of(&self, name: &str) -> String {
        let mut url = self.admin_url.clone();
        url.set_path(name);
        url.to_string()
    }

    async fn drop_database(&self) -> anyhow::Result<()> {
        self.drop_sibling(&self.name).await
    }
}

/// The HS256 key of every benchmark server (and of the tokens the benchmark issues).
const JWT_SECRET: &str = "bench-secret-0123456789abcdef-0123456789";

fn bench_config() -> Config {
    bench_config_with(&[])
}

/// The benchmark's configuration: `overrides`, then the pool settings of the environment
/// (`DATABASE_POOL_SIZE`, `DATABASE_MAX_LIFETIME`), then fixed values.
fn bench_config_with(overrides: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        if let Some((_, value)) = overrides.iter().find(|(key, _)| *key == name) {
            return Some((*value).to_owned());
        }
        if matches!(name, "DATABASE_POOL_SIZE" | "DATABASE_MAX_LIFETIME")
            && let Ok(value) = std::env::var(name)
        {
            return Some(value);
        }
        match name {
            "DATABASE_URL" => Some("postgres://set-by-the-benchmark".to_owned()),
            "JWT_SECRET" => Some(JWT_SECRET.to_owned()),
            "DATABASE_POOL_SIZE" => Some("16".to_owned()),
            // The fleet is seeded by registering every store from this one address.
            "REGISTRATION_LIMIT_PER_HOUR" => Some("1000000000".to_owned()),
            _ => None,
        }
    })
    .expect("benchmark configuration is valid")
}

/// kassa on a fresh, migrated database, served on a loopback port in this process.
struct BenchServer {
    db: BenchDb,
    pool: PgPool,
    state: AppState,
    addr: SocketAddr,
}

impl BenchServer {
    async fn start(config: Config) -> anyhow::Result<Self> {
        let db = BenchDb::create().await?;
        let config = Arc::new(config);
        let pool = pool::lazy_pool(&config, db.options());
        migrate::migrate_public(&pool).await?;
        let state = AppState::new(config, pool.clone());
        state.hasher.warm_up().await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = build_router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(BenchServer { db, pool, state, addr })
    }

    /// Closes the pool and drops the database.
    async fn stop(self) -> anyhow::Result<()> {
        self.pool.close().await;
        self.db.drop_database().await
    }
}

async fn registration(levels: &[usize], samples: usize, seed_jobs: usize) -> anyhow::Result<()> {
    let server = BenchServer::start(bench_config()).await?;
    let (pool, state, addr) = (server.pool.clone(), server.state.clone(), server.addr);
    let client = reqwest::Client::new();
    // Seeded owners share one hash: seeding measures provisioning, not argon2.
    let seed_hash = state.hasher.hash(SecretString::from("Seed-Password-2026".to_owned())).await?;

    println!("| stores before | registrations | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut seeded = 0;
    let mut run = 0;
    for &level in levels {
        let started = Instant::now();
        let fresh = level.saturating_sub(seeded + run);
        seed_stores(&pool, &state, &seed_hash, seeded, fresh, seed_jobs).await?;
        if fresh > 0 {
            let elapsed = started.elapsed();
            eprintln!(
                "seeded {fresh} stores in {:.1} s ({:.0} stores/s)",
                elapsed.as_secs_f64(),
                fresh as f64 / elapsed.as_secs_f64()
            );
        }
        seeded += fresh;
        let mut latencies = Vec::with_capacity(samples);
        for i in 0..samples {
            let body = serde_json::json!({
                "username": format!("bench{level}x{i}"),
                "password": "Bench-Password-2026",
                "password_confirm": "Bench-Password-2026",
                "first_name": "Бенч",
                "store_name": "Мой Магазин",
                "owner_phone": "+998901234567",
            });
            let started = Instant::now();
            let response =
                client.post(format!("http://{addr}/api/users/auth/register/")).json(&body).send().await?;
            let status = response.status();
            response.bytes().await?;
            latencies.push(started.elapsed());
            anyhow::ensure!(status == 201, "registration answered {status}");
        }
        run += samples;
        let stats = Percentiles::of(&mut latencies);
        println!(
            "| {level} | {samples} | {:.1} | {:.1} | {:.1} | {:.1} |",
            stats.p50, stats.p95, stats.p99, stats.max
        );
    }
    server.stop().await
}

/// Provisions `count` stores (owner + store + schema), `jobs` at a time, numbered from `from`.
async fn seed_stores(
    pool: &PgPool,
    state: &AppState,
    hash: &str,
    from: usize,
    count: usize,
    jobs: usize,
) -> anyhow::Result<()> {
    seed_stores_at(pool, hash, from, count, jobs, Arc::clone(&state.tenant_migrations)).await
}

/// [`seed_stores`] with the schemas at `migrations` (a fleet before a rollout).
async fn seed_stores_at(
    pool: &PgPool,
    hash: &str,
    from: usize,
    count: usize,
    jobs: usize,
    migrations: Arc<[Migration]>,
) -> anyhow::Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(from));
    let end = from + count;
    let workers = (0..jobs.max(1)).map(|_| {
        let (pool, next, hash, migrations) =
            (pool.clone(), Arc::clone(&next), hash.to_owned(), Arc::clone(&migrations));
        tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= end {
                    return anyhow::Ok(());
                }
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin().await?;
                let username = format!("seed{n}");
                let user = insert_user(
                    &mut tx,
                    &NewUser {
                        username: &username,
                        password_hash: &hash,
                        first_name: "Seed",
                        last_name: "",
                        email: "",
                        phone: "",
                    },
                )
                .await?;
                let owner = StoreOwner { user_id: user.id, first_name: "Seed", last_name: "", phone: "" };
                let profile = StoreProfile { name: format!("Seed store {n}"), ..StoreProfile::default() };
                let staff_password =
                    StaffPassword { password: SecretString::from("Seed-Staff-2026"), hash: hash.clone() };
                let sealer =
                    SecretSealer::from_master(&SecretString::from("seed-master-secret-0123456789abcdef"));
                let staff = StaffSeed { password: &staff_password, sealer: &sealer };
                provision_store(
                    &mut tx,
                    &owner,
                    &profile,
                    &SlugChoice::FromName { field: "name" },
                    &migrations,
                    staff,
                )
                .await
                .map_err(|e| anyhow::anyhow!("provisioning seed store {n}: {e}"))?;
                tx.commit().await?;
            }
        })
    });
    for worker in futures_util::future::join_all(workers).await {
        worker??;
    }
    Ok(())
}

/// An owner's bearer token and store key, for store-scoped requests.
#[derive(Clone)]
struct Caller {
    token: String,
    tenant_key: String,
}

async fn me(levels: &[usize], phase: Duration, clients: usize) -> anyhow::Result<()> {
    let server = BenchServer::start(bench_config()).await?;
    let (pool, state, addr) = (server.pool.clone(), server.state.clone(), server.addr);
    let hash = state.hasher.hash(SecretString::from(LOGIN_PASSWORD.to_owned())).await?;
    let client = reqwest::Client::new();

    println!("| stores | pass | clients | requests/s | p50 ms | p99 ms | errors | kassa backends RSS, MiB |");
    println!("|---:|---|---:|---:|---:|---:|---:|---|");
    let mut seeded = 0;
    for &level in levels {
        seed_stores(&pool, &state, &hash, seeded, level - seeded.min(level), 4).await?;
        seeded = seeded.max(level);
        let callers = Arc::new(owner_sessions(&pool, &state).await?);
        let request = {
            let (client, base, callers) = (client.clone(), format!("http://{addr}"), Arc::clone(&callers));
            move |i: usize| {
                // A scattered walk over every store, so requests roam the whole fleet.
                let caller = &callers[i.wrapping_mul(7919) % callers.len()];
                let request = client
                    .get(format!("{base}/api/users/auth/me/"))
                    .bearer_auth(&caller.token)
                    .header("x-tenant-key", &caller.tenant_key);
                async move { request.send().await.map(|r| r.status().as_u16()) }
            }
        };
        // The first pass meets every store for the first time (store cache and PostgreSQL's
        // per-connection catalog caches cold); the second pass finds them warm.
        for pass in ["first", "second"] {
            let stats = drive(phase, clients, request.clone()).await;
            let rate = stats.requests as f64 / stats.elapsed.as_secs_f64();
            let mut latencies = stats.latencies;
            let p = Percentiles::of(&mut latencies);
            let memory = backend_memory_mib(&pool).await?;
            println!(
                "| {level} | {pass} | {clients} | {rate:.0} | {:.1} | {:.1} | {} | {memory} |",
                p.p50, p.p99, stats.errors
            );
        }
    }
    server.stop().await
}

async fn fleet(stores: usize, seed_jobs: usize, jobs: &[usize]) -> anyhow::Result<()> {
    let most_jobs = jobs.iter().copied().max().unwrap_or(1).max(seed_jobs);
    let pool_size = (most_jobs + 2).to_string();
    let server = BenchServer::start(bench_config_with(&[("DATABASE_POOL_SIZE", &pool_size)])).await?;
    let (pool, state) = (server.pool.clone(), server.state.clone());
    let hash = state.hasher.hash(SecretString::from(LOGIN_PASSWORD.to_owned())).await?;
    let (disk_before, catalog_before) = disk_and_catalog_bytes(&pool).await?;

    // The fleet as the previous release left it: every tenant migration but the newest,
    // which is then rolled out for real (the first row after provisioning).
    let all_migrations = Arc::clone(&state.tenant_migrations);
    let previous: Arc<[Migration]> = all_migrations[..all_migrations.len() - 1].into();
    let started = Instant::now();
    seed_stores_at(&pool, &hash, 0, stores, seed_jobs, previous).await?;
    let provisioning = started.elapsed();
    let (disk_after, catalog_after) = disk_and_catalog_bytes(&pool).await?;
    let per_store = |before: i64, after: i64| (after - before) as f64 / stores as f64 / 1024.0;
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| provisioning {stores} stores, {seed_jobs} jobs | {:.1} s, {:.0} stores/s |",
        provisioning.as_secs_f64(),
        stores as f64 / provisioning.as_secs_f64()
    );
    println!("| disk per store (whole database) | {:.0} KiB |", per_store(disk_before, disk_after));
    println!("| of which system catalog | {:.0} KiB |", per_store(catalog_before, catalog_after));

    let schemas = kassa::db::migrate::list_tenant_schemas(&pool).await?;
    let newest = all_migrations.last().ok_or_else(|| anyhow::anyhow!("no tenant migrations"))?;
    let newest_jobs = jobs.first().copied().unwrap_or(4);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    let report =
        kassa::db::fleet::migrate_schemas(&pool, schemas.clone(), &all_migrations, newest_jobs, &(), &stop)
            .await;
    let elapsed = started.elapsed();
    anyhow::ensure!(report.is_success() && report.migrated == stores, "rollout failed: {report:?}");
    println!(
        "| tenant migration {} ({}) to {stores} schemas, --jobs {newest_jobs} | {:.1} s, {:.0} schemas/s |",
        newest.version,
        newest.description,
        elapsed.as_secs_f64(),
        stores as f64 / elapsed.as_secs_f64()
    );
    let mut migrations: Vec<Migration> = all_migrations.to_vec();
    for (n, &jobs) in jobs.iter().enumerate() {
        let version = 9000 + i64::try_from(n)?;
        let sql = format!("alter table employees add column bench_note_{n} text");
        migrations.push(Migration::new(
            version,
            format!("bench rollout {n}").into(),
            MigrationType::Simple,
            AssertSqlSafe(sql).into_sql_str(),
            false,
        ));
        let stop = std::sync::atomic::AtomicBool::new(false);
        let started = Instant::now();
        let report =
            kassa::db::fleet::migrate_schemas(&pool, schemas.clone(), &migrations, jobs, &(), &stop).await;
        let elapsed = started.elapsed();
        anyhow::ensure!(report.is_success() && report.migrated == stores, "rollout failed: {report:?}");
        println!(
            "| one new tenant migration to {stores} schemas, --jobs {jobs} | {:.1} s, {:.0} schemas/s |",
            elapsed.as_secs_f64(),
            stores as f64 / elapsed.as_secs_f64()
        );
    }
    println!(
        "| kassa's backends after the rollouts touched every schema | {} MiB |",
        backend_memory_mib(&pool).await?
    );
    server.stop().await
}

/// The database's size on disk, and the part of it that is PostgreSQL's own catalog.
async fn disk_and_catalog_bytes(pool: &PgPool) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "select pg_database_size(current_database()),
                (select sum(pg_total_relation_size(c.oid))::bigint from pg_class c
                 join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'pg_catalog' and c.relkind = 'r')",
    )
    .fetch_one(pool)
    .await?)
}

/// `per_store` cashiers in every store: accounts, memberships and employee rows, written
/// directly (the benchmark measures reads, not argon2). One statement per store: the rows
/// it inserts into `public.users` feed the membership and employee inserts, so nothing
/// searches `public.users` (which grows with the fleet) for them.
async fn seed_staff(pool: &PgPool, per_store: usize, password_hash: &str) -> anyhow::Result<()> {
    let stores: Vec<(i64, String)> =
        sqlx::query_as("select id, schema_name from public.stores").fetch_all(pool).await?;
    for (store_id, schema) in stores {
        let schema = kassa::db::schema::SchemaName::parse(&schema)?;
        // The schema is a validated, quoted name: nothing user-made reaches the text.
        sqlx::query(AssertSqlSafe(format!(
            "with made as (
                 insert into public.users (username, password_hash, first_name, last_name)
                 select 'staff' || $1 || '_' || g, $3, 'Сотрудник', g::text
                 from generate_series(1, $2) g returning id, first_name, last_name),
             member as (
                 insert into public.store_memberships (user_id, store_id, role)
                 select id, $1, 'cashier' from made)
             insert into {}.employees (user_id, role, first_name, last_name)
             select id, 'cashier', first_name, last_name from made",
            schema.quoted()
        )))
        .persistent(false)
        .bind(store_id)
        .bind(i64::try_from(per_store)?)
        .bind(password_hash)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Resident memory of each PostgreSQL backend serving kassa, largest first (read from
/// /proc: the benchmark runs beside its database).
async fn backend_memory_mib(pool: &PgPool) -> anyhow::Result<String> {
    let mut sizes: Vec<u64> =
        backend_memory(pool).await?.iter().map(|memory| memory.rss_kib / 1024).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    Ok(format!(
        "{} backends: {}",
        sizes.len(),
        sizes.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    ))
}

/// What one PostgreSQL backend holds in memory.
#[derive(Debug, Clone, Copy)]
struct BackendMemory {
    /// Resident, including the pages of shared buffers it has touched.
    rss_kib: u64,
    /// Its own: catalog caches, plans, work memory (`Private_Clean` + `Private_Dirty`).
    private_kib: u64,
}

/// The memory of every PostgreSQL backend serving kassa (`application_name = 'kassa'`).
async fn backend_memory(pool: &PgPool) -> anyhow::Result<Vec<BackendMemory>> {
    let pids = backend_pids(pool).await?;
    let field = |rollup: &str, name: &str| -> u64 {
        rollup
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    Ok(pids
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .map(|rollup| BackendMemory {
            rss_kib: field(&rollup, "Rss:"),
            private_kib: field(&rollup, "Private_Clean:") + field(&rollup, "Private_Dirty:"),
        })
        .collect())
}

/// The PostgreSQL backends serving kassa now (`application_name = 'kassa'`).
async fn backend_pids(pool: &PgPool) -> anyhow::Result<Vec<u32>> {
    let pids: Vec<i32> =
        sqlx::query_scalar("select pid from pg_stat_activity where application_name = 'kassa'")
            .fetch_all(pool)
            .await?;
    Ok(pids.into_iter().filter_map(|pid| u32::try_from(pid).ok()).collect())
}

/// A session and an access token for every store owner (made directly: the benchmark is
/// about `me`, not about argon2).
async fn owner_sessions(pool: &PgPool, state: &AppState) -> anyhow::Result<Vec<Caller>> {
    let rows: Vec<(uuid::Uuid, i64, String)> = sqlx::query_as(
        "with owners as (select owner_id, tenant_key from public.stores),
              made as (insert into public.sessions (id, user_id, refresh_token_hash, expires_at)
                       select gen_random_uuid(), owner_id, sha256(random()::text::bytea), now() + interval '1 day'
                       from owners returning id, user_id)
         select made.id, made.user_id, owners.tenant_key from made join owners on owners.owner_id = made.user_id",
    )
    .fetch_all(pool)
    .await?;
    let mut callers = Vec::with_capacity(rows.len());
    for (session_id, user_id, tenant_key) in rows {
        callers.push(Caller {
            token: state
                .tokens
                .issue(user_id, session_id, kassa::credentials::tokens::SessionReach::default())
                .await?,
            tenant_key,
        });
    }
    Ok(callers)
}

const LOGIN_PASSWORD: &str = "Bench-Password-2026";

/// What a load phase measured.
struct PhaseStats {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Runs `concurrency` loops of `request` for `phase`; a non-2xx answer counts as an error.
async fn drive<F, Fut>(phase: Duration, concurrency: usize, request: F) -> PhaseStats
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = reqwest::Result<u16>> + Send,
{
    let started = Instant::now();
    let deadline = started + phase;
    let workers = (0..concurrency).map(|worker| {
        let request = request.clone();
        tokio::spawn(async move {
            let (mut latencies, mut errors, mut i) = (Vec::new(), 0, worker);
            while Instant::now() < deadline {
                let sent = Instant::now();
                match request(i).await {
                    Ok(status) if (200..300).contains(&status) => latencies.push(sent.elapsed()),
                    _ => errors += 1,
                }
                i += concurrency;
            }
            (latencies, errors)
        })
    });
    let mut stats = PhaseStats { requests: 0, errors: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for (latencies, errors) in futures_util::future::join_all(workers).await.into_iter().flatten() {
        stats.requests += latencies.len();
        stats.errors += errors;
        stats.latencies.extend(latencies);
    }
    stats.elapsed = started.elapsed();
    if stats.latencies.is_empty() {
        stats.latencies.push(Duration::ZERO);
    }
    stats
}

/// Latency percentiles in milliseconds.
struct Percentiles {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

impl Percentiles {
    fn of(samples: &mut [Duration]) -> Self {
        samples.sort();
        let at = |q: f64| {
            let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[index].as_secs_f64() * 1000.0
        };
        Percentiles { p50: at(0.50), p95: at(0.95), p99: at(0.99), max: at(1.0) }
    }
}
