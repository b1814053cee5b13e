//! Owner registration: one call makes an account, a store, its schema and a session; any
//! failure leaves nothing behind.

use std::borrow::Cow;
use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::migrate::{Migration, MigrationType};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use crate::helpers::{TestApp, registration};

/// Rows and schemas a registration creates; all zero after a failed one.
/// Accounts, stores, memberships, sessions, store schemas. Each store brings two accounts and
/// memberships: its owner's and its shared staff account's.
async fn footprint(app: &TestApp) -> [i64; 5] {
    [
        app.count("select count(*) from public.users").await,
        app.count("select count(*) from public.stores").await,
        app.count("select count(*) from public.store_memberships").await,
        app.count("select count(*) from public.sessions").await,
        app.count("select count(*) from pg_namespace where nspname like 'tenant\\_%'").await,
    ]
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().unwrap().remove(field);
    body
}

#[tokio::test]
async fn registration_provisions_a_whole_store() {
    let app = TestApp::spawn().await;

    let body = app.register(&registration("ivan", "Мой Магазин")).await.json(StatusCode::CREATED);

    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "Регистрация успешна");
    let data = &body["data"];
    assert_eq!(data["user"]["username"], "ivan");
    assert_eq!(data["user"]["full_name"], "Иван Иванов");
    assert_eq!(data["store"]["name"], "Мой Магазин");
    assert_eq!(data["store"]["slug"], "moi-magazin");
    assert_eq!(data["store"]["schema_name"], "tenant_moi_magazin");
    assert_eq!(data["store"]["address"], "г. Ташкент, ул. Навои, 25");
    let key = data["store"]["tenant_key"].as_str().unwrap();
    let suffix = key.strip_prefix("moi-magazin_").expect("key is <slug>_<hex>");
    assert!(suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    assert_eq!(data["employee"]["id"], 1);
    assert_eq!(data["employee"]["role"], "owner");
    assert_eq!(data["employee"]["role_display"], "Владелец");
    assert_eq!(data["employee"]["phone"], "+998901234567");
    assert_eq!(data["employee"]["permissions"].as_array().unwrap().len(), 10);
    assert!(data["tokens"]["access"].as_str().unwrap().split('.').count() == 3);
    assert!(data["tokens"]["refresh"].as_str().unwrap().len() >= 43);

    assert_eq!(footprint(&app).await, [2, 1, 2, 1, 1]);
    let owner_row: (i64, String) =
        sqlx::query_as("select user_id, role from tenant_moi_magazin.employees where role = 'owner'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(owner_row, (data["user"]["id"].as_i64().unwrap(), "owner".to_owned()));
    let hash: String =
        sqlx::query_scalar("select password_hash from public.users").fetch_one(&app.pool).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
}

#[tokio::test]
async fn the_access_token_from_registration_signs_the_owner_in() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;

    let stores = app.get_as("/api/users/auth/my-stores/", &owner.token).await.json(StatusCode::OK);

    assert_eq!(stores["data"].as_array().unwrap().len(), 1);
    assert_eq!(stores["data"][0]["tenant_key"], owner.data["store"]["tenant_key"]);
    assert_eq!(stores["data"][0]["role"], "owner");
}

