//! `ApiJson`: the JSON body extractor every handler uses instead of axum's `Json`.
//!
//! axum's own rejections answer in plain text; this one answers with the SPEC §7 envelope:
//! 415 when the body is not declared as JSON, 413 past the body limit, and 400
//! `validation_error` with per-field messages for malformed JSON, wrong types and missing
//! fields (the field is found with `serde_path_to_error`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::i18n::Message;

/// The key DRF uses for errors that belong to the body as a whole; POS apps already read it.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// A JSON request body of type `T`, rejected with the error envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::field(NON_FIELD_ERRORS, Message::FieldInvalid)
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// `application/json` or any `application/*+json`, parameters (charset) ignored.
fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json"
        || essence.strip_prefix("application/").is_some_and(|subtype| subtype.ends_with("+json"))
}

/// Deserialises `bytes` into `T`, turning serde's complaint into per-field messages.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        field_error(&path, error.inner())
    })?;
    // Trailing garbage after the value (`{}x`) is malformed JSON too.
    deserializer.end().map_err(|error| field_error(".", &error))?;
    Ok(value)
}

fn field_error(path: &str, error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let at_root = path == "." || path.is_empty();
    // Derived structs also accept a JSON array (`["a", 1]`); a path like `[0]` means the body
    // was an array, which no endpoint takes.
    let body_is_array = path.starts_with('[');
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::field(
            NON_FIELD_ERRORS,
            Message::BodyNotJson { line: error.line(), column: error.column() },
        ),
        Category::Data => {
            let text = error.to_string();
            let nested = |field: &str| if at_root { field.to_owned() } else { format!("{path}.{field}") };
            // serde's wording is stable: "missing field `name`", "duplicate field `name`".
            if let Some(field) = named_field(&text, "missing field `") {
                ApiError::field(&nested(field), Message::FieldRequired)
            } else if let Some(field) = named_field(&text, "duplicate field `") {
                ApiError::field(&nested(field), Message::FieldInvalid)
            } else if at_root || body_is_array {
                ApiError::field(NON_FIELD_ERRORS, Message::BodyNotObject)
            } else {
                ApiError::field(path, Message::FieldInvalid)
            }
        }
    }
}

fn named_field<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.strip_prefix(prefix).and_then(|rest| rest.split('`').next())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        name: String,
        count: u32,
    }

    fn errors_of(body: &str) -> Vec<String> {
        match parse_json::<Probe>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors.keys().cloned().collect(),
            other => panic!("expected a validation error for {body}, got {other:?}"),
        }
    }

    #[test]
    fn each_kind_of_bad_body_names_the_field_at_fault() {
        assert_eq!(errors_of(r#"{"name":"a"}"#), ["count"]);
        assert_eq!(errors_of(r#"{"name":"a","count":-1}"#), ["count"]);
        assert_eq!(errors_of(r#"{"name":"a","count":99999999999}"#), ["count"]);
        assert_eq!(errors_of(r#"{"name":1,"count":1}"#), ["name"]);
        assert_eq!(errors_of(r#"{"name":"a","name":"b","count":1}"#), ["name"]);
        assert_eq!(errors_of(r#"{"name":"a","#), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of(r#"{"name":"a","count":1} trailing"#), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of("[1,2]"), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of(&"[".repeat(10_000)), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of(""), [NON_FIELD_ERRORS]);
    }

    #[test]
    fn json_content_types_are_recognised() {
        let check = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            has_json_content_type(&headers)
        };
        assert!(check("application/json"));
        assert!(check("Application/JSON; charset=utf-8"));
        assert!(check("application/merge-patch+json"));
        assert!(!check("text/plain"));
        assert!(!check("application/x-www-form-urlencoded"));
        assert!(!has_json_content_type(&HeaderMap::new()));
    }
}
