//! The store endpoints: an owner lists, opens, edits and deactivates stores; nobody else can.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

fn store_path(id: i64) -> String {
    format!("/api/users/stores/{id}/")
}

#[tokio::test]
async fn an_owner_opens_a_second_store_with_its_own_schema() {
    let (app, owner) = TestApp::with_owner("ivan", "Первый").await;

    let second_store = json!({"name": "Второй магазин", "address": "addr"});
    let created = app
        .json(Method::POST, "/api/users/stores/", &second_store, Some(&owner.token))
        .await
        .json(StatusCode::CREATED);

    assert_eq!(created["message"], "Магазин успешно создан");
    let store = &created["data"]["store"];
    assert_eq!(store["slug"], "vtoroi-magazin");
    assert_eq!(store["role"], "owner");
    assert_eq!(store["owner"], owner.user_id);
    assert_eq!(store["employee_count"], 2, "the owner and the shared staff account");
    let owner_rows =
        app.count("select count(*) from tenant_vtoroi_magazin.employees where role = 'owner'").await;
    assert_eq!(owner_rows, 1);
    let mine = app.get_as("/api/users/auth/my-stores/", &owner.token).await.json(StatusCode::OK);
    let slugs: Vec<&str> =
        mine["data"].as_array().unwrap().iter().map(|s| s["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["vtoroi-magazin", "pervyi"], "newest first");
}

#[tokio::test]
async fn creating_a_store_validates_its_fields() {
    let (app, owner) = TestApp::with_owner("ivan", "Первый").await;

    let cases = [
        (json!({}), "name"),
        (json!({"name": "Shop", "slug": "1bad"}), "slug"),
        (json!({"name": "Shop", "phone": "123"}), "phone"),
        (json!({"name": "Shop", "email": "nope"}), "email"),
    ];
    for (body, field) in cases {
        let response = app.json(Method::POST, "/api/users/stores/", &body, Some(&owner.token)).await;
        let errors = response.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(errors["errors"][field].is_array(), "{body} → {errors}");
    }
    let taken = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "X", "slug": "pervyi"}), Some(&owner.token))
        .await;
    let body = taken.error(StatusCode::CONFLICT, "slug_taken");
    assert!(body["errors"]["slug"].is_array());
    assert_eq!(app.count("select count(*) from public.stores").await, 1);
}

#[tokio::test]
async fn the_store_endpoints_require_a_valid_token() {
    let app = TestApp::spawn().await;

    let anonymous = app.get("/api/users/stores/").await;
    anonymous.error(StatusCode::UNAUTHORIZED, "not_authenticated");
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer realm=\"api\""));
    app.get_as("/api/users/stores/", "not-a-jwt").await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.get_as("/api/users/auth/my-stores/", "a.b.c").await.error(StatusCode::UNAUTHORIZED, "token_invalid");
}

#[tokio::test]
async fn an_owner_edits_their_store_but_not_its_identity() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let path = store_path(owner.store_id);
    let tenant_key = owner.data["store"]["tenant_key"].clone();

    let patched = app
        .json(
            Method::PATCH,
            &path,
            &json!({"city": "Ташкент", "slug": "lavka", "tenant_key": tenant_key}),
            Some(&owner.token),
        )
        .await
        .json(StatusCode::OK);
    assert_eq!(patched["data"]["city"], "Ташкент");
    assert_eq!(patched["data"]["address"], "г. Ташкент, ул. Навои, 25", "PATCH keeps what it leaves out");

    for (field, value) in
        [("slug", json!("other")), ("tenant_key", json!("other_00000000")), ("schema_name", json!("public"))]
    {
        let response = app.json(Method::PATCH, &path, &json!({ field: value }), Some(&owner.token)).await;
        let body = response.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(body["errors"][field].is_array(), "{body}");
    }

    let replaced = app
        .json(Method::PUT, &path, &json!({"name": "Лавка №1"}), Some(&owner.token))
        .await
        .json(StatusCode::OK);
    assert_eq!(replaced["data"]["name"], "Лавка №1");
    assert_eq!(replaced["data"]["address"], "", "PUT empties what it leaves out");
    assert_eq!(replaced["data"]["slug"], "lavka");
    let missing_name = app.json(Method::PUT, &path, &json!({"city": "X"}), Some(&owner.token)).await;
    missing_name.error(StatusCode::BAD_REQUEST, "validation_error");

    let read = app.get_as(&path, &owner.token).await.json(StatusCode::OK);
    assert_eq!(read["data"]["name"], "Лавка №1");
    assert_eq!(read["data"]["tenant_key"], tenant_key);
}

