//! Migrations: the public registry once, tenant schemas each with a ledger of its own.

use std::borrow::Cow;

use kassa::db::error::ResultExt;
use kassa::db::fleet::migrate_schemas;
use kassa::db::migrate::{
    TENANT_MIGRATIONS, TenantMigrationError, list_tenant_schemas, migrate_tenant_schema,
};
use kassa::db::schema::SchemaName;
use kassa::error::ApiError;
use sqlx::migrate::{Migration, MigrationType};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row, SqlSafeStr};

use crate::helpers::TestDb;

fn migration(version: i64, sql: &str) -> Migration {
    Migration::new(
        version,
        Cow::Owned(format!("test migration {version}")),
        MigrationType::Simple,
        AssertSqlSafe(sql.to_owned()).into_sql_str(),
        false,
    )
}

async fn connect(db: &TestDb) -> PgConnection {
    PgConnection::connect_with(&db.options).await.unwrap()
}

async fn create_schema(conn: &mut PgConnection, schema: &SchemaName) {
    sqlx::raw_sql(AssertSqlSafe(format!("create schema {}", schema.quoted()))).execute(conn).await.unwrap();
}

/// A fresh database holding the empty schema of store `slug`: the database (dropped last), a
/// connection to it, and the schema's name.
async fn with_empty_schema(slug: &str) -> (TestDb, PgConnection, SchemaName) {
    let db = TestDb::create().await;
    let mut conn = connect(&db).await;
    let schema = SchemaName::for_slug(slug).unwrap();
    create_schema(&mut conn, &schema).await;
    (db, conn, schema)
}

async fn tables_in(conn: &mut PgConnection, schema: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = $1 order by 1",
    )
    .bind(schema)
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Runs the tenant migrator on `schema` in a transaction of its own.
async fn migrate(
    conn: &mut PgConnection,
    schema: &SchemaName,
    migrations: &[Migration],
) -> Result<kassa::db::migrate::TenantMigrationOutcome, TenantMigrationError> {
    let mut tx = conn.begin().await.unwrap();
    let outcome = migrate_tenant_schema(&mut tx, schema, migrations).await?;
    tx.commit().await.unwrap();
    Ok(outcome)
}

