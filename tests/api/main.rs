//! The integration suite: the real application against a real PostgreSQL, one fresh
//! database per test (see `helpers`).

mod account_throttle;
mod auth;
mod cli;
mod connections;
mod console;
mod devices;
mod employees;
mod errors;
mod fleet;
mod forwarded;
mod hashing;
mod health;
mod helpers;
mod hostile;
mod layers;
mod links;
mod logging;
mod migrations;
mod operations;
mod outage;
mod permissions;
mod pins;
mod provisioning;
mod registration;
mod roles;
mod store_lifecycle;
mod store_roles;
mod stores;
mod tenant;
mod tenant_keys;
mod tills;
mod token_clock;
