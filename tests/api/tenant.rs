//! The tenant middleware: `X-Tenant-Key` to an isolated connection. Every docs/contract.md §3 error, and
//! a storm of concurrent, failing and cancelled requests over many stores in which no row
//! may cross from one store to another.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use kassa::db::pool;
use kassa::router::build_router;
use kassa::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{
    Owner, TestApp, TestResponse, assert_pools_are_neutral, neutral_connections, send, test_config,
};

async fn me(app: &TestApp, token: Option<&str>, key: Option<&str>) -> TestResponse {
    let mut request = Request::get("/api/users/auth/me/");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(key) = key {
        request = request.header("x-tenant-key", key);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

fn key_of(owner: &Owner) -> String {
    owner.data["store"]["tenant_key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn me_shows_the_caller_in_their_store() {
    let (app, owner) = TestApp::with_owner("ivan", "Мой Магазин").await;
    let key = key_of(&owner);

    let body = me(&app, Some(&owner.token), Some(&key)).await.json(StatusCode::OK);

    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["user"]["username"], "ivan");
    assert_eq!(body["data"]["store"]["tenant_key"], key.as_str());
    assert_eq!(body["data"]["role"], "owner");
    assert_eq!(body["data"]["role_display"], "Владелец");
    assert_eq!(body["data"]["permissions"].as_array().unwrap().len(), 10);
    assert_eq!(body["data"]["employee"]["id"], 1);
    assert_eq!(body["data"]["employee"]["phone"], "+998901234567");
    assert_eq!(body["tenant_key"], key.as_str());
    assert_eq!(body["store_name"], "Мой Магазин");
    assert_eq!(body["store_slug"], "moi-magazin");
}

#[tokio::test]
async fn each_tenant_failure_has_its_own_answer() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let stranger = app.register_owner("petr", "Чужая").await;
    let key = key_of(&owner);

    me(&app, None, None).await.error(StatusCode::BAD_REQUEST, "missing_tenant_key");
    me(&app, Some(&owner.token), None).await.error(StatusCode::BAD_REQUEST, "missing_tenant_key");
    me(&app, Some(&owner.token), Some("lavka_00000000"))
        .await
        .error(StatusCode::FORBIDDEN, "invalid_tenant_key");
    me(&app, None, Some(&key)).await.error(StatusCode::UNAUTHORIZED, "not_authenticated");
    me(&app, Some(&stranger.token), Some(&key)).await.error(StatusCode::FORBIDDEN, "not_a_member");

    let deleted = app.delete_as(&format!("/api/users/stores/{}/", owner.store_id), &owner.token).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    me(&app, Some(&owner.token), Some(&key)).await.error(StatusCode::FORBIDDEN, "inactive_tenant");
}

#[tokio::test]
async fn hostile_tenant_keys_are_refused_without_reaching_sql() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let hostile: Vec<Vec<u8>> = vec![
        b"lavka' or '1'='1".to_vec(),
        b"x; drop schema tenant_lavka cascade; --".to_vec(),
        b"\"tenant_lavka\"".to_vec(),
        "ключ_магазина".as_bytes().to_vec(),
        vec![b'a'; 10 * 1024],
        b"LAVKA_00000000".to_vec(),
    ];

    for key in hostile {
        let request = Request::get("/api/users/auth/me/")
            .header(header::AUTHORIZATION, format!("Bearer {}", owner.token))
            .header("x-tenant-key", axum::http::HeaderValue::from_bytes(&key).unwrap())
            .body(Body::empty())
            .unwrap();
        app.send(request).await.error(StatusCode::FORBIDDEN, "invalid_tenant_key");
    }
    assert_eq!(
        app.count("select count(*) from tenant_lavka.employees").await,
        2,
        "the owner and the staff account"
    );
}

#[tokio::test]
async fn a_member_who_must_change_their_password_may_still_read_me() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    sqlx::query("update public.users set must_change_password = true").execute(&app.pool).await.unwrap();

    let body = me(&app, Some(&owner.token), Some(&key_of(&owner))).await.json(StatusCode::OK);

    assert_eq!(body["data"]["user"]["username"], "ivan");
    assert_eq!(body["data"]["role"], "owner");
    assert_eq!(body["tenant_key"], key_of(&owner).as_str());
    // Only `me`: any other read of the store waits for the new password.
    app.scoped(Method::GET, "/api/users/employees/", &owner.token, &key_of(&owner), None)
        .await
        .error(StatusCode::FORBIDDEN, "password_change_required");
}

