//! The one place every area's routes mount, and the OpenAPI document they make together.
//!
//! Store-scoped routes (they run against the store named by `X-Tenant-Key`) mount behind
//! the tenant layer as a `route_layer`, so only they resolve keys: a key sent to `/healthz`
//! or to sign-in costs nothing.

use axum::Router;
use axum::middleware::{from_fn_with_state, map_request};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::AuditAction;
use crate::error::{ApiError, ErrorBody};
use crate::http::health;
use crate::http::openapi::{self, SecuritySchemes, TextRule};
use crate::middleware::{append_api_trailing_slash, with_middleware};
use crate::state::AppState;
use crate::tenant::layer::{TenantRegistry, resolve_tenant};
use crate::{
    approvals, audit_events, auth, devices, discovery, employees, oauth, permissions, profile, roles,
    store_roles, stores, two_factor, users,
};

/// The document's fixed parts; paths are added by [`api_routes`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kassa",
        description = "Multi-tenant identity backend for point-of-sale apps. Store-scoped calls \
                       send `Authorization: Bearer <access>` and `X-Tenant-Key: <tenant_key>`.",
        license(name = "MIT"),
    ),
    modifiers(&SecuritySchemes),
    // `AuditAction`: the names the `action` filter takes, as a named schema for clients (the
    // filter itself inlines them). utoipa collects schemas from bodies only, never from query
    // parameters, so a parameter's `$ref` to it once dangled.
    components(schemas(ErrorBody, AuditAction)),
    tags(
        (name = "auth", description = "Registration, sign-in and the caller's stores"),
        (name = "stores", description = "The stores an owner runs"),
        (name = "employees", description = "A store's staff: who works there, in which role"),
        (name = "users", description = "A store's members with an account, addressed by account id"),
        (name = "audit", description = "The store's audit trail of staff changes"),
        (name = "roles", description = "The role catalogue"),
        (name = "keys", description = "The public keys and discovery document services verify kassa's tokens with"),
        (name = "oauth", description = "For the platform's services: token introspection (RFC 7662) and revocation (RFC 7009), with a service client's HTTP Basic credentials"),
        (name = "health", description = "Liveness and readiness probes"),
    ),
)]
pub struct ApiDoc;

/// Every route, with its OpenAPI description; `scope_to_store` wraps the store-scoped ones.
fn api_routes(
    scope_to_store: impl FnOnce(OpenApiRouter<AppState>) -> OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let store_scoped = OpenApiRouter::new()
        .merge(auth::store_router())
        .merge(profile::store_router())
        .merge(employees::router())
        .merge(users::router())
        .merge(audit_events::router())
        .merge(store_roles::router())
        .merge(devices::store_router())
        .merge(approvals::store_router())
        .merge(stores::store_router());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .merge(auth::router())
        .merge(two_factor::router())
        .merge(stores::router())
        .merge(roles::router())
        .merge(permissions::router())
        .merge(devices::router())
        .merge(discovery::router())
        .merge(oauth::router())
        .merge(scope_to_store(store_scoped))
}

/// The OpenAPI document of everything [`build_router`] serves.
#[must_use]
pub fn openapi_spec() -> utoipa::openapi::OpenApi {
    finished(api_routes(|routes| routes).into_openapi())
}

/// The document with what is stated across all of its routes at once (`TextRule`).
fn finished(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    TextRule.modify(&mut spec);
    spec
}

/// The whole HTTP application: routes, Swagger UI, the JSON 404, and the middleware stack.
pub fn build_router(state: AppState) -> Router {
    let registry = TenantRegistry { pool: state.db.clone(), stores: state.stores.clone() };
    // A route layer: it runs after routing, on store-scoped routes only, inside the common
    // stack (so tenant errors and the span's `store.slug` are covered too).
    let (routes, spec) =
        api_routes(|routes| routes.route_layer(from_fn_with_state(registry, resolve_tenant)))
            .split_for_parts();
    let spec = finished(spec);
    // Swagger UI and ReDoc read the same document; one setting switches both.
    let routes = match state.config.swagger_enabled {
        true => routes.merge(openapi::swagger_ui(spec)).merge(crate::http::docs_ui::router()),
        false => routes,
    };
    let routes = if state.config.console_enabled {
        routes.merge(crate::console::router(std::sync::Arc::clone(&state.config)))
    } else {
        routes
    };
    let config = std::sync::Arc::clone(&state.config);
    let app = with_middleware(routes.fallback(not_found).with_state(state), &config);
    // Runs before routing (a layer on a router's fallback does), so `/api/…/me` finds `/api/…/me/`.
    Router::new().fallback_service(app).layer(map_request(append_api_trailing_slash))
}

