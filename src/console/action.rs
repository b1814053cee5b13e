//! What every store page and store form of the console does before its own work, as two
//! extractors: [`StorePage`] (the signed-in user, the path, the store's scope) and
//! [`StoreAction`] (the user, the path and the posted form, whose CSRF token
//! [`StoreAction::open`] checks before it opens the store's scope).
//!
//! Both read in the order the handlers did by hand: the session cookie first (signed out:
//! to the sign-in page), then the path, then the body; a refusal is the console's page that
//! says why, never the API's JSON.

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::console::pages::{SignedInView, form_expired_at, refusal_at, scope_or_refusal};
use crate::console::session::{ConsoleUser, csrf_matches};
use crate::credentials::second_factor::STEP_UP_HEADER;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenant::conn::StoreScope;

/// The path of a store's console page: its `{tenant_key}` first, then the page's own
/// parameters (an employee's id, an action's name).
pub trait StorePath: DeserializeOwned + Send {
    /// The store's key.
    fn key(&self) -> &str;
}

impl StorePath for String {
    fn key(&self) -> &str {
        self
    }
}

impl<T: DeserializeOwned + Send> StorePath for (String, T) {
    fn key(&self) -> &str {
        &self.0
    }
}

impl<T: DeserializeOwned + Send, U: DeserializeOwned + Send> StorePath for (String, T, U) {
    fn key(&self) -> &str {
        &self.0
    }
}

/// A store page of the console (`GET`): the user, the path, and the store's scope; a store
/// the user cannot enter is answered by the page that says why, with a link to the stores.
pub struct StorePage<P = String> {
    pub app: AppState,
    pub user: ConsoleUser,
    pub path: P,
    pub scope: StoreScope,
}

impl<P: StorePath> FromRequestParts<AppState> for StorePage<P> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let user = ConsoleUser::from_request_parts(parts, app).await.map_err(IntoResponse::into_response)?;
        let Path(path) =
            Path::<P>::from_request_parts(parts, app).await.map_err(IntoResponse::into_response)?;
        let scope = scope_or_refusal(app, &user, path.key()).await?;
        Ok(StorePage { app: app.clone(), user, path, scope })
    }
}

impl<P: StorePath> StorePage<P> {
    /// The store's key.
    pub fn key(&self) -> &str {
        self.path.key()
    }

    /// The header's view of the signed-in user.
    pub fn signed_in(&self) -> Option<SignedInView> {
        Some(SignedInView::from(&self.user))
    }

    /// The page that says why `error` stopped the page, with a link back to `back_to`.
    pub fn refused(&self, error: &ApiError, back_to: String) -> Response {
        refusal_at(error, self.signed_in(), back_to)
    }
}

/// A form posted to a store's console page: what it sent, and its CSRF token.
pub trait Posted: Sized + Send {
    /// The form read from the request's body; `None` when it cannot be (then it is refused
    /// as an expired form).
    fn read(request: Request, app: &AppState) -> impl Future<Output = Result<Option<Self>, Response>> + Send;

    /// The CSRF token the form carries.
    fn csrf(&self) -> Option<&str>;
}

/// The fields of a posted form, repeated names kept (a role's permission boxes).
pub struct Fields(Vec<(String, String)>);

/// The headers an API handler reads for step-up (docs/contract.md §16): the form's
/// `totp_code` as `X-TOTP-Code`, when given. Without it, an owner with two-step sign-in on
/// is refused what needs a fresh code.
#[must_use]
pub fn step_up_headers(fields: &Fields) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let code = fields.get("totp_code").map(str::trim).filter(|code| !code.is_empty());
    if let Some(value) = code.and_then(|code| HeaderValue::from_str(code).ok()) {
        headers.insert(STEP_UP_HEADER, value);
    }
    headers
}

impl Fields {
    /// The fields of an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value sent for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Every value sent for `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(key, _)| key == name).map(|(_, value)| value.clone()).collect()
    }
}

impl Posted for Fields {
    async fn read(request: Request, app: &AppState) -> Result<Option<Self>, Response> {
        let body = Bytes::from_request(request, app).await.map_err(IntoResponse::into_response)?;
        Ok(Some(Fields::parse(&body)))
    }

    fn csrf(&self) -> Option<&str> {
        self.get("csrf")
    }
}

/// A form of named fields (`axum::Form`) that carries a CSRF token.
pub trait CsrfForm: DeserializeOwned + Send {
    fn csrf(&self) -> Option<&str>;
}

impl<T: CsrfForm> Posted for T {
    async fn read(request: Request, app: &AppState) -> Result<Option<Self>, Response> {
        let form: Result<Form<T>, FormRejection> = Form::from_request(request, app).await;
        Ok(form.ok().map(|Form(form)| form))
    }

    fn csrf(&self) -> Option<&str> {
        CsrfForm::csrf(self)
    }
}

/// A console form posted to a store (`POST`): the user, the path and the form. Nothing is
/// checked beyond the session until [`StoreAction::open`].
pub struct StoreAction<P = String, F = Fields> {
    pub app: AppState,
    pub user: ConsoleUser,
    pub path: P,
    /// `None` when the body was no form of this kind.
    form: Option<F>,
}

impl<P: StorePath, F: Posted> FromRequest<AppState> for StoreAction<P, F> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let user =
            ConsoleUser::from_request_parts(&mut parts, app).await.map_err(IntoResponse::into_response)?;
        let Path(path) =
            Path::<P>::from_request_parts(&mut parts, app).await.map_err(IntoResponse::into_response)?;
        let form = F::read(Request::from_parts(parts, body), app).await?;
        Ok(StoreAction { app: app.clone(), user, path, form })
    }
}

impl<P: StorePath, F: Posted> StoreAction<P, F> {
    /// The store's key.
    pub fn key(&self) -> &str {
        self.path.key()
    }

    /// The store's page `area` (`devices`, `roles`, …), where its forms lead back to.
    pub fn page(&self, area: &str) -> String {
        format!("/console/s/{}/{area}/", self.key())
    }

    /// The form and the store's scope, once the form carries the session's CSRF token;
    /// otherwise the page that says the form expired, with a link back to `back_to`.
    pub async fn open(&self, back_to: &str) -> Result<(&F, StoreScope), Response> {
        let form = match &self.form {
            Some(form) if csrf_matches(&self.user, form.csrf()) => form,
            _ => return Err(form_expired_at(&self.user, back_to.to_owned())),
        };
        let scope = scope_or_refusal(&self.app, &self.user, self.key()).await?;
        Ok((form, scope))
    }

    /// The header's view of the signed-in user.
    pub fn signed_in(&self) -> Option<SignedInView> {
        Some(SignedInView::from(&self.user))
    }

    /// The page that says why `error` stopped the action, with a link back to `back_to`.
    pub fn refused(&self, error: &ApiError, back_to: String) -> Response {
        refusal_at(error, self.signed_in(), back_to)
    }
}
