//! Who is calling: the client address and user agent, for sessions and login throttling.
//!
//! The address is the TCP peer, unless that peer is one of `TRUSTED_PROXIES`: then it comes
//! from `X-Forwarded-For`, read strictly from the right (see [`forwarded_client`]). Any
//! client can send that header, so it is believed only from proxies the operator named, and
//! only as far left as the trusted proxies vouch for it.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
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
    /// Who per-address throttles count this client as: an IPv4 address as it is, an IPv6
    /// client by its /64 (`2001:db8:1:2::/64`), `unknown` when there is none (in-process
    /// calls). One IPv6 subscriber is routinely handed a whole /64, so counting single IPv6
    /// addresses would give each attacker 2^64 fresh budgets.
    #[must_use]
    pub fn ip_key(&self) -> String {
        self.ip.map_or_else(|| "unknown".to_owned(), network_key)
    }
}

/// Bits of an IPv6 address that name the network one client holds.
const IPV6_CLIENT_PREFIX: u32 = 64;

/// The network that counts as one client: an IPv4 address (an IPv4-mapped IPv6 one too) by
/// itself, an IPv6 address by its /64.
fn network_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & (u128::MAX << (128 - IPV6_CLIENT_PREFIX));
            format!("{}/{IPV6_CLIENT_PREFIX}", Ipv6Addr::from(network))
        }
    }
}

impl<S> FromRequestParts<S> for ClientInfo
where
    S: Send + Sync,
    Arc<Config>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // A dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`; canonical form lets
        // them match `TRUSTED_PROXIES` written as plain IPv4.
        let config = Arc::<Config>::from_ref(state);
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_canonical());
        let ip = match peer {
            Some(peer) if config.trusted_proxies.contains(&peer) => {
                Some(client_behind_proxy(&parts.headers, peer, &config.trusted_proxies))
            }
            other => other,
        };
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            // A header value may hold tabs; the stored agent is shown as one line of text.
            .map(|ua| {
                ua.chars().take(MAX_USER_AGENT_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect()
            })
            .unwrap_or_default();
        Ok(ClientInfo { ip, user_agent })
    }
}

/// The client of a request that trusted proxy `peer` forwarded: what `X-Forwarded-For`
/// names, or `peer` itself when the header is absent or cannot be read.
fn client_behind_proxy(headers: &HeaderMap, peer: IpAddr, trusted: &[IpAddr]) -> IpAddr {
    match forwarded_client(headers, trusted) {
        Forwarded::Client(ip) => ip,
        Forwarded::Absent => peer,
        Forwarded::Unreadable => {
            // Not the value: it may be anything a client wrote.
            tracing::warn!(
                proxy.ip = %peer,
                "X-Forwarded-For from trusted proxy {peer} has a hop that is not a bare IP address; \
                 using the proxy's address as the client's"
            );
            peer
        }
    }
}

/// What `X-Forwarded-For` says about the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forwarded {
    /// The right-most hop that is not a trusted proxy (or, when every hop is one, the
    /// left-most: the request began at a proxy).
    Client(IpAddr),
    /// No `X-Forwarded-For`.
    Absent,
    /// A hop between the client and us is not a bare IP address.
    Unreadable,
}

/// Walks `X-Forwarded-For` from the right, every header line joined in order, past the
/// trusted proxies; the first hop that is not one is the client. Only the trusted proxies'
/// own additions are on that walk, so a hop there that is not a bare IP address (a port,
/// brackets, a zone, `unknown`, an obfuscated `_name`, an empty element, non-ASCII bytes)
/// means the chain cannot be read: the answer is then [`Forwarded::Unreadable`], never a hop
/// further left, which the client may have written. Hops left of the client are not read.
///
/// `ip:port` is refused too: X-Forwarded-For has no port syntax (RFC 7239's `for=` does, but
/// it is another header), the common proxies write bare addresses, and guessing where an
/// IPv6 address ends and a port begins is how such parsers get confused.
fn forwarded_client(headers: &HeaderMap, trusted: &[IpAddr]) -> Forwarded {
    let lines = headers.get_all("x-forwarded-for");
    // Bytes, not `to_str`: non-ASCII left of the client must not make the chain unreadable.
    let hops = lines.iter().rev().flat_map(|line| line.as_bytes().rsplit(|b| *b == b','));
    let mut origin = None;
    for hop in hops {
        let Some(ip) = bare_ip(hop) else {
            return Forwarded::Unreadable;
        };
        if !trusted.contains(&ip) {
            return Forwarded::Client(ip);
        }
        origin = Some(ip);
    }
    origin.map_or(Forwarded::Absent, Forwarded::Client)
}