#[tokio::test]
async fn an_empty_body_names_every_required_field() {
    let app = TestApp::spawn().await;

    let body = app.register(&json!({})).await.error(StatusCode::BAD_REQUEST, "validation_error");

    let fields: HashSet<&str> = body["errors"].as_object().unwrap().keys().map(String::as_str).collect();
    let required = HashSet::from(["username", "password", "password_confirm", "first_name", "store_name"]);
    assert_eq!(fields, required);
    assert_eq!(body["errors"]["username"][0], "Обязательное поле.");
    assert_eq!(footprint(&app).await, [0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn each_invalid_field_is_reported_against_that_field() {
    let app = TestApp::spawn().await;
    let valid = registration("ivan", "Магазин");
    let long = "я".repeat(151);
    let cases: Vec<(&str, Value)> = vec![
        ("password_confirm", with(valid.clone(), "password_confirm", json!("Something-Else-2026"))),
        (
            "password",
            with(with(valid.clone(), "password", json!("Short-1")), "password_confirm", json!("Short-1")),
        ),
        (
            "password",
            with(
                with(valid.clone(), "password", json!("password123")),
                "password_confirm",
                json!("password123"),
            ),
        ),
        (
            "password",
            with(
                with(valid.clone(), "password", json!("ivan-the-great")),
                "password_confirm",
                json!("ivan-the-great"),
            ),
        ),
        (
            "password",
            with(
                with(valid.clone(), "password", json!("x".repeat(257))),
                "password_confirm",
                json!("x".repeat(257)),
            ),
        ),
        ("username", with(valid.clone(), "username", json!("ivan petrov"))),
        ("username", with(valid.clone(), "username", json!("u".repeat(151)))),
        ("username", with(valid.clone(), "username", json!(42))),
        ("first_name", with(valid.clone(), "first_name", json!("   "))),
        ("first_name", with(valid.clone(), "first_name", json!(long))),
        ("email", with(valid.clone(), "email", json!("ivan@"))),
        ("owner_phone", with(valid.clone(), "owner_phone", json!("12345"))),
        ("store_phone", with(valid.clone(), "store_phone", json!("+99890abc"))),
        ("store_email", with(valid.clone(), "store_email", json!("shop at example.uz"))),
        ("store_slug", with(valid.clone(), "store_slug", json!("Bad Slug!"))),
        ("store_slug", with(valid.clone(), "store_slug", json!("1shop"))),
        ("store_slug", with(valid.clone(), "store_slug", json!("a".repeat(57)))),
        ("store_name", without(valid.clone(), "store_name")),
        ("store_description", with(valid.clone(), "store_description", json!("d".repeat(1001)))),
    ];

    for (field, body) in cases {
        let response = app.register(&body).await.error(StatusCode::BAD_REQUEST, "validation_error");
        let errors = response["errors"].as_object().unwrap();
        assert!(errors.contains_key(field), "expected an error on {field}, got {response}");
    }
    assert_eq!(footprint(&app).await, [0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn password_rules_speak_the_callers_language() {
    let app = TestApp::spawn_with(&[("PASSWORD_REQUIRE_DIGIT", "true"), ("PASSWORD_MIN_LENGTH", "12")]).await;
    let body = with(
        with(registration("ivan", "Магазин"), "password", json!("qwertyuiop")),
        "password_confirm",
        json!("qwertyuiop"),
    );

    let request = axum::http::Request::post("/api/users/auth/register/")
        .header("content-type", "application/json")
        .header("accept-language", "en")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = app.send(request).await.error(StatusCode::BAD_REQUEST, "validation_error");

    let problems: Vec<&str> =
        response["errors"]["password"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(
        problems.contains(&"This password is too short. It must contain at least 12 characters."),
        "{problems:?}"
    );
    assert!(problems.contains(&"This password is too common."), "{problems:?}");
    assert!(problems.contains(&"The password must contain at least one digit."), "{problems:?}");
}

#[tokio::test]
async fn passwords_are_compared_exactly() {
    let app = TestApp::spawn().await;
    let passphrase = format!("  {}  ", "корова-ест-траву ".repeat(14));
    assert!(passphrase.chars().count() > 200);

    let trimmed = with(
        with(registration("anna", "Магазин"), "password", json!(passphrase)),
        "password_confirm",
        json!(passphrase.trim()),
    );
    let mismatch = app.register(&trimmed).await.error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(mismatch["errors"]["password_confirm"].is_array());

    let exact = with(
        with(registration("anna", "Магазин"), "password", json!(passphrase)),
        "password_confirm",
        json!(passphrase),
    );
    app.register(&exact).await.json(StatusCode::CREATED);
}

#[tokio::test]
async fn a_taken_username_is_409_in_any_letter_case() {
    let app = TestApp::spawn().await;
    app.register_owner("Ivan", "Первый").await;

    let response = app.register(&registration("iVAN", "Второй")).await;

    let body = response.error(StatusCode::CONFLICT, "username_taken");
    assert!(body["errors"]["username"].is_array(), "{body}");
    assert_eq!(footprint(&app).await, [2, 1, 2, 1, 1]);
}

#[tokio::test]
async fn a_chosen_slug_is_kept_unless_taken() {
    let app = TestApp::spawn().await;
    let chosen = with(registration("ivan", "Что угодно"), "store_slug", json!("my_shop-1"));

    let first = app.register(&chosen).await.json(StatusCode::CREATED);
    assert_eq!(first["data"]["store"]["slug"], "my_shop-1");
    assert_eq!(first["data"]["store"]["schema_name"], "tenant_my_shop_1");

    // `my-shop_1` maps to the same schema name: taken too.
    for slug in ["my_shop-1", "my-shop_1"] {
        let again = with(registration(&format!("user-{slug}"), "Другой"), "store_slug", json!(slug));
        let body = app.register(&again).await.error(StatusCode::CONFLICT, "slug_taken");
        assert!(body["errors"]["store_slug"].is_array(), "{body}");
    }
    assert_eq!(footprint(&app).await, [2, 1, 2, 1, 1]);
}

#[tokio::test]
async fn a_leftover_schema_is_never_adopted_by_a_new_store() {
    let app = TestApp::spawn().await;
    sqlx::raw_sql("create schema tenant_orphan").execute(&app.pool).await.unwrap();

    let chosen = with(registration("ivan", "Orphan"), "store_slug", json!("orphan"));
    app.register(&chosen).await.error(StatusCode::CONFLICT, "slug_taken");

    let automatic = app.register(&registration("ivan", "Orphan")).await.json(StatusCode::CREATED);
    assert_eq!(automatic["data"]["store"]["slug"], "orphan-2");
}

#[tokio::test]
async fn same_named_stores_get_numbered_slugs() {
    let app = TestApp::spawn().await;

    let mut slugs = Vec::new();
    for owner in ["a1", "a2", "a3"] {
        let body = app.register(&registration(owner, "Мой Магазин")).await.json(StatusCode::CREATED);
        slugs.push(body["data"]["store"]["slug"].as_str().unwrap().to_owned());
    }

    assert_eq!(slugs, ["moi-magazin", "moi-magazin-2", "moi-magazin-3"]);
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_store_name_all_succeed_with_distinct_schemas() {
    let app = TestApp::spawn().await;

    let registrations = (0..20).map(|i| {
        let app = &app;
        async move { app.register(&registration(&format!("owner{i}"), "Мой Магазин")).await }
    });
    let responses = futures_util::future::join_all(registrations).await;

    let mut slugs = HashSet::new();
    let mut schemas = HashSet::new();
    for response in &responses {
        let body = response.json(StatusCode::CREATED);
        slugs.insert(body["data"]["store"]["slug"].as_str().unwrap().to_owned());
        schemas.insert(body["data"]["store"]["schema_name"].as_str().unwrap().to_owned());
    }
    assert_eq!((slugs.len(), schemas.len()), (20, 20));
    assert_eq!(footprint(&app).await, [40, 20, 40, 20, 20]);
}

/// A tenant migration set whose statement `sql` fails or breaks what provisioning needs.
fn migrations(sql: &str) -> Vec<Migration> {
    vec![Migration::new(
        1,
        Cow::Borrowed("injected"),
        MigrationType::Simple,
        AssertSqlSafe(sql.to_owned()).into_sql_str(),
        false,
    )]
}

#[tokio::test]
async fn a_failure_at_any_provisioning_step_leaves_nothing_behind() {
    // Steps that run SQL in public fail through a trigger; steps in the tenant schema fail
    // through the migrations the app is given. Either way the transaction must undo it all.
    let public_steps = ["users", "stores", "store_memberships", "sessions"];
    for table in public_steps {
        let app = TestApp::spawn().await;
        let trigger = format!(
            "create function fail() returns trigger language plpgsql as $$ begin raise exception 'injected'; end $$;
             create trigger fail before insert on public.{table} for each row execute function fail();"
        );
        sqlx::raw_sql(AssertSqlSafe(trigger)).execute(&app.pool).await.unwrap();

        let response = app.register(&registration("ivan", "Магазин")).await;

        let body = response.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
        assert!(!body.to_string().contains("injected"), "internals leaked: {body}");
        assert_eq!(footprint(&app).await, [0, 0, 0, 0, 0], "after a failing insert into {table}");
    }

    let tenant_faults = [
        "create table employees (id int); select 1/0;",
        "create table employees (id bigint generated always as identity primary key, user_id bigint not null)",
    ];
    for sql in tenant_faults {
        let app =
            TestApp::spawn_customized(&[], |state| state.tenant_migrations = migrations(sql).into()).await;

        let response = app.register(&registration("ivan", "Магазин")).await;

        response.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
        assert_eq!(footprint(&app).await, [0, 0, 0, 0, 0], "after tenant fault {sql}");
    }
}
