//! The visitor's address. Rate limits, IP hashes and lockouts all key on
//! [`client_addr`]: the TCP peer, unless that peer is a reverse proxy the
//! operator listed in `--trusted-proxies`; then the address the proxy
//! forwarded (`X-Forwarded-For`, rightmost hop that is not itself a trusted
//! proxy, else `X-Real-IP`). A visitor talking to us directly can put
//! anything in those headers, so they are ignored from untrusted peers.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use super::AppState;

/// Addresses and networks whose `X-Forwarded-For` / `X-Real-IP` we believe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn none() -> TrustedProxies {
        TrustedProxies(Vec::new())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `127.0.0.1, 10.0.0.0/8, ::1`: addresses or CIDRs, comma-separated; empty
/// means none.
impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut nets = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => part.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("trusted proxies: {part:?} is neither an IP address nor a CIDR like 10.0.0.0/8")
                })?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }
}

/// IPv4 seen through an IPv6 socket (`::ffff:a.b.c.d`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address of the visitor behind `peer` (the TCP peer).
pub fn client_addr(trusted: &TrustedProxies, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    forwarded_for(trusted, headers)
        .or_else(|| real_ip(headers))
        .unwrap_or(peer)
}

/// Walks `X-Forwarded-For` from the right (the hop our proxy added last) and
/// takes the first address that is not one of our proxies. Every header line
/// counts, in order; a malformed entry stops the walk (what lies left of it
/// cannot be trusted either).
fn forwarded_for(trusted: &TrustedProxies, headers: &HeaderMap) -> Option<IpAddr> {
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let ip = canonical(parse_hop(hop)?);
        if !trusted.contains(ip) {
            return Some(ip);
        }
    }
    None
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

fn real_ip(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_hop(v.trim()))
        .map(canonical)
}

/// The salted network hash ([`super::public::ip_hash`]) of the visitor.
pub(crate) fn ip_hash_of(st: &AppState, ip: IpAddr) -> String {
    super::public::ip_hash(&st.db.secrets().master, &SocketAddr::new(ip, 0))
}

/// [`ip_hash_of`] the visitor behind TCP peer `peer`.
pub(crate) fn peer_ip_hash(st: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    ip_hash_of(st, client_addr(&st.trusted_proxies, peer.ip(), headers))
}

/// The visitor's address as an extractor (needs `ConnectInfo<SocketAddr>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Without connect info (a router driven in-process) there is no peer:
        // the unspecified address keeps everyone in one bucket, the safe side.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(ClientIp(client_addr(
            &state.trusted_proxies,
            peer,
            &parts.headers,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_networks() {
        let t: TrustedProxies = " 127.0.0.1, 10.0.0.0/8,::1 ".parse().unwrap();
        assert!(t.contains(ip("127.0.0.1")));
        assert!(t.contains(ip("10.20.30.40")));
        assert!(t.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped counts");
        assert!(t.contains(ip("::1")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        let err = "10.0.0.0/8, proxy.local".parse::<TrustedProxies>();
        assert!(err.unwrap_err().contains("proxy.local"));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn picks_the_client_address() {
        let t: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let proxy = ip("10.0.0.2");
        let outsider = ip("198.51.100.9");
        let nobody = TrustedProxies::none();
        // (trusted list, peer, headers, expected)
        type Case<'a> = (&'a TrustedProxies, IpAddr, Vec<(&'a str, &'a str)>, &'a str);
        let cases: Vec<Case<'_>> = vec![
            // Nobody trusted: the headers are ignored.
            (
                &nobody,
                proxy,
                vec![("x-forwarded-for", "1.1.1.1")],
                "10.0.0.2",
            ),
            // An untrusted peer spoofing the header.
            (
                &t,
                outsider,
                vec![("x-forwarded-for", "1.1.1.1"), ("x-real-ip", "2.2.2.2")],
                "198.51.100.9",
            ),
            // The rightmost untrusted hop, not the leftmost (spoofable) one.
            (
                &t,
                proxy,
                vec![("x-forwarded-for", "6.6.6.6, 203.0.113.5, 10.0.0.7")],
                "203.0.113.5",
            ),
            // Several header lines are one list.
            (
                &t,
                proxy,
                vec![
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "203.0.113.6"),
                ],
                "203.0.113.6",
            ),
            (&t, proxy, vec![("x-real-ip", "203.0.113.7")], "203.0.113.7"),
            (
                &t,
                proxy,
                vec![("x-forwarded-for", "[2001:db8::1]:443")],
                "2001:db8::1",
            ),
            // Garbage: fall back to X-Real-IP, then the peer.
            (
                &t,
                proxy,
                vec![("x-forwarded-for", "unknown"), ("x-real-ip", "203.0.113.8")],
                "203.0.113.8",
            ),
            (&t, proxy, vec![("x-forwarded-for", "unknown")], "10.0.0.2"),
            // Only proxies in the chain: the leftmost-known one is the peer.
            (&t, proxy, vec![("x-forwarded-for", "10.9.9.9")], "10.0.0.2"),
            (&t, proxy, vec![], "10.0.0.2"),
        ];
        for (trusted, peer, h, want) in cases {
            assert_eq!(
                client_addr(trusted, peer, &headers(&h)),
                ip(want),
                "{peer} {h:?}"
            );
        }
    }
}
