//! A store's own roles (docs/contract.md §10): the four built-ins every store starts with, the rules of
//! who may write them and what may change, the role as its holders see it everywhere one is
//! reported, management by rank, no definition crossing stores in a storm, no stale role
//! after an edit, and the permission catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{
    EMPLOYEE_PASSWORD, Owner, STAFF_PERMISSIONS, TestApp, TestResponse, assert_pools_are_neutral, send,
};

const STORE_ROLES: &str = "/api/users/store-roles/";

/// A refused write: what it is, who sends it, the request, the answer, the field named.
type RefusalCase<'a> =
    (&'a str, &'a Owner, (Method, String, Option<Value>), (StatusCode, &'a str), Option<&'a str>);
const EMPLOYEES: &str = "/api/users/employees/";

const OWNER_PERMISSIONS: [&str; 10] = [
    "view_all",
    "create_all",
    "update_all",
    "delete_all",
    "manage_employees",
    "manage_store",
    "view_analytics",
    "manage_products",
    "manage_sales",
    "manage_customers",
];
const MANAGER_PERMISSIONS: [&str; 7] = [
    "view_all",
    "create_all",
    "update_all",
    "manage_products",
    "manage_sales",
    "manage_customers",
    "view_analytics",
];
const CASHIER_PERMISSIONS: [&str; 4] =
    ["view_products", "create_sales", "view_customers", "create_customers"];
const STOCKKEEPER_PERMISSIONS: [&str; 5] =
    ["view_products", "create_products", "update_products", "manage_inventory", "view_analytics"];

fn role_path(code: &str) -> String {
    format!("{STORE_ROLES}{code}/")
}

fn employee_path(id: &Value) -> String {
    format!("{EMPLOYEES}{id}/")
}

fn access_token(login: &Value) -> String {
    login["access"].as_str().unwrap().to_owned()
}

/// Permission names as a set (the contract fixes the members of a custom role's list, not
/// their order); panics on duplicates, which no role may hold.
fn set(permissions: &Value) -> BTreeSet<String> {
    let list = permissions.as_array().unwrap_or_else(|| panic!("permissions is a list: {permissions}"));
    let set: BTreeSet<String> = list.iter().map(|p| p.as_str().unwrap().to_owned()).collect();
    assert_eq!(set.len(), list.len(), "duplicate permissions in {permissions}");
    set
}

fn set_of(permissions: &[&str]) -> BTreeSet<String> {
    permissions.iter().map(|p| (*p).to_owned()).collect()
}

/// `GET /store-roles/` as `who`, in their store; the whole 200 body.
async fn roles(app: &TestApp, who: &Owner) -> Value {
    app.scoped(Method::GET, STORE_ROLES, &who.token, &who.key(), None).await.json(StatusCode::OK)
}

/// A store-scoped request with `Accept-Language: lang`.
async fn scoped_in(app: &TestApp, lang: &str, path: &str, token: &str, key: &str) -> TestResponse {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("x-tenant-key", key)
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

/// The role `code` in a `GET /store-roles/` body; panics when it is not listed.
fn role_in(list: &Value, code: &str) -> Value {
    list["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .find(|role| role["code"] == code)
        .unwrap_or_else(|| panic!("{code} is not listed: {list}"))
        .clone()
}

fn codes(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The fields of a role object the contract names, and nothing else.
fn shape(role: &Value) -> Value {
    json!({
        "code": role["code"], "name": role["name"], "rank": role["rank"], "permissions": role["permissions"],
        "built_in": role["built_in"], "member_count": role["member_count"],
    })
}

/// The four built-ins, highest rank first, ties by code, with `names` and `counts` in that order.
/// The built-in roles by rank, then code; `staff` is the shared staff account's, which every
/// store's account holds (so its count is at least 1).
fn built_ins(names: [&str; 5], counts: [i64; 5]) -> Vec<Value> {
    let rows: [(&str, i64, &[&str]); 5] = [
        ("owner", 100, &OWNER_PERMISSIONS),
        ("manager", 50, &MANAGER_PERMISSIONS),
        ("cashier", 10, &CASHIER_PERMISSIONS),
        ("staff", 10, &STAFF_PERMISSIONS),
        ("stockkeeper", 10, &STOCKKEEPER_PERMISSIONS),
    ];
    rows.iter()
        .zip(names)
        .zip(counts)
        .map(|(((code, rank, permissions), name), count)| {
            json!({"code": code, "name": name, "rank": rank, "permissions": permissions, "built_in": true,
                   "member_count": count})
        })
        .collect()
}

fn shapes(list: &Value) -> Vec<Value> {
    list["data"].as_array().expect("data is a list").iter().map(shape).collect()
}

/// The list is ordered by rank, highest first, ties by code.
fn assert_ordered(list: &Value) {
    let data = list["data"].as_array().unwrap();
    for pair in data.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (ra, rb) = (a["rank"].as_i64().unwrap(), b["rank"].as_i64().unwrap());
        assert!(
            ra > rb || (ra == rb && a["code"].as_str() < b["code"].as_str()),
            "out of order: {} before {}",
            a["code"],
            b["code"]
        );
    }
}

async fn me(app: &TestApp, who: &Owner) -> Value {
    app.scoped(Method::GET, "/api/users/auth/me/", &who.token, &who.key(), None).await.json(StatusCode::OK)
}

/// The store's audit events of `action` (newest first), as its owner reads them.
async fn events(app: &TestApp, owner: &Owner, action: &str) -> Vec<Value> {
    let body = app.audit_events(owner, &format!("?action={action}&page_size=100")).await.json(StatusCode::OK);
    let results = body["results"].as_array().expect("results is a list").clone();
    assert!(results.iter().all(|e| e["action"] == action), "{body}");
    results
}

/// Asserts a role as the holder sees it in `view` (an employee, `me`'s data, a store of the
/// sign-in list): its code, name and permissions.
#[track_caller]
fn assert_role(view: &Value, code: &str, name: &str, permissions: &BTreeSet<String>) {
    assert_eq!(view["role"], code, "{view}");
    assert_eq!(view["role_display"], name, "{view}");
    assert_eq!(&set(&view["permissions"]), permissions, "{view}");
}

#[tokio::test]
async fn a_store_starts_with_the_four_built_in_roles_which_every_member_may_read() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let key = owner.key();

    let fresh = roles(&app, &owner).await;

    assert_eq!(fresh["status"], "success");
    assert_eq!(fresh["tenant_key"], key.as_str());
    assert_eq!(fresh["store_name"], "Лавка");
    assert_eq!(fresh["store_slug"], "lavka");
    assert_eq!(
        shapes(&fresh),
        built_ins(
            ["Владелец", "Менеджер", "Кассир", "Общий аккаунт сотрудников", "Складчик"],
            [1, 0, 0, 1, 0]
        )
    );
    let english = scoped_in(&app, "en", STORE_ROLES, &owner.token, &key).await.json(StatusCode::OK);
    assert_eq!(
        shapes(&english),
        built_ins(["Owner", "Manager", "Cashier", "Shared staff account", "Stockkeeper"], [1, 0, 0, 1, 0])
    );

    let [(manager, _), (cashier, _), (stockkeeper, _)] =
        app.members(&owner, [("boss", "manager"), ("kassir", "cashier"), ("sklad", "stockkeeper")]).await;
    app.add_employee(&owner, "kassir2", "cashier").await;
    let counted = roles(&app, &owner).await;
    let expected = built_ins(
        ["Владелец", "Менеджер", "Кассир", "Общий аккаунт сотрудников", "Складчик"],
        [1, 1, 2, 1, 1],
    );
    assert_eq!(shapes(&counted), expected);
    for reader in [&manager, &cashier, &stockkeeper] {
        let seen = roles(&app, reader).await;
        assert_eq!(shapes(&seen), expected, "every member reads the same roles");
        assert_eq!(seen["tenant_key"], key.as_str());
    }

    // Store-scoped like the rest: a key and a member's token.
    let no_key = app.get_as(STORE_ROLES, &owner.token).await;
    no_key.error(StatusCode::BAD_REQUEST, "missing_tenant_key");
    let stranger = app.register_owner("petr", "Чужая").await;
    app.scoped(Method::GET, STORE_ROLES, &stranger.token, &key, None)
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");

    // Each store has roles of its own: a custom role of one store is not in another's, and a
    // second store of the same owner starts with the four built-ins again.
    let body = json!({"code": "floor_lead", "name": "Старший смены", "rank": 40, "permissions": []});
    app.create_role(&owner, &body).await.json(StatusCode::CREATED);
    assert_eq!(codes(&roles(&app, &stranger).await), ["owner", "manager", "cashier", "staff", "stockkeeper"]);
    let second = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "Вторая лавка"}), Some(&owner.token))
        .await
        .json(StatusCode::CREATED);
    let second_key = second["data"]["store"]["tenant_key"].as_str().unwrap().to_owned();
    let second_roles = app.scoped(Method::GET, STORE_ROLES, &owner.token, &second_key, None).await;
    let second_roles = second_roles.json(StatusCode::OK);
    assert_eq!(second_roles["tenant_key"], second_key.as_str());
    assert_eq!(
        shapes(&second_roles),
        built_ins(
            ["Владелец", "Менеджер", "Кассир", "Общий аккаунт сотрудников", "Складчик"],
            [1, 0, 0, 1, 0]
        )
    );
    assert_eq!(
        codes(&roles(&app, &owner).await),
        ["owner", "manager", "floor_lead", "cashier", "staff", "stockkeeper"]
    );
}

