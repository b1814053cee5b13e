//! Database errors as the API answers them: an outage is 503, text the database cannot
//! hold is the client's 400, a violated constraint is whatever the caller names, the rest a
//! 500. The conversions live here, beside the errors they convert from.

use crate::db::is_unavailable;
use crate::error::{ApiError, NON_FIELD_ERRORS};
use crate::i18n::Message;

/// Database failures: an unreachable database is an outage (503); text the database cannot
/// hold is the client's (400); anything else a bug (500).
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) || is_statement_timeout(&error) {
            ApiError::ServiceUnavailable(error.into())
        } else if let Some(sqlstate) = unstorable_text(&error) {
            // A backstop: `ApiJson` and the query parsers refuse NUL first, so this means
            // some input path lacks that guard. Logged here, where it is handled.
            tracing::warn!(sqlstate, %error, "the database refused text from a request");
            ApiError::field(NON_FIELD_ERRORS, Message::FieldInvalid)
        } else {
            ApiError::Internal(error.into())
        }
    }
}

/// SQLSTATE 57014 `query_canceled`: the statement ran past `statement_timeout`, which is
/// the request timeout, so the client gets what a timed-out request gets (503).
fn is_statement_timeout(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
}

/// The SQLSTATE when PostgreSQL refused text a client sent: 22021 `character_not_in_repertoire`
/// (a NUL in a `text` value) or 22P05 `untranslatable_character` (`\u0000` in `jsonb` read
/// as text). Client input, not a bug, so not a 500 (docs/contract.md §7).
fn unstorable_text(error: &sqlx::Error) -> Option<&'static str> {
    let sqlx::Error::Database(db) = error else { return None };
    match db.code().as_deref() {
        Some("22021") => Some("22021"),
        Some("22P05") => Some("22P05"),
        _ => None,
    }
}

/// Turns a unique or check violation into a client error, matched by constraint name
/// (never by message text, which changes with the server's language and version).
pub trait ResultExt<T> {
    /// Maps a violation of `constraint` to the error `map` builds; other errors convert as usual.
    fn on_constraint(
        self,
        constraint: &str,
        map: impl FnOnce(Box<dyn sqlx::error::DatabaseError>) -> ApiError,
    ) -> Result<T, ApiError>
    where
        Self: Sized,
    {
        self.on_any_constraint(&[constraint], map)
    }

    /// Like [`ResultExt::on_constraint`], for a violation of any of `constraints`.
    fn on_any_constraint(
        self,
        constraints: &[&str],
        map: impl FnOnce(Box<dyn sqlx::error::DatabaseError>) -> ApiError,
    ) -> Result<T, ApiError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_any_constraint(
        self,
        constraints: &[&str],
        map: impl FnOnce(Box<dyn sqlx::error::DatabaseError>) -> ApiError,
    ) -> Result<T, ApiError> {
        self.map_err(|error| match error {
            sqlx::Error::Database(db) if db.constraint().is_some_and(|c| constraints.contains(&c)) => map(db),
            other => ApiError::from(other),
        })
    }
}
