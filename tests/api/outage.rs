//! A database outage under load (docs/contract.md §7): PostgreSQL stops for a few seconds while tills
//! read and owners register, then comes back. kassa must answer 503 `service_unavailable`
//! promptly while it is down (once one request has failed, within 100 ms rather than after
//! `DATABASE_ACQUIRE_TIMEOUT`), fail `/readyz`, recover by itself within 2 s, and leave no
//! registration half-made.
//!
//! The test runs a cluster of its own (it stops it), whatever `DATABASE_URL` says.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kassa::db::embedded::{EmbeddedCluster, EmbeddedOptions};
use kassa::db::{migrate, pool};
use kassa::router::build_router;
use kassa::state::AppState;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{register_over_http, registration, test_config};

/// `DATABASE_ACQUIRE_TIMEOUT` of the server under test.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long PostgreSQL stays down.
const OUTAGE: Duration = Duration::from_secs(3);
/// How soon after PostgreSQL is back every request must succeed again.
const RECOVERY: Duration = Duration::from_secs(2);
/// How long a 503 may take once kassa has seen the database fail.
const PROMPT: Duration = Duration::from_millis(100);
/// A till's pause between two requests (a cashier's tap), which keeps the fast 503s of
/// the outage from turning the load into a busy loop.
const THINK_TIME: Duration = Duration::from_millis(10);
/// Clients of the load: six tills reading `me`, two owners registering.
const TILLS: usize = 6;
const OWNERS: usize = 2;

