//! Page-numbered lists as the apps read them today (DRF's `PageNumberPagination`):
//! `{count, next, previous, results}`, `?page=` from 1, `?page_size=` up to a bound, and
//! `next` / `previous` that keep the caller's other parameters.
//!
//! The links are absolute only on an origin kassa can vouch for: `PUBLIC_URL`, or a `Host`
//! named in `ALLOWED_HOSTS`. Anyone can send any `Host`, and a link built on a forged one
//! would send the app to a foreign site; without a trusted origin the links are the path and
//! query alone, which every client resolves against the URL it called.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Config;
use crate::error::ApiError;
use crate::i18n::Message;
use crate::validate::Form;

/// Items per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// The most items one page holds; larger `page_size` values are lowered to it, as DRF does.
pub const MAX_PAGE_SIZE: i64 = 100;

/// A list request's query string, as given (repeated parameters: the last one counts).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pairs: Vec<(String, String)>,
    /// `scheme://host/path` of the request, for the absolute `next` / `previous` links;
    /// just the path when there is no trusted origin.
    base: String,
}

impl ListQuery {
    /// The value of parameter `name`; empty values count as absent (`?role=` is no filter).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `page` and `page_size`, validated into `form`.
    pub fn page_request(&self, form: &mut Form) -> PageRequest {
        let page = form.positive_integer("page", self.get("page")).unwrap_or(1);
        let size = form
            .positive_integer("page_size", self.get("page_size"))
            .map_or(DEFAULT_PAGE_SIZE, |size| size.min(MAX_PAGE_SIZE));
        PageRequest { page, size }
    }

    /// `count`, `next` and `previous` for `request` over `total` items. A page past the
    /// last is 404 `not_found` (page 1 of nothing is an empty page), as the apps expect.
    pub fn links(&self, request: PageRequest, total: i64) -> Result<PageLinks, ApiError> {
        let pages = (total + request.size - 1) / request.size;
        if request.page > pages.max(1) {
            return Err(ApiError::PageNotFound);
        }
        let next = (request.page < pages).then(|| self.url_for_page(request.page + 1));
        let previous = (request.page > 1).then(|| self.url_for_page(request.page - 1));
        Ok(PageLinks { count: total, next, previous })
    }

    /// This request's URL showing `page`; page 1 is written without `page=`, as DRF does.
    fn url_for_page(&self, page: i64) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in self.pairs.iter().filter(|(key, _)| key != "page") {
            query.append_pair(key, value);
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        if query.is_empty() { self.base.clone() } else { format!("{}?{query}", self.base) }
    }
}

impl<S> FromRequestParts<S> for ListQuery
where
    S: Send + Sync,
    Arc<Config>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = Arc::<Config>::from_ref(state);
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::field(crate::error::NON_FIELD_ERRORS, Message::FieldInvalid))?;
        let origin = request_origin(parts, &config);
        let base = match origin {
            Some(origin) => format!("{origin}{}", parts.uri.path()),
            None => parts.uri.path().to_owned(),
        };
        Ok(ListQuery { pairs, base })
    }
}

/// The origin absolute links in the answer to `parts` start with (see [`link_origin`]).
#[must_use]
pub fn request_origin(parts: &Parts, config: &Config) -> Option<String> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let behind_trusted_proxy = peer.is_some_and(|ip| config.trusted_proxies.contains(&ip));
    link_origin(&parts.headers, config.public_url.as_deref(), &config.allowed_hosts, behind_trusted_proxy)
}