/// Whether an error body names `field`: itself, or a place inside it (`permissions[0]`).
fn names_field(answer: &Value, field: &str) -> bool {
    answer["errors"].as_object().is_some_and(|errors| {
        errors.iter().any(|(key, messages)| {
            let inside =
                key.strip_prefix(field).is_some_and(|rest| rest.is_empty() || rest.starts_with(['[', '.']));
            inside && messages.as_array().is_some_and(|m| !m.is_empty())
        })
    })
}

/// A valid body for a new role, with `field` replaced by `value` (or left out when `None`).
fn new_role_with(field: &str, value: Option<Value>) -> Value {
    let mut body =
        json!({"code": "new_role", "name": "Новая роль", "rank": 20, "permissions": ["view_products"]});
    match value {
        Some(value) => body[field] = value,
        None => {
            body.as_object_mut().unwrap().remove(field);
        }
    }
    body
}

/// A store with an owner, a manager and a cashier, and three custom roles written at the
/// bounds (one held by an employee), as its owner lists them.
struct RoleArena {
    owner: Owner,
    manager: Owner,
    cashier: Owner,
    before: Value,
}

async fn role_arena(app: &TestApp) -> RoleArena {
    let owner = app.register_owner("ivan", "Лавка").await;
    let [(manager, _), (cashier, _)] =
        app.members(&owner, [("boss", "manager"), ("kassir", "cashier")]).await;

    // What may be written: the bounds themselves.
    let created = app
        .create_role(
            &owner,
            &json!({"code": "floor_lead", "name": "Старший смены", "rank": 40,
                "permissions": ["view_products", "open_shift"]}),
        )
        .await
        .json(StatusCode::CREATED);
    assert_eq!(created["status"], "success");
    assert_eq!(created["tenant_key"], owner.key().as_str());
    assert_eq!(created["store_slug"], "lavka");
    let role = &created["data"];
    assert_eq!(
        (&role["code"], &role["name"], &role["rank"], &role["built_in"], &role["member_count"]),
        (&json!("floor_lead"), &json!("Старший смены"), &json!(40), &json!(false), &json!(0))
    );
    assert_eq!(set(&role["permissions"]), set_of(&["view_products", "open_shift"]));
    let spare = app.create_role(&owner, &json!({"code": "spare", "name": "Z", "rank": 1})).await;
    let spare = spare.json(StatusCode::CREATED);
    assert_eq!(spare["data"]["permissions"], json!([]), "permissions default to none");
    assert_eq!(spare["data"]["rank"], 1);
    let longest_code = format!("r{}", "0".repeat(31));
    let longest_name = "Я".repeat(64);
    let mut most: Vec<String> = (0..63).map(|i| format!("p{i:02}")).collect();
    most.push(format!("q{}", "x".repeat(63)));
    let widest = app
        .create_role(
            &owner,
            &json!({"code": longest_code, "name": longest_name, "rank": 99, "permissions": most}),
        )
        .await
        .json(StatusCode::CREATED);
    assert_eq!(widest["data"]["name"], longest_name.as_str(), "64 characters, however many bytes");
    assert_eq!(widest["data"]["permissions"].as_array().unwrap().len(), 64);
    app.add_employee(&owner, "lead1", "floor_lead").await;

    let before = roles(app, &owner).await;
    assert_eq!(role_in(&before, "floor_lead")["member_count"], 1);
    assert_eq!(
        codes(&before),
        ["owner", longest_code.as_str(), "manager", "floor_lead", "cashier", "staff", "stockkeeper", "spare"]
    );
    assert_ordered(&before);
    assert_eq!(events(app, &owner, "role.created").await.len(), 3);
    RoleArena { owner, manager, cashier, before }
}

fn post(body: Value) -> (Method, String, Option<Value>) {
    (Method::POST, STORE_ROLES.to_owned(), Some(body))
}

fn patch(code: &str, body: Value) -> (Method, String, Option<Value>) {
    (Method::PATCH, role_path(code), Some(body))
}

fn delete(code: &str) -> (Method, String, Option<Value>) {
    (Method::DELETE, role_path(code), None)
}

const DENIED: (StatusCode, &str) = (StatusCode::FORBIDDEN, "permission_denied");
const INVALID: (StatusCode, &str) = (StatusCode::BAD_REQUEST, "validation_error");
const TAKEN: (StatusCode, &str) = (StatusCode::CONFLICT, "role_taken");