#[tokio::test]
async fn other_instances_see_a_deactivation_within_seconds() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let key = key_of(&owner);
    // A second instance on the same database, with a cache of its own.
    let config = Arc::new(test_config(&[]));
    let other =
        build_router(AppState::new(Arc::clone(&config), pool::lazy_pool(&config, app.db.app_options())));
    let me_on_other = || {
        Request::get("/api/users/auth/me/")
            .header(header::AUTHORIZATION, format!("Bearer {}", owner.token))
            .header("x-tenant-key", key.as_str())
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&other, me_on_other()).await.status,
        StatusCode::OK,
        "the other instance caches the store"
    );

    app.delete_as(&format!("/api/users/stores/{}/", owner.store_id), &owner.token).await;

    let started = Instant::now();
    loop {
        let response = send(&other, me_on_other()).await;
        if response.status == StatusCode::FORBIDDEN {
            response.error(StatusCode::FORBIDDEN, "inactive_tenant");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(7), "still served after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A store with staff whose names carry the store's marker, and a token per member.
struct StormStore {
    key: String,
    marker: String,
    /// The store's shared staff account.
    staff_username: String,
    tokens: Vec<String>,
    /// The account id of each of `tokens`.
    user_ids: Vec<i64>,
}

async fn storm_store(app: &TestApp, index: usize) -> StormStore {
    let marker = format!("zz{index}marker");
    let owner = app.register_owner(&format!("{marker}-owner"), &format!("Storm {index}")).await;
    let schema = owner.data["store"]["schema_name"].as_str().unwrap().to_owned();
    sqlx::query("update public.users set first_name = $1 where id = $2")
        .bind(format!("{marker}-owner"))
        .bind(owner.user_id)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "update {schema}.employees set first_name = '{marker}-owner'"
    )))
    .execute(&app.pool)
    .await
    .unwrap();
    let mut tokens = vec![owner.token.clone()];
    let mut user_ids = vec![owner.user_id];
    for member in 0..2 {
        let username = format!("{marker}-cashier{member}");
        let user_id: i64 = sqlx::query_scalar(
            "insert into public.users (username, password_hash, first_name) select $1, password_hash, $1
             from public.users where id = $2 returning id",
        )
        .bind(&username)
        .bind(owner.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        app.enrol_cashier_row(&owner, user_id, &username).await;
        let login = app
            .json(
                Method::POST,
                "/api/users/auth/login/",
                &json!({"username": username, "password": "Kassa-Strong-2026"}),
                None,
            )
            .await
            .json(StatusCode::OK);
        tokens.push(login["access"].as_str().unwrap().to_owned());
        user_ids.push(user_id);
    }
    let staff_username = owner.data["staff_credentials"]["username"].as_str().unwrap().to_owned();
    StormStore { key: key_of(&owner), marker, staff_username, tokens, user_ids }
}

/// An app on a pool of four connections with `count` storm stores, served on a socket.
///
/// A small pool, so every connection serves many stores one after another. 3,000 requests
/// at once queue for six store connections; behind PgBouncer on a loaded 2-core machine the
/// last of them waited past the default 5 s acquire timeout (503) in 2 of 4 runs. A storm
/// is about what crosses stores, not about queueing, so it may wait.
async fn storm_arena(count: usize) -> (TestApp, Arc<Vec<StormStore>>, SocketAddr) {
    let app = TestApp::spawn_with(&[
        ("DATABASE_POOL_SIZE", "4"),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "1000"),
        ("DATABASE_ACQUIRE_TIMEOUT", "25s"),
    ])
    .await;
    let mut stores = Vec::new();
    for index in 0..count {
        stores.push(storm_store(&app, index).await);
    }
    let addr = app.serve().await;
    (app, Arc::new(stores), addr)
}

