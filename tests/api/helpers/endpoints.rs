//! One method per endpoint on the test client: the request as the API documents it, the
//! answer unchecked (each test states the answer it expects).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use super::{Owner, TestApp, TestResponse};

const EMPLOYEES: &str = "/api/users/employees/";
const USERS: &str = "/api/users/users/";
const STORE_ROLES: &str = "/api/users/store-roles/";

/// The address the in-process requests come from unless a test names another.
const TEST_IP: &str = "192.0.2.1";

/// Auth: sign-in and tokens.
impl TestApp {
    /// `POST /api/users/auth/login/` from [`TEST_IP`].
    pub async fn login(&self, username: &str, password: &str) -> TestResponse {
        self.login_from(username, password, TEST_IP).await
    }

    /// `POST /api/users/auth/login/` from `ip`.
    pub async fn login_from(&self, username: &str, password: &str, ip: &str) -> TestResponse {
        let mut request = Request::post("/api/users/auth/login/")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"username": username, "password": password}).to_string()))
            .unwrap();
        let peer: SocketAddr = format!("{ip}:50000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        self.send(request).await
    }

    /// `POST /api/users/auth/token/refresh/`.
    pub async fn refresh(&self, refresh_token: &str) -> TestResponse {
        self.json(Method::POST, "/api/users/auth/token/refresh/", &json!({"refresh": refresh_token}), None)
            .await
    }

    /// `GET /api/users/auth/me/` as `who`, in their store.
    pub async fn me(&self, who: &Owner) -> TestResponse {
        self.scoped(Method::GET, "/api/users/auth/me/", &who.token, &who.key(), None).await
    }

    /// `PUT /api/users/auth/pin/`: `who` sets their own PIN for their store.
    pub async fn set_pin(&self, who: &Owner, pin: &str) -> TestResponse {
        self.scoped(Method::PUT, "/api/users/auth/pin/", &who.token, &who.key(), Some(&json!({"pin": pin})))
            .await
    }

    /// `POST /api/users/auth/pin-login/` from the till `till` of the store of `key`.
    pub async fn pin_login(&self, till: &str, key: &str, employee_id: &Value, pin: &str) -> TestResponse {
        let body = json!({"employee_id": employee_id, "pin": pin});
        self.send(till_request(Method::POST, "/api/users/auth/pin-login/", till, key, None, &body)).await
    }
}