#[tokio::test]
async fn public_migrations_create_the_registry() {
    let db = TestDb::create().await;
    let mut conn = connect(&db).await;

    let tables = tables_in(&mut conn, "public").await;
    for expected in ["stores", "store_memberships", "users"] {
        assert!(tables.contains(&expected.to_owned()), "{expected} missing from {tables:?}");
    }
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case() {
    let db = TestDb::create().await;
    let mut conn = connect(&db).await;
    let insert = "insert into users (username, password_hash) values ($1, 'x')";
    sqlx::query(insert).bind("Ivan").execute(&mut conn).await.unwrap();

    let duplicate = sqlx::query(insert)
        .bind("iVAN")
        .execute(&mut conn)
        .await
        .on_constraint("users_username_key", |_| ApiError::UsernameTaken);

    assert!(matches!(duplicate, Err(ApiError::UsernameTaken)), "{duplicate:?}");
}

#[tokio::test]
async fn tenant_migrations_apply_once_per_schema() {
    let (_db, mut conn, schema) = with_empty_schema("alpha").await;
    let latest = TENANT_MIGRATIONS.migrations.iter().map(|m| m.version).max();

    let first = migrate(&mut conn, &schema, &TENANT_MIGRATIONS.migrations).await.unwrap();
    let second = migrate(&mut conn, &schema, &TENANT_MIGRATIONS.migrations).await.unwrap();

    assert_eq!(first.applied.len(), TENANT_MIGRATIONS.migrations.len());
    assert_eq!(first.version, latest);
    assert!(second.applied.is_empty(), "a rerun applies nothing: {second:?}");
    assert_eq!(second.version, latest);
    let tables = tables_in(&mut conn, "tenant_alpha").await;
    assert_eq!(
        tables,
        ["approvals", "audit_events", "employee_pins", "employees", "roles", "schema_migrations"]
    );
    assert!(
        !tables_in(&mut conn, "public").await.contains(&"employees".to_owned()),
        "nothing leaks into public"
    );
}

#[tokio::test]
async fn a_failing_tenant_migration_leaves_the_schema_as_it_was() {
    let (_db, mut conn, schema) = with_empty_schema("broken").await;
    let migrations = [migration(1, "create table first_table (id int)"), migration(2, "create tabel oops")];

    let error = migrate(&mut conn, &schema, &migrations).await.unwrap_err();

    assert!(matches!(error, TenantMigrationError::Failed { version: 2, .. }), "{error}");
    assert!(error.to_string().contains("tenant_broken"), "the report names the schema: {error}");
    assert!(tables_in(&mut conn, "tenant_broken").await.is_empty(), "the transaction rolled back");
}

#[tokio::test]
async fn a_migration_changed_after_it_ran_is_refused() {
    let (_db, mut conn, schema) = with_empty_schema("drift").await;
    migrate(&mut conn, &schema, &[migration(1, "create table t (id int)")]).await.unwrap();

    let error = migrate(&mut conn, &schema, &[migration(1, "create table t (id bigint)")]).await.unwrap_err();

    assert!(matches!(error, TenantMigrationError::Changed { version: 1, .. }), "{error}");
}

#[tokio::test]
async fn versions_unknown_to_this_binary_are_tolerated_during_a_rollout() {
    let (_db, mut conn, schema) = with_empty_schema("ahead").await;
    let newer = [migration(1, "create table t (id int)"), migration(2, "alter table t add column note text")];
    migrate(&mut conn, &schema, &newer).await.unwrap();

    let older_binary = migrate(&mut conn, &schema, &newer[..1]).await.unwrap();

    assert!(older_binary.applied.is_empty());
    assert_eq!(older_binary.version, Some(2));
}

#[tokio::test]
async fn a_missing_schema_or_a_missing_transaction_fails_closed() {
    let db = TestDb::create().await;
    let mut conn = connect(&db).await;
    let ghost = SchemaName::for_slug("ghost").unwrap();

    let missing = migrate(&mut conn, &ghost, &TENANT_MIGRATIONS.migrations).await.unwrap_err();
    assert!(matches!(missing, TenantMigrationError::MissingSchema { .. }), "{missing}");

    // Outside a transaction the transaction-local search_path evaporates at once; the check
    // must notice rather than create tenant tables in `public`.
    let real = SchemaName::for_slug("real").unwrap();
    create_schema(&mut conn, &real).await;
    let untransacted =
        migrate_tenant_schema(&mut conn, &real, &TENANT_MIGRATIONS.migrations).await.unwrap_err();
    assert!(matches!(untransacted, TenantMigrationError::MissingSchema { .. }), "{untransacted}");
    assert!(!tables_in(&mut conn, "public").await.contains(&"employees".to_owned()));
}

#[tokio::test]
async fn concurrent_migrators_of_one_schema_apply_each_migration_once() {
    let (db, mut conn, schema) = with_empty_schema("busy").await;

    let runs = (0..8).map(|_| {
        let (options, schema) = (db.options.clone(), schema.clone());
        tokio::spawn(async move {
            let mut conn = PgConnection::connect_with(&options).await.unwrap();
            migrate(&mut conn, &schema, &TENANT_MIGRATIONS.migrations).await.map(|o| o.applied.len())
        })
    });
    let applied: Vec<usize> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.unwrap().expect("every concurrent run succeeds"))
        .collect();

    assert_eq!(applied.iter().sum::<usize>(), TENANT_MIGRATIONS.migrations.len(), "{applied:?}");
    let recorded: i64 = sqlx::query_scalar("select count(*) from tenant_busy.schema_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(recorded as usize, TENANT_MIGRATIONS.migrations.len());
}

#[tokio::test]
async fn a_broken_schema_does_not_stop_the_fleet_migration() {
    let db = TestDb::create().await;
    let mut conn = connect(&db).await;
    let owner: i64 =
        sqlx::query_scalar("insert into users (username, password_hash) values ('owner', 'x') returning id")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    for slug in ["one", "two", "three"] {
        sqlx::query(
            "insert into stores (name, slug, tenant_key, schema_name, owner_id) values ($1, $1, $1 || '_00000000', 'tenant_' || $1, $2)",
        )
        .bind(slug)
        .bind(owner)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    // "two" never got its schema: the fleet run must report it and carry on.
    for slug in ["one", "three"] {
        create_schema(&mut conn, &SchemaName::for_slug(slug).unwrap()).await;
    }
    let pool = sqlx::PgPool::connect_with(db.options.clone()).await.unwrap();

    let schemas = list_tenant_schemas(&pool).await.unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let report = migrate_schemas(&pool, schemas, &TENANT_MIGRATIONS.migrations, 4, &(), &stop).await;

    assert_eq!(report.migrated, 2);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].schema, "tenant_two");
    assert!(tables_in(&mut conn, "tenant_three").await.contains(&"employees".to_owned()));
}

