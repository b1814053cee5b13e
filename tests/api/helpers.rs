//! Test harness: a PostgreSQL server for the whole run, a fresh database per test.
//!
//! The server is `DATABASE_URL` when set, else an embedded cluster (the same launcher as
//! `cargo run`) started once per test run under the target directory and stopped when the
//! test process exits. Public migrations run once into a template database; each test gets
//! `kassa_test_<uuid>` cloned from it, which takes milliseconds. On a Citus coordinator the
//! clone is then made a Citus database over every node (`helpers/citus.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use kassa::config::Config;
use kassa::db::embedded::{EmbeddedCluster, EmbeddedOptions};
use kassa::db::{migrate, pool};
use kassa::router::build_router;
use kassa::state::AppState;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tower::ServiceExt;

mod binary;
mod citus;
mod endpoints;
mod keys;
mod pools;
mod till;
mod totp;

pub use binary::kassa;
pub use endpoints::{ServiceClient, basic_authorization, till_request};
pub use keys::{claims_of, header_of, key_ring_in, private_key_spellings};
pub use pools::{assert_pools_are_neutral, neutral_connections};
pub use till::{CASHIER_PIN, MANAGER_PIN, OWNER_PIN, Shop, shop};
pub use totp::{away_from_step_edge, code_at, owner_with_totp, turn_totp_on};

/// A JWT secret strong enough for the configuration check.
pub const TEST_JWT_SECRET: &str = "9d4f0b8e2a6c1e7f3b5d9a0c4e8f2b6d";

/// The PostgreSQL server every test of this run uses.
struct TestServer {
    /// Connects to the server's maintenance database.
    admin: PgConnectOptions,
    /// The migrated database each test database is cloned from.
    template: String,
    /// The workers, when the server is a Citus coordinator.
    citus: Option<citus::CitusNodes>,
    /// Keeps the embedded cluster alive until the process exits.
    _cluster: Option<EmbeddedCluster>,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();

fn server() -> &'static TestServer {
    // Built on a thread of its own: the caller is inside a Tokio runtime, and the set-up
    // needs one of its own that outlives no test.
    SERVER.get_or_init(|| std::thread::spawn(start_server).join().expect("test server set-up panicked"))
}