#[tokio::test]
async fn a_storm_of_mixed_failing_and_cancelled_requests_never_crosses_stores() {
    // Six stores on four connections, so every connection serves many stores one after another.
    let (app, stores, addr) = storm_arena(6).await;
    let client = reqwest::Client::new();

    let requests = (0..3000).map(|n| {
        let (client, stores) = (client.clone(), Arc::clone(&stores));
        async move {
            let count = stores.len();
            let home = &stores[n % count];
            let member = (n / count) % home.tokens.len();
            let token = &home.tokens[member];
            // Who am I, the store's users, or one of them (oneself): each reads the store.
            let read = match (n / 10) % 3 {
                0 => Read::Me,
                1 => Read::Users,
                _ => Read::User(home.user_ids[member]),
            };
            let foreign = (n % count + 1 + (n / 10) % (count - 1)) % count;
            // Mostly the member's own store; some another store (403 on purpose); some an
            // unknown key; some cut off by the client mid-flight.
            let (key, expect) = match n % 10 {
                0 | 1 => (stores[foreign].key.clone(), Expect::Foreign),
                2 => ("storm_deadbeef".to_owned(), Expect::Invalid),
                3 => (home.key.clone(), Expect::Cancelled),
                _ => (home.key.clone(), Expect::Own),
            };
            let mut request = client
                .get(format!("http://{addr}{}", read.path()))
                .bearer_auth(token)
                .header("x-tenant-key", key.as_str());
            if matches!(expect, Expect::Cancelled) {
                request = request.timeout(Duration::from_micros(300 + (n as u64 % 7) * 400));
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    Some((status, response.text().await.unwrap_or_default()))
                }
                Err(_) => None,
            };
            (n % stores.len(), expect, read, outcome)
        }
    });
    let results = futures_util::future::join_all(requests).await;

    let mut served_own = 0;
    for (home, expect, read, outcome) in results {
        let Some((status, body)) = outcome else {
            assert!(matches!(expect, Expect::Cancelled), "only cancelled requests may fail to answer");
            continue;
        };
        for (other, store) in stores.iter().enumerate() {
            assert!(
                other == home || !body.contains(&store.marker),
                "store {home}'s caller saw store {other}: {body}"
            );
        }
        match expect {
            Expect::Own | Expect::Cancelled => {
                assert_eq!(status, 200, "{body}");
                let body: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["tenant_key"], stores[home].key.as_str());
                let names = match read {
                    Read::Me => vec![body["data"]["employee"]["first_name"].clone()],
                    Read::Users => {
                        assert_eq!(body["count"], 4, "{body}: the owner, the shared account, two cashiers");
                        body["results"].as_array().unwrap().iter().map(|u| u["username"].clone()).collect()
                    }
                    Read::User(id) => {
                        assert_eq!(body["id"], id, "{body}");
                        vec![body["username"].clone()]
                    }
                };
                // Every name is this store's: its marker, or its shared account's `<slug>_staff`.
                for name in names {
                    let name = name.as_str().unwrap();
                    let own = name.starts_with(&stores[home].marker) || name == stores[home].staff_username;
                    assert!(own, "{body}");
                }
                served_own += 1;
            }
            Expect::Foreign => assert!(status == 403 && body.contains("not_a_member"), "{status} {body}"),
            Expect::Invalid => {
                assert!(status == 403 && body.contains("invalid_tenant_key"), "{status} {body}")
            }
        }
    }
    assert!(served_own >= 1800, "only {served_own} own-store requests were served");

    // Every pooled connection is back to a neutral search_path and outside any transaction.
    assert_pools_are_neutral(&app.app_db).await;
}

/// What a storm request reads.
#[derive(Debug, Clone, Copy)]
enum Read {
    Me,
    Users,
    User(i64),
}