/// A request from a till: its device token and store key, a bearer when given.
pub fn till_request(
    method: Method,
    path: &str,
    till: &str,
    key: &str,
    bearer: Option<&str>,
    body: &Value,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("x-device-token", till)
        .header("x-tenant-key", key)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(bearer) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

/// Employees of a store.
impl TestApp {
    /// `POST /api/users/employees/` as `who`.
    pub async fn create_employee(&self, who: &Owner, body: &Value) -> TestResponse {
        self.scoped(Method::POST, EMPLOYEES, &who.token, &who.key(), Some(body)).await
    }

    /// `PATCH /api/users/employees/{id}/` as `who`.
    pub async fn patch_employee(&self, who: &Owner, id: &Value, body: &Value) -> TestResponse {
        self.scoped(Method::PATCH, &format!("{EMPLOYEES}{id}/"), &who.token, &who.key(), Some(body)).await
    }

    /// `GET /api/users/employees/{query}` as `who` (`query` empty or starting with `?`).
    pub async fn employees(&self, who: &Owner, query: &str) -> TestResponse {
        self.scoped(Method::GET, &format!("{EMPLOYEES}{query}"), &who.token, &who.key(), None).await
    }

    /// `GET /api/users/employees/cashiers/` as `who`.
    pub async fn cashiers(&self, who: &Owner) -> TestResponse {
        self.scoped(Method::GET, "/api/users/employees/cashiers/", &who.token, &who.key(), None).await
    }
}

/// The back office's users.
impl TestApp {
    /// `GET /api/users/users/{query}` as `who`.
    pub async fn users(&self, who: &Owner, query: &str) -> TestResponse {
        self.scoped(Method::GET, &format!("{USERS}{query}"), &who.token, &who.key(), None).await
    }

    /// `PATCH /api/users/users/{id}/update-employee/` as `who`.
    pub async fn update_employee(&self, who: &Owner, user_id: i64, body: &Value) -> TestResponse {
        let path = format!("{USERS}{user_id}/update-employee/");
        self.scoped(Method::PATCH, &path, &who.token, &who.key(), Some(body)).await
    }

    /// `PATCH /api/users/users/{id}/update-profile/` as `who`.
    pub async fn update_profile(&self, who: &Owner, user_id: i64, body: &Value) -> TestResponse {
        let path = format!("{USERS}{user_id}/update-profile/");
        self.scoped(Method::PATCH, &path, &who.token, &who.key(), Some(body)).await
    }

    /// `POST /api/users/users/{id}/change-password/` as `who`.
    pub async fn change_user_password(&self, who: &Owner, user_id: i64, body: &Value) -> TestResponse {
        let path = format!("{USERS}{user_id}/change-password/");
        self.scoped(Method::POST, &path, &who.token, &who.key(), Some(body)).await
    }
}

/// The store's audit trail.
impl TestApp {
    /// `GET /api/users/audit-events/{query}` as `who` (`query` empty or starting with `?`).
    pub async fn audit_events(&self, who: &Owner, query: &str) -> TestResponse {
        self.scoped(Method::GET, &format!("/api/users/audit-events/{query}"), &who.token, &who.key(), None)
            .await
    }
}

/// Paired tills.
impl TestApp {
    /// `POST /api/users/devices/pairing-codes/` as `who`: a code for a till named `name`.
    pub async fn create_pairing_code(&self, who: &Owner, name: &str) -> TestResponse {
        let body = json!({"name": name});
        self.scoped(Method::POST, "/api/users/devices/pairing-codes/", &who.token, &who.key(), Some(&body))
            .await
    }

    /// `POST /api/users/devices/pair/` with `code`, as the till does.
    pub async fn pair(&self, code: &str) -> TestResponse {
        self.json(Method::POST, "/api/users/devices/pair/", &json!({"code": code}), None).await
    }

    /// A till of `owner`'s store, paired: its device token.
    pub async fn paired_till(&self, owner: &Owner, name: &str) -> String {
        let made = self.create_pairing_code(owner, name).await.json(StatusCode::CREATED);
        let paired = self.pair(made["code"].as_str().unwrap()).await.json(StatusCode::CREATED);
        paired["device_token"].as_str().unwrap().to_owned()
    }
}

/// The store's own roles.
impl TestApp {
    /// `POST /api/users/store-roles/` as `who`.
    pub async fn create_role(&self, who: &Owner, body: &Value) -> TestResponse {
        self.scoped(Method::POST, STORE_ROLES, &who.token, &who.key(), Some(body)).await
    }

    /// `PATCH /api/users/store-roles/{code}/` as `who`.
    pub async fn patch_role(&self, who: &Owner, code: &str, body: &Value) -> TestResponse {
        self.scoped(Method::PATCH, &format!("{STORE_ROLES}{code}/"), &who.token, &who.key(), Some(body)).await
    }

    /// `DELETE /api/users/store-roles/{code}/` as `who`.
    pub async fn delete_role(&self, who: &Owner, code: &str) -> TestResponse {
        self.scoped(Method::DELETE, &format!("{STORE_ROLES}{code}/"), &who.token, &who.key(), None).await
    }
}

/// Stores.
impl TestApp {
    /// `POST /api/users/stores/` signed in as `token`: a store named `name`.
    pub async fn create_store(&self, token: &str, name: &str) -> TestResponse {
        self.json(Method::POST, "/api/users/stores/", &json!({ "name": name }), Some(token)).await
    }

    /// `owner` opens another store named `name` (201 expected): `owner` signed in there.
    pub async fn open_second_store(&self, owner: &Owner, name: &str) -> Owner {
        let second = self.create_store(&owner.token, name).await.json(StatusCode::CREATED);
        Owner {
            data: second["data"].clone(),
            store_id: second["data"]["store"]["id"].as_i64().unwrap(),
            ..owner.clone()
        }
    }

    /// `PATCH /api/users/stores/{id}/` of `owner`'s store.
    pub async fn patch_store(&self, owner: &Owner, body: &Value) -> TestResponse {
        let path = format!("/api/users/stores/{}/", owner.store_id);
        self.json(Method::PATCH, &path, body, Some(&owner.token)).await
    }

    /// `GET /api/users/stores/staff-credentials/` signed in as `token`, in the store of `key`.
    pub async fn staff_credentials(&self, token: &str, key: &str) -> TestResponse {
        self.scoped(Method::GET, "/api/users/stores/staff-credentials/", token, key, None).await
    }
}

/// A service client of the platform, made by `kassa clients create --json`.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    pub client_id: String,
    pub secret: String,
}