/// Sends every case; each must answer its error (naming its field, when it has one) and
/// leave the roles and the audit trail as they were.
async fn assert_refused(app: &TestApp, arena: &RoleArena, cases: &[RefusalCase<'_>]) {
    let (owner, before) = (&arena.owner, &arena.before);
    let mut failures = Vec::new();
    for (label, who, (method, path, body), (status, code), field) in cases {
        let response = app.scoped(method.clone(), path, &who.token, &who.key(), body.as_ref()).await;
        let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        if response.status != *status || answer["code"] != *code || answer["status"] != "error" {
            failures.push(format!(
                "{label}: {method} {path} {body:?}: expected {status} {code}, got {} {answer}",
                response.status
            ));
        } else if let Some(field) = field
            && !names_field(&answer, field)
        {
            failures.push(format!("{label}: {body:?}: errors do not name {field}: {answer}"));
        }
        let after = roles(app, owner).await;
        if after != *before {
            failures.push(format!("{label}: refused, yet the roles changed: {before} → {after}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases broke the rules:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(events(app, owner, "role.updated").await.is_empty(), "a refused change left an event");
    assert!(events(app, owner, "role.deleted").await.is_empty(), "a refused delete left an event");
    assert_eq!(events(app, owner, "role.created").await.len(), 3, "a refused create left an event");
}

#[tokio::test]
async fn a_role_may_be_written_at_the_bounds() {
    let app = TestApp::spawn().await;

    let arena = role_arena(&app).await;

    assert_eq!(role_in(&arena.before, "floor_lead")["member_count"], 1);
}

#[tokio::test]
async fn only_the_owner_writes_roles() {
    let app = TestApp::spawn().await;
    let arena = role_arena(&app).await;
    let (manager, cashier) = (&arena.manager, &arena.cashier);

    let cases: Vec<RefusalCase> = vec![
        // Only the owner writes roles.
        ("manager creates", manager, post(json!({"code": "by_boss", "name": "X", "rank": 5})), DENIED, None),
        ("cashier creates", cashier, post(json!({"code": "by_till", "name": "X", "rank": 5})), DENIED, None),
        ("manager renames", manager, patch("floor_lead", json!({"name": "X"})), DENIED, None),
        ("manager lowers", manager, patch("floor_lead", json!({"rank": 5})), DENIED, None),
        ("cashier renames", cashier, patch("floor_lead", json!({"name": "X"})), DENIED, None),
        ("manager regrants cashiers", manager, patch("cashier", json!({"permissions": []})), DENIED, None),
        (
            "cashier regrants itself",
            cashier,
            patch("cashier", json!({"permissions": OWNER_PERMISSIONS})),
            DENIED,
            None,
        ),
        ("manager deletes", manager, delete("spare"), DENIED, None),
        ("cashier deletes", cashier, delete("spare"), DENIED, None),
    ];
    assert_refused(&app, &arena, &cases).await;
}

#[tokio::test]
async fn the_built_in_roles_stay_with_their_ranks() {
    let app = TestApp::spawn().await;
    let arena = role_arena(&app).await;
    let owner = &arena.owner;

    let cases: Vec<RefusalCase> = vec![
        // The owner role never changes.
        ("owner renamed", owner, patch("owner", json!({"name": "Босс"})), DENIED, None),
        ("owner regranted", owner, patch("owner", json!({"permissions": ["view_all"]})), DENIED, None),
        ("owner reranked", owner, patch("owner", json!({"rank": 90})), DENIED, None),
        // A built-in keeps its rank, even beside a change that alone would be allowed.
        ("manager reranked", owner, patch("manager", json!({"rank": 60})), DENIED, None),
        ("cashier reranked", owner, patch("cashier", json!({"rank": 20})), DENIED, None),
        ("stockkeeper reranked", owner, patch("stockkeeper", json!({"rank": 1})), DENIED, None),
        (
            "cashier renamed and reranked",
            owner,
            patch("cashier", json!({"name": "X", "rank": 20})),
            DENIED,
            None,
        ),
        // Built-ins stay.
        ("owner deleted", owner, delete("owner"), DENIED, None),
        ("manager deleted", owner, delete("manager"), DENIED, None),
        ("cashier deleted", owner, delete("cashier"), DENIED, None),
        ("stockkeeper deleted", owner, delete("stockkeeper"), DENIED, None),
    ];
    assert_refused(&app, &arena, &cases).await;
}

#[tokio::test]
async fn a_taken_held_or_unknown_role_code_is_refused() {
    let app = TestApp::spawn().await;
    let arena = role_arena(&app).await;
    let owner = &arena.owner;

    let cases: Vec<RefusalCase> = vec![
        // Codes are unique in the store, built-in ones included.
        ("cashier taken", owner, post(new_role_with("code", Some(json!("cashier")))), TAKEN, None),
        ("owner taken", owner, post(new_role_with("code", Some(json!("owner")))), TAKEN, None),
        ("custom taken", owner, post(new_role_with("code", Some(json!("floor_lead")))), TAKEN, None),
        // In use, unknown.
        ("held role deleted", owner, delete("floor_lead"), (StatusCode::CONFLICT, "role_in_use"), None),
        (
            "unknown changed",
            owner,
            patch("ghost", json!({"name": "X"})),
            (StatusCode::NOT_FOUND, "not_found"),
            None,
        ),
        ("unknown deleted", owner, delete("ghost"), (StatusCode::NOT_FOUND, "not_found"), None),
    ];
    assert_refused(&app, &arena, &cases).await;
}

#[tokio::test]
async fn every_invalid_role_value_is_refused_by_name() {
    let app = TestApp::spawn().await;
    let arena = role_arena(&app).await;
    let owner = &arena.owner;
    let mut cases: Vec<RefusalCase> = Vec::new();

    let bad_values: Vec<(&str, Option<Value>)> = vec![
        ("code", Some(json!("New_role"))),
        ("code", Some(json!("1role"))),
        ("code", Some(json!("_role"))),
        ("code", Some(json!("r"))),
        ("code", Some(json!(format!("r{}", "0".repeat(32))))),
        ("code", Some(json!("new-role"))),
        ("code", Some(json!("новая"))),
        ("code", Some(json!(""))),
        ("code", Some(json!(42))),
        ("code", None),
        ("name", Some(json!(""))),
        ("name", Some(json!("Я".repeat(65)))),
        ("name", Some(json!(7))),
        ("name", None),
        ("rank", Some(json!(0))),
        ("rank", Some(json!(100))),
        ("rank", Some(json!(150))),
        ("rank", Some(json!(-5))),
        ("rank", Some(json!("20"))),
        ("rank", Some(json!(20.5))),
        ("rank", None),
        ("permissions", Some(json!(["view_products", "view_products"]))),
        ("permissions", Some(json!(["View_products"]))),
        ("permissions", Some(json!(["v"]))),
        ("permissions", Some(json!(["view products"]))),
        ("permissions", Some(json!([format!("q{}", "x".repeat(64))]))),
        ("permissions", Some(json!((0..65).map(|i| format!("p{i:02}")).collect::<Vec<_>>()))),
        ("permissions", Some(json!("view_products"))),
        ("permissions", Some(json!([1]))),
    ];
    let labels: Vec<String> =
        bad_values.iter().map(|(field, value)| format!("create with {field} = {value:?}")).collect();
    for ((field, value), label) in bad_values.into_iter().zip(&labels) {
        cases.push((label.as_str(), owner, post(new_role_with(field, value)), INVALID, Some(field)));
    }
    for (field, value) in [
        ("rank", json!(0)),
        ("rank", json!(100)),
        ("rank", json!("40")),
        ("name", json!("")),
        ("name", json!("Я".repeat(65))),
        ("permissions", json!(["A"])),
        ("permissions", json!(["open_shift", "open_shift"])),
    ] {
        cases.push((
            "invalid change",
            owner,
            patch("floor_lead", json!({field: value})),
            INVALID,
            Some(field),
        ));
    }
    cases.push((
        "invalid built-in grant",
        owner,
        patch("cashier", json!({"permissions": ["Bad"]})),
        INVALID,
        Some("permissions"),
    ));
    assert_refused(&app, &arena, &cases).await;
}

#[tokio::test]
async fn an_unused_custom_role_is_deleted_once() {
    let app = TestApp::spawn().await;
    let arena = role_arena(&app).await;
    let owner = &arena.owner;

    // What was refused to others the owner may do: an unused custom role goes, once.
    assert_eq!(app.delete_role(owner, "spare").await.status, StatusCode::NO_CONTENT);
    assert!(!codes(&roles(&app, owner).await).contains(&"spare".to_owned()));
    app.delete_role(owner, "spare").await.error(StatusCode::NOT_FOUND, "not_found");
    let deleted = events(&app, owner, "role.deleted").await;
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0].to_string().contains("spare"), "{}", deleted[0]);
}

#[tokio::test]
async fn a_built_in_role_keeps_its_rank_through_edits() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let (cashier, employee) = app.member(&owner, "kassir", "cashier").await;
    let granted = ["view_products", "create_sales", "void_sales"];

    let changed = app
        .patch_role(&owner, "cashier", &json!({"name": "Продавец", "permissions": granted}))
        .await
        .json(StatusCode::OK);

    let role = &changed["data"];
    assert_eq!(
        (&role["code"], &role["name"], &role["rank"]),
        (&json!("cashier"), &json!("Продавец"), &json!(10))
    );
    assert_eq!((&role["built_in"], &role["member_count"]), (&json!(true), &json!(1)));
    assert_eq!(set(&role["permissions"]), set_of(&granted));
    // A renamed built-in shows its name in every language; the others stay localized.
    let english = scoped_in(&app, "en", STORE_ROLES, &owner.token, &owner.key()).await.json(StatusCode::OK);
    assert_eq!(role_in(&english, "cashier")["name"], "Продавец");
    assert_eq!(role_in(&english, "manager")["name"], "Manager");
    assert_eq!(role_in(&english, "cashier")["rank"], 10);
    // The holder's next request reports the new definition.
    assert_role(&me(&app, &cashier).await["data"], "cashier", "Продавец", &set_of(&granted));
    let read =
        app.scoped(Method::GET, &employee_path(&employee["id"]), &owner.token, &owner.key(), None).await;
    assert_role(&read.json(StatusCode::OK), "cashier", "Продавец", &set_of(&granted));
    // A new cashier is given the store's cashier.
    let hired = app.add_employee(&owner, "kassir2", "cashier").await;
    assert_role(&hired, "cashier", "Продавец", &set_of(&granted));

    let updated = events(&app, &owner, "role.updated").await;
    assert_eq!(updated.len(), 1);
    assert_eq!(set(&updated[0]["changes"]["permissions"]["after"]), set_of(&granted), "{}", updated[0]);
    assert_eq!(
        set(&updated[0]["changes"]["permissions"]["before"]),
        set_of(&CASHIER_PERMISSIONS),
        "{}",
        updated[0]
    );
    assert_eq!(updated[0]["changes"]["name"]["after"], "Продавец", "{}", updated[0]);
}

const SENIOR_NAME: &str = "Старший кассир";
const SENIOR_FIRST: [&str; 3] = ["view_products", "create_sales", "refund_sales"];

/// A store with a custom `senior_cashier` role and one holder of it, signed in.
struct Holding {
    owner: Owner,
    key: String,
    holder: Owner,
    /// The holder's employee id.
    id: Value,
    /// The holder's sign-in.
    login: Value,
    employee: Value,
}

async fn holding(app: &TestApp) -> Holding {
    let owner = app.register_owner("ivan", "Лавка").await;
    let key = owner.key();
    let (first, name) = (SENIOR_FIRST, SENIOR_NAME);
    let created = app
        .create_role(
            &owner,
            &json!({"code": "senior_cashier", "name": name, "rank": 20, "permissions": first}),
        )
        .await
        .json(StatusCode::CREATED);
    assert_eq!(created["data"]["code"], "senior_cashier");
    assert_eq!(created["data"]["member_count"], 0);
    let created_events = events(app, &owner, "role.created").await;
    assert_eq!(created_events.len(), 1);
    assert!(created_events[0].to_string().contains("senior_cashier"), "{}", created_events[0]);

    let employee = app.add_employee(&owner, "senior", "senior_cashier").await;
    let id = employee["id"].clone();
    let login = app.sign_in("senior", EMPLOYEE_PASSWORD).await;
    let holder = Owner { token: access_token(&login), ..owner.clone() };
    Holding { owner, key, holder, id, login, employee }
}

#[tokio::test]
async fn a_custom_role_shows_as_the_stores_definition_wherever_a_role_shows() {
    let app = TestApp::spawn().await;
    let Holding { owner, key, holder, id, login, employee } = holding(&app).await;
    let (first, name) = (SENIOR_FIRST, SENIOR_NAME);

    // Everywhere the holder's role shows, it is the store's definition.
    assert_role(&employee, "senior_cashier", name, &set_of(&first));
    assert_eq!(login["available_stores"][0]["tenant_key"], key.as_str());
    assert_role(&login["available_stores"][0], "senior_cashier", name, &set_of(&first));
    let stores = app.get_as("/api/users/auth/my-stores/", &holder.token).await.json(StatusCode::OK);
    assert_role(&stores["data"][0], "senior_cashier", name, &set_of(&first));
    let mine = me(&app, &holder).await;
    assert_role(&mine["data"], "senior_cashier", name, &set_of(&first));
    assert_role(&mine["data"]["employee"], "senior_cashier", name, &set_of(&first));
    let english =
        scoped_in(&app, "en", "/api/users/auth/me/", &holder.token, &key).await.json(StatusCode::OK);
    assert_eq!(english["data"]["role_display"], name, "a store's own name is not translated");
    let read = app.scoped(Method::GET, &employee_path(&id), &owner.token, &key, None).await;
    assert_role(&read.json(StatusCode::OK), "senior_cashier", name, &set_of(&first));
    let staff = app.scoped(Method::GET, EMPLOYEES, &owner.token, &key, None).await.json(StatusCode::OK);
    let listed = staff["results"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap().clone();
    assert_role(&listed, "senior_cashier", name, &set_of(&first));
    assert_eq!(role_in(&roles(&app, &owner).await, "senior_cashier")["member_count"], 1);
}

#[tokio::test]
async fn a_role_change_reaches_its_holder_on_their_next_request() {
    let app = TestApp::spawn().await;
    let Holding { owner, key, holder, id, .. } = holding(&app).await;
    let (first, name) = (SENIOR_FIRST, SENIOR_NAME);

    // A change reaches the holder on their next request, with the same token.
    let second = ["view_products", "create_sales", "refund_sales", "void_sales"];
    let changed =
        app.patch_role(&owner, "senior_cashier", &json!({"permissions": second})).await.json(StatusCode::OK);
    assert_eq!(set(&changed["data"]["permissions"]), set_of(&second));
    assert_eq!(
        (&changed["data"]["name"], &changed["data"]["rank"]),
        (&json!(name), &json!(20)),
        "PATCH keeps the rest"
    );
    assert_role(&me(&app, &holder).await["data"], "senior_cashier", name, &set_of(&second));
    let stores = app.get_as("/api/users/auth/my-stores/", &holder.token).await.json(StatusCode::OK);
    assert_role(&stores["data"][0], "senior_cashier", name, &set_of(&second));
    let read = app.scoped(Method::GET, &employee_path(&id), &owner.token, &key, None).await;
    assert_role(&read.json(StatusCode::OK), "senior_cashier", name, &set_of(&second));
    let updated = events(&app, &owner, "role.updated").await;
    assert_eq!(updated.len(), 1);
    assert_eq!(set(&updated[0]["changes"]["permissions"]["before"]), set_of(&first), "{}", updated[0]);
    assert_eq!(set(&updated[0]["changes"]["permissions"]["after"]), set_of(&second), "{}", updated[0]);
    let renamed = "Главный кассир";
    app.patch_role(&owner, "senior_cashier", &json!({"name": renamed})).await.json(StatusCode::OK);
    assert_role(&me(&app, &holder).await["data"], "senior_cashier", renamed, &set_of(&second));
    assert_eq!(events(&app, &owner, "role.updated").await.len(), 2);
}

#[tokio::test]
async fn a_role_counts_its_holders_while_they_are_on_the_staff() {
    let app = TestApp::spawn().await;
    let Holding { owner, key, id, .. } = holding(&app).await;

    // Holders count while on the staff, deactivated or not; a removed one does not.
    let temp = app.add_employee(&owner, "temp", "senior_cashier").await;
    assert_eq!(role_in(&roles(&app, &owner).await, "senior_cashier")["member_count"], 2);
    let removed = app.scoped(Method::DELETE, &employee_path(&temp["id"]), &owner.token, &key, None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(role_in(&roles(&app, &owner).await, "senior_cashier")["member_count"], 1);
    let off = json!({"is_active": false});
    app.scoped(Method::PATCH, &employee_path(&id), &owner.token, &key, Some(&off)).await.json(StatusCode::OK);
    let listed = roles(&app, &owner).await;
    assert_eq!(role_in(&listed, "senior_cashier")["member_count"], 1, "a deactivated holder still holds it");
    app.delete_role(&owner, "senior_cashier").await.error(StatusCode::CONFLICT, "role_in_use");
    assert_eq!(roles(&app, &owner).await, listed, "the refused delete changed nothing");
    let on = json!({"is_active": true});
    app.scoped(Method::PATCH, &employee_path(&id), &owner.token, &key, Some(&on)).await.json(StatusCode::OK);
}

#[tokio::test]
async fn an_employees_role_must_be_one_of_the_stores() {
    let app = TestApp::spawn().await;
    let Holding { owner, key, .. } = holding(&app).await;

    // An employee's role must be one of the store's.
    let unknown = json!({"username": "ghostly", "first_name": "Призрак", "role": "ghost_role"});
    let refused = app.scoped(Method::POST, EMPLOYEES, &owner.token, &key, Some(&unknown)).await;
    let refused = refused.error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(refused["errors"]["role"].is_array(), "{refused}");
}

#[tokio::test]
async fn a_custom_role_goes_once_nobody_holds_it() {
    let app = TestApp::spawn().await;
    let Holding { owner, key, id, .. } = holding(&app).await;

    // Once nobody holds it, it goes.
    let to_cashier = json!({"role": "cashier"});
    let moved = app.scoped(Method::PATCH, &employee_path(&id), &owner.token, &key, Some(&to_cashier)).await;
    assert_role(&moved.json(StatusCode::OK), "cashier", "Кассир", &set_of(&CASHIER_PERMISSIONS));
    assert_eq!(role_in(&roles(&app, &owner).await, "senior_cashier")["member_count"], 0);
    assert_eq!(app.delete_role(&owner, "senior_cashier").await.status, StatusCode::NO_CONTENT);
    assert_eq!(codes(&roles(&app, &owner).await), ["owner", "manager", "cashier", "staff", "stockkeeper"]);
    assert_eq!(events(&app, &owner, "role.deleted").await.len(), 1);
    app.patch_role(&owner, "senior_cashier", &json!({"name": "X"}))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let again = json!({"username": "late", "first_name": "Поздний", "role": "senior_cashier"});
    let refused = app.scoped(Method::POST, EMPLOYEES, &owner.token, &key, Some(&again)).await;
    assert!(refused.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]["role"].is_array());
    let login = app.sign_in("senior", EMPLOYEE_PASSWORD).await;
    assert_role(&login["available_stores"][0], "cashier", "Кассир", &set_of(&CASHIER_PERMISSIONS));
}

/// `actor` adds `username` with `role`; the response.
async fn hire(app: &TestApp, actor: &Owner, username: &str, role: &str) -> TestResponse {
    let body =
        json!({"username": username, "first_name": "Новый", "role": role, "password": EMPLOYEE_PASSWORD});
    app.scoped(Method::POST, EMPLOYEES, &actor.token, &actor.key(), Some(&body)).await
}

async fn change(app: &TestApp, actor: &Owner, id: &Value, body: Value) -> TestResponse {
    app.scoped(Method::PATCH, &employee_path(id), &actor.token, &actor.key(), Some(&body)).await
}

/// A store with a manager (rank 50), a cashier, and a `floor_lead` role that names
/// `manage_employees` yet ranks 40, held by `lead`.
struct RankedStore {
    owner: Owner,
    key: String,
    manager: Owner,
    manager_employee: Value,
    kassir: Value,
    lead: Owner,
    lead_id: Value,
}

async fn ranked_store(app: &TestApp) -> RankedStore {
    let owner = app.register_owner("ivan", "Лавка").await;
    let key = owner.key();
    let (manager, manager_employee) = app.member(&owner, "boss", "manager").await;
    let kassir = app.add_employee(&owner, "kassir", "cashier").await["id"].clone();
    // Rank, not the permission list, decides: this role names manage_employees, yet ranks 40.
    let body = json!({"code": "floor_lead", "name": "Старший смены", "rank": 40,
                      "permissions": ["manage_employees", "view_all"]});
    app.create_role(&owner, &body).await.json(StatusCode::CREATED);
    let (lead, lead_employee) = app.member(&owner, "lead", "floor_lead").await;
    RankedStore { owner, key, manager, manager_employee, kassir, lead, lead_id: lead_employee["id"].clone() }
}

/// The `deputy` role: rank 60, with `view_all` and `manage_employees`.
async fn create_deputy_role(app: &TestApp, owner: &Owner) {
    let body = json!({"code": "deputy", "name": "Заместитель", "rank": 60,
                      "permissions": ["view_all", "manage_employees"]});
    app.create_role(owner, &body).await.json(StatusCode::CREATED);
}

#[tokio::test]
async fn whom_a_manager_manages_follows_the_roles_rank_from_the_next_request() {
    let app = TestApp::spawn().await;
    let RankedStore { owner, key, manager, lead_id: x, .. } = ranked_store(&app).await;

    // A manager (50) manages a rank-40 holder …
    let edited = change(&app, &manager, &x, json!({"position": "Смена 1"})).await.json(StatusCode::OK);
    assert_eq!(edited["position"], "Смена 1");
    // … not once the role ranks 60, from the manager's next request …
    let raised = app.patch_role(&owner, "floor_lead", &json!({"rank": 60})).await.json(StatusCode::OK);
    assert_eq!(raised["data"]["rank"], 60);
    change(&app, &manager, &x, json!({"position": "Смена 2"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    let off = json!({"is_active": false});
    change(&app, &manager, &x, off).await.error(StatusCode::FORBIDDEN, "permission_denied");
    let reset = format!("{}reset-password/", employee_path(&x));
    app.scoped(Method::POST, &reset, &manager.token, &key, Some(&json!({})))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    let read =
        app.scoped(Method::GET, &employee_path(&x), &owner.token, &key, None).await.json(StatusCode::OK);
    assert_eq!(read["position"], "Смена 1", "the refused change wrote nothing");
    assert_eq!(read["is_active"], true, "the refused deactivation wrote nothing");
    // … and again once it is lowered back.
    app.patch_role(&owner, "floor_lead", &json!({"rank": 40})).await.json(StatusCode::OK);
    let edited = change(&app, &manager, &x, json!({"position": "Смена 3"})).await.json(StatusCode::OK);
    assert_eq!(edited["position"], "Смена 3");
}

#[tokio::test]
async fn below_rank_50_nobody_manages_anyone() {
    let app = TestApp::spawn().await;
    let RankedStore { key, manager_employee, kassir, lead, .. } = ranked_store(&app).await;

    // Below 50, nobody: not even the list, whatever the role's permissions say.
    app.scoped(Method::GET, EMPLOYEES, &lead.token, &key, None)
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    for target in [&kassir, &manager_employee["id"]] {
        app.scoped(Method::GET, &employee_path(target), &lead.token, &key, None)
            .await
            .error(StatusCode::FORBIDDEN, "permission_denied");
    }
    change(&app, &lead, &kassir, json!({"position": "X"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    hire(&app, &lead, "by_lead", "cashier").await.error(StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(app.count("select count(*) from users where username = 'by_lead'").await, 0);
}

#[tokio::test]
async fn a_rank_60_role_manages_managers_while_it_ranks_60() {
    let app = TestApp::spawn().await;
    let RankedStore { owner, key, manager_employee, .. } = ranked_store(&app).await;

    // A rank-60 role manages managers and everyone below, and gives the roles whose
    // permissions it holds (the manager role as shipped counts as held).
    create_deputy_role(&app, &owner).await;
    let (deputy, _) = app.member(&owner, "deputy1", "deputy").await;
    app.scoped(Method::GET, EMPLOYEES, &deputy.token, &key, None).await.json(StatusCode::OK);
    let hired = hire(&app, &deputy, "mgr2", "manager").await.json(StatusCode::CREATED);
    let mgr2 = hired["data"]["employee"]["id"].clone();
    assert_eq!(hired["data"]["employee"]["role"], "manager");
    let edited = change(&app, &deputy, &mgr2, json!({"position": "Зал"})).await.json(StatusCode::OK);
    assert_eq!(edited["position"], "Зал");
    change(&app, &deputy, &manager_employee["id"], json!({"position": "Офис"})).await.json(StatusCode::OK);
    let moved = change(&app, &deputy, &mgr2, json!({"role": "floor_lead"})).await.json(StatusCode::OK);
    assert_eq!(moved["role"], "floor_lead");
    for role in ["deputy", "owner"] {
        hire(&app, &deputy, &format!("by_deputy_{role}"), role)
            .await
            .error(StatusCode::FORBIDDEN, "permission_denied");
    }
    change(&app, &deputy, &mgr2, json!({"role": "deputy"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(app.count("select count(*) from users where username like 'by\\_%'").await, 0);

    // The holder's own rank is read on each request too.
    app.patch_role(&owner, "deputy", &json!({"rank": 40})).await.json(StatusCode::OK);
    app.scoped(Method::GET, EMPLOYEES, &deputy.token, &key, None)
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
}

#[tokio::test]
async fn a_manager_gives_only_lower_roles_whose_permissions_they_hold() {
    let app = TestApp::spawn().await;
    let RankedStore { owner, key, manager, kassir, .. } = ranked_store(&app).await;
    create_deputy_role(&app, &owner).await;

    // A manager gives only roles ranked below 50, and only those whose every permission
    // they hold: floor_lead's `manage_employees` is not a manager's, until the owner drops it.
    hire(&app, &manager, "lead2", "floor_lead").await.error(StatusCode::FORBIDDEN, "permission_denied");
    app.patch_role(&owner, "floor_lead", &json!({"permissions": ["view_all"]})).await.json(StatusCode::OK);
    let hired = hire(&app, &manager, "lead2", "floor_lead").await.json(StatusCode::CREATED);
    assert_eq!(hired["data"]["employee"]["role"], "floor_lead");
    for role in ["deputy", "manager"] {
        hire(&app, &manager, &format!("by_boss_{role}"), role)
            .await
            .error(StatusCode::FORBIDDEN, "permission_denied");
    }
    assert_eq!(app.count("select count(*) from users where username like 'by\\_%'").await, 0);
    let moved = change(&app, &manager, &kassir, json!({"role": "floor_lead"})).await.json(StatusCode::OK);
    assert_eq!(moved["role"], "floor_lead");
    change(&app, &manager, &kassir, json!({"role": "deputy"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    let read =
        app.scoped(Method::GET, &employee_path(&kassir), &owner.token, &key, None).await.json(StatusCode::OK);
    assert_eq!(read["role"], "floor_lead");
}

/// One store of the storm: a `shift_lead` role of its own, marked in its name and in one
/// permission, and two holders of it.
struct LeadStore {
    key: String,
    owner_token: String,
    name: String,
    rank: i64,
    permissions: BTreeSet<String>,
    markers: [String; 2],
    /// (token, employee id) of each holder.
    holders: Vec<(String, i64)>,
}

async fn lead_store(app: &TestApp, tag: &str, store_name: &str, rank: i64, extra: &str) -> LeadStore {
    let owner = app.register_owner(&format!("{tag}_owner"), store_name).await;
    assert!(
        !codes(&roles(app, &owner).await).contains(&"shift_lead".to_owned()),
        "a role of another store shows in {store_name}"
    );
    let name = format!("zz{tag}lead смена");
    let permission_marker = format!("zz{tag}_perm");
    let permissions = vec!["view_products".to_owned(), permission_marker.clone(), extra.to_owned()];
    let body = json!({"code": "shift_lead", "name": name, "rank": rank, "permissions": permissions});
    app.create_role(&owner, &body).await.json(StatusCode::CREATED);
    let mut holders = Vec::new();
    for n in 0..2 {
        let (holder, employee) = app.member(&owner, &format!("{tag}_holder{n}"), "shift_lead").await;
        holders.push((holder.token, employee["id"].as_i64().unwrap()));
    }
    LeadStore {
        key: owner.key(),
        owner_token: owner.token.clone(),
        rank,
        permissions: permissions.into_iter().collect(),
        markers: [format!("zz{tag}lead"), permission_marker],
        name,
        holders,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Me,
    Employee,
    Roles,
}

#[tokio::test]
async fn a_storm_over_two_stores_with_the_same_role_code_never_mixes_their_definitions() {
    // A small pool, so each connection serves both stores one after another.
    let app =
        TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "4"), ("LOGIN_RATE_LIMIT_PER_MINUTE", "1000")]).await;
    let stores = Arc::new(vec![
        lead_store(&app, "a", "Альфа", 30, "open_shift").await,
        lead_store(&app, "b", "Бета", 20, "void_sales").await,
    ]);
    let addr = app.serve().await;
    let client = reqwest::Client::new();

    let requests = (0..600).map(|n| {
        let (client, stores) = (client.clone(), Arc::clone(&stores));
        async move {
            let home = n % 2;
            let (store, other) = (&stores[home], &stores[1 - home]);
            let (holder, holder_id) = &store.holders[(n / 2) % 2];
            let url = |path: &str| format!("http://{addr}/api/users/{path}");
            let me = |key: &str| client.get(url("auth/me/")).bearer_auth(holder).header("x-tenant-key", key);
            let list = |token: &str, key: &str| {
                client.get(url("store-roles/")).bearer_auth(token).header("x-tenant-key", key)
            };
            let cut = Duration::from_micros(300 + (n as u64 % 7) * 400);
            // (request, what it asks, with another store's key, cut off by the client)
            let (request, ask, foreign, cancelled) = match (n / 2) % 10 {
                0..=2 => (me(&store.key), Ask::Me, false, false),
                3 | 4 => (
                    client
                        .get(url(&format!("employees/{holder_id}/")))
                        .bearer_auth(&store.owner_token)
                        .header("x-tenant-key", &store.key),
                    Ask::Employee,
                    false,
                    false,
                ),
                5 => (list(holder, &store.key), Ask::Roles, false, false),
                6 => (me(&other.key), Ask::Me, true, false),
                7 => (list(&store.owner_token, &other.key), Ask::Roles, true, false),
                8 => (me(&store.key).timeout(cut), Ask::Me, false, true),
                _ => (list(holder, &store.key).timeout(cut), Ask::Roles, false, true),
            };
            let outcome = match request.send().await {
                Ok(response) => Some((response.status().as_u16(), response.text().await.unwrap_or_default())),
                Err(_) => None,
            };
            (home, ask, foreign, cancelled, outcome)
        }
    });
    let results = futures_util::future::join_all(requests).await;

    let mut served = 0;
    for (home, ask, foreign, cancelled, outcome) in results {
        let Some((status, text)) = outcome else {
            assert!(cancelled, "only requests the client cut off may go unanswered");
            continue;
        };
        let (store, other) = (&stores[home], &stores[1 - home]);
        for marker in &other.markers {
            assert!(
                !text.contains(marker.as_str()),
                "store {home}'s caller saw the other store's role: {text}"
            );
        }
        if foreign {
            assert!(status == 403 && text.contains("not_a_member"), "{status} {text}");
            continue;
        }
        assert_eq!(status, 200, "{ask:?}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["tenant_key"], store.key.as_str(), "{text}");
        match ask {
            Ask::Me => {
                assert_role(&body["data"], "shift_lead", &store.name, &store.permissions);
                assert_role(&body["data"]["employee"], "shift_lead", &store.name, &store.permissions);
            }
            Ask::Employee => assert_role(&body, "shift_lead", &store.name, &store.permissions),
            Ask::Roles => {
                assert_eq!(
                    codes(&body),
                    ["owner", "manager", "shift_lead", "cashier", "staff", "stockkeeper"]
                );
                let lead = role_in(&body, "shift_lead");
                assert_eq!(lead["name"], store.name.as_str(), "{text}");
                assert_eq!(lead["rank"], store.rank, "{text}");
                assert_eq!(set(&lead["permissions"]), store.permissions, "{text}");
                assert_eq!(lead["member_count"], 2, "{text}");
            }
        }
        served += 1;
    }
    assert!(served >= 360, "only {served} own-store requests were served");

    assert_pools_are_neutral(&app.app_db).await;
}

fn me_request(token: &str, key: &str) -> Request<Body> {
    Request::get("/api/users/auth/me/")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("x-tenant-key", key)
        .body(Body::empty())
        .unwrap()
}

/// What one `me` answered: when it was sent and answered, the role's name and permissions.
struct Seen {
    sent: Instant,
    answered: Instant,
    name: String,
    permissions: BTreeSet<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_edit_among_concurrent_readers_is_seen_by_every_request_after_it() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let key = owner.key();
    let (old_name, new_name) = ("Бегунок", "Быстрый бегунок");
    let old = set_of(&["view_products"]);
    let new = set_of(&["view_products", "create_sales", "zz_fresh_grant"]);
    let body = json!({"code": "runner", "name": old_name, "rank": 15, "permissions": ["view_products"]});
    app.create_role(&owner, &body).await.json(StatusCode::CREATED);
    let (holder, _) = app.member(&owner, "runner1", "runner").await;
    for _ in 0..3 {
        // Whatever caches the role now holds the old definition.
        assert_role(&me(&app, &holder).await["data"], "runner", old_name, &old);
    }

    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..100)
        .map(|_| {
            let (router, token, key) = (app.router.clone(), holder.token.clone(), key.clone());
            let (done, stop) = (Arc::clone(&done), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..40 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let sent = Instant::now();
                    let body = send(&router, me_request(&token, &key)).await.json(StatusCode::OK);
                    let answered = Instant::now();
                    seen.push(Seen {
                        sent,
                        answered,
                        name: body["data"]["role_display"].as_str().unwrap_or_default().to_owned(),
                        permissions: set(&body["data"]["permissions"]),
                    });
                    done.fetch_add(1, Ordering::SeqCst);
                }
                seen
            })
        })
        .collect();
    let wait_for = |count: usize| {
        let done = Arc::clone(&done);
        async move {
            let started = Instant::now();
            while done.load(Ordering::SeqCst) < count {
                assert!(started.elapsed() < Duration::from_secs(60), "the readers stalled");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    wait_for(100).await;

    let patch_sent = Instant::now();
    let body = json!({"name": new_name, "permissions": new});
    let patched = app.patch_role(&owner, "runner", &body).await.json(StatusCode::OK);
    let patch_answered = Instant::now();
    assert_eq!(set(&patched["data"]["permissions"]), new);
    wait_for(done.load(Ordering::SeqCst) + 200).await;
    stop.store(true, Ordering::SeqCst);

    let (mut before, mut after, mut during) = (0, 0, 0);
    for reader in readers {
        for seen in reader.await.expect("a reader failed") {
            let is_old = seen.name == old_name && seen.permissions == old;
            let is_new = seen.name == new_name && seen.permissions == new;
            assert!(
                is_old || is_new,
                "neither the old role nor the new: {} {:?}",
                seen.name,
                seen.permissions
            );
            if seen.sent > patch_answered {
                assert!(is_new, "a request sent after the edit returned saw the old role");
                after += 1;
            } else if seen.answered < patch_sent {
                assert!(is_old, "a request answered before the edit was sent saw the new role");
                before += 1;
            } else {
                during += 1;
            }
        }
    }
    assert!(before >= 100, "only {before} reads before the edit");
    assert!(after >= 50, "only {after} reads after the edit ({during} during it)");

    // And everything else that reports the role, at once.
    let again: Vec<_> = (0..50).map(|_| me(&app, &holder)).collect();
    for body in futures_util::future::join_all(again).await {
        assert_role(&body["data"], "runner", new_name, &new);
    }
    let stores = app.get_as("/api/users/auth/my-stores/", &holder.token).await.json(StatusCode::OK);
    assert_role(&stores["data"][0], "runner", new_name, &new);
    let listed = role_in(&roles(&app, &holder).await, "runner");
    assert_eq!((&listed["name"], set(&listed["permissions"])), (&json!(new_name), new.clone()));
}

/// `GET /permissions/` in `lang` (none: the default); code → description.
async fn permission_catalogue(app: &TestApp, lang: Option<&str>) -> BTreeMap<String, String> {
    let mut request = Request::get("/api/users/permissions/");
    if let Some(lang) = lang {
        request = request.header(header::ACCEPT_LANGUAGE, lang);
    }
    let body = app.send(request.body(Body::empty()).unwrap()).await.json(StatusCode::OK);
    assert_eq!(body["status"], "success");
    let entries = body["data"].as_array().expect("data is a list");
    let catalogue: BTreeMap<String, String> = entries
        .iter()
        .map(|entry| {
            let code = entry["code"].as_str().unwrap_or_else(|| panic!("no code: {entry}")).to_owned();
            let description =
                entry["description"].as_str().unwrap_or_else(|| panic!("no description: {entry}"));
            assert!(!description.trim().is_empty(), "{code} has no description");
            (code, description.to_owned())
        })
        .collect();
    assert_eq!(catalogue.len(), entries.len(), "a permission is listed twice");
    catalogue
}

#[tokio::test]
async fn the_permission_catalogue_describes_every_built_in_permission_in_the_callers_language() {
    let app = TestApp::spawn().await;

    let default = permission_catalogue(&app, None).await;
    let russian = permission_catalogue(&app, Some("ru")).await;
    let english = permission_catalogue(&app, Some("en")).await;

    let built_in: BTreeSet<&str> = OWNER_PERMISSIONS
        .iter()
        .chain(&MANAGER_PERMISSIONS)
        .chain(&CASHIER_PERMISSIONS)
        .chain(&STOCKKEEPER_PERMISSIONS)
        .copied()
        .collect();
    for permission in &built_in {
        assert!(russian.contains_key(*permission), "{permission} is missing");
    }
    for code in russian.keys() {
        let mut chars = code.chars();
        assert!(
            chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && (2..=64).contains(&code.len())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{code} is not a permission name"
        );
    }
    assert_eq!(default, russian, "Russian by default");
    assert_eq!(
        english.keys().collect::<Vec<_>>(),
        russian.keys().collect::<Vec<_>>(),
        "the same permissions"
    );
    assert_ne!(
        english["manage_employees"], russian["manage_employees"],
        "described in the caller's language"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_is_never_deleted_under_an_employee_being_given_it() {
    let (app, owner) = TestApp::with_owner("race_owner", "Гонка").await;
    let addr = app.serve().await;
    let client = reqwest::Client::new();
    let (mut hired, mut deleted) = (0, 0);
    for n in 0..12 {
        let code = format!("race_{n}");
        app.create_role(&owner, &json!({"code": code, "name": "Гонка", "rank": 20}))
            .await
            .json(StatusCode::CREATED);
        let hire = client
            .post(format!("http://{addr}{EMPLOYEES}"))
            .bearer_auth(&owner.token)
            .header("x-tenant-key", owner.key())
            .json(&json!({"username": format!("racer_{n}"), "first_name": "Гонщик", "role": code}))
            .send();
        let delete = client
            .delete(format!("http://{addr}{}", role_path(&code)))
            .bearer_auth(&owner.token)
            .header("x-tenant-key", owner.key())
            .send();
        let (hire, delete) = tokio::join!(hire, delete);
        let (hire, delete) = (hire.unwrap().status().as_u16(), delete.unwrap().status().as_u16());
        // Exactly one of them wins: hired (the role is then in use) or deleted (the role is
        // then unknown to the hire) — never a member holding a role the store lost.
        match (hire, delete) {
            (201, 409) => hired += 1,
            (400, 204) => deleted += 1,
            other => panic!("round {n}: hire and delete answered {other:?}"),
        }
    }
    let orphans = app
        .count(
            "select count(*) from tenant_gonka.employees e
             where not exists (select 1 from tenant_gonka.roles r where r.code = e.role)",
        )
        .await;
    assert_eq!(orphans, 0);
    assert_eq!(hired + deleted, 12);
}

#[tokio::test]
async fn a_role_edited_elsewhere_applies_from_the_next_request() {
    use kassa::db::pool;
    use kassa::router::build_router;
    use kassa::state::AppState;

    let (app, owner) = TestApp::with_owner("two_owner", "Два").await;
    let (holder, _) = app.member(&owner, "two_holder", "cashier").await;
    // A second instance on the same database, holding role definitions of its own.
    let config = Arc::new(crate::helpers::test_config(&[]));
    let other =
        build_router(AppState::new(Arc::clone(&config), pool::lazy_pool(&config, app.db.app_options())));
    let me_on_other = || async {
        let request = Request::get("/api/users/auth/me/")
            .header(header::AUTHORIZATION, format!("Bearer {}", holder.token))
            .header("x-tenant-key", holder.key())
            .body(Body::empty())
            .unwrap();
        send(&other, request).await.json(StatusCode::OK)
    };
    assert_eq!(set(&me_on_other().await["data"]["permissions"]), set_of(&CASHIER_PERMISSIONS));

    // Changed through this instance: the other one answers the change at once.
    app.patch_role(&owner, "cashier", &json!({"permissions": ["create_sales"]})).await.json(StatusCode::OK);
    assert_eq!(set(&me_on_other().await["data"]["permissions"]), set_of(&["create_sales"]));

    // Changed by hand in the database, as an operator might, moving the version on as
    // docs/operations.md says: both instances see it.
    sqlx::raw_sql(
        "update tenant_dva.roles set permissions = '{view_products}' where code = 'cashier';
         update public.stores set roles_version = roles_version + 1 where schema_name = 'tenant_dva';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(set(&me_on_other().await["data"]["permissions"]), set_of(&["view_products"]));
    assert_eq!(set(&me(&app, &holder).await["data"]["permissions"]), set_of(&["view_products"]));
}

async fn roles_version(app: &TestApp, schema: &str) -> i64 {
    sqlx::query_scalar("select roles_version from public.stores where schema_name = $1")
        .bind(schema)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn assert_moved(app: &TestApp, schema: &str, version: &mut i64, what: &str) {
    let now = roles_version(app, schema).await;
    assert!(now > *version, "{what} moved the roles version on ({version} → {now})");
    *version = now;
}

/// No trigger moves the version (a distributed-PostgreSQL worker refuses triggers on a
/// store's tables): each write of a role moves it, refused writes do not.
#[tokio::test]
async fn every_role_write_moves_the_roles_version_without_a_trigger() {
    let (app, owner) = TestApp::with_owner("ver_owner", "Версия").await;
    let schema: String = sqlx::query_scalar("select schema_name from public.stores where id = $1")
        .bind(owner.store_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let schema = schema.as_str();
    let triggers: i64 = sqlx::query_scalar(
        "select count(*) from pg_trigger t join pg_class c on c.oid = t.tgrelid \
         join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and not t.tgisinternal",
    )
    .bind(schema)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(triggers, 0, "a store's schema holds no trigger");

    let mut version = roles_version(&app, schema).await;
    let role = json!({"code": "deputy", "name": "Заместитель", "rank": 40, "permissions": ["view_all"]});
    app.create_role(&owner, &role).await.json(StatusCode::CREATED);
    assert_moved(&app, schema, &mut version, "creating a role").await;
    app.patch_role(&owner, "deputy", &json!({"permissions": ["view_products"]})).await.json(StatusCode::OK);
    assert_moved(&app, schema, &mut version, "changing a role").await;
    assert_eq!(app.delete_role(&owner, "deputy").await.status, StatusCode::NO_CONTENT);
    assert_moved(&app, schema, &mut version, "deleting a role").await;

    let refused = app.patch_role(&owner, "owner", &json!({"rank": 10})).await;
    assert!(refused.status.is_client_error(), "{}", refused.status);
    assert_eq!(roles_version(&app, schema).await, version, "a refused write moves nothing");
}