impl Read {
    fn path(self) -> String {
        match self {
            Read::Me => "/api/users/auth/me/".to_owned(),
            Read::Users => "/api/users/users/".to_owned(),
            Read::User(id) => format!("/api/users/users/{id}/"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    Own,
    Foreign,
    Invalid,
    Cancelled,
}

/// Store-scoped probe routes behind the production tenant layer and middleware stack.
fn tenant_probes(app: &TestApp, overrides: &[(&str, &str)]) -> (axum::Router, kassa::db::Db) {
    use axum::routing::get;
    use kassa::tenant::conn::TenantConn;
    let config = Arc::new(test_config(overrides));
    let probe_pool = pool::lazy_pool(&config, app.db.app_options());
    let state = AppState::new(Arc::clone(&config), probe_pool);
    let probe_db = state.db.clone();
    let routes = axum::Router::new()
        .route("/probe/panic", get(panic_mid_transaction))
        .route(
            "/probe/slow",
            get(|mut tenant: TenantConn| async move {
                // Cut off by the request timeout or by statement_timeout (the same
                // bound): either way the client gets 503.
                kassa::db::query("select pg_sleep(5)")
                    .execute(tenant.conn())
                    .await
                    .map(|_| "finished")
                    .map_err(kassa::error::ApiError::from)
            }),
        )
        .route(
            "/probe/error",
            get(|mut tenant: TenantConn| async move {
                kassa::db::query("select nothing from no_such_table")
                    .execute(tenant.conn())
                    .await
                    .map(|_| "impossible")
                    .map_err(kassa::error::ApiError::from)
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            kassa::tenant::layer::TenantRegistry { pool: state.db.clone(), stores: state.stores.clone() },
            kassa::tenant::layer::resolve_tenant,
        ))
        .with_state(state);
    (kassa::middleware::with_middleware(routes, &config), probe_db)
}

/// A request cut off while its transaction begins (a client that hangs up, a timeout) must
/// not hand the next request a connection inside that transaction: its writes would hang on
/// an uncommitted transaction, its reads would see a stale snapshot.
#[tokio::test]
async fn a_transaction_cut_off_while_it_begins_leaves_its_connection_outside_it() {
    // One connection per pool, so every attempt reuses the connection the last one left.
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "1"), ("DATABASE_STORE_CONNECTIONS", "1")]).await;
    let db = &app.app_db;
    // Each pool's one connection open and idle, so a cut-off attempt can only hit BEGIN.
    drop((db.acquire().await.unwrap(), db.acquire_for_store(1).await.unwrap()));
    for polls in 1..40 {
        // Polled `polls` times: somewhere between taking the connection and BEGIN's answer,
        // the request is gone. A leaked BEGIN would be ended by the next one's rollback, so
        // each attempt is checked on its own.
        cut_off_after(polls, db.begin()).await;
        assert_idle_pools_are_neutral(db).await;
        cut_off_after(polls, db.begin_for_store(1, "BEGIN; SELECT 1".to_owned())).await;
        assert_idle_pools_are_neutral(db).await;
    }
}

/// Polls `future` up to `polls` times, letting other tasks run in between, then drops it.
async fn cut_off_after<F: std::future::Future>(polls: usize, future: F) {
    let mut future = std::pin::pin!(future);
    for _ in 0..polls {
        let ready =
            std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx).is_ready())).await;
        if ready {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// Once every connection of every pool of `db` is idle again, checks each is neutral.
async fn assert_idle_pools_are_neutral(db: &kassa::db::Db) {
    while db.pools().any(|pool| pool.num_idle() < pool.size() as usize) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for pool in db.pools() {
        assert_eq!(neutral_connections(pool).await.len(), 1, "the pool keeps its connection");
    }
}

#[tokio::test]
async fn a_failed_tenant_transaction_leaves_no_trace() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let key = key_of(&owner);
    let (probes, probe_db) =
        tenant_probes(&app, &[("REQUEST_TIMEOUT", "300ms"), ("DATABASE_POOL_SIZE", "2")]);
    let probe = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", owner.token))
            .header("x-tenant-key", key.as_str())
            .body(Body::empty())
            .unwrap()
    };

    for _ in 0..3 {
        send(&probes, probe("/probe/panic")).await.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
        let started = Instant::now();
        send(&probes, probe("/probe/slow"))
            .await
            .error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
        assert!(started.elapsed() < Duration::from_secs(3));
        send(&probes, probe("/probe/error")).await.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    }

    assert_pools_are_neutral(&probe_db).await;
    me(&app, Some(&owner.token), Some(&key)).await.json(StatusCode::OK);
}

async fn panic_mid_transaction(mut tenant: kassa::tenant::conn::TenantConn) -> &'static str {
    kassa::db::query("select count(*) from employees").execute(tenant.conn()).await.unwrap();
    if std::hint::black_box(true) {
        panic!("a handler bug in the middle of a tenant transaction");
    }
    "unreachable"
}

