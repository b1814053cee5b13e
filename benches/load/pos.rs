//! `pos`: every till of every store busy at once, measured with wrk against the release
//! binary on a fresh database, beside `pgbench -S` on the same cluster and concurrency.
//!
//! S stores × E employees are provisioned directly (the same provisioning code, no HTTP),
//! everyone gets a session, and then each scenario runs for a fixed time at a fixed
//! concurrency with a random caller per request (`tills.lua`). kassa runs as its own process
//! (`kassa serve`, the binary cargo built beside this benchmark), so its peak resident
//! memory can be read per scenario (`VmHWM`, reset through `/proc/<pid>/clear_refs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use kassa::credentials::tokens::{RefreshToken, SessionReach};
use kassa::db::{migrate, pool};
use kassa::state::AppState;
use secrecy::SecretString;
use sqlx::PgPool;

use crate::{
    BackendMemory, BenchDb, backend_memory, backend_pids, bench_config_with, seed_staff, seed_stores,
};

/// The password of every seeded account.
const PASSWORD: &str = "Bench-Password-2026";
/// The wrk script, next to this file.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/load/tills.lua");

#[derive(Debug, Clone, clap::Args)]
pub struct PosArgs {
    /// Stores.
    #[arg(long, default_value_t = 100)]
    stores: usize,
    /// Employees (cashiers) per store besides the owner.
    #[arg(long, default_value_t = 10)]
    employees: usize,
    /// Concurrent connections of each scenario.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds each scenario runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// wrk and pgbench threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Connections reading `me` at a till's pace (see `--pause-ms`), alone for its idle p99
    /// and while logins run; also the connections of the registration row.
    #[arg(long, default_value_t = 4)]
    light_clients: usize,
    /// Pause of each light `me` connection between requests, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pause_ms: u64,
    /// Sign-ins sent at the same instant, each on its own connection, at the end.
    #[arg(long, default_value_t = 1000)]
    burst: usize,
    /// Seconds of `me` and of the staff list before they are measured: every store
    /// connection open and, given enough requests, every store's statements prepared.
    #[arg(long, default_value_t = 3)]
    warm_up_seconds: u64,
    /// Only the store reads (`me`, the staff list) beside `pgbench -S`: the quick loop
    /// while working on the read path.
    #[arg(long)]
    reads_only: bool,
    /// Only the paced `me` readers, idle and beside flat-out logins and PIN sign-ins: the
    /// quick loop while working on reader latency under hashing.
    #[arg(long, conflicts_with = "reads_only")]
    sign_ins_only: bool,
}

