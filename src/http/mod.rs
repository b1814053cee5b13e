//! HTTP plumbing shared by every area: extractors, middleware, health checks, OpenAPI.

pub mod client;
pub mod docs_ui;
pub mod drain;
pub mod envelope;
pub mod health;
pub mod json;
pub mod metrics;
pub mod no_store;
pub mod openapi;
pub mod pagination;
pub mod path;
pub mod request_id;
pub mod request_log;