#[tokio::test]
async fn a_storm_on_the_staff_endpoints_never_crosses_stores() {
    // Four connections for four stores of staff reads and writes, failures and hang-ups.
    // As in the storm above: it may queue, it may not cross stores.
    let (app, stores, addr) = storm_arena(4).await;
    let client = reqwest::Client::new();

    let requests = (0..1200).map(|n| {
        let (client, stores) = (client.clone(), Arc::clone(&stores));
        async move {
            let count = stores.len();
            let home = n % count;
            let store = &stores[home];
            let (owner, cashier) = (&store.tokens[0], &store.tokens[1]);
            let foreign = &stores[(home + 1 + n / 12 % (count - 1)) % count];
            let url = |path: &str| format!("http://{addr}/api/users/{path}");
            let marker = &store.marker;
            let (request, expect) = match n / count % 14 {
                0 => (client.get(url("employees/")).bearer_auth(owner).header("x-tenant-key", &store.key), 200),
                1 => (client.get(url("employees/2/")).bearer_auth(owner).header("x-tenant-key", &store.key), 200),
                2 => (client.get(url("employees/2/")).bearer_auth(owner).header("x-tenant-key", &foreign.key), 403),
                3 => (client.get(url("employees/")).bearer_auth(cashier).header("x-tenant-key", &store.key), 403),
                4 => (
                    client
                        .patch(url("employees/3/"))
                        .bearer_auth(owner)
                        .header("x-tenant-key", &store.key)
                        .json(&json!({"position": format!("{marker}-pos{n}")})),
                    200,
                ),
                5 => (
                    client
                        .patch(url("employees/2/"))
                        .bearer_auth(owner)
                        .header("x-tenant-key", &store.key)
                        .json(&json!({"is_active": "sometimes"})),
                    400,
                ),
                6 => (
                    client
                        .get(url("employees/?search=cashier"))
                        .bearer_auth(owner)
                        .header("x-tenant-key", &store.key)
                        .timeout(Duration::from_micros(300 + (n as u64 % 7) * 400)),
                    0,
                ),
                7 => (
                    client
                        .patch(url("employees/2/"))
                        .bearer_auth(owner)
                        .header("x-tenant-key", &store.key)
                        .json(&json!({"position": format!("{marker}-cut{n}")}))
                        .timeout(Duration::from_micros(300 + (n as u64 % 7) * 400)),
                    0,
                ),
                8 => (client.get(url("audit-events/")).bearer_auth(owner).header("x-tenant-key", &store.key), 200),
                9 => (
                    client.get(url("employees/")).bearer_auth(owner).header("x-tenant-key", "storm_deadbeef"),
                    403,
                ),
                10 => (
                    client.post(url("employees/")).bearer_auth(owner).header("x-tenant-key", &store.key).json(
                        &json!({"username": format!("{marker}-new{n}"), "first_name": format!("{marker}-new"),
                                "role": "stockkeeper", "password": "Storm-Secret-2026"}),
                    ),
                    201,
                ),
                12 => (client.get(url("employees/cashiers/")).bearer_auth(cashier).header("x-tenant-key", &store.key), 200),
                13 => (
                    client.post(url("employees/")).bearer_auth(owner).header("x-tenant-key", &store.key).json(
                        &json!({"first_name": format!("{marker}-till{n}"), "role": "cashier"}),
                    ),
                    201,
                ),
                _ => (client.get(url(&format!("employees/{}/", n % 5 + 1))).bearer_auth(owner).header("x-tenant-key", &store.key), 1),
            };
            let outcome = match request.send().await {
                Ok(response) => Some((response.status().as_u16(), response.text().await.unwrap_or_default())),
                Err(_) => None,
            };
            (home, expect, outcome)
        }
    });
    let results = futures_util::future::join_all(requests).await;

    let mut answered = 0;
    for (home, expect, outcome) in results {
        let Some((status, body)) = outcome else {
            assert_eq!(expect, 0, "only requests the client cut off may go unanswered");
            continue;
        };
        answered += 1;
        for (other, store) in stores.iter().enumerate() {
            assert!(
                other == home || !body.contains(&store.marker),
                "store {home}'s caller saw store {other}: {body}"
            );
        }
        match expect {
            0 => assert_eq!(status, 200, "{body}"),
            1 => assert!(status == 200 || status == 404, "{status} {body}"),
            expected => assert_eq!(status, expected, "{body}"),
        }
    }
    assert!(answered >= 1000, "only {answered} requests were answered");

    // In the database: each store's staff, their changes and their audit trail are its own.
    for store in stores.iter() {
        let schema =
            format!("tenant_storm_{}", stores.iter().position(|s| s.marker == store.marker).unwrap());
        let foreign_rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {schema}.employees e join public.users u on u.id = e.user_id
             where not (u.username like $1 and e.first_name like $1 and (e.position = '' or e.position like $1))
               and not exists (select 1 from public.staff_accounts a join public.stores s on s.id = a.store_id
                               where a.user_id = e.user_id and s.schema_name = '{schema}')"
        )))
        .bind(format!("{}%", store.marker))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(foreign_rows, 0, "{schema} holds a row of another store");
        let foreign_events: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {schema}.audit_events a,
                 regexp_matches(a.changes::text, 'zz[0-9]marker', 'g') as found(marker)
             where found.marker[1] <> $1"
        )))
        .bind(store.marker.clone())
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(foreign_events, 0, "{schema}'s audit trail names another store");
        let foreign_members: i64 = sqlx::query_scalar(
            "select count(*) from store_memberships m join stores s on s.id = m.store_id
             join users u on u.id = m.user_id where s.schema_name = $1 and u.username not like $2
               and not exists (select 1 from staff_accounts a where a.user_id = m.user_id and a.store_id = m.store_id)",
        )
        .bind(&schema)
        .bind(format!("{}%", store.marker))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(foreign_members, 0, "a membership joins a person of another store to {schema}");
    }
    assert_pools_are_neutral(&app.app_db).await;
}
