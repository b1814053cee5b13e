//! The OpenAPI document and Swagger UI (docs/contract.md §8).
//!
//! The building blocks: security schemes, the refusals every body route documents, the
//! query filters' schemas, Swagger UI. The document itself is composed by the router (paths
//! registered with utoipa-axum's `routes!`), so it cannot drift from what is served. The two security schemes let Swagger's Authorize
//! dialog set both headers a store-scoped call needs.
//!
//! Every answer a route can give is documented (the API is fuzzed against this document
//! with schemathesis by `.ci/fuzz-api`): routes with a JSON body list [`BodyRejections`], and
//! the router's tests hold every route to that, to described responses, and to resolvable `$ref`s.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::access::RoleCode;
use crate::validate::fields::{WHITE_SPACE, not_blank_pattern};

/// Where Swagger UI is served.
pub const SWAGGER_PATH: &str = "/swagger";
/// Where the document is served as JSON.
pub const SPEC_PATH: &str = "/api-docs/openapi.json";

/// The answers `answers` (status, description), each with the error envelope as its body:
/// what a refusal set lists.
#[must_use]
pub fn refusals(answers: &[(u16, &str)]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let body = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let answer = |description: &str| {
        RefOr::T(ResponseBuilder::new().description(description).content("application/json", body()).build())
    };
    answers.iter().map(|&(status, description)| (status.to_string(), answer(description))).collect()
}

/// Declares a set of refusals that a route's `responses(…)` lists by its name: the answers
/// several routes give alike, described once.
macro_rules! refusal_set {
    ($(#[$doc:meta])* $name:ident: $($status:literal => $description:expr),+ $(,)?) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::Response>,
            > {
                $crate::http::openapi::refusals(&[$(($status, $description)),+])
            }
        }
    };
}
pub(crate) use refusal_set;

/// The 401 of every route behind an access token.
pub const NOT_AUTHENTICATED: &str =
    "not_authenticated, token_invalid or token_expired: no valid access token";
/// The 403 of a store-scoped route that asks only that the caller work in the store.
pub const NOT_A_MEMBER: &str =
    "invalid_tenant_key, inactive_tenant, not_a_member or password_change_required";
/// The 400 of a store-scoped route called without `X-Tenant-Key`.
const MISSING_TENANT_KEY: &str = "missing_tenant_key";

refusal_set!(
    /// The refusals of a route that reads a JSON body, before its handler runs
    /// ([`crate::http::json`]).
    BodyRejections:
    413 => "payload_too_large: the body is over 64 KiB",
    415 => "unsupported_media_type: the body is not declared as `Content-Type: application/json`",
);

refusal_set!(
    /// The refusals of a route that reads a form body (the OAuth routes), before its handler
    /// reads a field.
    FormRejections:
    413 => "payload_too_large: the body is over 64 KiB",
    415 => "unsupported_media_type: the body is not declared as `Content-Type: application/x-www-form-urlencoded`",
);

refusal_set!(
    /// The refusals of a route for service clients (HTTP Basic, RFC 6749 §2.3.1).
    ClientRefusals:
    401 => "invalid_client (also as `error`, RFC 6749 §5.2), with `WWW-Authenticate: Basic`: no client credentials, an unknown client or a wrong secret",
    429 => "too_many_attempts: the client's calls for this minute (or wrong-secret attempts at its id) are used up; Retry-After says when to try again",
);

refusal_set!(
    /// The refusal of a route behind an access token.
    TokenRefusals: 401 => NOT_AUTHENTICATED
);

refusal_set!(
    /// The refusals of a route of the caller's own account (not of a store): no valid
    /// token, or a password to change first.
    AccountRefusals:
    401 => NOT_AUTHENTICATED,
    403 => "password_change_required: the caller must change their password first",
);

refusal_set!(
    /// The refusals of a store-scoped route that asks nothing more of the caller than to
    /// work in the store (`X-Tenant-Key` and an access token of one of its members).
    StoreRefusals: 400 => MISSING_TENANT_KEY, 401 => NOT_AUTHENTICATED, 403 => NOT_A_MEMBER
);

refusal_set!(
    /// [`StoreRefusals`] without the 400, for a route whose 400 says more than a missing key.
    MemberRefusals: 401 => NOT_AUTHENTICATED, 403 => NOT_A_MEMBER
);

refusal_set!(
    /// The refusals of a store-scoped route that answers before membership is looked at:
    /// the store's key and an access token.
    StoreKeyRefusals:
    400 => MISSING_TENANT_KEY,
    401 => NOT_AUTHENTICATED,
    403 => "invalid_tenant_key or inactive_tenant",
);

refusal_set!(
    /// The refusals of a page of a store's records that only its owner and managers read
    /// (the staff, the audit trail): a bad filter, no token, no right, a page past the last.
    ManagersListRefusals:
    400 => "validation_error (per query parameter) or missing_tenant_key",
    401 => NOT_AUTHENTICATED,
    403 => "invalid_tenant_key, inactive_tenant, not_a_member, permission_denied or password_change_required",
    404 => "not_found: a page past the last",
);

