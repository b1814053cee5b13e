//! `ApiPath`: the path-parameter extractor every handler uses instead of axum's `Path`.
//!
//! axum's `Path` answers a parameter that does not parse (`/employees/abc/`, an id past
//! `i64::MAX`, a session id that is no UUID) with a plain-text 400 of its own, outside the
//! error envelope. A path whose parameter cannot name anything is a path to nothing, so
//! this one answers 404 `not_found` in the envelope, as an id no row has does: the apps
//! already treat `/users/abc/` as "no such page", and a client probing ids learns nothing
//! from telling malformed ones apart from unknown ones.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

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
            Err(rejection) => Err(rejection_error(rejection)),
        }
    }
}

/// The answer to a path whose parameters do not parse: 404, unless the handler itself
/// does not fit its route (our bug, found by the first request: 500).
fn rejection_error(rejection: PathRejection) -> ApiError {
    let kind = match rejection {
        PathRejection::FailedToDeserializePathParams(failure) => failure.into_kind(),
        // The handler asked for parameters its route does not have: our bug, not the client's.
        other => return ApiError::internal(anyhow::anyhow!("path parameters unavailable: {other}")),
    };
    match kind {
        ErrorKind::ParseErrorAtKey { .. }
        | ErrorKind::ParseErrorAtIndex { .. }
        | ErrorKind::ParseError { .. }
        | ErrorKind::InvalidUtf8InPathParam { .. }
        | ErrorKind::DeserializeError { .. }
        | ErrorKind::Message(_) => ApiError::NotFound,
        // The extractor's type does not fit the route (a tuple of the wrong length, a map):
        // our bug, found by the first request.
        ErrorKind::WrongNumberOfParameters { .. } | ErrorKind::UnsupportedType { .. } | _ => {
            ApiError::internal(anyhow::anyhow!("path parameters do not fit the handler: {kind}"))
        }
    }
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
    async fn a_parameter_that_does_not_parse_names_nothing() {
        for uri in [
            "/things/99999999999999999999/",
            "/things/abc/",
            "/things/1.5/",
            "/things/%FF/",
            "/stores/x/sessions/5f0e3d2c-1b4a-4c6d-8e9f-0a1b2c3d4e5f/",
            "/stores/1/sessions/not-a-uuid/",
        ] {
            let (status, body) = call(uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
            assert_eq!(body["code"], "not_found", "{uri}: {body}");
        }
    }
}