/// One wrk run, as `tills.lua` reports it.
#[derive(Debug, Clone, Copy)]
struct Run {
    requests: u64,
    seconds: f64,
    non_2xx: u64,
    socket_errors: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    peak_rss_mib: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

pub async fn run(args: PosArgs) -> anyhow::Result<()> {
    ensure_wrk()?;
    let db = BenchDb::create().await?;
    // Seeding 10,000 stores runs statements over the whole fleet (sessions for every
    // member, the data files) that outlast a request's 30 s on a slow day: they are not
    // requests, so the seeding pool waits for them.
    let config = std::sync::Arc::new(bench_config_with(&[("REQUEST_TIMEOUT", "10m")]));
    let pool = pool::lazy_pool(&config, db.options());
    migrate::migrate_public(&pool).await?;
    let state = AppState::new(std::sync::Arc::clone(&config), pool.clone());

    let started = Instant::now();
    let hash = state.hasher.hash(SecretString::from(PASSWORD.to_owned())).await?;
    seed_stores(&pool, &state, &hash, 0, args.stores, 4).await?;
    seed_staff(&pool, args.employees, &hash).await?;
    let data = DataFiles::write(&pool, &state, &args).await?;
    // After the data files: their till rows are the cashiers with an account.
    seed_shared_accounts(&pool, &hash).await?;
    // The seeding connections touched every store's schema; from here on the benchmark
    // reads PostgreSQL under a name of its own, so only the server's backends are measured.
    pool.close().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(db.options().application_name("kassa-bench"))
        .await?;
    eprintln!(
        "seeded {} stores x {} employees in {:.1} s",
        args.stores,
        args.employees,
        started.elapsed().as_secs_f64()
    );
    let hash_ms = one_hash_ms(&state).await?;

    let server = Server::start(&db)?;
    let pgbench_tps = pgbench(&db, args.clients, args.threads, args.seconds).await?;
    let wrk =
        Wrk { addr: server.addr.clone(), threads: args.threads, seconds: args.seconds, pid: server.pid() };

    // Each scenario on its own, in the order of the table.
    let flat_out = |connections| Load { connections, pause_ms: 0 };
    let paced = Load { connections: args.light_clients, pause_ms: args.pause_ms };
    // A warm-up: every store's statements prepared and every store connection open, as
    // on a server that has been up for more than a few seconds.
    let warm = Wrk { seconds: args.warm_up_seconds, ..wrk.clone() };
    warm.run("me", &data.staff, flat_out(args.clients))?;
    warm.run("employees", &data.owners, flat_out(args.clients))?;
    if args.sign_ins_only {
        let me_idle = wrk.run("me", &data.staff, paced)?;
        let (login, me_during_login) =
            wrk.run_beside(("login", &data.logins, flat_out(args.clients)), ("me", &data.staff, paced))?;
        let (pin_login, me_during_pins) =
            wrk.run_beside(("pin-login", &data.pins, flat_out(args.clients)), ("me", &data.staff, paced))?;
        println!(
            "pgbench -S: {pgbench_tps:.0} tps; one argon2id hash: {hash_ms:.1} ms; {}",
            autogroup_note()
        );
        for (name, run) in [
            ("me, paced, idle", me_idle),
            ("login", login),
            ("me, paced, during logins", me_during_login),
            ("pin-login", pin_login),
            ("me, paced, during PIN sign-ins", me_during_pins),
        ] {
            println!(
                "{name}: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, non-2xx {}",
                run.rate(),
                run.p50_ms,
                run.p99_ms,
                run.max_ms,
                run.non_2xx
            );
        }
        println!("{}", hashing_processes_note(server.pid()));
        return db.drop_database().await;
    }
    let postgres = CpuMeter::of(&backend_pids(&pool).await?);
    let kassa = CpuMeter::of(&[server.pid()]);
    let before = (kassa.seconds(), postgres.seconds());
    let me = wrk.run("me", &data.staff, flat_out(args.clients))?;
    let me_cpu = (kassa.seconds() - before.0, postgres.seconds() - before.1);
    let before = (kassa.seconds(), postgres.seconds());
    let employees = wrk.run("employees", &data.owners, flat_out(args.clients))?;
    let list_cpu = (kassa.seconds() - before.0, postgres.seconds() - before.1);
    let per_request = |cpu: f64, requests: u64| cpu * 1e6 / requests as f64;
    let cpu_line = format!(
        "CPU per `me` request: kassa {:.0} µs, PostgreSQL {:.0} µs (its {} backends serving kassa); \
         per list request: kassa {:.0} µs, PostgreSQL {:.0} µs",
        per_request(me_cpu.0, me.requests),
        per_request(me_cpu.1, me.requests),
        postgres.pids.len(),
        per_request(list_cpu.0, employees.requests),
        per_request(list_cpu.1, employees.requests),
    );
    if args.reads_only {
        println!("{cpu_line}");
        let backends = backend_memory(&pool).await?;
        println!("pgbench -S: {pgbench_tps:.0} tps");
        for (name, run) in [("me", me), ("employees", employees)] {
            println!(
                "{name}: {:.0}/s ({:.0}% of pgbench -S), p50 {:.1} ms, p99 {:.1} ms, non-2xx {}, server peak RSS {:.0} MiB",
                run.rate(),
                100.0 * run.rate() / pgbench_tps,
                run.p50_ms,
                run.p99_ms,
                run.non_2xx,
                run.peak_rss_mib
            );
        }
        print_backend_memory(&backends);
        return db.drop_database().await;
    }
    let me_idle = wrk.run("me", &data.staff, paced)?;
    let (login, me_during_login) =
        wrk.run_beside(("login", &data.logins, flat_out(args.clients)), ("me", &data.staff, paced))?;
    let (pin_login, me_during_pins) =
        wrk.run_beside(("pin-login", &data.pins, flat_out(args.clients)), ("me", &data.staff, paced))?;
    let shared_login = wrk.run("login", &data.shared_logins, flat_out(args.clients))?;
    let approval = wrk.run("approval", &data.approvals, flat_out(args.clients))?;
    let refresh = wrk.run("refresh", &data.refresh, flat_out(args.clients))?;
    let introspect = wrk.run("introspect", &data.introspections, flat_out(args.clients))?;
    let create = wrk.run("create", &data.owners, flat_out(args.clients))?;
    let register = wrk.run("register", &data.password, flat_out(args.light_clients))?;
    let burst = login_burst(&server, &data.logins, args.burst).await?;
    let hashing = hashing_processes_note(server.pid());
    let backends = backend_memory(&pool).await?;
    drop(server);

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let login_ceiling = cores as f64 * 1000.0 / hash_ms;
    println!(
        "{} stores x {} employees; {} connections, {} paced at {} ms for `me` idle / during logins; {} s per scenario; wrk -t{}; {} cores",
        args.stores,
        args.employees,
        args.clients,
        args.light_clients,
        args.pause_ms,
        args.seconds,
        args.threads,
        cores
    );
    println!(
        "pgbench -S -c {} -j {} -T {}: {pgbench_tps:.0} tps; one argon2id hash: {hash_ms:.1} ms; {}",
        args.clients,
        args.threads,
        args.seconds,
        autogroup_note()
    );
    println!();
    println!(
        "| scenario | connections | requests/s | p50 ms | p99 ms | max ms | non-2xx | peak RSS MiB | target | met |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
    // The rows whose target is the hashing bound (every request hashes a secret once), and
    // the `me` rows measured while those run.
    let hashing_bound = |name, run: Run| {
        let target = format!("≥ 85% of {cores} cores ÷ {hash_ms:.1} ms = {:.0}/s", 0.85 * login_ceiling);
        (name, args.clients, run, target, run.rate() >= 0.85 * login_ceiling)
    };
    let beside_logins = |name, run: Run| {
        let target = format!("p99 ≤ 2 × idle ({:.1} ms)", 2.0 * me_idle.p99_ms);
        (name, args.light_clients, run, target, run.p99_ms <= 2.0 * me_idle.p99_ms)
    };
    let rows = [
        (
            "`GET /auth/me/`",
            args.clients,
            me,
            format!(
                "≥ 50% of pgbench -S ({:.0}/s: {:.0}%), p99 ≤ 10 ms",
                pgbench_tps * 0.5,
                100.0 * me.rate() / pgbench_tps
            ),
            me.rate() >= 0.5 * pgbench_tps && me.p99_ms <= 10.0,
        ),
        (
            "`GET /employees/?page_size=20`",
            args.clients,
            employees,
            format!("≥ 40% of pgbench -S ({:.0}%)", 100.0 * employees.rate() / pgbench_tps),
            employees.rate() >= 0.4 * pgbench_tps,
        ),
        (
            "`GET /auth/me/`, idle",
            args.light_clients,
            me_idle,
            "reference for the row below".to_owned(),
            true,
        ),
        hashing_bound("`POST /auth/login/`", login),
        beside_logins("`GET /auth/me/` during logins", me_during_login),
        hashing_bound("`POST /auth/pin-login/`", pin_login),
        beside_logins("`GET /auth/me/` during PIN sign-ins", me_during_pins),
        hashing_bound("`POST /auth/login/` as a store's shared account (with `cashiers`)", shared_login),
        hashing_bound("`POST /approvals/`", approval),
        ("`POST /auth/token/refresh/`", args.clients, refresh, String::new(), true),
        (
            "`POST /oauth/introspect` (a cashier, in their store)",
            args.clients,
            introspect,
            format!("beside `me` ({:.0}/s)", me.rate()),
            true,
        ),
        ("`POST /employees/`", args.clients, create, String::new(), true),
        ("`POST /auth/register/`", args.light_clients, register, String::new(), true),
    ];
    for (name, connections, run, target, met) in rows {
        let clean = run.non_2xx == 0 && run.socket_errors == 0 && run.peak_rss_mib <= 100.0;
        println!(
            "| {name} | {connections} | {:.0} | {:.1} | {:.1} | {:.1} | {}{} | {:.0} | {target} | {} |",
            run.rate(),
            run.p50_ms,
            run.p99_ms,
            run.max_ms,
            run.non_2xx,
            if run.socket_errors > 0 {
                format!(" (+{} socket errors)", run.socket_errors)
            } else {
                String::new()
            },
            run.peak_rss_mib,
            if met && clean { "yes" } else { "no" }
        );
    }
    println!("\nEvery row also targets zero non-2xx and a peak RSS ≤ 100 MiB.");
    println!("{cpu_line}");
    println!(
        "\n{} sign-ins at once: {} answered 200, {} other, in {:.1} s (last answer); peak RSS {:.0} MiB",
        args.burst, burst.ok, burst.other, burst.seconds, burst.peak_rss_mib
    );
    println!("{hashing}");
    print_backend_memory(&backends);
    pool.close().await;
    db.drop_database().await
}

/// Whether Linux groups processes by session for CPU time (`kernel.sched_autogroup_enabled`).
/// With it on, kassa and PostgreSQL (started in sessions of their own) get equal shares of
/// the CPU as two groups, and the hashing threads' lower priority counts only inside kassa's
/// group: the paced readers' latency during sign-ins depends on it (docs/performance.md).
fn autogroup_note() -> &'static str {
    match std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled").as_deref().map(str::trim) {
        Ok("1") => "autogroup on",
        Ok("0") => "autogroup off",
        _ => "autogroup unknown",
    }
}