#[tokio::test]
async fn other_people_cannot_see_or_change_a_store() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let stranger = app.register_owner("petr", "Чужая").await;
    let path = store_path(owner.store_id);

    app.get_as(&path, &stranger.token).await.error(StatusCode::NOT_FOUND, "not_found");
    let patch = app.json(Method::PATCH, &path, &json!({"name": "Mine now"}), Some(&stranger.token)).await;
    patch.error(StatusCode::NOT_FOUND, "not_found");
    app.delete_as(&path, &stranger.token).await.error(StatusCode::NOT_FOUND, "not_found");
    let theirs = app.get_as("/api/users/stores/", &stranger.token).await.json(StatusCode::OK);
    assert_eq!(theirs["data"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["data"][0]["slug"], "chuzhaia");

    let name: String = sqlx::query_scalar("select name from public.stores where id = $1")
        .bind(owner.store_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "Лавка");
}

/// Makes account `user_id` a member of store `store_id` as `role`, straight in the database (no
/// request, so no rule of the API applies).
async fn join_as(app: &TestApp, user_id: i64, store_id: i64, role: &str) {
    sqlx::query("insert into public.store_memberships (user_id, store_id, role) values ($1, $2, $3)")
        .bind(user_id)
        .bind(store_id)
        .bind(role)
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn members_who_are_not_the_owner_may_read_but_not_write() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let manager = app.register_owner("maria", "Своя").await;
    join_as(&app, manager.user_id, owner.store_id, "manager").await;
    let path = store_path(owner.store_id);

    let read = app.get_as(&path, &manager.token).await.json(StatusCode::OK);
    assert_eq!(read["data"]["role"], "manager");
    assert_eq!(read["data"]["role_display"], "Менеджер");
    let patch = app.json(Method::PATCH, &path, &json!({"name": "Hijacked"}), Some(&manager.token)).await;
    patch.error(StatusCode::FORBIDDEN, "permission_denied");
    let put = app.json(Method::PUT, &path, &json!({"name": "Hijacked"}), Some(&manager.token)).await;
    put.error(StatusCode::FORBIDDEN, "permission_denied");
    app.delete_as(&path, &manager.token).await.error(StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(app.count("select count(*) from public.stores where is_active and name = 'Лавка'").await, 1);
}

#[tokio::test]
async fn deleting_a_store_keeps_its_data() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;

    let response = app.delete_as(&store_path(owner.store_id), &owner.token).await;

    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(app.count("select count(*) from public.stores where not is_active").await, 1);
    assert_eq!(app.count("select count(*) from tenant_lavka.employees").await, 2, "no data dropped");
    let mine = app.get_as("/api/users/auth/my-stores/", &owner.token).await.json(StatusCode::OK);
    assert!(mine["data"].as_array().unwrap().is_empty(), "POS apps no longer see it");
    let managed = app.get_as("/api/users/stores/", &owner.token).await.json(StatusCode::OK);
    assert_eq!(managed["data"][0]["is_active"], false, "the owner still does");
}

#[tokio::test]
async fn a_malformed_store_id_names_no_store() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;

    for path in ["/api/users/stores/abc/", "/api/users/stores/99999999999999999999/", "/api/users/stores/-1/"]
    {
        app.get_as(path, &owner.token).await.error(StatusCode::NOT_FOUND, "not_found");
    }
    app.get_as("/api/users/stores/424242/", &owner.token).await.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn the_role_catalogue_is_public() {
    let app = TestApp::spawn().await;

    let ru = app.get("/api/users/roles/").await.json(StatusCode::OK);
    let roles: Vec<(&str, &str)> = ru["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["role"].as_str().unwrap(), r["role_display"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("owner", "Владелец"),
            ("manager", "Менеджер"),
            ("cashier", "Кассир"),
            ("stockkeeper", "Складчик"),
            ("staff", "Общий аккаунт сотрудников")
        ]
    );
    assert_eq!(
        ru["data"][2]["permissions"],
        json!(["view_products", "create_sales", "view_customers", "create_customers"])
    );

    let request = axum::http::Request::get("/api/users/roles")
        .header("accept-language", "en")
        .body(axum::body::Body::empty());
    let en = app.send(request.unwrap()).await.json(StatusCode::OK);
    assert_eq!(en["data"][3]["role_display"], "Stockkeeper");
}

#[tokio::test]
async fn a_membership_in_a_role_the_store_does_not_define_is_an_error_not_a_cashier() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let member = app.register_owner("maria", "Своя").await;
    // Role writes keep such rows out (a role is locked while given, and deleted only when
    // unheld); a hand edit could still leave one behind.
    join_as(&app, member.user_id, owner.store_id, "auditor").await;

    for path in
        [store_path(owner.store_id), "/api/users/stores/".to_owned(), "/api/users/auth/my-stores/".to_owned()]
    {
        let response = app.get_as(&path, &member.token).await;
        let body = response.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
        assert!(!body.to_string().contains("auditor"), "{path}: the cause stays in the log: {body}");
    }
    let own = app.get_as(&store_path(owner.store_id), &owner.token).await.json(StatusCode::OK);
    assert_eq!(own["data"]["role"], "owner", "other members' rows still read");
}