/// One hop, surrounding spaces and tabs aside, as an IP address in canonical form; `None`
/// for anything else. The standard parser takes no ports, brackets, zones or octal octets.
fn bare_ip(hop: &[u8]) -> Option<IpAddr> {
    let hop = std::str::from_utf8(hop).ok()?.trim_matches([' ', '\t']);
    if !hop.is_ascii() {
        return None;
    }
    hop.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const PROXY: &str = "10.0.0.1";
    const EDGE: &str = "10.0.0.2";

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// `forwarded_client` over one header line per item, trusting `PROXY` and `EDGE`.
    fn client(lines: &[&[u8]]) -> Forwarded {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_bytes(line).unwrap());
        }
        forwarded_client(&headers, &[ip(PROXY), ip(EDGE)])
    }

    #[test]
    fn the_client_is_the_last_hop_no_trusted_proxy_added() {
        let found = client(&[b"203.0.113.7, 198.51.100.9, 10.0.0.2,10.0.0.1"]);
        assert_eq!(found, Forwarded::Client(ip("198.51.100.9")));
        assert_eq!(client(&[b"2001:DB8::1"]), Forwarded::Client(ip("2001:db8::1")));
        assert_eq!(client(&[b"\t198.51.100.9 "]), Forwarded::Client(ip("198.51.100.9")));
        assert_eq!(client(&[b"::ffff:198.51.100.9"]), Forwarded::Client(ip("198.51.100.9")));
    }

    #[test]
    fn every_header_line_counts_joined_in_order() {
        let found = client(&[b"203.0.113.7", b"198.51.100.9, 10.0.0.2", b"10.0.0.1"]);
        assert_eq!(found, Forwarded::Client(ip("198.51.100.9")));
        assert_eq!(client(&[b"198.51.100.9, 10.0.0.2", b"1.2.3.4:80"]), Forwarded::Unreadable);
    }

    #[test]
    fn an_unreadable_hop_on_the_walk_never_yields_a_hop_further_left() {
        let unreadable: [&[u8]; 13] = [
            b"203.0.113.7:4711",
            b"[2001:db8::1]:443",
            b"[2001:db8::1]",
            b"fe80::1%eth0",
            b"unknown",
            b"_hidden",
            b"garbage",
            b"",
            b" ",
            b"010.0.0.1",
            b"\xc3\xa9",
            b"1.2.3.4 5.6.7.8",
            b"\"1.2.3.4\"",
        ];
        for hop in unreadable {
            let mut line = b"198.51.100.9, ".to_vec();
            line.extend_from_slice(hop);
            line.extend_from_slice(b", 10.0.0.1");
            assert_eq!(client(&[&line]), Forwarded::Unreadable, "{:?}", String::from_utf8_lossy(hop));
            assert_eq!(client(&[hop]), Forwarded::Unreadable, "{:?}", String::from_utf8_lossy(hop));
        }
        assert_eq!(client(&[b"198.51.100.9,,10.0.0.1"]), Forwarded::Unreadable);
        assert_eq!(client(&[b"198.51.100.9, 10.0.0.1,"]), Forwarded::Unreadable);
    }

    #[test]
    fn what_the_client_wrote_left_of_itself_is_not_read() {
        let found = client(&[b"\xc3\xa9, 1.2.3.4:80, unknown, 198.51.100.9, 10.0.0.1"]);
        assert_eq!(found, Forwarded::Client(ip("198.51.100.9")));
    }

    #[test]
    fn a_chain_of_trusted_proxies_only_began_at_the_left_most_and_no_header_is_absent() {
        assert_eq!(client(&[b"10.0.0.2, 10.0.0.1"]), Forwarded::Client(ip(EDGE)));
        assert_eq!(client(&[]), Forwarded::Absent);
    }

    #[test]
    fn throttles_count_ipv6_clients_by_their_64_and_ipv4_clients_by_address() {
        let key = |text: &str| ClientInfo { ip: Some(ip(text)), user_agent: String::new() }.ip_key();
        assert_eq!(key("2001:db8:1:2::a"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::a"), key("2001:db8:1:2::a"));
        assert_eq!(key("::1"), "::/64");
        assert_eq!(key("198.51.100.7"), "198.51.100.7");
        assert_ne!(key("198.51.100.8"), key("198.51.100.7"));
        assert_eq!(key("::ffff:198.51.100.7"), "198.51.100.7", "IPv4-mapped IPv6 is IPv4");
        assert_eq!(ClientInfo::default().ip_key(), "unknown");
    }

    #[test]
    fn the_proxy_answers_for_an_unreadable_or_missing_header() {
        let (peer, trusted) = (ip(PROXY), [ip(PROXY)]);
        let mut headers = HeaderMap::new();
        assert_eq!(client_behind_proxy(&headers, peer, &trusted), peer);
        headers.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.1, 203.0.113.7:4711"));
        assert_eq!(client_behind_proxy(&headers, peer, &trusted), peer);
        headers.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.1, 203.0.113.7"));
        assert_eq!(client_behind_proxy(&headers, peer, &trusted), ip("203.0.113.7"));
    }
}
