//! The role catalogue tells the truth about who manages whom: for every role, the roles it
//! `manages` in `/api/users/roles/` are exactly the roles it may add to the staff.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TestApp};

/// role → (rank, roles it manages), as the catalogue states them.
fn catalogue(body: &Value) -> BTreeMap<String, (i64, Vec<String>)> {
    body["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .map(|entry| {
            let manages = entry["manages"].as_array().expect("manages is a list");
            (
                entry["role"].as_str().unwrap().to_owned(),
                (
                    entry["rank"].as_i64().expect("rank is a number"),
                    manages.iter().map(|r| r.as_str().unwrap().to_owned()).collect(),
                ),
            )
        })
        .collect()
}

/// A token for `role` in the store of `owner` (the owner's own for `owner`).
async fn token_for(app: &TestApp, owner: &Owner, role: &str) -> String {
    if role == "owner" {
        return owner.token.clone();
    }
    // Not `actor_staff`: names ending in `_staff` are the shared staff accounts'.
    let username = format!("actor_{role}_1");
    app.add_employee(owner, &username, role).await;
    app.sign_in(&username, EMPLOYEE_PASSWORD).await["access"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_role_manages_exactly_what_the_catalogue_says() {
    let app = TestApp::spawn().await;
    let stated = catalogue(&app.get("/api/users/roles/").await.json(StatusCode::OK));
    assert_eq!(
        stated.get("manager"),
        Some(&(50, vec!["cashier".to_owned(), "stockkeeper".to_owned(), "staff".to_owned()])),
        "a manager manages the floor staff"
    );
    assert_eq!(stated["owner"].0, 100);

    let owner = app.register_owner("catalogue_owner", "Каталог").await;
    for (actor, (_, manages)) in &stated {
        let token = token_for(&app, &owner, actor).await;
        for role in ["owner", "manager", "cashier", "stockkeeper"] {
            let body = json!({
                "username": format!("by_{actor}_{role}"),
                "first_name": "Проба",
                "role": role,
                "password": EMPLOYEE_PASSWORD,
            });
            let response =
                app.scoped(Method::POST, "/api/users/employees/", &token, &owner.key(), Some(&body)).await;
            let expected =
                if manages.iter().any(|m| m == role) { StatusCode::CREATED } else { StatusCode::FORBIDDEN };
            assert_eq!(response.status, expected, "{actor} adding a {role}: {:?}", response.body);
        }
    }
}

#[tokio::test]
async fn nobody_manages_a_peer_or_a_higher_rank() {
    let app = TestApp::spawn().await;
    let stated = catalogue(&app.get("/api/users/roles/").await.json(StatusCode::OK));
    for (actor, (rank, manages)) in &stated {
        for managed in manages {
            assert!(
                stated[managed].0 < *rank,
                "{actor} (rank {rank}) manages {managed}, not ranked below it"
            );
        }
        let below = stated.iter().filter(|(_, (r, _))| r < rank).count();
        assert_eq!(manages.len(), below, "{actor} manages every role ranked below it");
    }
}
