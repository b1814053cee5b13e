//! kassa: a multi-tenant identity backend for point-of-sale apps.
//!
//! Every store is a tenant with its own PostgreSQL schema `tenant_<slug>`; the global
//! registry (users, stores, memberships) lives in `public`. Requests flow
//! middleware → extractor → handler → query → response.
//!
//! The modules form layers, listed here from the bottom up; a module imports only from
//! the layers below it (the test `module_layers` in `tests/` holds the code to that):
//! base → database → HTTP building blocks → auth core → tenant → state → features →
//! middleware and router → command line.

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
/// Pool, sessions, schema names and the one way into a store's schema, migrations, the
/// embedded PostgreSQL default.
pub mod db;
/// Roles: the built-in presets, each store's definitions, who manages whom by rank.
pub mod roles;

// Infrastructure above the database.
/// Tokens, password hashing and generation, sessions, throttling, `AuthUser`.
pub mod auth;
/// Extractors, error envelopes, request ids and logs, health probes, OpenAPI pieces.
pub mod http;
/// `AppState`: what handlers reach; imports no feature.
pub mod state;
/// `X-Tenant-Key` → store, and the store-scoped extractors.
pub mod tenant;

// Features.
/// Registration, sign-in, refresh, logout, sessions, password change, `me`.
pub mod account;
/// The store's audit trail of staff changes.
pub mod audit;
/// The store console: server-rendered pages for owners and managers.
pub mod console;
/// Store staff: CRUD, role rules, password resets.
pub mod employees;
/// The store's own roles, edited by its owner.
pub mod store_roles;
/// The store registry, its endpoints and store provisioning.
pub mod stores;
/// Shared tills: members' PINs.
pub mod tills;
/// The store's users as the POS apps address them: by account id.
pub mod users;

// Composition.
/// The command line: serve, migrate, tenants, users, openapi.
pub mod cli;
/// The one place middleware is ordered.
pub mod middleware;
/// The one place routes mount, and the OpenAPI document.
pub mod router;
