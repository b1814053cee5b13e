//! The console's cookie session: an ordinary kassa session (listed in `/auth/sessions/`,
//! ended by logout, logout-all, a password change or deactivation) whose refresh token the
//! browser keeps in an `HttpOnly`, `SameSite=Strict` cookie, and the CSRF token of its forms;
//! and the device cookie of a browser that signed in before ([`KnownDevice`]).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{COOKIE, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::credentials::queries::{CookieSession, find_cookie_session};
use crate::credentials::sessions::hmac_sha256;
use crate::credentials::tokens::RefreshToken;
use crate::db::Session;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{Purpose, derive_key};
use crate::state::AppState;

/// The cookie that holds the session's refresh token.
pub const SESSION_COOKIE: &str = "kassa_console";
/// The cookie that holds the sign-in form's CSRF token (there is no session yet to derive it
/// from).
pub const SIGN_IN_COOKIE: &str = "kassa_sign_in";
/// The cookie that holds the language picked with the switch.
pub const LANG_COOKIE: &str = "kassa_lang";
/// The cookie that marks a browser which signed in before ([`KnownDevice`]).
pub const DEVICE_COOKIE: &str = "kassa_device";
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

/// The CSRF token of `session`'s forms: HMAC-SHA256 under the key derived from `SECRET_KEY`
/// for the console's forms (`secrets`), of the session id. Fixed
/// for the session, so no state is kept; another site can neither read it (the cookie is
/// `SameSite=Strict` and the pages are same-origin) nor compute it.
pub fn csrf_token(app: &AppState, session: &CookieSession) -> Result<String, ApiError> {
    let key = derive_key(&app.config.secret_key, Purpose::ConsoleForms);
    let mac = hmac_sha256(key.expose_secret(), session.session_id.as_bytes())?;
    Ok(URL_SAFE_NO_PAD.encode(mac))
}

/// Whether `sent` is the CSRF token of `user`'s session, compared in constant time.
#[must_use]
pub fn csrf_matches(user: &ConsoleUser, sent: Option<&str>) -> bool {
    sent.is_some_and(|sent| same_bytes(user.csrf.as_bytes(), sent.as_bytes()))
}

/// `a == b` in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// How long a browser stays known after signing in: 180 days.
pub const DEVICE_COOKIE_MAX_AGE_SECS: u64 = 180 * 24 * 60 * 60;

/// Longest device cookie read: a 150-character username in base64url and the rest.
const MAX_DEVICE_COOKIE_CHARS: usize = 1024;

/// A browser that signed in successfully as `username` before (OWASP "device cookies"): its
/// sign-ins are held to an allowance of failures of its own (counted by `id`), not to the
/// account's cap that strangers guessing the password may have used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    /// The account's username as it was when the cookie was issued.
    pub username: String,
    /// This cookie's own random id.
    pub id: String,
}

impl KnownDevice {
    /// The device the request's cookie names, if its signature is ours and it is not older
    /// than [`DEVICE_COOKIE_MAX_AGE_SECS`] (a copied value does not outlive the cookie).
    #[must_use]
    pub fn presented(config: &Config, headers: &HeaderMap) -> Option<Self> {
        let value = cookie(headers, DEVICE_COOKIE).filter(|value| value.len() <= MAX_DEVICE_COOKIE_CHARS)?;
        let (payload, signature) = value.rsplit_once('.')?;
        let expected = device_signature(config, payload).ok()?;
        if !same_bytes(expected.as_bytes(), signature.as_bytes()) {
            return None;
        }
        let mut fields = payload.split('.');
        let (username, issued_at, id) = (fields.next()?, fields.next()?, fields.next()?);
        let age = chrono::Utc::now().timestamp().checked_sub(issued_at.parse::<i64>().ok()?)?;
        if !(0..=i64::try_from(DEVICE_COOKIE_MAX_AGE_SECS).ok()?).contains(&age) {
            return None;
        }
        let username = String::from_utf8(URL_SAFE_NO_PAD.decode(username).ok()?).ok()?;
        Some(KnownDevice { username, id: id.to_owned() })
    }

    /// Whether this device signed in as `username` (in any letter case, as sign-in compares).
    #[must_use]
    pub fn is_for(&self, username: &str) -> bool {
        self.username.to_lowercase() == username.to_lowercase()
    }
}

/// The `Set-Cookie` value that makes this browser known as `username`'s for
/// [`DEVICE_COOKIE_MAX_AGE_SECS`]: base64url(username) `.` issued-at `.` random id `.`
/// HMAC-SHA256(K, what precedes), K = HMAC-SHA256(`JWT_SECRET`, label).
pub fn device_cookie(config: &Config, headers: &HeaderMap, username: &str) -> ApiResult<HeaderValue> {
    let payload = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(username),
        chrono::Utc::now().timestamp(),
        crate::random::random_hex(16)
    );
    let signature = device_signature(config, &payload)?;
    let attributes = attributes(config, headers, DEVICE_COOKIE_MAX_AGE_SECS);
    HeaderValue::from_str(&format!("{DEVICE_COOKIE}={payload}.{signature}; HttpOnly; {attributes}"))
        .map_err(ApiError::internal)
}

fn device_signature(config: &Config, payload: &str) -> ApiResult<String> {
    let key = derive_key(&config.secret_key, Purpose::ConsoleDevices);
    Ok(URL_SAFE_NO_PAD.encode(hmac_sha256(key.expose_secret(), payload.as_bytes())?))
}

