//! kassa: a multi-tenant identity backend for point-of-sale apps.
//!
//! Every store is a tenant with its own PostgreSQL schema `tenant_<slug>`; the global
//! registry (users, stores, memberships) lives in `public`. Requests flow
//! middleware → extractor → handler → query → response.

/// The application state, routes and middleware order.
pub mod app;
/// The command line: serve, migrate, openapi.
pub mod cli;
/// Typed configuration from the environment.
pub mod config;
/// Pool, migrations and the embedded PostgreSQL default.
pub mod db;
/// The API error type and the JSON error envelope.
pub mod error;
/// Extractors, middleware, health probes and OpenAPI.
pub mod http;
/// Russian and English messages, `Accept-Language`.
pub mod i18n;
/// Logging setup.
pub mod telemetry;
/// Tenant schemas.
pub mod tenant;