fn start_server() -> TestServer {
    let (admin, cluster) = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => (pool::options_from_url(&url).expect("DATABASE_URL parses"), None),
        None => {
            let options = EmbeddedOptions {
                root: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kassa-test-cluster"),
                bin_dir: std::env::var_os("POSTGRES_BIN_DIR").map(PathBuf::from),
                durable: false,
            };
            let cluster = EmbeddedCluster::start(&options).unwrap_or_else(|e| panic!("{e}"));
            (cluster.connect_options("postgres"), Some(cluster))
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let citus = runtime.block_on(citus::CitusNodes::detect(&admin));
    if let Some(citus) = &citus {
        runtime.block_on(citus.drop_stale());
    }
    let template = runtime.block_on(prepare_template(&admin));
    TestServer { admin, template, citus, _cluster: cluster }
}

/// Drops the test and template databases earlier runs left on the server of `conn`;
/// `options` is appended to each `drop database` (`with (force)` where connections linger).
/// Fails harmlessly for databases a concurrent run still uses.
pub(crate) async fn drop_stale_databases(conn: &mut PgConnection, options: &str) {
    let stale: Vec<String> = sqlx::query_scalar(
        "select datname from pg_database where datname like 'kassa\\_test\\_%' or datname like 'kassa\\_template\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for name in stale {
        let _ = execute(&mut *conn, format!("drop database if exists \"{name}\" {options}")).await;
    }
}

/// Drops databases left by earlier runs, then creates and migrates this run's template.
async fn prepare_template(admin: &PgConnectOptions) -> String {
    let mut conn = PgConnection::connect_with(admin).await.expect("connect to the test server");
    drop_stale_databases(&mut conn, "").await;
    let template = format!("kassa_template_{}", uuid::Uuid::new_v4().simple());
    execute(&mut conn, format!("create database \"{template}\"")).await.unwrap();
    let mut migrate_conn = PgConnection::connect_with(&admin.clone().database(&template)).await.unwrap();
    migrate::PUBLIC_MIGRATIONS.run(&mut migrate_conn).await.expect("public migrations apply");
    migrate_conn.close().await.unwrap();
    conn.close().await.unwrap();
    template
}

async fn execute(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(conn).await.map(|_| ())
}

/// A fresh, migrated database of its own.
pub struct TestDb {
    pub name: String,
    pub options: PgConnectOptions,
}

impl TestDb {
    /// Where the application under test connects: through `TEST_POOLER_URL` when set,
    /// else straight to the database.
    pub fn app_options(&self) -> PgConnectOptions {
        match pooler_url() {
            Some(url) => pool::options_from_url(&url).expect("TEST_POOLER_URL parses").database(&self.name),
            None => self.options.clone(),
        }
    }

    pub async fn create() -> TestDb {
        let server = server();
        let name = format!("kassa_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect_with(&server.admin).await.unwrap();
        execute(&mut conn, format!("create database \"{name}\" template \"{}\"", server.template))
            .await
            .expect("clone the template database");
        conn.close().await.unwrap();
        if let Some(citus) = &server.citus {
            citus.join(&name).await;
        }
        TestDb { options: server.admin.clone().database(&name), name }
    }

    /// A `postgres://` URL for this database (for tests that run the binary).
    pub fn url(&self) -> String {
        match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            // Keep credentials and parameters; swap the database name.
            Some(url) => {
                let (base, query) = url.split_once('?').map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
                let authority_end = base.find("://").map_or(0, |i| i + 3);
                let server = match base[authority_end..].find('/') {
                    Some(slash) => &base[..authority_end + slash],
                    None => base,
                };
                let query = query.map(|q| format!("?{q}")).unwrap_or_default();
                format!("{server}/{}{query}", self.name)
            }
            None => format!(
                "postgres://{}@{}:{}/{}",
                self.options.get_username(),
                self.options.get_host(),
                self.options.get_port(),
                self.name
            ),
        }
    }
}

/// A transaction-pooling PgBouncer in front of the test server (`TEST_POOLER_URL`, e.g.
/// `postgres://postgres@127.0.0.1:6433/postgres`; its database name is replaced by each
/// test's). When set, the applications under test reach their databases through it with
/// `DATABASE_TRANSACTION_POOLING=true`, while the tests' own checks go direct.
pub fn pooler_url() -> Option<String> {
    std::env::var("TEST_POOLER_URL").ok().filter(|u| !u.is_empty())
}

/// Test configuration: the defaults of docs/contract.md §1 plus what a test cannot do without.
pub fn test_config(overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<&str, &str> = HashMap::from([
        ("DATABASE_URL", "postgres://set-by-the-harness"),
        ("JWT_SECRET", TEST_JWT_SECRET),
        // Every test registers its owners from the one test address; the registration
        // throttle's own tests set the limit low.
        ("REGISTRATION_LIMIT_PER_HOUR", "1000000"),
    ]);
    if pooler_url().is_some() {
        vars.extend([("DATABASE_TRANSACTION_POOLING", "true"), ("MIGRATE_ON_START", "false")]);
    }
    vars.extend(overrides.iter().copied());
    Config::from_lookup(|name| vars.get(name).map(|v| (*v).to_owned())).expect("test configuration is valid")
}

/// The application, built by the production `build_router`, on a database of its own.
pub struct TestApp {
    pub router: Router,
    /// For the tests' own statements: always straight to the database.
    pub pool: PgPool,
    /// All of the application's pools (through the pooler under `TEST_POOLER_URL`): the one
    /// for `public` and the store connections.
    pub app_db: kassa::db::Db,
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// A fresh application ([`spawn`](Self::spawn)) with one owner registered in it
    /// ([`register_owner`](Self::register_owner)): the set-up most tests begin with.
    pub async fn with_owner(username: &str, store_name: &str) -> (TestApp, Owner) {
        let app = TestApp::spawn().await;
        let owner = app.register_owner(username, store_name).await;
        (app, owner)
    }

    /// With configuration variables overridden, e.g. `[("DEFAULT_LANGUAGE", "en")]`.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        Self::spawn_customized(overrides, |_| {}).await
    }

    /// With configuration overridden and the state adjusted (e.g. broken tenant migrations).
    pub async fn spawn_customized(
        overrides: &[(&str, &str)],
        customize: impl FnOnce(&mut AppState),
    ) -> TestApp {
        if std::env::var_os("TEST_LOG").is_some() {
            kassa::telemetry::init(kassa::config::LogFormat::Text, kassa::telemetry::LogTarget::Stdout);
        }
        let db = TestDb::create().await;
        let config = Arc::new(test_config(overrides));
        let app_pool = pool::lazy_pool(&config, db.app_options());
        // The tests' own statements go straight to the database, pooler or not.
        let pool = match pooler_url() {
            Some(_) => pool::lazy_pool(
                &test_config(&[("DATABASE_TRANSACTION_POOLING", "false")]),
                db.options.clone(),
            ),
            None => app_pool.clone(),
        };
        let mut state = AppState::new(config, app_pool.clone());
        customize(&mut state);
        // As `kassa serve` does before it serves; a test whose database is meant to fail
        // finds out from its own requests.
        let _ = state.tokens.load().await;
        let app_db = state.db.clone();
        TestApp { router: build_router(state), pool, app_db, db }
    }

    /// Sends `body` as JSON with `method`, signed in as `token` when given.
    pub async fn json(&self, method: Method, path: &str, body: &Value, token: Option<&str>) -> TestResponse {
        let mut request =
            Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body.to_string())).unwrap()).await
    }

    /// A GET signed in as `token`.
    pub async fn get_as(&self, path: &str, token: &str) -> TestResponse {
        let request = Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// A DELETE signed in as `token`.
    pub async fn delete_as(&self, path: &str, token: &str) -> TestResponse {
        let request = Request::delete(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// `POST /api/users/auth/register/` with `body`.
    pub async fn register(&self, body: &Value) -> TestResponse {
        self.json(Method::POST, "/api/users/auth/register/", body, None).await
    }

    /// Registers `username` with a store named `store_name`; returns the 201 body's `data`.
    pub async fn register_owner(&self, username: &str, store_name: &str) -> Owner {
        let data = self.register(&registration(username, store_name)).await.json(StatusCode::CREATED)["data"]
            .clone();
        Owner {
            token: data["tokens"]["access"].as_str().unwrap().to_owned(),
            user_id: data["user"]["id"].as_i64().unwrap(),
            store_id: data["store"]["id"].as_i64().unwrap(),
            data,
        }
    }

    /// A store-scoped request: `method` on `path` signed in as `token`, in the store of
    /// `key`, with `body` as JSON when given.
    pub async fn scoped(
        &self,
        method: Method,
        path: &str,
        token: &str,
        key: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("x-tenant-key", key);
        let request = match body {
            Some(body) => {
                request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string()))
            }
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    /// Signs `username` in; returns the whole 200 body.
    pub async fn sign_in(&self, username: &str, password: &str) -> Value {
        let body = serde_json::json!({"username": username, "password": password});
        self.json(Method::POST, "/api/users/auth/login/", &body, None).await.json(StatusCode::OK)
    }

    /// `owner` adds an employee `username` with `role` and a known password; returns the
    /// employee as the 201 response shows it.
    pub async fn add_employee(&self, owner: &Owner, username: &str, role: &str) -> Value {
        let body = serde_json::json!({
            "username": username,
            "first_name": format!("Имя {username}"),
            "last_name": "Сотрудник",
            "role": role,
            "password": EMPLOYEE_PASSWORD,
        });
        let response =
            self.scoped(Method::POST, "/api/users/employees/", &owner.token, &owner.key(), Some(&body)).await;
        response.json(StatusCode::CREATED)["data"]["employee"].clone()
    }

    /// Another member of `owner`'s store, signed in: their token (as an [`Owner`] of the same
    /// store) and the employee as the 201 response showed it.
    pub async fn member(&self, owner: &Owner, username: &str, role: &str) -> (Owner, Value) {
        let employee = self.add_employee(owner, username, role).await;
        let login = self.sign_in(username, EMPLOYEE_PASSWORD).await;
        (Owner { token: login["access"].as_str().unwrap().to_owned(), ..owner.clone() }, employee)
    }

    /// [`member`](Self::member) for each `(username, role)` of `wanted`, in order.
    pub async fn members<const N: usize>(
        &self,
        owner: &Owner,
        wanted: [(&str, &str); N],
    ) -> [(Owner, Value); N] {
        let mut made = Vec::with_capacity(N);
        for (username, role) in wanted {
            made.push(self.member(owner, username, role).await);
        }
        made.try_into().unwrap_or_else(|_| unreachable!("one member for each of the {N} wanted"))
    }

    /// Makes account `user_id` a cashier of `owner`'s store straight in the database (no
    /// request): the membership, and an employee row with `username` as its first name.
    pub async fn enrol_cashier_row(&self, owner: &Owner, user_id: i64, username: &str) {
        sqlx::query(
            "insert into public.store_memberships (user_id, store_id, role) values ($1, $2, 'cashier')",
        )
        .bind(user_id)
        .bind(owner.store_id)
        .execute(&self.pool)
        .await
        .unwrap();
        let schema = owner.data["store"]["schema_name"].as_str().unwrap();
        let insert = format!(
            "insert into {schema}.employees (user_id, role, first_name) values ({user_id}, 'cashier', '{username}')"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(insert)).execute(&self.pool).await.unwrap();
    }

    /// A number from a one-value query, for checks of what was (not) written.
    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

/// A registered store owner.
#[derive(Debug, Clone)]
pub struct Owner {
    pub token: String,
    pub user_id: i64,
    pub store_id: i64,
    /// The `data` of the registration response.
    pub data: Value,
}

impl Owner {
    /// The `X-Tenant-Key` of the owner's first store.
    pub fn key(&self) -> String {
        self.data["store"]["tenant_key"].as_str().unwrap().to_owned()
    }
}

/// The permissions the shared staff account has in a new store (docs/contract.md §5),
/// written out here so the tests notice when the server's list changes.
pub const STAFF_PERMISSIONS: [&str; 6] = [
    "view_products",
    "create_sales",
    "view_customers",
    "create_customers",
    "update_products",
    "manage_inventory",
];

/// The password [`TestApp::add_employee`] gives employees.
pub const EMPLOYEE_PASSWORD: &str = "Till-Secret-2026";

/// An owner registered over a real socket: the answer's `data`, their access token and
/// their store's tenant key.
pub struct RemoteOwner {
    pub data: Value,
    pub token: String,
    pub key: String,
}

/// Registers `username` with a store `store_name` through `POST {users_api}/auth/register/`
/// over HTTP, for tests that run a server of their own.
pub async fn register_over_http(
    client: &reqwest::Client,
    users_api: &str,
    username: &str,
    store_name: &str,
) -> RemoteOwner {
    let registered = json_answer(
        client.post(format!("{users_api}/auth/register/")).json(&registration(username, store_name)),
    )
    .await;
    let data = registered["data"].clone();
    let token = data["tokens"]["access"].as_str().unwrap().to_owned();
    let key = data["store"]["tenant_key"].as_str().unwrap().to_owned();
    RemoteOwner { data, token, key }
}

/// Sends `request` and reads the JSON body of its answer, for tests that call a server over a
/// socket.
pub async fn json_answer(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// `POST /auth/login/` over HTTP to `addr` through a trusted proxy (the test's own socket)
/// that names `ip` as the client.
pub async fn login_via_proxy(
    addr: SocketAddr,
    username: &str,
    password: &str,
    ip: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{addr}/api/users/auth/login/"))
        .header("x-forwarded-for", ip)
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// A complete, valid registration body.
pub fn registration(username: &str, store_name: &str) -> Value {
    serde_json::json!({
        "username": username,
        "password": "Kassa-Strong-2026",
        "password_confirm": "Kassa-Strong-2026",
        "first_name": "Иван",
        "last_name": "Иванов",
        "email": format!("{username}@example.uz"),
        "owner_phone": "+998901234567",
        "store_name": store_name,
        "store_address": "г. Ташкент, ул. Навои, 25",
        "store_phone": "+998901112233",
    })
}

impl TestApp {
    /// Sends `request` through the router in-process.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        send(&self.router, request).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// Binds a real socket on port 0 and serves the app there until the test ends.
    pub async fn serve(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = self.router.clone().into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }
}

/// Sends `request` through any router (tests also build routers of probe routes).
pub async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.expect("the router is infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("the body streams").to_bytes();
    TestResponse { status: parts.status, headers: parts.headers, body }
}

/// A buffered response.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON, after checking the status and that it was declared as JSON.
    #[track_caller]
    pub fn json(&self, expected: StatusCode) -> Value {
        assert_eq!(self.status, expected, "unexpected status; body: {}", String::from_utf8_lossy(&self.body));
        let content_type = self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("application/json"), "content-type was {content_type:?}");
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    /// Checks the docs/contract.md §7 envelope and returns it.
    #[track_caller]
    pub fn error(&self, expected: StatusCode, code: &str) -> Value {
        let body = self.json(expected);
        assert_eq!(body["status"], "error", "{body}");
        assert_eq!(body["code"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        body
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A JSON POST with an explicit content type (tests of rejections vary it).
pub fn post_body(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path).header(header::CONTENT_TYPE, content_type).body(body.into()).unwrap()
}

/// What a database holds, coarsely: its schemas, and the row count and a digest of the
/// contents of every table in `public` and in each tenant schema. Equal footprints before
/// and after a request mean it wrote nothing (no insert, update, delete or DDL).
#[derive(Debug, PartialEq, Eq)]
pub struct Footprint {
    pub schemas: std::collections::BTreeSet<String>,
    /// `schema.table` → its rows.
    pub tables: std::collections::BTreeMap<String, TableFootprint>,
}

/// The rows of one table: how many, and an md5 of their text forms in sorted order.
#[derive(Debug, PartialEq, Eq)]
pub struct TableFootprint {
    pub rows: i64,
    pub digest: String,
}

impl TestApp {
    /// The [`Footprint`] of this test's database; every table is counted in one statement.
    pub async fn footprint(&self) -> Footprint {
        let schemas: Vec<String> = sqlx::query_scalar(
            "select nspname::text from pg_namespace
             where nspname not like 'pg\\_%' and nspname <> 'information_schema' order by 1",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap();
        let tables: Vec<(String, String)> = sqlx::query_as(
            "select table_schema::text, table_name::text from information_schema.tables
             where table_type = 'BASE TABLE' and (table_schema = 'public' or table_schema like 'tenant\\_%')
             order by 1, 2",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap();
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let selects: Vec<String> = tables
            .iter()
            .map(|(schema, table)| {
                let label = format!("{schema}.{table}").replace('\'', "''");
                format!(
                    "select '{label}' as name, count(*) as rows,
                            md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as digest
                     from {}.{} t",
                    quote(schema),
                    quote(table)
                )
            })
            .collect();
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(selects.join(" union all ")))
                .fetch_all(&self.pool)
                .await
                .unwrap();
        Footprint {
            schemas: schemas.into_iter().collect(),
            tables: rows
                .into_iter()
                .map(|(name, rows, digest)| (name, TableFootprint { rows, digest }))
                .collect(),
        }
    }
}
