//! The operator's commands (`kassa migrate`, `kassa tenants …`, `kassa users …`) run as the
//! real binary against a real database, as an operator runs them.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use kassa::db::migrate::{TENANT_MIGRATIONS, migrate_tenant_schema};
use kassa::db::schema::SchemaName;
use serde_json::json;
use sqlx::{Acquire, AssertSqlSafe, PgPool};

use crate::helpers::{EMPLOYEE_PASSWORD, TEST_JWT_SECRET, TestApp, TestDb, kassa};

/// Runs `kassa ARGS` on `db` with no terminal and no `.env`.
fn run(db: &TestDb, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    kassa(dir.path())
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn all_output(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The newest tenant migration: where `kassa migrate` brings every schema.
fn latest() -> i64 {
    TENANT_MIGRATIONS.migrations.iter().map(|m| m.version).max().expect("tenant migrations exist")
}

/// `count` stores whose schemas are at tenant migration 1 only, as a fleet looks before a
/// rollout of the later ones. Made directly: the tests are about migrating, not provisioning.
async fn fleet_at_version_1(pool: &PgPool, count: usize) -> Vec<String> {
    let owner: i64 = sqlx::query_scalar(
        "insert into users (username, password_hash) values ('fleet-owner', 'x') returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let mut schemas = Vec::new();
    for n in 0..count {
        let schema = SchemaName::for_slug(&format!("fleet{n:04}")).unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query(
            "insert into stores (name, slug, tenant_key, schema_name, owner_id) values ($1, $1, $1 || '_0000abcd', $2, $3)",
        )
        .bind(format!("fleet{n:04}"))
        .bind(schema.as_str())
        .bind(owner)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("create schema {}", schema.quoted())))
            .execute(&mut *tx)
            .await
            .unwrap();
        migrate_tenant_schema(&mut tx, &schema, &TENANT_MIGRATIONS.migrations[..1]).await.unwrap();
        tx.commit().await.unwrap();
        schemas.push(schema.as_str().to_owned());
    }
    schemas
}

/// The ledger version of `schema`, and whether migration 2's index is there: the two must
/// agree, since a schema migrates all or nothing.
async fn version_of(pool: &PgPool, schema: &str) -> (i64, bool) {
    let version: i64 =
        sqlx::query_scalar(AssertSqlSafe(format!("select max(version) from \"{schema}\".schema_migrations")))
            .fetch_one(pool)
            .await
            .unwrap();
    let indexed: bool = sqlx::query_scalar("select to_regclass($1) is not null")
        .bind(format!("\"{schema}\".audit_events_actor_idx"))
        .fetch_one(pool)
        .await
        .unwrap();
    (version, indexed)
}

#[tokio::test]
async fn migrate_brings_every_store_up_to_date() {
    let app = TestApp::spawn().await;
    let schemas = fleet_at_version_1(&app.pool, 6).await;

    let first = run(&app.db, &["migrate", "--jobs", "3"]);

    assert!(first.status.success(), "{}", all_output(&first));
    assert!(
        stdout(&first).contains("6 total, 6 migrated, 0 already current, 0 failed"),
        "{}",
        stdout(&first)
    );
    for schema in &schemas {
        assert_eq!(version_of(&app.pool, schema).await, (latest(), true), "{schema}");
    }
    let again = run(&app.db, &["migrate"]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("6 total, 0 migrated, 6 already current"), "{}", stdout(&again));
}

#[tokio::test]
async fn migrate_names_a_failing_schema_and_goes_on() {
    let app = TestApp::spawn().await;
    let schemas = fleet_at_version_1(&app.pool, 4).await;
    // Migration 2 indexes audit_events; in this schema the table is gone.
    sqlx::raw_sql(AssertSqlSafe(format!("drop table \"{}\".audit_events", schemas[1])))
        .execute(&app.pool)
        .await
        .unwrap();

    let output = run(&app.db, &["migrate", "--jobs", "2"]);

    assert_eq!(output.status.code(), Some(1), "{}", all_output(&output));
    let text = stdout(&output);
    assert!(text.contains(&format!("FAILED {} at migration 2", schemas[1])), "{text}");
    assert!(text.contains("audit_events"), "the database's own error is shown: {text}");
    assert!(text.contains("4 total, 3 migrated, 0 already current, 1 failed"), "{text}");
    for (n, schema) in schemas.iter().enumerate().filter(|(n, _)| *n != 1) {
        assert_eq!(version_of(&app.pool, schema).await, (latest(), true), "schema {n}");
    }
    let version: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "select max(version) from \"{}\".schema_migrations",
        schemas[1]
    )))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(version, 1, "the failed schema is left as it was");
}

