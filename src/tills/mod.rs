//! The till domain (docs/contract.md §11): what `/devices/`, `/approvals/` and PIN sign-in
//! (`/auth/pin-login/`) share, below them all.
//!
//! A till the store trusts sends its device token ([`device_auth`]); a PIN typed on it is
//! checked ([`pin_check`]: argon2id per person and store, hashed off the async workers,
//! never shown, never logged) and bounded per till and per employee ([`lockout`]). Pairing,
//! the device list and the roster are the `devices` feature; a manager's approval of one
//! action is `approvals`; a member's own PIN is set at `/auth/pin/` and cleared by whoever
//! manages them at `/employees/{id}/pin/`.

pub mod device_auth;
pub mod lockout;
pub mod pin_check;
pub mod queries;
