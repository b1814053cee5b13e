//! The console's cookie session: an ordinary kassa session (listed in `/auth/sessions/`,
//! ended by logout, logout-all, a password change or deactivation) whose refresh token the
//! browser keeps in an `HttpOnly`, `SameSite=Strict` cookie, and the CSRF token of its forms.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{COOKIE, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;

use crate::auth::queries::{CookieSession, find_cookie_session};
use crate::auth::sessions::hmac_sha256;
use crate::auth::tokens::RefreshToken;
use crate::db::Session;
use crate::error::ApiError;
use crate::state::AppState;

/// The cookie that holds the session's refresh token.
pub const SESSION_COOKIE: &str = "kassa_console";
/// The cookie that holds the sign-in form's CSRF token (there is no session yet to derive it
/// from).
pub const SIGN_IN_COOKIE: &str = "kassa_sign_in";
/// The cookie that holds the language picked with the switch.
pub const LANG_COOKIE: &str = "kassa_lang";
/// The console's path: its cookies go nowhere else.
pub const CONSOLE_PATH: &str = "/console";

/// Longest cookie value read: a refresh token is 43 characters.
const MAX_TOKEN_CHARS: usize = 128;

/// The value of cookie `name` in the request's `Cookie` headers.
#[must_use]
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A signed-in console user: the session of the request's cookie, live.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub session: CookieSession,
    /// What each of this session's forms carries ([`csrf_token`]).
    pub csrf: String,
}

/// Why a console request has no user: no cookie, or one of a session that ended.
#[derive(Debug)]
pub enum NoConsoleUser {
    SignedOut,
    Failed(ApiError),
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = NoConsoleUser;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|token| !token.is_empty() && token.len() <= MAX_TOKEN_CHARS)
            .ok_or(NoConsoleUser::SignedOut)?;
        let digest = RefreshToken::presented(token.to_owned()).digest();
        let app = AppState::from_ref(state);
        let idle_secs = app.config.session_idle_timeout.as_secs_f64();
        let found = async {
            let mut conn = Session::open(&app.db).await?;
            let found = find_cookie_session(&mut conn, &digest, idle_secs).await?;
            conn.finish().await?;
            Ok::<_, ApiError>(found)
        };
        let session = found.await.map_err(NoConsoleUser::Failed)?.ok_or(NoConsoleUser::SignedOut)?;
        let csrf = csrf_token(&app, &session).map_err(NoConsoleUser::Failed)?;
        Ok(ConsoleUser { session, csrf })
    }
}

/// What separates the CSRF token from anything else the `JWT_SECRET` signs.
const CSRF_LABEL: &[u8] = b"kassa console csrf v1 ";

/// The CSRF token of `session`'s forms: HMAC-SHA256(`JWT_SECRET`, label ‖ session id). Fixed
/// for the session, so no state is kept; another site can neither read it (the cookie is
/// `SameSite=Strict` and the pages are same-origin) nor compute it.
pub fn csrf_token(app: &AppState, session: &CookieSession) -> Result<String, ApiError> {
    let message = [CSRF_LABEL, session.session_id.as_bytes().as_slice()].concat();
    let mac = hmac_sha256(app.config.jwt_secret.expose_secret().as_bytes(), &message)?;
    Ok(URL_SAFE_NO_PAD.encode(mac))
}

/// Whether `sent` is the CSRF token of `user`'s session, compared in constant time.
#[must_use]
pub fn csrf_matches(user: &ConsoleUser, sent: Option<&str>) -> bool {
    let Some(sent) = sent else { return false };
    let (a, b) = (user.csrf.as_bytes(), sent.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The `Set-Cookie` value that keeps `refresh_token` for `max_age_secs` (0: forget it).
#[must_use]
pub fn session_cookie(headers: &HeaderMap, refresh_token: &str, max_age_secs: u64) -> HeaderValue {
    let value = format!("{SESSION_COOKIE}={refresh_token}; HttpOnly; {}", attributes(headers, max_age_secs));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("kassa_console=; Max-Age=0"))
}

/// The `Set-Cookie` value that keeps the sign-in form's CSRF token for an hour.
#[must_use]
pub fn sign_in_cookie(headers: &HeaderMap, token: &str) -> HeaderValue {
    let value = format!("{SIGN_IN_COOKIE}={token}; HttpOnly; {}", attributes(headers, 3600));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("kassa_sign_in=; Max-Age=0"))
}

/// The `Set-Cookie` value that keeps the language picked with the switch for a year.
#[must_use]
pub fn lang_cookie(headers: &HeaderMap, lang: &str) -> HeaderValue {
    let value = format!("{LANG_COOKIE}={lang}; {}", attributes(headers, 31_536_000));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("kassa_lang=ru"))
}

/// What every console cookie says besides its value: only for `/console`, never sent from
/// another site, kept `max_age_secs`, and `Secure` unless the page was asked for on a
/// loopback host (a developer's `cargo run`), where browsers would refuse it over plain HTTP.
fn attributes(headers: &HeaderMap, max_age_secs: u64) -> String {
    let secure = if is_loopback(headers) { "" } else { "; Secure" };
    format!("Path={CONSOLE_PATH}; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

fn is_loopback(headers: &HeaderMap) -> bool {
    let host = headers.get(HOST).and_then(|host| host.to_str().ok()).unwrap_or_default();
    let name = crate::config::split_host(host).map_or("", |(name, _)| name).to_ascii_lowercase();
    matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_others_by_its_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; kassa_console_x=2; kassa_console=tok"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn the_session_cookie_is_secure_except_on_loopback() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        let local = session_cookie(&headers, "t", 60);
        assert!(!local.to_str().unwrap().contains("Secure"));
        headers.insert(HOST, HeaderValue::from_static("shop.example.com"));
        let remote = session_cookie(&headers, "t", 60);
        let remote = remote.to_str().unwrap();
        assert!(
            remote.contains("; Secure") && remote.contains("HttpOnly") && remote.contains("SameSite=Strict")
        );
    }
}
