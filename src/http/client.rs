//! Who is calling: the client address and user agent, for sessions and login throttling.
//!
//! The address is the TCP peer, unless that peer is one of `TRUSTED_PROXIES`: then it is the
//! right-most address in `X-Forwarded-For` that is not itself a trusted proxy. Any client can
//! send that header, so it is believed only from proxies the operator named.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header;
use axum::http::request::Parts;

use crate::config::Config;

/// Longest user agent kept.
const MAX_USER_AGENT_CHARS: usize = 256;

/// The caller's address (absent for in-process calls) and user agent.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: String,
}

impl ClientInfo {
    /// The address as text, `unknown` when there is none (in-process calls).
    #[must_use]
    pub fn ip_key(&self) -> String {
        self.ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

impl<S> FromRequestParts<S> for ClientInfo
where
    S: Send + Sync,
    Arc<Config>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = Arc::<Config>::from_ref(state);
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let ip = match peer {
            Some(peer) if config.trusted_proxies.contains(&peer) => {
                Some(forwarded_client(&parts.headers, &config.trusted_proxies).unwrap_or(peer))
            }
            other => other,
        };
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect())
            .unwrap_or_default();
        Ok(ClientInfo { ip, user_agent })
    }
}

/// The right-most `X-Forwarded-For` entry that is not a trusted proxy.
fn forwarded_client(headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value.to_str().ok()?;
        hops.extend(value.split(',').filter_map(|hop| hop.trim().parse::<IpAddr>().ok()));
    }
    hops.into_iter().rev().find(|hop| !trusted.contains(hop))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_last_hop_no_trusted_proxy_added() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.7, 198.51.100.9, 10.0.0.1".parse().unwrap());
        assert_eq!(forwarded_client(&headers, &[proxy]), Some("198.51.100.9".parse().unwrap()));
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(forwarded_client(&headers, &[proxy]), None);
    }
}