/// The `Set-Cookie` value that keeps `refresh_token` for `max_age_secs` (0: forget it).
#[must_use]
pub fn session_cookie(
    config: &Config,
    headers: &HeaderMap,
    refresh_token: &str,
    max_age_secs: u64,
) -> HeaderValue {
    let value =
        format!("{SESSION_COOKIE}={refresh_token}; HttpOnly; {}", attributes(config, headers, max_age_secs));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("kassa_console=; Max-Age=0"))
}

/// The `Set-Cookie` value that keeps the sign-in form's CSRF token for an hour.
#[must_use]
pub fn sign_in_cookie(config: &Config, headers: &HeaderMap, token: &str) -> HeaderValue {
    let value = format!("{SIGN_IN_COOKIE}={token}; HttpOnly; {}", attributes(config, headers, 3600));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("kassa_sign_in=; Max-Age=0"))
}

/// The `Set-Cookie` value that keeps the language picked with the switch for a year.
#[must_use]
pub fn lang_cookie(config: &Config, headers: &HeaderMap, lang: &str) -> HeaderValue {
    let value = format!("{LANG_COOKIE}={lang}; {}", attributes(config, headers, 31_536_000));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("kassa_lang=ru"))
}

/// What every console cookie says besides its value: only for `/console`, never sent from
/// another site, kept `max_age_secs`, and `Secure` when [`secure_cookies`] says so.
fn attributes(config: &Config, headers: &HeaderMap, max_age_secs: u64) -> String {
    let secure = if secure_cookies(config, headers) { "; Secure" } else { "" };
    format!("Path={CONSOLE_PATH}; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

/// Whether the console's cookies are `Secure`. With `PUBLIC_URL` its scheme decides: the
/// `Host` a proxy forwards (often `127.0.0.1`) says nothing of what the browser used.
/// Without it they are, unless the page was asked for on a loopback host (a developer's
/// `cargo run`), where browsers would refuse them over plain HTTP.
#[must_use]
pub fn secure_cookies(config: &Config, headers: &HeaderMap) -> bool {
    match config.public_url.as_deref() {
        Some(public_url) => public_url.starts_with("https://"),
        None => !is_loopback(headers),
    }
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

    fn config(public_url: Option<&str>) -> Config {
        Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some("postgres://localhost/kassa".to_owned()),
            "JWT_SECRET" => Some("9d4f0b8e2a6c1e7f3b5d9a0c4e8f2b6d".to_owned()),
            "PUBLIC_URL" => public_url.map(str::to_owned),
            _ => None,
        })
        .unwrap()
    }

    fn host(host: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static(host));
        headers
    }

    #[test]
    fn the_session_cookie_is_secure_except_on_loopback() {
        let config = config(None);
        let local = session_cookie(&config, &host("127.0.0.1:8080"), "t", 60);
        assert!(!local.to_str().unwrap().contains("Secure"));
        let remote = session_cookie(&config, &host("shop.example.com"), "t", 60);
        let remote = remote.to_str().unwrap();
        assert!(
            remote.contains("; Secure") && remote.contains("HttpOnly") && remote.contains("SameSite=Strict")
        );
    }

    #[test]
    fn with_a_public_url_its_scheme_decides_whatever_the_host() {
        let https = config(Some("https://pos.example.com"));
        let http = config(Some("http://pos.example.com"));
        for forwarded in ["127.0.0.1:8080", "localhost", "pos.example.com"] {
            assert!(secure_cookies(&https, &host(forwarded)), "{forwarded}");
            assert!(!secure_cookies(&http, &host(forwarded)), "{forwarded}");
        }
    }

    /// The request headers of a browser that keeps `set` (a `Set-Cookie` value).
    fn presenting(set: &HeaderValue) -> HeaderMap {
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn a_device_cookie_names_its_username_and_nothing_else_passes_for_one() {
        let config = config(Some("https://pos.example.com"));
        let set = device_cookie(&config, &host("127.0.0.1"), "Иван.Petrov").unwrap();
        let text = set.to_str().unwrap();
        for attribute in ["HttpOnly", "SameSite=Strict", "; Secure", "Max-Age=15552000", "Path=/console"] {
            assert!(text.contains(attribute), "{attribute}: {text}");
        }
        let device = KnownDevice::presented(&config, &presenting(&set)).expect("its own cookie is valid");
        assert_eq!(device.username, "Иван.Petrov");
        assert!(device.is_for("иван.petrov") && !device.is_for("ivan"));
        assert_eq!(device.id.len(), 32);

        // Another secret's cookie, a changed username, a stale issue date: none is known.
        let other =
            Config { secret_key: "another-secret-another-secret-0000".to_owned().into(), ..config.clone() };
        assert_eq!(KnownDevice::presented(&other, &presenting(&set)), None);
        let value = text.split(';').next().unwrap().strip_prefix("kassa_device=").unwrap();
        let (_, rest) = value.split_once('.').unwrap();
        let forged = format!("kassa_device={}.{rest}", URL_SAFE_NO_PAD.encode("admin"));
        assert_eq!(
            KnownDevice::presented(&config, &presenting(&HeaderValue::from_str(&forged).unwrap())),
            None
        );
        let stale_payload = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode("admin"), 1_000, device.id);
        let stale =
            format!("kassa_device={stale_payload}.{}", device_signature(&config, &stale_payload).unwrap());
        assert_eq!(
            KnownDevice::presented(&config, &presenting(&HeaderValue::from_str(&stale).unwrap())),
            None
        );
    }
}
