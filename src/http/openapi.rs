//! The OpenAPI document and Swagger UI (SPEC §8).
//!
//! Paths are registered with utoipa-axum's `routes!` next to the router, so the document
//! cannot drift from what is served. The two security schemes let Swagger's Authorize
//! dialog set both headers a store-scoped call needs.
//!
//! Every answer a route can give is documented (the API is fuzzed against this document
//! with schemathesis by `.ci/fuzz-api`): routes with a JSON body list [`BodyRejections`], and
//! the tests below hold every route to that, to described responses, and to resolvable `$ref`s.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::audit::AuditAction;
use crate::error::ErrorBody;
use crate::roles::Role;

/// Where Swagger UI is served.
pub const SWAGGER_PATH: &str = "/swagger";
/// Where the document is served as JSON.
pub const SPEC_PATH: &str = "/api-docs/openapi.json";

/// The document's fixed parts; paths are added by the router.
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
        (name = "audit", description = "The store's audit trail of staff changes"),
        (name = "roles", description = "The role catalogue"),
        (name = "health", description = "Liveness and readiness probes"),
    ),
)]
pub struct ApiDoc;

/// The refusals of a route that reads a JSON body, before its handler runs ([`crate::http::json`]):
/// list it in the route's `responses(…)`.
pub struct BodyRejections;

impl IntoResponses for BodyRejections {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let error = |description: &str| {
            let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            RefOr::T(
                ResponseBuilder::new().description(description).content("application/json", body).build(),
            )
        };
        BTreeMap::from([
            ("413".to_owned(), error("payload_too_large: the body is over 64 KiB (SPEC §7)")),
            (
                "415".to_owned(),
                error("unsupported_media_type: the body is not declared as `Content-Type: application/json`"),
            ),
        ])
    }
}

/// `schema`, or an empty value: the list endpoints read `?role=` as no filter, as DRF does.
fn or_empty(schema: RefOr<Schema>) -> RefOr<Schema> {
    let empty = ObjectBuilder::new().schema_type(Type::String).max_length(Some(0));
    OneOfBuilder::new().item(schema).item(empty).into()
}

/// Documents the `role` filter: a role, or empty for none.
pub struct RoleFilter;

impl PartialSchema for RoleFilter {
    fn schema() -> RefOr<Schema> {
        or_empty(Role::schema())
    }
}

impl ToSchema for RoleFilter {}

/// Documents the `action` filter: an audit action, or empty for none.
pub struct AuditActionFilter;

impl PartialSchema for AuditActionFilter {
    fn schema() -> RefOr<Schema> {
        or_empty(AuditAction::schema())
    }
}

impl ToSchema for AuditActionFilter {}

/// Documents a whole-number query parameter (a page, a page size, an id filter):
/// 1 to [`crate::validate::MAX_QUERY_INTEGER`], or empty for none.
pub struct PositiveIntegerFilter;

impl PartialSchema for PositiveIntegerFilter {
    fn schema() -> RefOr<Schema> {
        let number = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(crate::validate::MAX_QUERY_INTEGER));
        or_empty(number.into())
    }
}

impl ToSchema for PositiveIntegerFilter {}

/// Documents a yes/no query parameter: `true` or `false` (`1`, `0` and any letter case also
/// read, as django-filter does), or empty for none.
pub struct BooleanFilter;

impl PartialSchema for BooleanFilter {
    fn schema() -> RefOr<Schema> {
        or_empty(ObjectBuilder::new().schema_type(Type::Boolean).into())
    }
}

impl ToSchema for BooleanFilter {}

/// Documents the `date_from`/`date_to` filters: a date (`2026-11-23`, a UTC day) or an
/// RFC 3339 date-time, as [`crate::validate::Form::instant`] parses them, or empty for none.
pub struct InstantFilter;

impl PartialSchema for InstantFilter {
    fn schema() -> RefOr<Schema> {
        let string = |format| {
            ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(format)))
        };
        let empty = ObjectBuilder::new().schema_type(Type::String).max_length(Some(0));
        OneOfBuilder::new()
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .item(empty)
            .into()
    }
}

impl ToSchema for InstantFilter {}

/// `bearerAuth` (the access JWT) and `tenantKey` (the `X-Tenant-Key` header).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The `access` token from login or registration."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "tenantKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Tenant-Key",
                "The store's `tenant_key`, e.g. `moy-magazin_5f939099`.",
            ))),
        );
    }
}

/// Swagger UI at `/swagger/`, reading the document from `/api-docs/openapi.json`.
#[must_use]
pub fn swagger_ui(spec: utoipa::openapi::OpenApi) -> SwaggerUi {
    SwaggerUi::new(SWAGGER_PATH).url(SPEC_PATH, spec)
}

/// The document as the pretty JSON committed in `openapi/openapi.json`.
#[must_use]
pub fn to_pretty_json(spec: &utoipa::openapi::OpenApi) -> String {
    let mut json = spec.to_pretty_json().expect("the OpenAPI document serialises");
    json.push('\n');
    json
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
        serde_json::to_value(crate::app::openapi_spec()).expect("the document serialises")
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
    fn routes_with_path_parameters_document_the_400_of_a_bad_one() {
        let spec = spec();
        for (method, path, operation) in operations(&spec) {
            if path.contains('{') {
                assert!(documents(operation, "400"), "{method} {path} does not document 400");
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
