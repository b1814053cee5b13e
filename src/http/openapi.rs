//! The OpenAPI document and Swagger UI (SPEC §8).
//!
//! Paths are registered with utoipa-axum's `routes!` next to the router, so the document
//! cannot drift from what is served. The two security schemes let Swagger's Authorize
//! dialog set both headers a store-scoped call needs.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ErrorBody;

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
    components(schemas(ErrorBody)),
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
