//! The role rules of docs/contract.md §5, exhaustively: every acting role × every action × every target
//! (each role, and the actor's own row), generated from the one table below. Each case runs
//! on a fresh target; a refused case must answer 403 `permission_denied` and change nothing,
//! an allowed one must answer 2xx and have its effect.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TestApp};

/// Y: allowed. N: 403. -: not applicable (there is no deactivated owner to reactivate, and a
/// deactivated caller cannot call at all). The `owner` column is the store's owner, which
/// for an acting owner is their own row. `role_X` / `put_role_X` give the target role X by
/// PATCH / PUT; giving someone the role they already have changes nothing and needs only
/// the right to edit them.
const EXPECTED: &str = "
# actor        action              owner manager cashier stockkeeper self
owner          list                Y     Y       Y       Y           Y
owner          audit               Y     Y       Y       Y           Y
owner          view                Y     Y       Y       Y           Y
owner          create              N     Y       Y       Y           -
owner          edit_profile        Y     Y       Y       Y           Y
owner          role_owner          Y     N       N       N           Y
owner          role_manager        N     Y       Y       Y           N
owner          role_cashier        N     Y       Y       Y           N
owner          role_stockkeeper    N     Y       Y       Y           N
owner          put_role_owner      Y     N       N       N           Y
owner          put_role_manager    N     Y       Y       Y           N
owner          deactivate          N     Y       Y       Y           N
owner          activate            -     Y       Y       Y           -
owner          remove              N     Y       Y       Y           N
owner          reset_password      N     Y       Y       Y           N
manager        list                Y     Y       Y       Y           Y
manager        audit               Y     Y       Y       Y           Y
manager        view                Y     Y       Y       Y           Y
manager        create              N     N       Y       Y           -
manager        edit_profile        N     N       Y       Y           Y
manager        role_owner          N     N       N       N           N
manager        role_manager        N     N       N       N           Y
manager        role_cashier        N     N       Y       Y           N
manager        role_stockkeeper    N     N       Y       Y           N
manager        put_role_owner      N     N       N       N           N
manager        put_role_manager    N     N       N       N           Y
manager        deactivate          N     N       Y       Y           N
manager        activate            -     N       Y       Y           -
manager        remove              N     N       Y       Y           N
manager        reset_password      N     N       Y       Y           N
cashier        list                N     N       N       N           N
cashier        audit               N     N       N       N           N
cashier        view                N     N       N       N           N
cashier        create              N     N       N       N           -
cashier        edit_profile        N     N       N       N           N
cashier        role_owner          N     N       N       N           N
cashier        role_manager        N     N       N       N           N
cashier        role_cashier        N     N       N       N           N
cashier        role_stockkeeper    N     N       N       N           N
cashier        put_role_owner      N     N       N       N           N
cashier        put_role_manager    N     N       N       N           N
cashier        deactivate          N     N       N       N           N
cashier        activate            -     N       N       N           -
cashier        remove              N     N       N       N           N
cashier        reset_password      N     N       N       N           N
stockkeeper    list                N     N       N       N           N
stockkeeper    audit               N     N       N       N           N
stockkeeper    view                N     N       N       N           N
stockkeeper    create              N     N       N       N           -
stockkeeper    edit_profile        N     N       N       N           N
stockkeeper    role_owner          N     N       N       N           N
stockkeeper    role_manager        N     N       N       N           N
stockkeeper    role_cashier        N     N       N       N           N
stockkeeper    role_stockkeeper    N     N       N       N           N
stockkeeper    put_role_owner      N     N       N       N           N
stockkeeper    put_role_manager    N     N       N       N           N
stockkeeper    deactivate          N     N       N       N           N
stockkeeper    activate            -     N       N       N           -
stockkeeper    remove              N     N       N       N           N
stockkeeper    reset_password      N     N       N       N           N
";

const COLUMNS: [&str; 5] = ["owner", "manager", "cashier", "stockkeeper", "self"];

/// One row of the table.
struct Row<'a> {
    actor: &'a str,
    action: &'a str,
    expected: Vec<Option<bool>>,
}