/// CPU time of a set of processes, read from /proc (user + system).
struct CpuMeter {
    pids: Vec<u32>,
}

impl CpuMeter {
    fn of(pids: &[u32]) -> Self {
        CpuMeter { pids: pids.to_vec() }
    }

    /// Seconds of CPU the processes have used so far (those still running).
    fn seconds(&self) -> f64 {
        // SAFETY: sysconf has no preconditions.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let ticks: u64 = self
            .pids
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
            .filter_map(|stat| {
                // Fields after the command name, which is in parentheses and may hold spaces.
                let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            })
            .sum();
        ticks as f64 / ticks_per_second
    }
}

fn print_backend_memory(backends: &[BackendMemory]) {
    let largest = |of: fn(&BackendMemory) -> u64| backends.iter().map(of).max().unwrap_or(0) as f64 / 1024.0;
    println!(
        "PostgreSQL backends serving kassa after the run: {}; the largest holds {:.1} MiB of its own \
         (private), {:.1} MiB resident with the shared buffers it touched (target: ≤ 64 MiB)",
        backends.len(),
        largest(|memory| memory.private_kib),
        largest(|memory| memory.rss_kib)
    );
}

/// What a burst of simultaneous sign-ins did.
struct Burst {
    ok: usize,
    other: usize,
    seconds: f64,
    peak_rss_mib: f64,
}