refusal_set!(
    /// The refusals of adding someone to a store's staff (`POST /employees/`, `POST /users/`),
    /// besides those of the body itself.
    NewStaffRefusals:
    400 => "validation_error, per field, or missing_tenant_key",
    401 => NOT_AUTHENTICATED,
    403 => "permission_denied (also for a role beyond the caller's), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required",
    409 => "username_taken",
);

refusal_set!(
    /// The refusals of reading the caller in a store (`auth/me/`, `profile/`): the key is
    /// looked at before the token, as the peer does.
    CallerInStoreRefusals:
    400 => "missing_tenant_key (answered before the token is looked at, as the peer does)",
    401 => NOT_AUTHENTICATED,
    403 => "invalid_tenant_key, inactive_tenant or not_a_member",
);

/// `schema`, or an empty value: the list endpoints read `?role=` as no filter, as DRF does.
pub fn or_empty(schema: RefOr<Schema>) -> RefOr<Schema> {
    let empty = ObjectBuilder::new().schema_type(Type::String).max_length(Some(0));
    OneOfBuilder::new().item(schema).item(empty).into()
}

/// Documents the `role` filter: a role code, or empty for none.
pub struct RoleFilter;

impl PartialSchema for RoleFilter {
    fn schema() -> RefOr<Schema> {
        or_empty(RoleCode::schema())
    }
}

impl ToSchema for RoleFilter {}

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
pub struct SecuritySchemes;

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
            "clientBasic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "A service client's `client_id` and `client_secret` (`kassa clients create`), \
                         HTTP Basic as RFC 6749 §2.3.1 says.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "deviceToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Device-Token",
                "A paired till's `device_token` (from `POST /api/users/devices/pair/`), sent with `X-Tenant-Key`.",
            ))),
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

/// What the text rule (`validate::text::is_control`) refuses, as a character-class body:
/// control characters (Cc), the line and paragraph separators, and the bidi controls.
const CONTROL_CHARACTERS: &str = r"\x00-\x1F\x7F-\x9F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069";

/// Opaque tokens typed or pasted by machines, not stored text: the rule does not apply.
const OPAQUE_FIELDS: [&str; 2] = ["code", "approval_token"];

/// States the text rule in every request body's text fields, so a client generated from the
/// document (or a fuzzer) knows that no stored name, label or reason may hold a control
/// character, a line separator or a bidi control. One pass over the finished document,
/// rather than the same pattern spelled in each field's attribute: a "not blank" field's
/// pattern becomes "not blank, and no control anywhere"; an email's classes exclude them
/// too; free text gets "no control anywhere". Passwords, dates and other formatted strings,
/// enums and patterns already stricter than the rule are left alone. Applied to the whole
/// document once every route has added its schemas (`router`).
pub struct TextRule;

impl Modify for TextRule {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let bodies = request_body_schemas(openapi);
        let Some(components) = openapi.components.as_mut() else { return };
        for name in bodies {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&name) {
                for (field, property) in object.properties.iter_mut() {
                    if let RefOr::T(Schema::Object(text)) = property
                        && !OPAQUE_FIELDS.contains(&field.as_str())
                    {
                        apply_text_rule(text);
                    }
                }
            }
        }
    }
}

/// The component schemas that are request bodies.
fn request_body_schemas(openapi: &utoipa::openapi::OpenApi) -> Vec<String> {
    let mut names = Vec::new();
    for item in openapi.paths.paths.values() {
        let operations = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
        for body in operations.into_iter().flatten().filter_map(|operation| operation.request_body.as_ref()) {
            let RefOr::T(body) = body else { continue };
            for content in body.content.values() {
                if let RefOr::T(content) = content
                    && let Some(RefOr::Ref(reference)) = &content.schema
                {
                    names.extend(reference.ref_location.rsplit('/').next().map(str::to_owned));
                }
            }
        }
    }
    names
}

/// The text rule on one string property (see [`TextRule`]).
fn apply_text_rule(property: &mut utoipa::openapi::schema::Object) {
    let is_text = match &property.schema_type {
        SchemaType::Type(Type::String) => true,
        SchemaType::Array(types) => types.contains(&Type::String),
        _ => false,
    };
    if !is_text || property.format.is_some() || property.enum_values.is_some() {
        return;
    }
    let not_blank = not_blank_pattern();
    property.pattern = match property.pattern.take() {
        None => Some(format!("^[^{CONTROL_CHARACTERS}]*$")),
        Some(pattern) if pattern == not_blank => Some(format!(
            "^[^{CONTROL_CHARACTERS}]*[^{CONTROL_CHARACTERS}{WHITE_SPACE}][^{CONTROL_CHARACTERS}]*$"
        )),
        // An email's classes: every character but `@` (and `.`) and white space, now not a
        // control either.
        Some(pattern) if pattern.contains('@') => {
            Some(pattern.replace(WHITE_SPACE, &format!("{WHITE_SPACE}{CONTROL_CHARACTERS}")))
        }
        // Phones, slugs, PINs, dates: patterns that already allow no control at all.
        Some(pattern) => Some(pattern),
    };
}
