//! Employees: a store's staff profiles, kept in the store's own schema.

pub mod queries;
