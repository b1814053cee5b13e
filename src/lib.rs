//! kassa: a multi-tenant identity backend for point-of-sale apps.
//!
//! Every store is a tenant with its own PostgreSQL schema `tenant_<slug>`; the global
//! registry (users, stores, memberships) lives in `public`. Requests flow
//! middleware → extractor → handler → query → response.
//!
//! The modules form layers, listed here from the bottom up; a module imports only from
//! the layers below it (the test `module_layers` in `tests/` holds the code to that):
//! base → database and access → HTTP building blocks → credentials → tenant → state →
//! domain (audit, staff, registry, tills) → features (one per URL area, side by side) →
//! console, middleware and router → command line.

// Base: no kassa module below these.
/// Typed configuration from the environment.
pub mod config;
/// The API error type and the JSON error envelope.
pub mod error;
/// Russian and English messages, `Accept-Language`.
pub mod i18n;
/// Randomness from the OS CSPRNG: hex and readable characters.
pub mod random;
/// The master secret's derived keys, and sealing secrets kept at rest.
pub mod secrets;
/// Logging setup.
pub mod telemetry;
/// Field-by-field request validation and the password policy.
pub mod validate;

// The database.
/// Who may do what: the built-in roles, each store's definitions, ranks, grants and the
/// policy, the permission catalogue, and the store-role SQL.
pub mod access;
/// Pool, sessions, schema names and the one way into a store's schema, migrations, the
/// embedded PostgreSQL default.
pub mod db;

// Infrastructure above the database.
/// Tokens, password hashing and generation, sessions, throttling, `AuthUser`.
pub mod credentials;
/// Extractors, error envelopes, request ids and logs, health probes, OpenAPI pieces.
pub mod http;
/// `AppState`: what handlers reach; imports no feature.
pub mod state;
/// `X-Tenant-Key` → store, and the store-scoped extractors.
pub mod tenant;

// The domain: what several features share, below them all. A feature never calls another
// feature's handlers; what two of them need lives here.
/// Writing the store's audit trail: actions, changes, the event in the request's transaction.
pub mod audit;
/// The store registry: stores' rows, provisioning, the shared staff account.
pub mod registry;
/// Members of staff: adding, changing and resetting them, their rows, reach over accounts.
pub mod staff;
/// Shared tills: device tokens, the PIN check and its lockout.
pub mod tills;

// Features: one per URL area (the first segment after `/api/users/`), each `mod.rs`
// (router), `handlers.rs`, `forms.rs` (request and response types, parsing), `queries.rs`.
/// `/approvals/`: a manager's approval of one action on a till.
pub mod approvals;
/// `/audit-events/`: the store's audit trail, read.
pub mod audit_events;
/// `/auth/`: registration, sign-in (password and PIN), refresh, logout, sessions, password
/// change, own PIN, `me`, the caller's stores.
pub mod auth;
/// `/devices/`: pairing tills, the device list, the roster.
pub mod devices;
/// `/.well-known/`: the public keys (JWKS) and discovery document for services that verify
/// kassa's tokens.
pub mod discovery;
/// `/employees/`: store staff by employee id: CRUD, role rules, password resets, PINs.
pub mod employees;
/// `/oauth/`: token introspection and revocation for the platform's service clients.
pub mod oauth;
/// `/permissions/`: the permission strings kassa knows.
pub mod permissions;
/// `/profile/`: `me` at the path older apps call.
pub mod profile;
/// `/roles/`: the built-in roles.
pub mod roles;
/// `/store-roles/`: the store's own roles, edited by its owner.
pub mod store_roles;
/// `/stores/`: the stores an owner runs, and their shared staff account.
pub mod stores;
/// `/auth/2fa/` and `/auth/login/2fa/`: two-step sign-in with authenticator apps.
pub mod two_factor;
/// `/users/`: the store's users as the POS apps address them: by account id.
pub mod users;

// Composition.
/// The command line: serve, migrate, tenants, users, clients, openapi.
pub mod cli;
/// The store console: server-rendered pages for owners and managers.
pub mod console;
/// The one place middleware is ordered.
pub mod middleware;
/// The one place routes mount, and the OpenAPI document.
pub mod router;