/// Unknown routes answer the JSON 404 envelope, not axum's empty body.
async fn not_found() -> ApiError {
    ApiError::NotFound
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every (method, path, operation) of the served document.
    fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
        let mut found = Vec::new();
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                if operation.get("responses").is_some() {
                    found.push((method.to_uppercase(), path.clone(), operation));
                }
            }
        }
        found
    }

    fn spec() -> Value {
        serde_json::to_value(crate::router::openapi_spec()).expect("the document serialises")
    }

    #[test]
    fn a_role_on_the_wire_is_a_patterned_string_never_an_enum() {
        // A client generated from an enum of the four built-in roles fails on a store's own
        // roles (openapi-python-client: "'senior_cashier' is not a valid Role").
        let spec = spec();
        let schemas = &spec["components"]["schemas"];
        let code = &schemas["RoleCode"];
        assert_eq!(code["type"], "string");
        assert!(code.get("enum").is_none(), "{code}");
        assert_eq!(code["pattern"], crate::access::ROLE_CODE_PATTERN);
        for (schema, field) in [
            ("RoleView", "role"),
            ("DefaultStore", "role"),
            ("StoreRoleOut", "code"),
            ("CreateEmployeeRequest", "role"),
        ] {
            assert_eq!(
                schemas[schema]["properties"][field]["$ref"], "#/components/schemas/RoleCode",
                "{schema}.{field}"
            );
        }
    }

    fn documents(operation: &Value, status: &str) -> bool {
        operation["responses"].get(status).is_some()
    }

    #[test]
    fn routes_with_a_json_body_document_its_refusals() {
        let spec = spec();
        for (method, path, operation) in operations(&spec) {
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(documents(operation, status), "{method} {path} does not document {status}");
                }
            }
        }
    }

    #[test]
    fn routes_with_path_parameters_document_the_404_of_a_bad_one() {
        let spec = spec();
        for (method, path, operation) in operations(&spec) {
            // A route that only refuses its method never reads its id.
            if path.contains('{') && !documents(operation, "405") {
                assert!(documents(operation, "404"), "{method} {path} does not document 404");
            }
        }
    }

    #[test]
    fn signed_in_routes_document_401_and_store_scoped_ones_400_and_403() {
        let spec = spec();
        for (method, path, operation) in operations(&spec) {
            let schemes = operation["security"].to_string();
            if schemes.contains("bearerAuth") {
                assert!(documents(operation, "401"), "{method} {path} does not document 401");
            }
            if schemes.contains("tenantKey") {
                for status in ["400", "403"] {
                    assert!(documents(operation, status), "{method} {path} does not document {status}");
                }
            }
        }
    }

    #[test]
    fn every_response_is_described() {
        let spec = spec();
        for (method, path, operation) in operations(&spec) {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let description = response["description"].as_str().unwrap_or_default();
                assert!(!description.trim().is_empty(), "{method} {path} {status} has no description");
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        found.push(target);
                    }
                    map.values().for_each(|v| refs(v, found));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
                _ => {}
            }
        }
        let spec = spec();
        let mut found = Vec::new();
        refs(&spec, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.strip_prefix('#').expect("a local reference");
            assert!(spec.pointer(pointer).is_some(), "dangling reference {target}");
        }
    }

    #[test]
    fn put_bodies_document_the_fields_patch_bodies_do() {
        let spec = spec();
        let names = |schema: &str| -> Vec<String> {
            let properties = spec["components"]["schemas"][schema]["properties"].as_object();
            properties.unwrap_or_else(|| panic!("{schema} has properties")).keys().cloned().collect()
        };
        assert_eq!(names("ReplaceEmployeeRequest"), names("UpdateEmployeeRequest"));
        assert_eq!(names("ReplaceStoreRequest"), names("UpdateStoreRequest"));
    }
}
