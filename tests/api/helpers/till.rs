//! A store set up for a till day: members with PINs and a paired till.

use axum::http::StatusCode;
use serde_json::Value;

use super::{Owner, TestApp};

pub const OWNER_PIN: &str = "519283";
pub const MANAGER_PIN: &str = "735190";
pub const CASHIER_PIN: &str = "482915";

/// A store with an owner, a manager and a cashier who each have a PIN, and a paired till.
pub struct Shop {
    pub owner: Owner,
    pub owner_id: Value,
    pub manager: Owner,
    pub manager_id: Value,
    pub cashier: Owner,
    pub cashier_id: Value,
    pub till: String,
}

impl TestApp {
    /// A fresh application with a [`shop`] "Лавка" of `prefix` in it.
    pub async fn with_shop(prefix: &str) -> (TestApp, Shop) {
        let app = TestApp::spawn().await;
        let shop = shop(&app, prefix, "Лавка").await;
        (app, shop)
    }
}

/// A [`Shop`] of a new owner `{prefix}_owner`, with members `{prefix}_manager` and
/// `{prefix}_cashier`.
pub async fn shop(app: &TestApp, prefix: &str, store_name: &str) -> Shop {
    let owner = app.register_owner(&format!("{prefix}_owner"), store_name).await;
    let (manager, manager_row) = app.member(&owner, &format!("{prefix}_manager"), "manager").await;
    let (cashier, cashier_row) = app.member(&owner, &format!("{prefix}_cashier"), "cashier").await;
    for (who, pin) in [(&owner, OWNER_PIN), (&manager, MANAGER_PIN), (&cashier, CASHIER_PIN)] {
        let response = app.set_pin(who, pin).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{:?}", response.body);
    }
    let till = app.paired_till(&manager, "Касса 1").await;
    let owner_id = app.me(&owner).await.json(StatusCode::OK)["data"]["employee"]["id"].clone();
    Shop {
        owner,
        owner_id,
        manager,
        manager_id: manager_row["id"].clone(),
        cashier,
        cashier_id: cashier_row["id"].clone(),
        till,
    }
}

impl Shop {
    /// Signs `employee_id` in on the till with `pin`: their access token.
    pub async fn sign_in(&self, app: &TestApp, employee_id: &Value, pin: &str) -> String {
        let body = app.pin_login(&self.till, &self.owner.key(), employee_id, pin).await.json(StatusCode::OK);
        body["access"].as_str().unwrap().to_owned()
    }

    pub fn key(&self) -> String {
        self.owner.key()
    }

    /// The store's schema, for the test's own checks.
    pub fn schema(&self) -> String {
        self.owner.data["store"]["schema_name"].as_str().unwrap().to_owned()
    }
}
