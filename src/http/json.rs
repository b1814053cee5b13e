//! `ApiJson`: the JSON body extractor every handler uses instead of axum's `Json`.
//!
//! axum's own rejections answer in plain text; this one answers with the docs/contract.md §7 envelope:
//! 415 when the body is not declared as JSON, 413 past the body limit, and 400
//! `validation_error` with per-field messages for malformed JSON, wrong types, missing,
//! repeated and (where a body refuses them) unknown fields (the field is found with
//! `serde_path_to_error`).
//!
//! It also refuses what JSON allows but the database cannot hold, so no handler meets it:
//! bytes that are not UTF-8 (RFC 8259 §8.1; serde_json checks only the strings it keeps),
//! and NUL (`\u0000`) in any string, which PostgreSQL refuses in `text` (SQLSTATE 22021)
//! and DRF's `CharField` refuses too. Arrays and objects nest at most 127 deep anywhere in
//! the body (serde_json's recursion limit), so parsing can never overflow the stack.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{ApiError, NON_FIELD_ERRORS};
use crate::i18n::Message;

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

/// A field that was sent, `null` included (`Some(Null)` for a JSON value, `Some(None)` for a
/// nullable `T`); with `#[serde(default)]`, `None` means it was left out. Plain `Option`
/// reads `null` as left out, and a field sent to clear a value must not be passed over.
pub fn given<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Deserialises `bytes` into `T`, turning serde's complaint into per-field messages.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|error| malformed_at(bytes, error.valid_up_to()))?;
    refuse_deep_nesting(text)?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        // What is wrong with the body as a whole is reported before what its members get
        // wrong: not JSON at all, then a NUL. Both may hide in a member the body refuses,
        // where deserialising stops before it looks.
        if error.inner().classify() == serde_json::error::Category::Data {
            if let Err(malformed) = serde_json::from_str::<de::IgnoredAny>(text) {
                return field_error(".", &malformed);
            }
            if let Some(field) = nul_field(text) {
                return ApiError::field(&field, Message::FieldInvalid);
            }
        }
        let path = error.path().to_string();
        field_error(&path, error.inner())
    })?;
    // Trailing garbage after the value (`{}x`) is malformed JSON too.
    deserializer.end().map_err(|error| field_error(".", &error))?;
    // Derived structs also accept an array of their fields in order (`[null, null]`); every
    // body kassa takes is an object.
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::field(NON_FIELD_ERRORS, Message::BodyNotObject));
    }
    refuse_nul(text)?;
    Ok(value)
}

/// Malformed JSON at byte `offset`, reported as line and column like serde_json's errors.
fn malformed_at(bytes: &[u8], offset: usize) -> ApiError {
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |newline| newline + 1);
    ApiError::field(NON_FIELD_ERRORS, Message::BodyNotJson { line, column: offset - line_start + 1 })
}

/// The deepest nesting of arrays and objects accepted: serde_json's own limit (it refuses
/// the 128th level). serde_json checks it only in the fields a type reads and skips ignored
/// ones iteratively at any depth; this makes the whole body obey one bound.
const MAX_DEPTH: usize = 127;

/// Refuses `text` if its arrays and objects nest deeper than [`MAX_DEPTH`] anywhere. One
/// pass over the bytes, minding strings (brackets in them are text).
fn refuse_deep_nesting(text: &str) -> Result<(), ApiError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, byte) in text.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(malformed_at(text.as_bytes(), at));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a NUL in any string or member name of the (already valid) JSON `text`, naming
/// the field it sits in. JSON can spell NUL only as the escape `\u0000` (a raw NUL byte is
/// a syntax error), so bodies without one, nearly all, are not walked at all.
fn refuse_nul(text: &str) -> Result<(), ApiError> {
    match nul_field(text) {
        None => Ok(()),
        Some(field) => Err(ApiError::field(&field, Message::FieldInvalid)),
    }
}

/// The field of `text` that holds a NUL, if one does (see [`refuse_nul`]).
fn nul_field(text: &str) -> Option<String> {
    if !has_nul_escape(text) {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let field = match serde_path_to_error::deserialize::<_, NulFree>(&mut deserializer) {
        Err(error) if error.inner().to_string().starts_with(NUL_FOUND) => field_of(error.path()),
        // Found by the scan but not by the walk (the walk stopped early, at a number too
        // large for it, say): still refused, as a whole.
        _ => NON_FIELD_ERRORS.to_owned(),
    };
    Some(field)
}

/// `path` written as `field.nested[0]`, up to a member name holding the NUL itself (which
/// the client should not get back as a field name): the object that has that member.
fn field_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut field = String::new();
    for segment in path {
        match segment {
            Segment::Map { key } if key.contains('\0') => break,
            Segment::Seq { .. } => {}
            _ if field.is_empty() => {}
            _ => field.push('.'),
        }
        field.push_str(&segment.to_string());
    }
    if field.is_empty() { NON_FIELD_ERRORS.to_owned() } else { field }
}

/// True when `text` holds the escape `\u0000`: a `\` starting an escape (preceded by an
/// even run of backslashes, since `\\` is an escaped backslash) followed by `u0000`.
fn has_nul_escape(text: &str) -> bool {
    text.match_indices("\\u0000").any(|(at, _)| {
        let backslashes = text.as_bytes()[..=at].iter().rev().take_while(|&&b| b == b'\\').count();
        backslashes % 2 == 1
    })
}

/// The error [`NulFree`] stops at.
const NUL_FOUND: &str = "NUL character in a string";

/// Any JSON value without a NUL in its strings and member names.
struct NulFree;

impl<'de> Deserialize<'de> for NulFree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NulFree)
    }
}

