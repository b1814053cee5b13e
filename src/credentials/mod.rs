//! Credentials, the authentication core: access and refresh tokens, password hashing and
//! generation, sessions, sign-in throttling, the account queries, and the `AuthUser`
//! extractors. The sign-in endpoints that use them are the `auth` feature (`/auth/`).

pub mod extractor;
pub mod generate;
pub mod hasher;
pub mod queries;
pub mod reach;
pub mod second_factor;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod tokens;
pub mod typed_code;
pub mod verified;

/// A person's name as the apps show it: first and last, without stray spaces when one is empty.
#[must_use]
pub fn full_name(first_name: &str, last_name: &str) -> String {
    format!("{first_name} {last_name}").trim().to_owned()
}