fn table() -> Vec<Row<'static>> {
    EXPECTED
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cells.len(), 2 + COLUMNS.len(), "malformed row {line:?}");
            let expected = cells[2..]
                .iter()
                .map(|cell| match *cell {
                    "Y" => Some(true),
                    "N" => Some(false),
                    "-" => None,
                    other => panic!("unknown cell {other:?} in {line:?}"),
                })
                .collect();
            Row { actor: cells[0], action: cells[1], expected }
        })
        .collect()
}

/// A store with an owner and, unless the actor is the owner, the actor.
struct Store {
    owner: Owner,
    /// The actor, as an `Owner` value: a token for the same store.
    actor: Owner,
    actor_employee_id: i64,
}

async fn store_for(app: &TestApp, actor_role: &str) -> Store {
    let owner = app.register_owner(&format!("own_{actor_role}"), &format!("Магазин {actor_role}")).await;
    if actor_role == "owner" {
        return Store { actor: owner.clone(), owner, actor_employee_id: 1 };
    }
    let username = format!("actor_{actor_role}");
    let employee = app.add_employee(&owner, &username, actor_role).await;
    let login = app.sign_in(&username, EMPLOYEE_PASSWORD).await;
    let actor = Owner { token: login["access"].as_str().unwrap().to_owned(), ..owner.clone() };
    Store { owner, actor, actor_employee_id: employee["id"].as_i64().unwrap() }
}

/// The target of a case: an existing row for `owner` and `self`, a fresh employee otherwise.
async fn target_for(app: &TestApp, store: &Store, column: &str, case: &str) -> i64 {
    match column {
        "owner" => 1,
        "self" => store.actor_employee_id,
        role => app.add_employee(&store.owner, &format!("t{case}"), role).await["id"].as_i64().unwrap(),
    }
}

