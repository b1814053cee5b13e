//! On a Citus cluster (docs/operations.md, "Running on Citus"): each store's schema sits
//! whole on a worker, stores are spread over the workers, and `kassa tenants distribute`
//! places a schema made before. Ignored unless the suite runs against a Citus coordinator
//! (`.ci/citus` runs them with `--include-ignored`).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;

use axum::http::StatusCode;
use kassa::db::citus;
use kassa::db::migrate::{TENANT_MIGRATIONS, migrate_tenant_schema};
use kassa::db::schema::SchemaName;
use sqlx::{Acquire, AssertSqlSafe, PgPool};

use crate::helpers::{TEST_JWT_SECRET, TestApp, kassa};

/// The tables of a new store's schema (tenant migrations, and their ledger).
const STORE_TABLES: usize = 6;

/// Each store schema's tables by the node they sit on.
async fn tables_by_node(pool: &PgPool) -> BTreeMap<String, BTreeMap<String, usize>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "select n.nspname::text, sh.nodename || ':' || sh.nodeport, count(*) \
         from citus_shards sh join pg_class c on c.oid = sh.table_name \
         join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname like 'tenant\\_%' group by 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut by_schema: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (schema, node, tables) in rows {
        by_schema.entry(schema).or_default().insert(node, usize::try_from(tables).unwrap());
    }
    by_schema
}

async fn workers(pool: &PgPool) -> BTreeSet<String> {
    sqlx::query_scalar(
        "select nodename || ':' || nodeport from pg_dist_node where groupid <> 0 and noderole = 'primary'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

#[tokio::test]
#[ignore = "needs a Citus coordinator as DATABASE_URL: .ci/citus"]
async fn each_store_sits_whole_on_a_worker_and_stores_spread_over_both() {
    let app = TestApp::spawn().await;
    assert!(citus::version(&app.pool).await.unwrap().is_some(), "DATABASE_URL is a Citus coordinator");
    let workers = workers(&app.pool).await;
    assert_eq!(workers.len(), 2, "a coordinator and two workers: {workers:?}");

    let mut owners = Vec::new();
    for n in 0..6 {
        owners.push(app.register_owner(&format!("spread_{n}"), &format!("Лавка {n}")).await);
    }
    let placed = tables_by_node(&app.pool).await;
    assert_eq!(placed.len(), owners.len(), "every store's schema is distributed: {placed:?}");
    let mut used = BTreeSet::new();
    for (schema, nodes) in &placed {
        assert_eq!(nodes.len(), 1, "{schema} sits whole on one node: {nodes:?}");
        let (node, tables) = nodes.iter().next().unwrap();
        assert!(workers.contains(node), "{schema} sits on a worker, not on {node}");
        assert_eq!(*tables, STORE_TABLES, "{schema}: every table placed");
        used.insert(node.clone());
    }
    assert_eq!(used, workers, "stores are spread over both workers");
    // The store answers from its worker.
    for owner in &owners {
        app.me(owner).await.json(StatusCode::OK);
    }
    let listed = citus::placements(&app.pool).await.unwrap();
    assert_eq!(listed.len(), owners.len(), "{listed:?}");
}

/// A store schema as an older deployment made it: on the coordinator, not distributed (made
/// while schema-based sharding was off), migrated, with one employee.
async fn schema_made_before(pool: &PgPool) -> String {
    let schema = SchemaName::for_slug("made_before").unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("set local citus.enable_schema_based_sharding = off").execute(&mut *tx).await.unwrap();
    sqlx::query(
        "with owner as (insert into users (username, password_hash) values ('before_owner', 'x') returning id) \
         insert into stores (name, slug, tenant_key, schema_name, owner_id) \
         select 'made_before', 'made_before', 'made_before_0000abcd', $1, id from owner",
    )
    .bind(schema.as_str())
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("create schema {}", schema.quoted())))
        .execute(&mut *tx)
        .await
        .unwrap();
    migrate_tenant_schema(&mut tx, &schema, &TENANT_MIGRATIONS.migrations).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "insert into {}.employees (role, first_name) values ('cashier', 'Прежний')",
        schema.quoted()
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    schema.as_str().to_owned()
}

#[tokio::test]
#[ignore = "needs a Citus coordinator as DATABASE_URL: .ci/citus"]
async fn kassa_tenants_distribute_places_a_schema_made_before_with_its_rows() {
    let app = TestApp::spawn().await;
    let schema = schema_made_before(&app.pool).await;
    assert_eq!(citus::undistributed_schemas(&app.pool).await.unwrap(), vec![schema.clone()]);
    assert!(!tables_by_node(&app.pool).await.contains_key(&schema), "not distributed yet");

    let dir = tempfile::tempdir().unwrap();
    let run = || {
        kassa(dir.path())
            .args(["tenants", "distribute"])
            .env("DATABASE_URL", app.db.url())
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let output = run();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(&format!("distributed {schema} (1/1)")), "{stdout}");
    assert!(citus::undistributed_schemas(&app.pool).await.unwrap().is_empty());
    let placed = tables_by_node(&app.pool).await;
    let nodes = &placed[&schema];
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert!(workers(&app.pool).await.contains(nodes.keys().next().unwrap()), "{nodes:?}");
    assert_eq!(nodes.values().next(), Some(&STORE_TABLES), "{nodes:?}");
    let names: Vec<String> =
        sqlx::query_scalar(AssertSqlSafe(format!("select first_name from \"{schema}\".employees")))
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(names, vec!["Прежний".to_owned()], "the rows moved with the schema");

    // Again: nothing left to do, and it says so.
    let again = run();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 store schema(s) to distribute"));
}