#[tokio::test]
async fn an_interrupted_migrate_is_finished_by_a_rerun() {
    let app = TestApp::spawn().await;
    let schemas = fleet_at_version_1(&app.pool, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let child = kassa(dir.path())
        .args(["migrate", "--jobs", "1"])
        .env("DATABASE_URL", app.db.url())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt (Ctrl-C) as soon as the first schemas are done.
    let started = Instant::now();
    loop {
        let done: i64 = sqlx::query_scalar(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where c.relname = 'audit_events_actor_idx' and n.nspname like 'tenant_fleet%'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if done >= 5 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the migration never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let interrupted = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();

    assert_eq!(interrupted.status.code(), Some(1), "{}", all_output(&interrupted));
    assert!(
        all_output(&interrupted).contains("not attempted; run the command again"),
        "{}",
        all_output(&interrupted)
    );
    let mut finished = 0;
    for schema in &schemas {
        let (version, indexed) = version_of(&app.pool, schema).await;
        assert_eq!(version == latest(), indexed, "{schema} is half-migrated");
        finished += usize::from(version == latest());
    }
    assert!(finished < schemas.len(), "the interruption came too late to test anything");

    let rerun = run(&app.db, &["migrate", "--jobs", "4"]);
    assert!(rerun.status.success(), "{}", all_output(&rerun));
    for schema in &schemas {
        assert_eq!(version_of(&app.pool, schema).await, (latest(), true), "{schema}");
    }
}

#[tokio::test]
async fn the_tenants_commands_address_a_store_by_key() {
    let app = TestApp::spawn().await;
    let schemas = fleet_at_version_1(&app.pool, 3).await;
    let owner = app.register_owner("ivan", "Лавка").await;

    let status = stdout(&run(&app.db, &["tenants", "status"]));
    let rows: Vec<Vec<&str>> = status.lines().map(|l| l.split_whitespace().collect()).collect();
    let latest_version = latest().to_string();
    assert!(rows.contains(&vec![latest_version.as_str(), "1", "latest"]), "{status}");
    assert!(rows.contains(&vec!["1", "3", "behind"]), "{status}");

    let migrated = run(&app.db, &["tenants", "migrate", "fleet0001_0000abcd"]);
    assert!(migrated.status.success(), "{}", all_output(&migrated));
    assert_eq!(version_of(&app.pool, &schemas[1]).await, (latest(), true));
    assert_eq!(version_of(&app.pool, &schemas[0]).await, (1, false), "other stores are left alone");
    let unknown = run(&app.db, &["tenants", "migrate", "nope_00000000"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(all_output(&unknown).contains("no store has the key"), "{}", all_output(&unknown));

    let list = stdout(&run(&app.db, &["tenants", "list"]));
    let lavka = list.lines().find(|line| line.starts_with(&owner.key())).expect("the store is listed");
    let cells: Vec<&str> = lavka.split_whitespace().collect();
    assert_eq!(
        cells,
        [owner.key().as_str(), "lavka", "tenant_lavka", "ivan", "yes", latest().to_string().as_str()]
    );
    assert!(list.lines().any(|l| l.starts_with("fleet0000_0000abcd") && l.ends_with(" 1")), "{list}");
}

#[tokio::test]
async fn a_purged_store_comes_back_whole_from_its_export() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    app.add_employee(&owner, "kassir", "cashier").await;
    let key = owner.key();
    let export_dir = tempfile::tempdir().unwrap();
    let file = export_dir.path().join("lavka.sql");

    let export = run(&app.db, &["tenants", "export", &key, "--output", file.to_str().unwrap()]);
    assert!(export.status.success(), "{}", all_output(&export));
    let sql = std::fs::read_to_string(&file).unwrap();
    assert!(sql.contains("insert into public.stores") && sql.contains("CREATE TABLE tenant_lavka.employees"));

    let refused = run(&app.db, &["tenants", "purge", &key, "--yes"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(all_output(&refused).contains("is active"), "{}", all_output(&refused));
    let deleted = app.delete_as(&format!("/api/users/stores/{}/", owner.store_id), &owner.token).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let unconfirmed = run(&app.db, &["tenants", "purge", &key]);
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert_eq!(app.count("select count(*) from stores").await, 1, "nothing goes without --yes");
    let purged = run(&app.db, &["tenants", "purge", &key, "--yes"]);
    assert!(purged.status.success(), "{}", all_output(&purged));
    assert_eq!(app.count("select count(*) from stores").await, 0);
    assert_eq!(app.count("select count(*) from store_memberships").await, 0);
    assert_eq!(app.count("select count(*) from pg_namespace where nspname = 'tenant_lavka'").await, 0);
    assert_eq!(app.count("select count(*) from users").await, 3, "accounts stay");
    assert_eq!(
        app.count("select count(*) from users where username like '%\\_staff' and is_active").await,
        0,
        "the shared staff account of a purged store can no longer sign in"
    );

    let psql = kassa::db::embedded::find_client_binary("psql").expect("psql is installed with PostgreSQL");
    let restore = std::process::Command::new(psql)
        .args(["--single-transaction", "-v", "ON_ERROR_STOP=1", "-q", "-f"])
        .arg(&file)
        .arg(app.db.url())
        .output()
        .unwrap();
    assert!(restore.status.success(), "{}", all_output(&restore));
    let login = app.sign_in("kassir", EMPLOYEE_PASSWORD).await;
    assert_eq!(login["available_stores"][0]["tenant_key"], key.as_str());
    // Accounts and their sessions never left: the owner's token works on the restored store.
    let staff =
        app.scoped(Method::GET, "/api/users/employees/", &owner.token, &key, None).await.json(StatusCode::OK);
    assert_eq!(staff["count"], 3, "the owner, kassir and the shared staff account");
    // The shared staff account comes back linked to its store, still switched off.
    assert_eq!(app.count("select count(*) from staff_accounts").await, 1);
    let on = json!({"is_active": true});
    app.scoped(Method::PATCH, "/api/users/stores/staff-credentials/", &owner.token, &key, Some(&on))
        .await
        .json(StatusCode::OK);
    let register_again = app.register(&crate::helpers::registration("petr", "Новая")).await;
    assert_eq!(register_again.status, StatusCode::CREATED, "identity sequences were moved past restored ids");
}

/// `kassa users create-owner` for `username`, with `password` when given.
fn create_owner(app: &TestApp, username: &str, store_name: &str, password: Option<&str>) -> Output {
    let mut args = vec![
        "users",
        "create-owner",
        "--username",
        username,
        "--first-name",
        "Иван",
        "--store-name",
        store_name,
    ];
    if let Some(password) = password {
        args.extend(["--password", password]);
    }
    run(&app.db, &args)
}

/// An owner `ivan` of "Мой Магазин" made by the command line, signed in: the generated
/// password, the store's key and the access token.
async fn owner_from_the_command_line(app: &TestApp) -> (String, String, String) {
    let created = create_owner(app, "ivan", "Мой Магазин", None);
    assert!(created.status.success(), "{}", all_output(&created));
    let text = stdout(&created);
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("password:"))
        .expect("a generated password")
        .trim()
        .to_owned();
    let login = app.sign_in("ivan", &password).await;
    assert_eq!(login["available_stores"][0]["slug"], "moi-magazin");
    let key = login["available_stores"][0]["tenant_key"].as_str().unwrap().to_owned();
    let token = login["access"].as_str().unwrap().to_owned();
    (password, key, token)
}

#[tokio::test]
async fn users_create_owner_makes_an_owner_who_signs_in() {
    let app = TestApp::spawn().await;

    let (_, key, token) = owner_from_the_command_line(&app).await;

    app.scoped(Method::GET, "/api/users/auth/me/", &token, &key, None).await.json(StatusCode::OK);
}

#[tokio::test]
async fn users_create_owner_refuses_what_registration_refuses() {
    let app = TestApp::spawn().await;
    owner_from_the_command_line(&app).await;

    let taken = create_owner(&app, "IVAN", "Y", Some("Kassa-Strong-2026"));
    assert_eq!(taken.status.code(), Some(1));
    assert!(all_output(&taken).contains("уже существует"), "{}", all_output(&taken));
    let weak = create_owner(&app, "petr", "Y", Some("123"));
    assert_eq!(weak.status.code(), Some(1));
    assert_eq!(app.count("select count(*) from users").await, 2, "refused commands write nothing");
}

#[tokio::test]
async fn users_reset_password_ends_every_session_of_the_account() {
    let app = TestApp::spawn().await;
    let (_, key, token) = owner_from_the_command_line(&app).await;

    let reset = run(&app.db, &["users", "reset-password", "IVAN", "--must-change"]);
    assert!(reset.status.success(), "{}", all_output(&reset));
    let new_password =
        stdout(&reset).lines().find_map(|l| l.strip_prefix("new password:")).unwrap().trim().to_owned();
    assert!(stdout(&reset).contains("1 session(s) ended"), "{}", stdout(&reset));
    let me = app.scoped(Method::GET, "/api/users/auth/me/", &token, &key, None).await;
    me.error(StatusCode::UNAUTHORIZED, "token_invalid");
    assert_eq!(app.sign_in("ivan", &new_password).await["password_change_required"], true);
    let audit: (String, Option<i64>) = sqlx::query_as(
        "select action, actor_user_id from tenant_moi_magazin.audit_events order by id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audit, ("employee.password_reset".to_owned(), None), "the command line acts as no user");
    let chosen = run(&app.db, &["users", "reset-password", "ivan", "--password", "Novyi-Parol-77"]);
    assert!(chosen.status.success());
    assert!(!stdout(&chosen).contains("Novyi-Parol-77"), "a chosen password is not echoed");
}

#[tokio::test]
async fn users_deactivate_keeps_an_account_out_until_activated() {
    let app = TestApp::spawn().await;
    let (password, _, _) = owner_from_the_command_line(&app).await;

    let deactivated = run(&app.db, &["users", "deactivate", "ivan"]);
    assert!(deactivated.status.success());
    let refused = json!({"username": "ivan", "password": password});
    app.json(Method::POST, "/api/users/auth/login/", &refused, None)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    let listed = stdout(&run(&app.db, &["users", "list"]));
    assert!(
        listed.lines().any(|l| l.contains("ivan") && l.contains(" no ") && l.contains("moi-magazin:owner")),
        "{listed}"
    );
    assert!(run(&app.db, &["users", "activate", "ivan"]).status.success());
    app.sign_in("ivan", &password).await;
    let unknown = run(&app.db, &["users", "deactivate", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(all_output(&unknown).contains("no account named"), "{}", all_output(&unknown));
}

#[test]
fn every_command_explains_itself() {
    let dir = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["migrate"],
        &["openapi"],
        &["tenants"],
        &["tenants", "list"],
        &["tenants", "status"],
        &["tenants", "migrate"],
        &["tenants", "export"],
        &["tenants", "purge"],
        &["users"],
        &["users", "list"],
        &["users", "create-owner"],
        &["users", "reset-password"],
        &["users", "activate"],
        &["users", "deactivate"],
    ];
    for command in commands {
        let output = kassa(dir.path()).args(*command).arg("--help").output().unwrap();
        assert!(output.status.success(), "{command:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        let description = help.lines().next().unwrap_or_default();
        assert!(description.len() > 10, "{command:?} has no description: {help}");
        assert!(help.contains("Usage: kassa"), "{command:?}: {help}");
    }
    let top = String::from_utf8_lossy(&kassa(dir.path()).arg("--help").output().unwrap().stdout).into_owned();
    for name in ["serve", "migrate", "tenants", "users", "openapi"] {
        assert!(top.contains(name), "{name} missing from {top}");
    }
}