impl ServiceClient {
    /// `Authorization: Basic …` with these credentials, form-encoded first (RFC 6749 §2.3.1).
    pub fn basic(&self) -> String {
        basic_authorization(&self.client_id, &self.secret)
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub fn basic_authorization(client_id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let encode = |part: &str| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// The OAuth routes, for service clients.
impl TestApp {
    /// `kassa clients create NAME --json` on this test's database: the new client.
    pub fn create_service_client(&self, name: &str) -> ServiceClient {
        let output = self.kassa_command(&["clients", "create", name, "--json"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let printed: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON alone");
        ServiceClient {
            client_id: printed["client_id"].as_str().unwrap().to_owned(),
            secret: printed["client_secret"].as_str().unwrap().to_owned(),
        }
    }

    /// `kassa ARGS…` on this test's database, its output.
    pub fn kassa_command(&self, args: &[&str]) -> std::process::Output {
        let dir = tempfile::tempdir().unwrap();
        super::kassa(dir.path())
            .args(args)
            .env("DATABASE_URL", self.db.url())
            .env("JWT_SECRET", super::TEST_JWT_SECRET)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    /// `POST path` with `form` as `application/x-www-form-urlencoded`, with `authorization` and
    /// `X-Tenant-Key` when given.
    pub async fn oauth_form(
        &self,
        path: &str,
        authorization: Option<&str>,
        form: &[(&str, &str)],
        tenant_key: Option<&str>,
    ) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        if let Some(key) = tenant_key {
            request = request.header("x-tenant-key", key);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// `POST /oauth/introspect` of `token` by `client`: the answer, checked to be 200 and
    /// `no-store`.
    pub async fn introspect(&self, client: &ServiceClient, token: &str) -> Value {
        self.introspect_form(client, &[("token", token)]).await
    }

    /// `POST /oauth/introspect` of `token` by `client`, naming the store of `tenant_key`.
    pub async fn introspect_in(&self, client: &ServiceClient, token: &str, tenant_key: &str) -> Value {
        self.introspect_form(client, &[("token", token), ("tenant_key", tenant_key)]).await
    }

    /// `POST /oauth/introspect` with `form` by `client`, checked to be 200 and `no-store`.
    pub async fn introspect_form(&self, client: &ServiceClient, form: &[(&str, &str)]) -> Value {
        let response = self.oauth_form("/oauth/introspect", Some(&client.basic()), form, None).await;
        assert_eq!(response.header("cache-control"), Some("no-store"));
        response.json(StatusCode::OK)
    }

    /// `POST /oauth/revoke` of `token` by `client`.
    pub async fn revoke_token(&self, client: &ServiceClient, token: &str) -> TestResponse {
        self.oauth_form("/oauth/revoke", Some(&client.basic()), &[("token", token)], None).await
    }
}

/// Set-up codes (docs/contract.md §16).
impl TestApp {
    /// `POST /api/users/employees/` as `who`: `username` with `role` and a set-up code
    /// instead of a password.
    pub async fn create_employee_with_setup_code(
        &self,
        who: &Owner,
        username: &str,
        role: &str,
    ) -> TestResponse {
        let body = json!({"username": username, "first_name": "Новый", "role": role, "setup": "code"});
        self.create_employee(who, &body).await
    }

    /// `POST /api/users/employees/{id}/setup-code/` as `who`.
    pub async fn issue_setup_code(&self, who: &Owner, id: &Value) -> TestResponse {
        let path = format!("{EMPLOYEES}{id}/setup-code/");
        self.scoped(Method::POST, &path, &who.token, &who.key(), None).await
    }

    /// `POST /api/users/auth/setup/` with `body`, with no token, as the employee's phone does.
    pub async fn complete_setup(&self, body: &Value) -> TestResponse {
        self.json(Method::POST, "/api/users/auth/setup/", body, None).await
    }
}

/// Two-step sign-in (docs/contract.md §16).
impl TestApp {
    /// `POST /api/users/auth/2fa/totp/` as `token`.
    pub async fn enrol_totp(&self, token: &str) -> TestResponse {
        self.json(Method::POST, "/api/users/auth/2fa/totp/", &json!({}), Some(token)).await
    }

    /// `POST /api/users/auth/2fa/totp/confirm/` as `token` with `code`.
    pub async fn confirm_totp(&self, token: &str, code: &str) -> TestResponse {
        self.json(Method::POST, "/api/users/auth/2fa/totp/confirm/", &json!({"code": code}), Some(token))
            .await
    }

    /// `DELETE /api/users/auth/2fa/totp/` as `token` with `body` (`password` or `recovery_code`).
    pub async fn disable_totp(&self, token: &str, body: &Value) -> TestResponse {
        self.json(Method::DELETE, "/api/users/auth/2fa/totp/", body, Some(token)).await
    }

    /// `POST /api/users/auth/login/2fa/` with `body`, from [`TEST_IP`] with `user_agent`.
    pub async fn login_second_step(&self, body: &Value, user_agent: &str) -> TestResponse {
        self.login_second_step_from(body, TEST_IP, user_agent).await
    }

    /// `POST /api/users/auth/login/2fa/` with `body` from `ip` with `user_agent`.
    pub async fn login_second_step_from(&self, body: &Value, ip: &str, user_agent: &str) -> TestResponse {
        let mut request = Request::post("/api/users/auth/login/2fa/")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, user_agent)
            .body(Body::from(body.to_string()))
            .unwrap();
        let peer: SocketAddr = format!("{ip}:50000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        self.send(request).await
    }

    /// `DELETE /api/users/auth/2fa/totp/` as `token` with `body`, and `code` in `X-TOTP-Code`.
    pub async fn disable_totp_with_code(&self, token: &str, body: &Value, code: &str) -> TestResponse {
        let request = Request::delete("/api/users/auth/2fa/totp/")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("x-totp-code", code)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    /// `DELETE /api/users/stores/{id}/`: `owner` deactivates their store, with `code` in
    /// `X-TOTP-Code` when given.
    pub async fn deactivate_store(&self, owner: &Owner, code: Option<&str>) -> TestResponse {
        let mut request = Request::delete(format!("/api/users/stores/{}/", owner.store_id))
            .header(header::AUTHORIZATION, format!("Bearer {}", owner.token));
        if let Some(code) = code {
            request = request.header("x-totp-code", code);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// `PATCH /api/users/stores/{id}/ {"require_2fa_from_rank": rank}` as `owner`, with a
    /// fresh code in `X-TOTP-Code` when given.
    pub async fn set_two_factor_policy(
        &self,
        owner: &Owner,
        rank: Value,
        code: Option<&str>,
    ) -> TestResponse {
        let mut request = Request::patch(format!("/api/users/stores/{}/", owner.store_id))
            .header(header::AUTHORIZATION, format!("Bearer {}", owner.token))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(code) = code {
            request = request.header("x-totp-code", code);
        }
        let body = json!({ "require_2fa_from_rank": rank }).to_string();
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// `POST /api/users/auth/login/` from [`TEST_IP`] with `user_agent`.
    pub async fn login_as_client(&self, username: &str, password: &str, user_agent: &str) -> TestResponse {
        let mut request = Request::post("/api/users/auth/login/")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, user_agent)
            .body(Body::from(json!({"username": username, "password": password}).to_string()))
            .unwrap();
        let peer: SocketAddr = format!("{TEST_IP}:50000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        self.send(request).await
    }
}