impl<'de> Visitor<'de> for NulFree {
    type Value = NulFree;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self, E> {
        Ok(NulFree)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self, E> {
        Ok(NulFree)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self, E> {
        Ok(NulFree)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self, E> {
        Ok(NulFree)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self, E> {
        Ok(NulFree)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self, E> {
        if text.contains('\0') { Err(E::custom(NUL_FOUND)) } else { Ok(NulFree) }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NulFree>()?.is_some() {}
        Ok(NulFree)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        while map.next_key::<NulFree>()?.is_some() {
            map.next_value::<NulFree>()?;
        }
        Ok(NulFree)
    }
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
            } else if let Some(field) = named_field(&text, "unknown field `") {
                // Bodies that refuse fields they do not know (`deny_unknown_fields`); the
                // path already ends at the unknown member.
                ApiError::field(if at_root { field } else { path }, Message::FieldUnknown)
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
        errors_of_bytes(body.as_bytes())
    }

    fn errors_of_bytes(body: &[u8]) -> Vec<String> {
        match parse_json::<Probe>(body) {
            Err(ApiError::Validation(errors)) => errors.keys().cloned().collect(),
            other => {
                panic!("expected a validation error for {}, got {other:?}", String::from_utf8_lossy(body))
            }
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
        // An array of the right fields in order would deserialise into the struct.
        assert_eq!(errors_of(r#"["a", 1]"#), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of(r#" ["a", 1]"#), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of(&"[".repeat(10_000)), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of(""), [NON_FIELD_ERRORS]);
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        name: Option<String>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: Option<u32>,
    }

    fn strict_errors_of(body: &str) -> Vec<String> {
        match parse_json::<Strict>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors.keys().cloned().collect(),
            other => panic!("expected a validation error for {body}, got {other:?}"),
        }
    }

    #[test]
    fn a_body_that_refuses_unknown_members_names_them() {
        assert_eq!(strict_errors_of(r#"{"name":"a","colour":"red"}"#), ["colour"]);
        assert_eq!(strict_errors_of(r#"{"inner":{"count":1,"size":2}}"#), ["inner.size"]);
        // A NUL is named where it sits, even inside a member the body refuses, and a body
        // that is not JSON is told so, even past one.
        assert_eq!(strict_errors_of(r#"{"colour":{"a":["b","\u0000"]}}"#), ["colour.a[1]"]);
        assert_eq!(strict_errors_of("{\"colour\":\"\u{0}\"}"), [NON_FIELD_ERRORS]);
        assert_eq!(strict_errors_of(r#"{"colour":1} trailing"#), [NON_FIELD_ERRORS]);
    }

    #[test]
    fn a_nul_in_any_string_is_refused_naming_where_it_is() {
        assert_eq!(errors_of(r#"{"name":"a\u0000b","count":1}"#), ["name"]);
        assert_eq!(errors_of(r#"{"name":"\u0000","count":1}"#), ["name"]);
        // In fields the type ignores, and in member names: refused all the same.
        assert_eq!(errors_of(r#"{"name":"a","count":1,"extra":{"x":["b","\u0000"]}}"#), ["extra.x[1]"]);
        assert_eq!(errors_of(r#"{"name":"a","count":1,"e\u0000":1}"#), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of(r#"{"name":"a","count":1,"x":[{"e\u0000":1}]}"#), ["x[0]"]);
        // Past a number too large to walk, it is still found, if not placed.
        assert_eq!(errors_of(r#"{"name":"a","count":1,"big":1e400,"e":"\u0000"}"#), [NON_FIELD_ERRORS]);
        // An escaped backslash before `u0000` is text; an escaped one before a real escape is not.
        let text: Probe = parse_json(br#"{"name":"a\\u0000","count":1}"#).unwrap();
        assert_eq!(text.name, "a\\u0000");
        assert_eq!(errors_of(r#"{"name":"a\\\u0000","count":1}"#), ["name"]);
    }

    #[test]
    fn the_nul_scan_finds_exactly_the_escapes_that_are_nul() {
        assert!(has_nul_escape(r#""\u0000""#));
        assert!(has_nul_escape(r#""\\\u0000""#));
        assert!(!has_nul_escape(r#""\\u0000""#));
        assert!(!has_nul_escape(r#""\u0001""#));
        assert!(!has_nul_escape("plain"));
    }

    #[test]
    fn a_body_that_is_not_utf8_is_refused_where_the_bad_byte_is() {
        let error = parse_json::<Probe>(b"{\n  \"name\": \"caf\xe9\", \"count\": 1}").unwrap_err();
        let ApiError::Validation(errors) = error else { panic!("{error:?}") };
        assert_eq!(errors[NON_FIELD_ERRORS], [Message::BodyNotJson { line: 2, column: 15 }]);
        // Even in a field the type ignores, which serde_json alone would let through.
        assert_eq!(errors_of_bytes(b"{\"name\":\"a\",\"count\":1,\"x\":\"\xff\"}"), [NON_FIELD_ERRORS]);
    }

    #[test]
    fn nesting_is_bounded_everywhere_even_in_ignored_fields() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let body = |extra: &str| format!(r#"{{"name":"a","count":1,"extra":{extra}}}"#);
        assert!(parse_json::<Probe>(body(&nested(MAX_DEPTH - 1)).as_bytes()).is_ok());
        assert_eq!(errors_of(&body(&nested(MAX_DEPTH))), [NON_FIELD_ERRORS]);
        assert_eq!(errors_of(&body(&nested(100_000))), [NON_FIELD_ERRORS]);
        // Brackets inside strings are text, escaped quotes included.
        let text = format!(r#"{{"name":"\"{}","count":1}}"#, "[{".repeat(1000));
        assert!(parse_json::<Probe>(text.as_bytes()).is_ok());
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
