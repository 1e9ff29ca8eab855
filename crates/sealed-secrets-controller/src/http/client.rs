//! Who is asking: the client address that `/v1/verify` and `/v1/rotate` are rate-limited by.
//!
//! A request arrives either straight from a client (a Pod, a port-forward) or through the API
//! server's service proxy. The proxy appends the address of *its* client to `X-Forwarded-For`;
//! anything before that last entry was sent by the client and proves nothing. So:
//! - from a peer that is a trusted proxy ([`TrustedProxies`]), the client is the **last** entry of
//!   `X-Forwarded-For` (the one the API server appended);
//! - from any other peer, the client is the TCP peer address, whatever the headers say.
//!
//! No client can widen its allowance by changing headers: a direct client is keyed by its own
//! address, and through the proxy the key is the address the API server saw.
//!
//! Trusted proxies come from `--trusted-proxies`: addresses and CIDR ranges, or `auto` (the
//! default): the API server's own addresses, read from the `kubernetes` EndpointSlice in the
//! `default` namespace and refreshed every minute.

use std::net::IpAddr;
use std::sync::RwLock;

use axum::http::HeaderMap;

/// One address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `fd00::1`, `fd00::/64`.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    /// True if `ip` is in the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The peers whose `X-Forwarded-For` is believed.
#[derive(Debug, Default)]
pub struct TrustedProxies {
    /// From `--trusted-proxies`.
    fixed: Vec<Cidr>,
    /// Whether `auto` was given: the API server's addresses are added as discovered.
    auto: bool,
    discovered: RwLock<Vec<IpAddr>>,
}

/// Why `--trusted-proxies` is invalid: the entry that is not an address or range.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR range")]
pub struct BadProxy(pub String);

impl TrustedProxies {
    /// Parses `--trusted-proxies`: a comma-separated list of addresses, CIDR ranges and `auto`;
    /// empty trusts no peer.
    pub fn parse(value: &str) -> Result<TrustedProxies, BadProxy> {
        let mut proxies = TrustedProxies::default();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "auto" {
                proxies.auto = true;
            } else {
                proxies
                    .fixed
                    .push(Cidr::parse(item).ok_or_else(|| BadProxy(item.to_owned()))?);
            }
        }
        Ok(proxies)
    }

    /// True if `auto` was given.
    pub fn discovers(&self) -> bool {
        self.auto
    }

    /// Replaces the discovered API server addresses.
    pub fn set_discovered(&self, addresses: Vec<IpAddr>) {
        *self
            .discovered
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = addresses;
    }

    /// True if requests from `peer` come through a trusted proxy.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.fixed.iter().any(|c| c.contains(peer))
            || self
                .discovered
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .any(|a| canonical(*a) == peer)
    }

    /// The client of a request from `peer`: the last `X-Forwarded-For` entry if `peer` is
    /// trusted and that entry is an address, else the peer itself.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return canonical(peer);
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|last| last.trim().parse::<IpAddr>().ok())
            .map_or(canonical(peer), canonical)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn ranges() {
        let c = Cidr::parse("10.1.0.0/16").expect("cidr");
        assert!(c.contains(ip("10.1.200.3")) && !c.contains(ip("10.2.0.1")));
        assert!(c.contains(ip("::ffff:10.1.0.9")));
        assert!(Cidr::parse("fd00::/8").expect("v6").contains(ip("fd12::1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("1.2.3.4"))
        );
        for bad in ["10.0.0.0/33", "example.com", "10.0.0/8", ""] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
        assert!(TrustedProxies::parse("auto, 10.0.0.1,fd00::/8").is_ok());
        assert_eq!(
            TrustedProxies::parse("10.0.0.1,nonsense")
                .expect_err("bad")
                .to_string(),
            "\"nonsense\" is not an IP address or CIDR range"
        );
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_peer_and_only_its_last_entry() {
        let proxies = TrustedProxies::parse("10.0.0.1").expect("valid");
        let spoofed = xff(&["6.6.6.6"]);
        assert_eq!(proxies.client(ip("10.9.9.9"), &spoofed), ip("10.9.9.9"));
        assert_eq!(proxies.client(ip("10.0.0.1"), &spoofed), ip("6.6.6.6"));
        // Whatever the client sent comes first; the proxy's own entry is last.
        let appended = xff(&["1.1.1.1, 2.2.2.2", "192.0.2.7"]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &appended), ip("192.0.2.7"));
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &xff(&["x, junk"])),
            ip("10.0.0.1")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        let auto = TrustedProxies::parse("auto").expect("valid");
        assert_eq!(auto.client(ip("10.0.0.1"), &spoofed), ip("10.0.0.1"));
        auto.set_discovered(vec![ip("10.0.0.1")]);
        assert_eq!(auto.client(ip("::ffff:10.0.0.1"), &spoofed), ip("6.6.6.6"));
    }
}
