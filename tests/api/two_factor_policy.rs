//! A store's two-step sign-in policy (docs/contract.md §16): members from a rank up must have
//! an authenticator, and one who has none signs in to a session that reaches only enrolment,
//! `me` and logout until they turn one on.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    EMPLOYEE_PASSWORD, Owner, TestApp, away_from_step_edge, code_at, owner_with_totp, shop, turn_totp_on,
};

/// An owner with two-step sign-in on whose store requires it from the manager's rank (50);
/// their secret.
async fn store_requiring_managers(app: &TestApp, username: &str) -> (Owner, String) {
    let (owner, secret, _) = owner_with_totp(app, username).await;
    away_from_step_edge().await;
    let changed = app.set_two_factor_policy(&owner, json!(50), Some(&code_at(&secret, 0))).await;
    assert_eq!(changed.json(StatusCode::OK)["data"]["require_2fa_from_rank"], 50);
    (owner, secret)
}

/// `who`'s session as a fresh sign-in with the employee password gives it.
async fn signed_in(app: &TestApp, owner: &Owner, username: &str) -> (Owner, String) {
    let login = app.sign_in(username, EMPLOYEE_PASSWORD).await;
    let who = Owner { token: login["access"].as_str().unwrap().to_owned(), ..owner.clone() };
    (who, login["refresh"].as_str().unwrap().to_owned())
}

/// `who`'s access token after refreshing with `refresh`, and the next refresh token.
async fn refreshed(app: &TestApp, who: &Owner, refresh: &str) -> (Owner, String) {
    let body = app.refresh(refresh).await.json(StatusCode::OK);
    let who = Owner { token: body["access"].as_str().unwrap().to_owned(), ..who.clone() };
    (who, body["refresh"].as_str().unwrap().to_owned())
}

async fn employees(app: &TestApp, who: &Owner) -> crate::helpers::TestResponse {
    app.scoped(Method::GET, "/api/users/employees/", &who.token, &who.key(), None).await
}

#[tokio::test]
async fn a_manager_without_an_authenticator_signs_in_to_enrolment_only() {
    let app = TestApp::spawn().await;
    let (owner, _) = store_requiring_managers(&app, "policy_owner").await;
    app.add_employee(&owner, "policy_manager", "manager").await;
    let (manager, refresh) = signed_in(&app, &owner, "policy_manager").await;

    employees(&app, &manager).await.error(StatusCode::FORBIDDEN, "two_factor_enrolment_required");
    app.get_as("/api/users/auth/my-stores/", &manager.token)
        .await
        .error(StatusCode::FORBIDDEN, "two_factor_enrolment_required");
    app.me(&manager).await.json(StatusCode::OK);

    // Enrolling is what the session is for; from the next refresh it reaches everything.
    turn_totp_on(&app, &manager.token).await;
    employees(&app, &manager).await.error(StatusCode::FORBIDDEN, "two_factor_enrolment_required");
    let (manager, _) = refreshed(&app, &manager, &refresh).await;
    employees(&app, &manager).await.json(StatusCode::OK);
}

#[tokio::test]
async fn members_below_the_rank_and_tills_are_not_asked() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, "policy_shop", "Лавка").await;
    let (secret, _) = turn_totp_on(&app, &shop.owner.token).await;
    away_from_step_edge().await;
    app.set_two_factor_policy(&shop.owner, json!(50), Some(&code_at(&secret, 0))).await.json(StatusCode::OK);

    let (cashier, _) = signed_in(&app, &shop.owner, "policy_shop_cashier").await;
    app.get_as("/api/users/auth/my-stores/", &cashier.token).await.json(StatusCode::OK);
    // A PIN on a paired till stays one step: the till is the second factor.
    let till_token = shop.sign_in(&app, &shop.manager_id, crate::helpers::MANAGER_PIN).await;
    let on_till = Owner { token: till_token, ..shop.owner.clone() };
    employees(&app, &on_till).await.json(StatusCode::OK);
}

#[tokio::test]
async fn a_live_session_follows_the_policy_from_its_next_refresh() {
    let app = TestApp::spawn().await;
    let (owner, secret, _) = owner_with_totp(&app, "policy_live").await;
    app.add_employee(&owner, "policy_live_manager", "manager").await;
    let (manager, refresh) = signed_in(&app, &owner, "policy_live_manager").await;

    away_from_step_edge().await;
    app.set_two_factor_policy(&owner, json!(50), Some(&code_at(&secret, 0))).await.json(StatusCode::OK);
    let (restricted, refresh) = refreshed(&app, &manager, &refresh).await;
    employees(&app, &restricted).await.error(StatusCode::FORBIDDEN, "two_factor_enrolment_required");

    // Turning the policy off frees the session again, from its next refresh.
    app.set_two_factor_policy(&owner, Value::Null, Some(&code_at(&secret, 1))).await.json(StatusCode::OK);
    let (freed, _) = refreshed(&app, &restricted, &refresh).await;
    employees(&app, &freed).await.json(StatusCode::OK);
}

