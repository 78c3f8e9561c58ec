//! The SSRF guard: which addresses a download may reach, checked inside the DNS resolver,
//! and the `allowed_hosts` exceptions. The [`fetch`](super::fetch) module docs explain why
//! it is sound.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Host;

/// DNS resolver of the guarded client: resolves asynchronously and refuses
/// the name if any of its addresses is forbidden.
pub(super) struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0 is replaced by the URL's port by the connector.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(reason) = addrs.iter().find_map(|addr| blocked_reason(addr.ip())) {
                return Err(Box::new(Blocked { host, reason }) as _);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Error returned by [`GuardedResolver`], recognised by [`send_error`].
#[derive(Debug)]
pub(super) struct Blocked {
    pub(super) host: String,
    pub(super) reason: &'static str,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} resolves to a {} address", self.host, self.reason)
    }
}

impl StdError for Blocked {}

/// Why the guard refuses `ip`, or `None` if it is a public unicast address.
pub(super) fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => blocked_reason_v4(ip),
        IpAddr::V6(ip) => blocked_reason_v6(ip),
    }
}

fn blocked_reason_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = if a == 0 {
        "unspecified" // 0.0.0.0/8, "this network"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local"
    } else if a == 100 && b & 0xc0 == 64 {
        "cgnat" // 100.64.0.0/10
    } else if ip.is_broadcast() {
        "broadcast"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_documentation() {
        "documentation"
    } else if a == 198 && b & 0xfe == 18 {
        "benchmarking" // 198.18.0.0/15
    } else if a >= 240 || (a, b, c) == (192, 0, 0) {
        "reserved" // 240.0.0.0/4, IETF protocol assignments 192.0.0.0/24
    } else {
        return None;
    };
    Some(reason)
}

fn blocked_reason_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_reason_v4(v4);
    }
    let o = ip.octets();
    let s = ip.segments();
    let reason = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if s[..6] == [0; 6] {
        "reserved" // deprecated IPv4-compatible ::/96
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 64:ff9b::/96 reaches the embedded IPv4 address.
        return blocked_reason_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    } else if s[0] == 0x2002 {
        // 6to4 2002::/16 embeds an IPv4 address in bits 16..48.
        return blocked_reason_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    } else if s[..3] == [0x64, 0xff9b, 1] || s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
        "private" // NAT64 local-use, unique local fc00::/7, deprecated site-local
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xff00 == 0xff00 {
        "multicast"
    } else if s[..2] == [0x2001, 0xdb8] || (s[0] == 0x3fff && s[1] & 0xf000 == 0) {
        "documentation" // 2001:db8::/32, 3fff::/20
    } else if s[..4] == [0x100, 0, 0, 0] {
        "reserved" // discard-only 100::/64
    } else {
        return None;
    };
    Some(reason)
}

/// One parsed [`FetchPolicy::allowed_hosts`] entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AllowEntry {
    pub(super) host: AllowedHost,
    pub(super) port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AllowedHost {
    Ip(IpAddr),
    /// Lowercase, without a trailing dot.
    Name(String),
}

impl AllowEntry {
    pub(super) fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim().to_ascii_lowercase();
        if let Some(rest) = entry.strip_prefix('[') {
            let (inner, after) = rest
                .split_once(']')
                .ok_or_else(|| "missing `]`".to_owned())?;
            let ip: Ipv6Addr = inner
                .parse()
                .map_err(|_| format!("`{inner}` is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                _ => {
                    let port = after
                        .strip_prefix(':')
                        .ok_or_else(|| format!("unexpected `{after}` after `]`"))?;
                    Some(parse_port(port)?)
                }
            };
            return Ok(Self {
                host: AllowedHost::Ip(IpAddr::V6(ip)),
                port,
            });
        }
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Ok(Self {
                host: AllowedHost::Ip(ip),
                port: None,
            });
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (entry.as_str(), None),
        };
        let host = host.trim_end_matches('.');
        if host.is_empty() || host.contains(['/', '@', '?', '#', ':', '[', ']']) {
            return Err(format!("`{host}` is not a host name or IP address"));
        }
        let host = match host.parse::<Ipv4Addr>() {
            Ok(ip) => AllowedHost::Ip(IpAddr::V4(ip)),
            Err(_) => AllowedHost::Name(host.to_owned()),
        };
        Ok(Self { host, port })
    }

    pub(super) fn matches(&self, host: &Host<&str>, port: u16) -> bool {
        if self.port.is_some_and(|allowed| allowed != port) {
            return false;
        }
        let ip = match (&self.host, host) {
            (AllowedHost::Name(name), Host::Domain(domain)) => {
                return name.eq_ignore_ascii_case(domain.trim_end_matches('.'));
            }
            (AllowedHost::Name(_), _) => return false,
            (AllowedHost::Ip(_), Host::Domain(_)) => return false,
            (AllowedHost::Ip(_), Host::Ipv4(ip)) => IpAddr::V4(*ip),
            (AllowedHost::Ip(_), Host::Ipv6(ip)) => IpAddr::V6(*ip),
        };
        matches!(&self.host, AllowedHost::Ip(allowed) if allowed.to_canonical() == ip.to_canonical())
    }
}

fn parse_port(port: &str) -> Result<u16, String> {
    port.parse()
        .map_err(|_| format!("`{port}` is not a port number"))
}
