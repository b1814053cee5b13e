//! kassa: a multi-tenant identity backend for point-of-sale apps.
//!
//! Every store is a tenant with its own PostgreSQL schema `tenant_<slug>`; the global
//! registry (users, stores, memberships) lives in `public`. Requests flow
//! middleware → extractor → handler → query → response.

/// The application state, routes and middleware order.
pub mod app;
/// The store's audit trail of staff changes.
pub mod audit;
/// Registration, passwords, tokens, sessions, `AuthUser`.
pub mod auth;
/// The command line: serve, migrate, openapi.
pub mod cli;
/// Typed configuration from the environment.
pub mod config;
/// Pool, migrations and the embedded PostgreSQL default.
pub mod db;
/// Store staff: CRUD, role rules, password resets.
pub mod employees;
/// The API error type and the JSON error envelope.
pub mod error;
/// Extractors, middleware, health probes and OpenAPI.
pub mod http;
/// Russian and English messages, `Accept-Language`.
pub mod i18n;
/// Roles, permissions and the role catalogue.
pub mod roles;
/// The store registry and its endpoints.
pub mod stores;
/// Logging setup.
pub mod telemetry;
/// Tenant schemas and store provisioning.
pub mod tenant;
/// Field-by-field request validation.
pub mod validate;