#[tokio::test]
async fn setting_the_policy_needs_the_owners_own_authenticator_and_a_fresh_code() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("policy_plain", "Plain Shop").await;
    let refused = app.set_two_factor_policy(&owner, json!(50), None).await;
    assert!(
        refused.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]["require_2fa_from_rank"]
            .is_array()
    );

    let (secret, _) = turn_totp_on(&app, &owner.token).await;
    app.set_two_factor_policy(&owner, json!(50), None)
        .await
        .error(StatusCode::UNAUTHORIZED, "two_factor_required");
    let store = app.get_as(&format!("/api/users/stores/{}/", owner.store_id), &owner.token).await;
    assert_eq!(store.json(StatusCode::OK)["data"]["require_2fa_from_rank"], Value::Null);
    away_from_step_edge().await;
    app.set_two_factor_policy(&owner, json!(100), Some(&code_at(&secret, 0))).await.json(StatusCode::OK);
}

#[tokio::test]
async fn a_rank_outside_one_to_a_hundred_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (owner, secret, _) = owner_with_totp(&app, "policy_range").await;
    away_from_step_edge().await;
    for wrong in [json!(0), json!(101), json!(-5), json!("50"), json!(50.5), json!(true), json!([50])] {
        let refused = app.set_two_factor_policy(&owner, wrong.clone(), Some(&code_at(&secret, 0))).await;
        let body = refused.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(body["errors"]["require_2fa_from_rank"].is_array(), "{wrong}: {body}");
    }
    let store = app.get_as(&format!("/api/users/stores/{}/", owner.store_id), &owner.token).await;
    assert_eq!(store.json(StatusCode::OK)["data"]["require_2fa_from_rank"], Value::Null);
}

#[tokio::test]
async fn turning_ones_authenticator_off_under_the_policy_restricts_the_session() {
    let app = TestApp::spawn().await;
    let (owner, _) = store_requiring_managers(&app, "policy_off").await;
    app.add_employee(&owner, "policy_off_manager", "manager").await;
    let (manager, refresh) = signed_in(&app, &owner, "policy_off_manager").await;
    let (_, codes) = turn_totp_on(&app, &manager.token).await;
    let (manager, refresh) = refreshed(&app, &manager, &refresh).await;
    employees(&app, &manager).await.json(StatusCode::OK);

    app.disable_totp(&manager.token, &json!({"recovery_code": codes[0]})).await.json(StatusCode::OK);
    let (manager, _) = refreshed(&app, &manager, &refresh).await;
    employees(&app, &manager).await.error(StatusCode::FORBIDDEN, "two_factor_enrolment_required");
}

#[tokio::test]
async fn one_stores_policy_never_reaches_another_stores_members_under_concurrency() {
    let app = TestApp::spawn().await;
    let (strict, _) = store_requiring_managers(&app, "policy_strict").await;
    let relaxed = app.register_owner("policy_relaxed", "Relaxed Shop").await;
    for i in 0..4 {
        app.add_employee(&strict, &format!("strict_manager{i}"), "manager").await;
        app.add_employee(&relaxed, &format!("relaxed_manager{i}"), "manager").await;
    }
    // Sign-ins to both stores at once, each with a request cancelled half-way.
    let sign_ins = (0..4)
        .flat_map(|i| [(&strict, format!("strict_manager{i}")), (&relaxed, format!("relaxed_manager{i}"))]);
    let answers = futures_util::future::join_all(sign_ins.map(|(owner, username)| {
        let app = &app;
        async move {
            let (who, _) = signed_in(app, owner, &username).await;
            let _cancelled =
                tokio::time::timeout(std::time::Duration::from_micros(50), employees(app, &who)).await;
            (username, employees(app, &who).await)
        }
    }))
    .await;
    for (username, answer) in answers {
        if username.starts_with("strict") {
            answer.error(StatusCode::FORBIDDEN, "two_factor_enrolment_required");
        } else {
            let listed = answer.json(StatusCode::OK).to_string();
            assert!(!listed.contains("strict_manager"), "{username} saw another store: {listed}");
        }
    }
}