/// Runs one case; `Ok(true)` when allowed, `Ok(false)` when refused, `Err` for any other answer.
async fn run_case(
    app: &TestApp,
    store: &Store,
    action: &str,
    column: &str,
    case: &str,
) -> Result<bool, String> {
    let key = store.owner.key();
    let actor = &store.actor;
    let (method, path, body) = match action {
        "list" => (Method::GET, "/api/users/employees/".to_owned(), None),
        "audit" => (Method::GET, "/api/users/audit-events/".to_owned(), None),
        "create" => {
            let body = json!({"username": format!("n{case}"), "first_name": "Новый", "role": column,
                              "password": EMPLOYEE_PASSWORD});
            (Method::POST, "/api/users/employees/".to_owned(), Some(body))
        }
        _ => {
            let id = target_for(app, store, column, case).await;
            if action == "activate" {
                let off = json!({"is_active": false});
                let path = format!("/api/users/employees/{id}/");
                app.scoped(Method::PATCH, &path, &store.owner.token, &key, Some(&off))
                    .await
                    .json(StatusCode::OK);
            }
            let path = format!("/api/users/employees/{id}/");
            let (method, path, body) = match action {
                "view" => (Method::GET, path, None),
                "edit_profile" => (Method::PATCH, path, Some(json!({"position": "Изменено"}))),
                "deactivate" => (Method::PATCH, path, Some(json!({"is_active": false}))),
                "activate" => (Method::PATCH, path, Some(json!({"is_active": true}))),
                "remove" => (Method::DELETE, path, None),
                "reset_password" => (Method::POST, format!("{path}reset-password/"), Some(json!({}))),
                other => match (other.strip_prefix("role_"), other.strip_prefix("put_role_")) {
                    (Some(role), _) => (Method::PATCH, path, Some(json!({"role": role}))),
                    (_, Some(role)) => {
                        let current = app.scoped(Method::GET, &path, &store.owner.token, &key, None).await;
                        let first_name = current.json(StatusCode::OK)["first_name"].clone();
                        (Method::PUT, path, Some(json!({"first_name": first_name, "role": role})))
                    }
                    _ => panic!("unknown action {other}"),
                },
            };
            let before = snapshot(app, store, id).await;
            let response = app.scoped(method.clone(), &path, &actor.token, &key, body.as_ref()).await;
            return match response.status {
                status if status.is_success() => {
                    check_effect(app, store, action, id, &before).await.map(|()| true)
                }
                StatusCode::FORBIDDEN if code(&response.body) == "permission_denied" => {
                    let after = snapshot(app, store, id).await;
                    if after == before {
                        Ok(false)
                    } else {
                        Err(format!("refused, yet changed: {before} → {after}"))
                    }
                }
                status => {
                    Err(format!("{method} {path}: {status} {}", String::from_utf8_lossy(&response.body)))
                }
            };
        }
    };
    let response = app.scoped(method.clone(), &path, &actor.token, &key, body.as_ref()).await;
    match response.status {
        status if status.is_success() => Ok(true),
        StatusCode::FORBIDDEN if code(&response.body) == "permission_denied" => {
            let created: i64 = sqlx::query_scalar("select count(*) from users where username = $1")
                .bind(format!("n{case}"))
                .fetch_one(&app.pool)
                .await
                .unwrap();
            if created > 0 {
                return Err("a refused create left an account".to_owned());
            }
            Ok(false)
        }
        status => Err(format!("{method} {path}: {status} {}", String::from_utf8_lossy(&response.body))),
    }
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The target as the owner sees it, with its account's password hash and session count, so a
/// refused reset or deactivation is caught too.
async fn snapshot(app: &TestApp, store: &Store, id: i64) -> Value {
    let path = format!("/api/users/employees/{id}/");
    let response = app.scoped(Method::GET, &path, &store.owner.token, &store.owner.key(), None).await;
    if response.status == StatusCode::NOT_FOUND {
        return Value::Null;
    }
    let employee = response.json(StatusCode::OK);
    let user_id = employee["user"].as_i64().unwrap();
    let (hash, sessions): (String, i64) = sqlx::query_as(
        "select u.password_hash, (select count(*) from sessions s where s.user_id = u.id and s.revoked_at is null)
         from users u where u.id = $1",
    )
    .bind(user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    json!({"employee": employee, "hash": hash, "sessions": sessions})
}

/// What an allowed action must have done.
async fn check_effect(
    app: &TestApp,
    store: &Store,
    action: &str,
    id: i64,
    before: &Value,
) -> Result<(), String> {
    let after = snapshot(app, store, id).await;
    let employee = &after["employee"];
    let ok = match action {
        "view" => after == *before,
        "edit_profile" => employee["position"] == "Изменено",
        "deactivate" => employee["is_active"] == false,
        "activate" => employee["is_active"] == true,
        "remove" => after.is_null(),
        "reset_password" => after["hash"] != before["hash"],
        other => {
            let role = other.trim_start_matches("put_").trim_start_matches("role_");
            employee["role"] == role
        }
    };
    if ok { Ok(()) } else { Err(format!("allowed, but no effect: {before} → {after}")) }
}

#[tokio::test]
async fn every_role_may_do_exactly_what_the_role_rules_say_to_every_target() {
    let app = TestApp::spawn().await;
    let table = table();
    assert_eq!(table.len(), 4 * 15, "every actor has every action");
    let mut failures = Vec::new();
    let mut cases = 0;
    for actor_role in ["owner", "manager", "cashier", "stockkeeper"] {
        let store = store_for(&app, actor_role).await;
        for row in table.iter().filter(|row| row.actor == actor_role) {
            for (column, expected) in COLUMNS.iter().zip(&row.expected) {
                let Some(expected) = expected else { continue };
                let case = format!("{}{}{}", &actor_role[..2], cases, &column[..2]);
                cases += 1;
                match run_case(&app, &store, row.action, column, &case).await {
                    Ok(allowed) if allowed == *expected => {}
                    Ok(allowed) => failures.push(format!(
                        "{actor_role} {} on {column}: expected {}, got {}",
                        row.action,
                        if *expected { "allowed" } else { "403" },
                        if allowed { "allowed" } else { "403" }
                    )),
                    Err(error) => failures.push(format!("{actor_role} {} on {column}: {error}", row.action)),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases broke the rules:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases > 250, "only {cases} cases ran");
}
