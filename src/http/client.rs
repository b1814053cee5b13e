//! Who is calling: the peer address and user agent, recorded with sessions.
//!
//! The address is the TCP peer. Behind a reverse proxy that is the proxy; trusting
//! `X-Forwarded-For` is a deliberate setting for the issue "Authentication" to add, never a
//! default, since any client can send the header.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

/// Longest user agent kept.
const MAX_USER_AGENT_CHARS: usize = 256;

/// The caller's address (absent for in-process calls) and user agent.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect())
            .unwrap_or_default();
        Ok(ClientInfo { ip, user_agent })
    }
}