/// The origin absolute links start with: `public_url` when configured, whatever the request
/// says; else `scheme://host` as the client addressed us, if that host is in `allowed_hosts`;
/// else none. The scheme is `https` only when a trusted proxy says so in `X-Forwarded-Proto`.
fn link_origin(
    headers: &HeaderMap,
    public_url: Option<&str>,
    allowed_hosts: &[String],
    behind_trusted_proxy: bool,
) -> Option<String> {
    if let Some(url) = public_url {
        return Some(url.to_owned());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?.to_ascii_lowercase();
    let (name, _) = crate::config::split_host(&host)?;
    if !host_allowed(name, allowed_hosts) {
        return None;
    }
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let scheme = if behind_trusted_proxy && forwarded_https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// `host` is an `ALLOWED_HOSTS` entry, or under one that starts with a dot (`.example.com`
/// admits `example.com` and `a.example.com`, not `badexample.com`). Both sides lowercase.
fn host_allowed(host: &str, allowed_hosts: &[String]) -> bool {
    allowed_hosts.iter().any(|entry| match entry.strip_prefix('.') {
        Some(domain) => host == domain || host.ends_with(entry.as_str()),
        None => entry == host,
    })
}

/// Which page, and how big.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// From 1.
    pub page: i64,
    pub size: i64,
}

impl PageRequest {
    /// Rows to skip.
    #[must_use]
    pub fn offset(self) -> i64 {
        (self.page - 1) * self.size
    }
}

/// `count`, `next`, `previous` of a page; flattened next to its `results`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageLinks {
    /// Matches over all pages.
    pub count: i64,
    /// The next page's URL (absolute on `PUBLIC_URL` or an `ALLOWED_HOSTS` host, else path
    /// and query); null on the last page.
    #[schema(example = "http://127.0.0.1:8000/api/users/employees/?page=2")]
    pub next: Option<String>,
    /// The previous page's URL; null on the first page.
    pub previous: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        ListQuery {
            pairs: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            base: "http://pos.example/api/users/employees/".to_owned(),
        }
    }

    #[test]
    fn links_keep_other_parameters_and_drop_page_one() {
        let q = query(&[("role", "cashier"), ("page", "2"), ("page_size", "5")]);
        let mut form = Form::new();
        let request = q.page_request(&mut form);
        assert_eq!(request, PageRequest { page: 2, size: 5 });
        let links = q.links(request, 11).unwrap();
        assert_eq!(links.count, 11);
        assert_eq!(
            links.next.as_deref(),
            Some("http://pos.example/api/users/employees/?role=cashier&page_size=5&page=3")
        );
        assert_eq!(
            links.previous.as_deref(),
            Some("http://pos.example/api/users/employees/?role=cashier&page_size=5")
        );
        assert!(q.links(PageRequest { page: 3, size: 5 }, 11).unwrap().next.is_none());
    }

    #[test]
    fn pages_past_the_end_are_not_found_but_an_empty_first_page_is_fine() {
        let q = query(&[]);
        assert!(q.links(PageRequest { page: 1, size: 20 }, 0).is_ok());
        assert!(matches!(q.links(PageRequest { page: 2, size: 20 }, 20), Err(ApiError::PageNotFound)));
        assert!(q.links(PageRequest { page: 2, size: 20 }, 21).is_ok());
    }

    #[test]
    fn page_parameters_are_validated_and_bounded() {
        for (page, size) in [("0", "10"), ("x", "10"), ("1", "-1"), ("1", "1e3"), ("99999999999999", "1")] {
            let mut form = Form::new();
            query(&[("page", page), ("page_size", size)]).page_request(&mut form);
            assert!(form.finish(()).is_err(), "{page} {size}");
        }
        let mut form = Form::new();
        let request = query(&[("page_size", "5000")]).page_request(&mut form);
        assert_eq!(request, PageRequest { page: 1, size: MAX_PAGE_SIZE });
    }

    fn hosts(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| (*e).to_owned()).collect()
    }

    fn origin_for(host: &str, allowed: &[&str]) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        link_origin(&headers, None, &hosts(allowed), false)
    }

    #[test]
    fn only_allowed_plain_hosts_make_absolute_links() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "pos.example:8000".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        let allowed = hosts(&["pos.example"]);
        assert_eq!(link_origin(&headers, None, &allowed, false).as_deref(), Some("http://pos.example:8000"));
        assert_eq!(link_origin(&headers, None, &allowed, true).as_deref(), Some("https://pos.example:8000"));
        assert_eq!(link_origin(&headers, None, &hosts(&["other.example"]), true), None);
        headers.insert(header::HOST, "evil.example/phish?".parse().unwrap());
        assert_eq!(link_origin(&headers, None, &hosts(&["evil.example"]), true), None);
        headers.remove(header::HOST);
        assert_eq!(link_origin(&headers, None, &allowed, false), None);
    }

    #[test]
    fn allowed_hosts_match_whole_names_and_dotted_domains_at_any_port() {
        let loopback = ["localhost", "127.0.0.1", "[::1]"];
        assert_eq!(origin_for("LocalHost:8080", &loopback).as_deref(), Some("http://localhost:8080"));
        assert_eq!(origin_for("[::1]:443", &loopback).as_deref(), Some("http://[::1]:443"));
        assert_eq!(origin_for("127.0.0.1", &loopback).as_deref(), Some("http://127.0.0.1"));
        for forged in
            ["evil.example", "localhost.evil.example", "evil-localhost", "127.0.0.1.evil", "localhost:"]
        {
            assert_eq!(origin_for(forged, &loopback), None, "{forged}");
        }
        let domain = [".shops.example"];
        assert!(origin_for("shops.example", &domain).is_some());
        assert!(origin_for("a.shops.example:8443", &domain).is_some());
        assert_eq!(origin_for("badshops.example", &domain), None);
    }

    #[test]
    fn public_url_wins_over_any_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "evil.example".parse().unwrap());
        headers.insert("x-forwarded-proto", "http".parse().unwrap());
        let origin =
            link_origin(&headers, Some("https://pos.example.com/kassa"), &hosts(&["evil.example"]), true);
        assert_eq!(origin.as_deref(), Some("https://pos.example.com/kassa"));
    }
}
