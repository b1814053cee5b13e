//! The integration suite: the real application against a real PostgreSQL, one fresh
//! database per test (see `helpers`).

mod auth;
mod cli;
mod connections;
mod employees;
mod errors;
mod health;
mod helpers;
mod hostile;
mod logging;
mod migrations;
mod operations;
mod outage;
mod permissions;
mod registration;
mod stores;
mod tenant;