/// `count` sign-ins sent at once, each on a connection of its own: argon2 runs at most one
/// hash per core at a time, so the others wait without growing the server's memory.
async fn login_burst(server: &Server, logins: &Path, count: usize) -> anyhow::Result<Burst> {
    let users: Vec<String> = std::fs::read_to_string(logins)?.lines().map(str::to_owned).collect();
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(120)).build()?;
    reset_peak_rss(server.pid());
    let started = Instant::now();
    let url = format!("http://{}/api/users/auth/login/", server.addr);
    let requests = (0..count).map(|i| {
        let (client, url) = (client.clone(), url.clone());
        let (username, password) = users[i % users.len()].split_once('\t').unwrap_or_default();
        let body = serde_json::json!({"username": username, "password": password});
        tokio::spawn(async move { client.post(url).json(&body).send().await.map(|r| r.status().as_u16()) })
    });
    let answers = futures_util::future::join_all(requests).await;
    let seconds = started.elapsed().as_secs_f64();
    let ok = answers.iter().filter(|a| matches!(a, Ok(Ok(200)))).count();
    Ok(Burst { ok, other: count - ok, seconds, peak_rss_mib: peak_rss_mib(server.pid()) })
}

/// wrk from Debian's package, installed when missing (as CI installs PostgreSQL).
fn ensure_wrk() -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    eprintln!("wrk is missing: installing it with apt-get");
    let sudo = if nix_is_root() { vec![] } else { vec!["sudo"] };
    let status = Command::new(sudo.first().copied().unwrap_or("apt-get"))
        .args(sudo.first().map(|_| "apt-get"))
        .args(["install", "-y", "-qq", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()?;
    anyhow::ensure!(
        status.success(),
        "could not install wrk: install it (apt-get install wrk) and run again"
    );
    Ok(())
}

fn nix_is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// The median of 9 argon2id hashes with kassa's parameters, one at a time.
async fn one_hash_ms(state: &AppState) -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for _ in 0..9 {
        let started = Instant::now();
        state.hasher.hash(SecretString::from(PASSWORD.to_owned())).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The callers of each scenario, one tab-separated row each, for `tills.lua`.
struct DataFiles {
    _dir: tempfile::TempDir,
    /// (access token, tenant key) of every cashier.
    staff: PathBuf,
    /// (access token, tenant key) of every owner.
    owners: PathBuf,
    /// (username, password) of every cashier.
    logins: PathBuf,
    /// (username, password) of every store's shared staff account.
    shared_logins: PathBuf,
    /// Unused refresh tokens, each of its own session.
    refresh: PathBuf,
    /// (service client's `Authorization`, a cashier's access token, their store's key): a
    /// platform service asking about the cashier in that store.
    introspections: PathBuf,
    /// The password registrations use.
    password: PathBuf,
    /// (device token, tenant key, employee id, PIN) of every cashier, each on a till of
    /// their own: PIN sign-in measured, not the device lock of one busy till.
    pins: PathBuf,
    /// (access token of a PIN session on the till, tenant key, device token, the owner's
    /// employee id, the owner's PIN) of every cashier: an approval from the store's owner.
    approvals: PathBuf,
}

/// The PIN every seeded member signs in on a till with.
const PIN: &str = "482915";

/// Gives every owner and cashier a PIN, and every cashier a paired till with a PIN session
/// on it; returns the rows of the `pin-login` and `approval` scenarios.
async fn seed_tills(pool: &PgPool, state: &AppState) -> anyhow::Result<(Vec<Vec<String>>, Vec<Vec<String>>)> {
    let pin_hash = state.hasher.hash(SecretString::from(PIN.to_owned())).await?;
    anyhow::ensure!(!pin_hash.contains('\''), "a PHC string never holds a quote");
    // Everything on one connection: the temporary table of who is where lives in its session.
    let mut conn = pool.acquire().await?;
    sqlx::raw_sql(
        "create temporary table bench_members (store_id bigint, tenant_key text, user_id bigint, employee_id bigint, role text)",
    )
    .execute(&mut *conn)
    .await?;
    // Committed every 100 stores: one transaction over 10,000 schemas would hold a lock on
    // 20,000 tables at once, more than PostgreSQL's lock table has room for.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "do $$
         declare s record; done integer := 0;
         begin
             for s in select id, tenant_key, schema_name from public.stores order by id loop
                 execute format('insert into %I.employee_pins (employee_id, pin_hash)
                                 select id, %L from %I.employees where role in (''owner'', ''cashier'')',
                                s.schema_name, '{pin_hash}', s.schema_name);
                 execute format('insert into bench_members select %s, %L, user_id, id, role
                                 from %I.employees where role in (''owner'', ''cashier'')',
                                s.id, s.tenant_key, s.schema_name);
                 done := done + 1;
                 if done % 100 = 0 then commit; end if;
             end loop;
         end $$"
    )))
    .execute(&mut *conn)
    .await?;
    let cashiers: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
        "select c.store_id, c.tenant_key, c.user_id, c.employee_id, o.employee_id
         from bench_members c join bench_members o on o.store_id = c.store_id and o.role = 'owner'
         where c.role = 'cashier' order by c.store_id, c.employee_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut pins = Vec::with_capacity(cashiers.len());
    let mut approvals = Vec::with_capacity(cashiers.len());
    for (store_id, key, user_id, employee_id, owner_employee_id) in cashiers {
        let token = kassa::credentials::tokens::OpaqueToken::generate();
        let (device_token, token_hash) = (token.expose().to_owned(), token.digest());
        let session: uuid::Uuid = sqlx::query_scalar(
            "with device as (insert into public.devices (store_id, name, token_hash) values ($1, 'Касса', $2) returning id)
             insert into public.sessions (id, user_id, refresh_token_hash, expires_at, device_id, store_id)
             select gen_random_uuid(), $3, sha256(random()::text::bytea), now() + interval '1 day', device.id, $1
             from device returning id",
        )
        .bind(store_id)
        .bind(&token_hash)
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        let access = state
            .tokens
            .issue(user_id, session, SessionReach { bound_store_id: Some(store_id), enrolment_only: false })
            .await?;
        pins.push(vec![device_token.clone(), key.clone(), employee_id.to_string(), PIN.to_owned()]);
        approvals.push(vec![access, key, device_token, owner_employee_id.to_string(), PIN.to_owned()]);
    }
    Ok((pins, approvals))
}

