//! Page-numbered lists as the apps read them today (DRF's `PageNumberPagination`):
//! `{count, next, previous, results}`, `?page=` from 1, `?page_size=` up to a bound, and
//! `next` / `previous` as absolute URLs that keep the caller's other parameters.

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
    /// just the path when the request named no usable host.
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
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let behind_trusted_proxy = peer.is_some_and(|ip| config.trusted_proxies.contains(&ip));
        let base = match request_origin(&parts.headers, behind_trusted_proxy) {
            Some(origin) => format!("{origin}{}", parts.uri.path()),
            None => parts.uri.path().to_owned(),
        };
        Ok(ListQuery { pairs, base })
    }
}

/// `scheme://host` as the client addressed us. The scheme is `https` only when a trusted
/// proxy says so in `X-Forwarded-Proto`; a `Host` that is not a plain host name or address
/// (with port) yields no origin, so a forged header cannot plant a foreign link.
fn request_origin(headers: &HeaderMap, behind_trusted_proxy: bool) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plausible = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !plausible {
        return None;
    }
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let scheme = if behind_trusted_proxy && forwarded_https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
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
    /// The next page's URL; null on the last page.
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

    #[test]
    fn only_plain_hosts_make_absolute_links() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "pos.example:8000".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(request_origin(&headers, false).as_deref(), Some("http://pos.example:8000"));
        assert_eq!(request_origin(&headers, true).as_deref(), Some("https://pos.example:8000"));
        headers.insert(header::HOST, "evil.example/phish?".parse().unwrap());
        assert_eq!(request_origin(&headers, true), None);
    }
}