/// A row of a store's `roles`: code, name, rank, permissions, built in.
type PresetRow = (String, Option<String>, i16, Vec<String>, bool);

/// What the previous release (tenant migration 2) writes and reads in `employees`.
const PREVIOUS_RELEASE_INSERT: &str =
    "insert into employees (user_id, role, first_name, last_name, phone, position, hired_at)
     values ($1, $2, 'Анна', '', '', '', current_date) returning id";
const PREVIOUS_RELEASE_READ: &str =
    "select e.id, e.user_id, e.role, e.first_name, e.last_name, e.phone, e.position, e.is_active,
            e.hired_at, e.created_at, e.updated_at
     from employees e where e.user_id = $1";

/// Runs the previous release's employee statements in `schema`: an insert in `role`, and
/// the read of what it wrote.
async fn previous_release_round_trip(conn: &mut PgConnection, schema: &SchemaName, user_id: i64, role: &str) {
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("set local search_path to {}", schema.quoted())))
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(PREVIOUS_RELEASE_INSERT).bind(user_id).bind(role).execute(&mut *tx).await.unwrap();
    // Every column the previous release names must still be there, with its type.
    let read = sqlx::query(PREVIOUS_RELEASE_READ).bind(user_id).fetch_one(&mut *tx).await.unwrap();
    let _: (i64, String, bool, chrono::NaiveDate) =
        (read.get("id"), read.get("last_name"), read.get("is_active"), read.get("hired_at"));
    let read: (i64, String) = (read.get("user_id"), read.get("role"));
    assert_eq!((read.0, read.1.as_str()), (user_id, role));
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_store_of_the_previous_release_migrates_to_the_preset_roles() {
    use kassa::access::Role;

    let (_db, mut conn, schema) = with_empty_schema("previous").await;
    let previous = &TENANT_MIGRATIONS.migrations[..2];
    migrate(&mut conn, &schema, previous).await.unwrap();
    previous_release_round_trip(&mut conn, &schema, 1, "manager").await;

    let outcome = migrate(&mut conn, &schema, &TENANT_MIGRATIONS.migrations).await.unwrap();
    let newer: Vec<i64> = TENANT_MIGRATIONS.migrations[2..].iter().map(|m| m.version).collect();
    assert_eq!(outcome.applied, newer, "the migrations after the previous release's");

    // The previous release's statements still run on the migrated schema…
    previous_release_round_trip(&mut conn, &schema, 2, "cashier").await;
    // …and the store starts with exactly the four built-in roles of docs/contract.md §5.
    let presets: Vec<PresetRow> = sqlx::query_as(
        schema
            .tables()
            .sql("select code, name, rank, permissions, built_in from {roles} order by rank desc, code"),
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    // By rank, then code: `staff` sorts before `stockkeeper`.
    let expected: Vec<_> = [Role::Owner, Role::Manager, Role::Cashier, Role::Staff, Role::Stockkeeper]
        .into_iter()
        .map(|role| {
            let permissions = role.permissions().iter().map(|p| (*p).to_owned()).collect();
            (role.as_str().to_owned(), None, role.rank(), permissions, true)
        })
        .collect();
    assert_eq!(presets, expected);
    // An employee the previous release wrote holds a role the store defines.
    let undefined: i64 = sqlx::query_scalar(schema.tables().sql(
        "select count(*) from {employees} e where not exists (select 1 from {roles} r where r.code = e.role)",
    ))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(undefined, 0);
}