impl DataFiles {
    async fn write(pool: &PgPool, state: &AppState, args: &PosArgs) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let write = |name: &str, rows: &[Vec<String>]| -> anyhow::Result<PathBuf> {
            let path = dir.path().join(name);
            let text = rows.iter().fold(String::new(), |mut text, row| {
                let _ = writeln!(text, "{}", row.join("\t"));
                text
            });
            std::fs::write(&path, text)?;
            Ok(path)
        };
        let callers = |role: &'static str| async move {
            let rows: Vec<(uuid::Uuid, i64, String)> = sqlx::query_as(
                "with members as (select m.user_id, s.tenant_key from public.store_memberships m
                                  join public.stores s on s.id = m.store_id where m.role = $1),
                      made as (insert into public.sessions (id, user_id, refresh_token_hash, expires_at)
                               select gen_random_uuid(), user_id, sha256(random()::text::bytea), now() + interval '1 day'
                               from members returning id, user_id)
                 select made.id, made.user_id, members.tenant_key from made join members using (user_id)",
            )
            .bind(role)
            .fetch_all(pool)
            .await?;
            let mut callers = Vec::with_capacity(rows.len());
            for (session, user, key) in rows {
                callers.push(vec![state.tokens.issue(user, session, SessionReach::default()).await?, key]);
            }
            anyhow::Ok(callers)
        };
        let staff_rows = callers("cashier").await?;
        let introspections = write("introspections.tsv", &introspection_rows(pool, &staff_rows).await?)?;
        let staff = write("staff.tsv", &staff_rows)?;
        let owners = write("owners.tsv", &callers("owner").await?)?;
        let usernames: Vec<String> =
            sqlx::query_scalar("select username from public.users where username like 'staff%'")
                .fetch_all(pool)
                .await?;
        // Each username with the password every seeded account has.
        let with_password =
            |names: Vec<String>| names.into_iter().map(|u| vec![u, PASSWORD.to_owned()]).collect::<Vec<_>>();
        let logins = write("logins.tsv", &with_password(usernames))?;
        let shared: Vec<String> = sqlx::query_scalar(
            "select u.username from public.staff_accounts a join public.users u on u.id = a.user_id",
        )
        .fetch_all(pool)
        .await?;
        let shared_logins = write("shared_logins.tsv", &with_password(shared))?;
        let refresh = write("refresh.tsv", &refresh_tokens(pool, args.seconds as usize * 8_000).await?)?;
        let password = write("password.tsv", &[vec![PASSWORD.to_owned()]])?;
        let (pin_rows, approval_rows) = seed_tills(pool, state).await?;
        let pins = write("pins.tsv", &pin_rows)?;
        let approvals = write("approvals.tsv", &approval_rows)?;
        Ok(DataFiles {
            _dir: dir,
            staff,
            owners,
            logins,
            shared_logins,
            refresh,
            introspections,
            password,
            pins,
            approvals,
        })
    }
}

