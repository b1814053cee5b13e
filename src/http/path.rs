//! `ApiPath`: the path-parameter extractor every handler uses instead of axum's `Path`.
//!
//! axum's `Path` answers a parameter that does not parse (`/employees/abc/`, an id past
//! `i64::MAX`, a session id that is no UUID) with a plain-text 400 of its own, outside the
//! SPEC §7 envelope. This one answers 400 `validation_error` with the message on the
//! parameter's name, as a bad body field gets (`{"errors":{"id":["Invalid value."]}}`).

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, RawPathParams};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::error::NON_FIELD_ERRORS;
use crate::i18n::Message;

/// Path parameters of type `T`, rejected with the error envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => {
                // The route's parameter names, for errors that carry no key (a lone `{id}`).
                let names: Vec<String> = match RawPathParams::from_request_parts(parts, state).await {
                    Ok(params) => params.iter().map(|(name, _)| name.to_owned()).collect(),
                    Err(_) => Vec::new(),
                };
                Err(rejection_error(rejection, &names))
            }
        }
    }
}

/// The validation error for `rejection`, on the parameter at fault.
fn rejection_error(rejection: PathRejection, names: &[String]) -> ApiError {
    let kind = match rejection {
        PathRejection::FailedToDeserializePathParams(failure) => failure.into_kind(),
        // The handler asked for parameters its route does not have: our bug, not the client's.
        other => return ApiError::internal(anyhow::anyhow!("path parameters unavailable: {other}")),
    };
    let only = || match names {
        [name] => name.as_str(),
        _ => NON_FIELD_ERRORS,
    };
    let field = match &kind {
        ErrorKind::ParseErrorAtKey { key, .. }
        | ErrorKind::InvalidUtf8InPathParam { key }
        | ErrorKind::DeserializeError { key, .. } => key.as_str(),
        ErrorKind::ParseErrorAtIndex { index, .. } => {
            names.get(index.to_owned()).map_or(NON_FIELD_ERRORS, String::as_str)
        }
        ErrorKind::ParseError { .. } | ErrorKind::Message(_) => only(),
        // The extractor's type does not fit the route (a tuple of the wrong length, a map):
        // our bug, found by the first request.
        ErrorKind::WrongNumberOfParameters { .. } | ErrorKind::UnsupportedType { .. } | _ => {
            return ApiError::internal(anyhow::anyhow!("path parameters do not fit the handler: {kind}"));
        }
    };
    ApiError::field(field, Message::FieldInvalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn one(ApiPath(id): ApiPath<i64>) -> String {
        id.to_string()
    }

    async fn two(ApiPath((store, id)): ApiPath<(i64, uuid::Uuid)>) -> String {
        format!("{store}/{id}")
    }

    async fn call(uri: &str) -> (StatusCode, serde_json::Value) {
        let app =
            Router::new().route("/things/{id}/", get(one)).route("/stores/{store}/sessions/{id}/", get(two));
        let response = app.oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        let response = response.into_response();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::json!(String::from_utf8_lossy(&bytes)));
        (status, body)
    }

    #[tokio::test]
    async fn a_parameter_that_parses_reaches_the_handler() {
        assert_eq!(call("/things/42/").await, (StatusCode::OK, serde_json::json!(42)));
        let id = "5f0e3d2c-1b4a-4c6d-8e9f-0a1b2c3d4e5f";
        assert_eq!(call(&format!("/stores/7/sessions/{id}/")).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_parameter_that_does_not_parse_is_a_validation_error_on_its_name() {
        for uri in ["/things/99999999999999999999/", "/things/abc/", "/things/1.5/", "/things/%FF/"] {
            let (status, body) = call(uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
            assert_eq!(body["code"], "validation_error", "{uri}: {body}");
            assert!(body["errors"]["id"].is_array(), "{uri}: {body}");
        }
        let (status, body) = call("/stores/x/sessions/5f0e3d2c-1b4a-4c6d-8e9f-0a1b2c3d4e5f/").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["errors"]["store"].is_array(), "{body}");
        let (status, body) = call("/stores/1/sessions/not-a-uuid/").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["errors"]["id"].is_array(), "{body}");
    }
}