/// The tests here time answers to 100 ms; two of them starting clusters at once on a small
/// machine would time each other's `initdb` instead.
static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One answered request of the load.
#[derive(Debug)]
struct Answer {
    what: &'static str,
    sent: Instant,
    took: Duration,
    status: u16,
    code: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kassa_rides_out_a_database_outage() {
    let _alone = ONE_CLUSTER_AT_A_TIME.lock().await;
    let Stand { root, mut cluster, pool, addr, base, client } = Stand::start().await;

    let (token, key) = register_owner(&client, &base).await;

    // The load: tills reading `me`, owners registering one store after another.
    let stop = Arc::new(AtomicBool::new(false));
    let registered = Arc::new(AtomicUsize::new(0));
    let mut loaders = Vec::new();
    for _ in 0..TILLS {
        let request = client.get(format!("{base}/auth/me/")).bearer_auth(&token).header("x-tenant-key", &key);
        loaders.push(tokio::spawn(drive("me", Arc::clone(&stop), move |_| request.try_clone().unwrap())));
    }
    for owner in 0..OWNERS {
        let (client, url, registered) =
            (client.clone(), format!("{base}/auth/register/"), Arc::clone(&registered));
        loaders.push(tokio::spawn(drive("register", Arc::clone(&stop), move |n| {
            registered.fetch_add(1, Ordering::Relaxed);
            client
                .post(&url)
                .json(&registration(&format!("outage_{owner}_{n}"), &format!("Магазин {owner} {n}")))
        })));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    cluster = tokio::task::spawn_blocking(move || {
        cluster.pause();
        cluster
    })
    .await
    .unwrap();
    let down_at = Instant::now();

    // While it is down: the process is alive, not ready, and readiness answers in time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let probe = Instant::now();
    let ready = client.get(format!("http://{addr}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "/readyz while the database is down");
    assert!(probe.elapsed() <= PROMPT, "/readyz took {:?}", probe.elapsed());
    assert_eq!(client.get(format!("http://{addr}/healthz")).send().await.unwrap().status(), 200);

    tokio::time::sleep(OUTAGE.saturating_sub(down_at.elapsed())).await;
    cluster = tokio::task::spawn_blocking(move || {
        cluster.resume().unwrap_or_else(|e| panic!("{e}"));
        cluster
    })
    .await
    .unwrap();
    let back_at = Instant::now();
    tokio::time::sleep(RECOVERY + Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let answers: Vec<Answer> =
        futures_util::future::join_all(loaders).await.into_iter().flat_map(Result::unwrap).collect();

    assert_the_outage_answered_promptly(&answers);
    assert_recovered_from(&answers, back_at);
    assert_eq!(client.get(format!("http://{addr}/readyz")).send().await.unwrap().status(), 200);

    assert!(registered.load(Ordering::Relaxed) > 2, "registrations ran during the test");
    assert_every_registration_is_whole(&pool).await;
    pool.close().await;
    tokio::task::spawn_blocking(move || cluster.stop()).await.unwrap();
    let _ = std::fs::remove_dir_all(root);
}

/// Every answer during the outage is a success or a prompt 503 `service_unavailable`, and
/// the outage was met (by registrations too).
fn assert_the_outage_answered_promptly(answers: &[Answer]) {
    // Every answer is a success or a prompt 503 `service_unavailable`, nothing else.
    for answer in answers {
        match answer.status {
            200 | 201 => {}
            503 => {
                assert_eq!(answer.code.as_deref(), Some("service_unavailable"), "{answer:?}");
                // A read waits for a connection at most ACQUIRE_TIMEOUT. A registration that
                // was hashing when the database went away waits for the hash, then that long.
                let hashing = if answer.what == "register" { Duration::from_secs(2) } else { Duration::ZERO };
                assert!(
                    answer.took <= ACQUIRE_TIMEOUT + Duration::from_secs(1) + hashing,
                    "a 503 took too long: {answer:?}"
                );
            }
            _ => panic!("unexpected answer during the outage: {answer:?}"),
        }
    }
    let unavailable = answers.iter().filter(|a| a.status == 503).count();
    assert!(unavailable > 0, "the outage was not noticed: {} answers", answers.len());
    assert!(
        answers.iter().any(|a| a.what == "register" && a.status == 503),
        "no registration met the outage"
    );

    // Prompt 503s: kassa learns of the outage from the first failure, asks a probe, and from
    // the probe's verdict on answers 503 at once instead of after the acquire timeout. The
    // only slow 503s are the requests in flight while it was learning (a registration may
    // also have been hashing), each bounded above. Each client sends one request at a time,
    // and the learning can take two rounds (a probe that lands while PostgreSQL is still
    // shutting down gets through, the next one does not), so at most two per client.
    let (slow, prompt): (Vec<&Answer>, Vec<&Answer>) =
        answers.iter().filter(|a| a.status == 503).partition(|a| a.took > PROMPT);
    assert!(
        slow.len() <= 2 * (TILLS + OWNERS),
        "{} 503s took over {PROMPT:?}, more than two per client: {slow:?}",
        slow.len()
    );
    assert!(prompt.len() > 10 * (TILLS + OWNERS), "kassa kept answering during the outage: {prompt:?}");
    eprintln!(
        "outage: {} answers, {unavailable} of them 503: {} within {PROMPT:?} (slowest {:?}), {} slower (slowest {:?})",
        answers.len(),
        prompt.len(),
        prompt.iter().map(|a| a.took).max().unwrap_or_default(),
        slow.len(),
        slow.iter().map(|a| a.took).max().unwrap_or_default(),
    );
}

/// Back within RECOVERY of `back_at`: everything sent from then on succeeds.
fn assert_recovered_from(answers: &[Answer], back_at: Instant) {
    // Back within RECOVERY: everything sent from then on succeeds.
    let late_failures: Vec<&Answer> =
        answers.iter().filter(|a| a.sent >= back_at + RECOVERY && a.status >= 300).collect();
    assert!(
        late_failures.is_empty(),
        "still failing {RECOVERY:?} after the database came back: {late_failures:?}"
    );
    let first_success_after = answers
        .iter()
        .filter(|a| a.sent >= back_at && a.status < 300)
        .map(|a| a.sent + a.took - back_at)
        .min()
        .expect("requests succeeded after the outage");
    assert!(
        first_success_after <= RECOVERY,
        "first success {first_success_after:?} after the database came back"
    );
    eprintln!("outage: first success {first_success_after:?} after the database came back");
    // And no request trips over a connection left from before the outage: once one
    // succeeds, everything sent after it does.
    let recovered_at = back_at + first_success_after;
    let stragglers: Vec<&Answer> =
        answers.iter().filter(|a| a.sent >= recovered_at && a.status >= 300).collect();
    assert!(stragglers.is_empty(), "failures after the first success: {stragglers:?}");
}

/// A quiet shop: connections opened by a burst sit idle in the pool when PostgreSQL
/// restarts, and the orchestrator's readiness check is what meets the outage (its `select 1`
/// fails on one of them) and opens the circuit. Once the database is back, the first taps
/// must not each meet one of the other dead connections: kassa closes them as the circuit
/// closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_no_request_meets_a_connection_from_before_it() {
    let _alone = ONE_CLUSTER_AT_A_TIME.lock().await;
    let Stand { root, mut cluster, pool, addr, base, client } = Stand::start().await;
    let (token, key) = register_owner(&client, &base).await;
    let me = || client.get(format!("{base}/auth/me/")).bearer_auth(&token).header("x-tenant-key", &key);

    let my_stores = || client.get(format!("{base}/auth/my-stores/")).bearer_auth(&token);
    // The store's reads take its store connection; the caller's stores take connections of
    // `public`'s pool, whose idle ones this test counts. Both kinds sit idle in the outage.
    let burst = (0..2 * TILLS).map(|i| if i % 2 == 0 { me().send() } else { my_stores().send() });
    let burst = futures_util::future::join_all(burst).await;
    assert!(burst.into_iter().all(|r| r.unwrap().status() == 200));
    let idle = pool.num_idle();
    assert!(idle >= 3, "the burst left connections idle: {idle}");

    cluster = tokio::task::spawn_blocking(move || {
        cluster.pause();
        cluster
    })
    .await
    .unwrap();
    let ready = || client.get(format!("http://{addr}/readyz")).send();
    assert_eq!(ready().await.unwrap().status(), 503);
    // The probe that failure started has had its verdict by now: readiness fails at once.
    tokio::time::sleep(pool::PROBE_INTERVAL).await;
    let asked = Instant::now();
    assert_eq!(ready().await.unwrap().status(), 503);
    assert!(asked.elapsed() <= PROMPT, "/readyz took {:?} with the circuit open", asked.elapsed());

    cluster = tokio::task::spawn_blocking(move || {
        cluster.resume().unwrap_or_else(|e| panic!("{e}"));
        cluster
    })
    .await
    .unwrap();
    tokio::time::sleep(RECOVERY).await;
    for tap in 0..idle + 2 {
        for request in [me(), my_stores()] {
            let status = request.send().await.unwrap().status();
            assert_eq!(status, 200, "tap {tap} after the outage");
        }
    }

    pool.close().await;
    tokio::task::spawn_blocking(move || cluster.stop()).await.unwrap();
    let _ = std::fs::remove_dir_all(root);
}

/// kassa on a PostgreSQL cluster of the test's own, served on a real socket.
struct Stand {
    root: PathBuf,
    cluster: EmbeddedCluster,
    /// The application's pool, also for the test's own checks.
    pool: PgPool,
    addr: SocketAddr,
    /// The users API's root on `addr`, and a client that waits for it at most 30 s.
    base: String,
    client: reqwest::Client,
}

impl Stand {
    async fn start() -> Stand {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kassa-outage-{}", uuid::Uuid::new_v4().simple()));
        let options = EmbeddedOptions {
            root: root.clone(),
            bin_dir: std::env::var_os("POSTGRES_BIN_DIR").map(PathBuf::from),
            durable: false,
        };
        let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&options))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"));
        cluster.ensure_database("kassa").await.unwrap();
        let acquire = format!("{}ms", ACQUIRE_TIMEOUT.as_millis());
        let config = Arc::new(test_config(&[("DATABASE_ACQUIRE_TIMEOUT", acquire.as_str())]));
        let pool = pool::lazy_pool(&config, cluster.connect_options("kassa"));
        migrate::migrate_public(&pool).await.unwrap();
        let addr = serve(AppState::new(config, pool.clone())).await;
        let base = format!("http://{addr}/api/users");
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Stand { root, cluster, pool, addr, base, client }
    }
}

/// Registers the owner whose till the tests drive; their access token and tenant key.
async fn register_owner(client: &reqwest::Client, base: &str) -> (String, String) {
    let owner = register_over_http(client, base, "till_owner", "Касса Один").await;
    (owner.token, owner.key)
}

/// Sends `request(n)` for n = 0, 1, … one after another until `stop`, recording each answer.
async fn drive(
    what: &'static str,
    stop: Arc<AtomicBool>,
    request: impl Fn(usize) -> reqwest::RequestBuilder,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        let response = request(n).send().await.expect("kassa answers throughout the outage");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let code = body["code"].as_str().map(str::to_owned);
        answers.push(Answer { what, sent, took: sent.elapsed(), status, code });
        n += 1;
        tokio::time::sleep(THINK_TIME).await;
    }
    answers
}

async fn serve(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = build_router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Each registration is all there (account, store, owner membership, schema with the owner's
/// employee row) or not there at all: an outage mid-way leaves nothing half-made.
async fn assert_every_registration_is_whole(pool: &PgPool) {
    let lonely_accounts: i64 = sqlx::query_scalar(
        "select count(*) from public.users u
         where not exists (select 1 from public.store_memberships m where m.user_id = u.id and m.role = 'owner')
           and not exists (select 1 from public.staff_accounts a
                           join public.store_memberships m on m.user_id = a.user_id and m.store_id = a.store_id
                           where a.user_id = u.id)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(lonely_accounts, 0, "accounts without their store");
    let schemas_without_store: i64 = sqlx::query_scalar(
        "select count(*) from pg_namespace n
         where n.nspname like 'tenant\\_%' and not exists (select 1 from public.stores s where s.schema_name = n.nspname)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(schemas_without_store, 0, "schemas without a store row");
    let stores: Vec<(String, i64)> =
        sqlx::query_as("select schema_name, owner_id from public.stores").fetch_all(pool).await.unwrap();
    assert!(stores.len() >= 2, "some registrations completed");
    for (schema, owner) in stores {
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_namespace where nspname = $1)")
                .bind(&schema)
                .fetch_one(pool)
                .await
                .unwrap();
        assert!(exists, "store without its schema {schema}");
        // The schema name comes from the registry (validated at provisioning): quoted, not user text.
        let employees: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from \"{schema}\".employees where user_id = {owner} and role = 'owner'"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(employees, 1, "{schema} lacks its owner's employee row");
    }
}