/// Service clients the introspect scenario calls as: a few, as a platform has a few services.
const SERVICE_CLIENTS: usize = 4;

/// One row per cashier caller (`staff`: access token, tenant key), each with the HTTP Basic
/// credentials of one of [`SERVICE_CLIENTS`] service clients made for the run.
async fn introspection_rows(pool: &PgPool, staff: &[Vec<String>]) -> anyhow::Result<Vec<Vec<String>>> {
    use base64::Engine as _;
    let mut conn = pool.acquire().await?;
    let mut authorizations = Vec::with_capacity(SERVICE_CLIENTS);
    for n in 0..SERVICE_CLIENTS {
        let (client_id, secret) = (kassa::oauth::forms::new_client_id(), RefreshToken::generate());
        kassa::oauth::queries::insert_client(&mut conn, &format!("bench-{n}"), &client_id, &secret.digest())
            .await?;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{}", secret.expose()));
        authorizations.push(format!("Basic {basic}"));
    }
    Ok(staff
        .iter()
        .enumerate()
        .map(|(n, row)| vec![authorizations[n % SERVICE_CLIENTS].clone(), row[0].clone(), row[1].clone()])
        .collect())
}

/// `count` sessions of the cashiers, each with its own refresh token (more than a run uses:
/// a reused token would answer 401 and show as non-2xx).
async fn refresh_tokens(pool: &PgPool, count: usize) -> anyhow::Result<Vec<Vec<String>>> {
    let tokens: Vec<RefreshToken> = (0..count).map(|_| RefreshToken::generate()).collect();
    let digests: Vec<Vec<u8>> = tokens.iter().map(RefreshToken::digest).collect();
    sqlx::query(
        "insert into public.sessions (id, user_id, refresh_token_hash, expires_at)
         select gen_random_uuid(), u.id, d.digest, now() + interval '1 day'
         from unnest($1::bytea[]) with ordinality d(digest, n)
         join (select id, row_number() over (order by id) as n, count(*) over () as total
               from public.users where username like 'staff%') u on u.n = (d.n - 1) % u.total + 1",
    )
    .bind(&digests)
    .execute(pool)
    .await?;
    Ok(tokens.iter().map(|token| vec![token.expose().to_owned()]).collect())
}

/// `kassa serve` from the release build, on the benchmark's database.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(db: &BenchDb) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_kassa"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.url())
            .env("JWT_SECRET", crate::JWT_SECRET)
            .env("BIND_ADDR", &addr)
            .env("METRICS_ADDR", "off")
            .env("LOGIN_RATE_LIMIT_PER_MINUTE", "1000000")
            // The introspect scenario's clients call far more than a real service would.
            .env("INTROSPECTION_RATE_LIMIT_PER_MINUTE", "1000000000")
            // The register scenario registers flat out from this one address.
            .env("REGISTRATION_LIMIT_PER_HOUR", "1000000000")
            .envs(
                // DATABASE_TRANSACTION_POOLING=true (with MIGRATE_ON_START=false) measures
                // what the PgBouncer setting costs on a direct connection.
                [
                    "DATABASE_POOL_SIZE",
                    "DATABASE_STORE_CONNECTIONS",
                    "DATABASE_STATEMENT_CACHE",
                    "DATABASE_MAX_LIFETIME",
                    "DATABASE_TRANSACTION_POOLING",
                    "MIGRATE_ON_START",
                    "RUST_LOG",
                ]
                .iter()
                .filter_map(|name| Some((name, std::env::var(name).ok()?))),
            )
            .stdout(Stdio::null())
            .spawn()
            .context("starting kassa serve")?;
        let server = Server { child, addr };
        server.wait_ready()?;
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut stream) = std::net::TcpStream::connect(&self.addr) {
                use std::io::{Read, Write};
                let _ = write!(stream, "GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.1 200") {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        anyhow::bail!("kassa did not become ready on {}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// How hard a wrk run pushes: connections, and each one's pause between requests.
#[derive(Debug, Clone, Copy)]
struct Load {
    connections: usize,
    pause_ms: u64,
}

#[derive(Clone)]
struct Wrk {
    addr: String,
    threads: usize,
    seconds: u64,
    pid: u32,
}

impl Wrk {
    fn command(&self, scenario: &str, data: &Path, load: Load) -> Command {
        let connections = load.connections;
        let mut command = Command::new("wrk");
        command
            .args(["-t", &self.threads.min(connections).to_string(), "-c", &connections.to_string()])
            .args(["-d", &format!("{}s", self.seconds), "--timeout", "10s", "-s", SCRIPT])
            .arg(format!("http://{}", self.addr))
            .env("KASSA_SCENARIO", scenario)
            .env("KASSA_DATA", data)
            .env("KASSA_THREADS", self.threads.min(connections).to_string())
            .env("KASSA_PAUSE_MS", load.pause_ms.to_string())
            // The database is fresh, so a tag unique within the run is enough.
            .env(
                "KASSA_RUN_TAG",
                format!("{}{}", scenario.chars().next().unwrap_or('x'), now_millis() % 100_000_000),
            )
            .stdout(Stdio::piped());
        command
    }

    fn run(&self, scenario: &str, data: &Path, load: Load) -> anyhow::Result<Run> {
        reset_peak_rss(self.pid);
        let output = self.command(scenario, data, load).output()?;
        let peak = peak_rss_mib(self.pid);
        parse(&output.stdout, peak).with_context(|| format!("wrk {scenario}"))
    }

    /// Two scenarios at once; each reports the server's peak over both.
    fn run_beside(
        &self,
        first: (&str, &Path, Load),
        second: (&str, &Path, Load),
    ) -> anyhow::Result<(Run, Run)> {
        reset_peak_rss(self.pid);
        let one = self.command(first.0, first.1, first.2).spawn()?;
        let two = self.command(second.0, second.1, second.2).spawn()?;
        let (one, two) = (one.wait_with_output()?, two.wait_with_output()?);
        let peak = peak_rss_mib(self.pid);
        Ok((parse(&one.stdout, peak)?, parse(&two.stdout, peak)?))
    }
}

fn now_millis() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

fn parse(stdout: &[u8], peak_rss_mib: f64) -> anyhow::Result<Run> {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("KASSA_RESULT ")).context("wrk printed no result")?;
    let n: Vec<u64> = line.split_whitespace().map(str::parse).collect::<Result<_, _>>()?;
    anyhow::ensure!(n.len() == 7, "unexpected wrk result {line}");
    Ok(Run {
        requests: n[0],
        seconds: n[1] as f64 / 1e6,
        non_2xx: n[2],
        socket_errors: n[3],
        p50_ms: n[4] as f64 / 1000.0,
        p99_ms: n[5] as f64 / 1000.0,
        max_ms: n[6] as f64 / 1000.0,
        peak_rss_mib,
    })
}

/// Resets the process's peak resident set (Linux ≥ 4.0), so each scenario reports its own.
fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// The server's hashing processes (`kassa hash-worker`, its children) and the largest peak
/// RSS among them: their memory is not the server's, so it is reported beside it.
fn hashing_processes_note(server: u32) -> String {
    let children: Vec<u32> = std::fs::read_dir(format!("/proc/{server}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|task| {
            std::fs::read_to_string(task.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    let peak = children.iter().map(|&pid| peak_rss_mib(pid)).fold(0.0_f64, f64::max);
    format!("hashing processes: {}, the largest peak RSS {peak:.0} MiB", children.len())
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// `pgbench -S` on a scale-1 database of its own in the same cluster: the ceiling of one
/// indexed read per transaction at this concurrency on this machine.
async fn pgbench(db: &BenchDb, clients: usize, threads: usize, seconds: u64) -> anyhow::Result<f64> {
    let binary = kassa::db::embedded::find_client_binary("pgbench")
        .context("pgbench not found (package postgresql-client)")?;
    let database = db.create_sibling("pgbench").await?;
    let url = db.url_of(&database);
    let init = Command::new(&binary).args(["-i", "-q", "-s", "1"]).arg(&url).output()?;
    anyhow::ensure!(init.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    let output = Command::new(&binary)
        .args([
            "-S",
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            &threads.to_string(),
            "-T",
            &seconds.to_string(),
        ])
        .arg(&url)
        .output()?;
    db.drop_sibling(&database).await?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("tps = ")?.split_whitespace().next()?.parse::<f64>().ok())
        .with_context(|| format!("pgbench printed no tps: {text}{}", String::from_utf8_lossy(&output.stderr)))
}

/// Every store's shared staff account signs in with the benchmark's password (`hash`), and
/// every store gets three cashiers without an account, whom that sign-in lists.
async fn seed_shared_accounts(pool: &PgPool, hash: &str) -> anyhow::Result<()> {
    sqlx::query(
        "update public.users set password_hash = $1 where id in (select user_id from public.staff_accounts)",
    )
    .bind(hash)
    .execute(pool)
    .await?;
    let schemas: Vec<String> =
        sqlx::query_scalar("select schema_name from public.stores").fetch_all(pool).await?;
    for schema in schemas {
        let insert = format!(
            "insert into \"{schema}\".employees (role, first_name, last_name, phone)
             select 'cashier', 'Кассир ' || n, 'Без учётки', '+99890111000' || n from generate_series(1, 3) n"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(insert)).execute(pool).await?;
    }
    Ok(())
}
