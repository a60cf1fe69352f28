//! enode URLs: the text form of a devp2p node address that go-ethereum introduced and every
//! client accepts for bootnodes and static peers (devp2p wiki "enode URL format";
//! go-ethereum `p2p/enode/urlv4.go`).
//!
//! `enode://<128 hex digits of the 64-byte public key>@<host>:<tcp port>[?discport=<udp port>]`
//!
//! The host is an IPv4 address, an IPv6 address in brackets, or a DNS name that the caller
//! resolves later. Without `discport` the UDP (discovery) port equals the TCP port. A URL with no
//! `@` part names a node by identity only (go-ethereum calls it "incomplete"): it can be looked
//! up through discovery but not dialled.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use crate::crypto::{NodeId, PublicKey, hex, unhex};

/// The URL scheme and authority separator that every enode URL starts with.
const ENODE_PREFIX: &str = "enode://";

/// Longest DNS name accepted as a host: RFC 1035 section 2.3.4 allows 255 octets on the wire,
/// which is 253 characters in dotted text form.
pub const HOSTNAME_LEN_MAX: usize = 253;

/// Longest DNS label (RFC 1035 section 2.3.4).
const LABEL_LEN_MAX: usize = 63;

/// Where a node can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A literal IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A DNS name, kept as written; resolving it is the shell's job.
    Name(String),
    /// No address at all: the URL named the node's identity only.
    Unknown,
}

/// A parsed enode URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enode {
    /// The node's public key, the identity RLPx authenticates.
    pub id: PublicKey,
    /// The node's address.
    pub host: Host,
    /// The RLPx (TCP) listening port; 0 when unknown.
    pub tcp: u16,
    /// The discovery (UDP) port; 0 when unknown.
    pub udp: u16,
}

impl Enode {
    /// A node with a literal IP address.
    pub fn new(id: PublicKey, ip: IpAddr, tcp: u16, udp: u16) -> Self {
        Enode {
            id,
            host: Host::Ip(ip),
            tcp,
            udp,
        }
    }

    /// The node id: keccak-256 of the public key.
    pub fn node_id(&self) -> NodeId {
        self.id.node_id()
    }

    /// The IP address, when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.host {
            Host::Ip(ip) => Some(ip),
            _ => None,
        }
    }

    /// The address to dial for RLPx, when the host is an IP and the TCP port is known.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.ip()
            .filter(|_| self.tcp != 0)
            .map(|ip| SocketAddr::new(ip, self.tcp))
    }

    /// The address to send discovery packets to, when the host is an IP and the port is known.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.ip()
            .filter(|_| self.udp != 0)
            .map(|ip| SocketAddr::new(ip, self.udp))
    }
}

/// Why a string is not an enode URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnodeError {
    /// The string does not start with `enode://`.
    MissingPrefix,
    /// The key part is not 128 characters long.
    PublicKeyLength,
    /// The key part has a character that is not a hex digit.
    PublicKeyHex,
    /// The 64 bytes are not a point on secp256k1.
    PublicKeyNotOnCurve,
    /// The host is neither an IP address nor a DNS name.
    InvalidHost,
    /// The TCP port is missing or not a number in 0..=65535.
    InvalidPort,
    /// The `discport` query value is not a number in 0..=65535.
    InvalidDiscport,
}

impl fmt::Display for EnodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnodeError::MissingPrefix => "missing 'enode:' prefix",
            EnodeError::PublicKeyLength => "invalid public key (wrong length, want 128 hex chars)",
            EnodeError::PublicKeyHex => "invalid public key (not hex)",
            EnodeError::PublicKeyNotOnCurve => "invalid public key (not a secp256k1 curve point)",
            EnodeError::InvalidHost => "invalid host (want an IP address or a DNS name)",
            EnodeError::InvalidPort => "invalid port",
            EnodeError::InvalidDiscport => "invalid discport in query",
        })
    }
}

impl std::error::Error for EnodeError {}

/// Parses a decimal port, refusing signs, spaces and values above 65535.
fn parse_port(s: &str, err: EnodeError) -> Result<u16, EnodeError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err);
    }
    s.parse().map_err(|_| err)
}

/// A DNS name in dotted form (letters, digits, hyphens; labels of 1..=63 characters; an optional
/// trailing dot for a fully qualified name). The last label may not be all digits (RFC 3696
/// section 2), so a malformed IPv4 address such as `1.2.3.256` is not mistaken for a name.
fn is_dns_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    let numeric_tld = s
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
    !s.is_empty()
        && !numeric_tld
        && s.len() <= HOSTNAME_LEN_MAX
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= LABEL_LEN_MAX
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Parses the part after `@`: `host:port[?query]`.
fn parse_address(addr: &str) -> Result<(Host, u16, u16), EnodeError> {
    let (host_port, query) = match addr.split_once('?') {
        Some((hp, q)) => (hp, Some(q)),
        None => (addr, None),
    };
    let (host, port) = if let Some(rest) = host_port.strip_prefix('[') {
        // An IPv6 literal: its colons are why it needs the brackets.
        let (ip, port) = rest.split_once(']').ok_or(EnodeError::InvalidHost)?;
        let ip: Ipv6Addr = ip.parse().map_err(|_| EnodeError::InvalidHost)?;
        let port = port.strip_prefix(':').ok_or(EnodeError::InvalidPort)?;
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = host_port.rsplit_once(':').ok_or(EnodeError::InvalidPort)?;
        let host = if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
            Host::Ip(IpAddr::V4(ip))
        } else if is_dns_name(host) {
            Host::Name(host.to_string())
        } else {
            return Err(EnodeError::InvalidHost);
        };
        (host, port)
    };
    let tcp = parse_port(port, EnodeError::InvalidPort)?;
    let mut udp = tcp;
    if let Some(query) = query {
        // Only `discport` has a meaning; other parameters are ignored, as go-ethereum does.
        let discport = query.split('&').find_map(|kv| kv.strip_prefix("discport="));
        if let Some(d) = discport {
            udp = parse_port(d, EnodeError::InvalidDiscport)?;
        }
    }
    Ok((host, tcp, udp))
}

impl FromStr for Enode {
    type Err = EnodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix(ENODE_PREFIX)
            .ok_or(EnodeError::MissingPrefix)?;
        let (key, addr) = match rest.split_once('@') {
            Some((k, a)) => (k, Some(a)),
            None => (rest, None),
        };
        if key.len() != 128 {
            return Err(EnodeError::PublicKeyLength);
        }
        let bytes = unhex(key).map_err(|_| EnodeError::PublicKeyHex)?;
        let id = PublicKey::from_bytes(&bytes).map_err(|_| EnodeError::PublicKeyNotOnCurve)?;
        let (host, tcp, udp) = match addr {
            Some(a) => parse_address(a)?,
            None => (Host::Unknown, 0, 0),
        };
        Ok(Enode { id, host, tcp, udp })
    }
}

impl fmt::Display for Enode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ENODE_PREFIX}{}", hex(&self.id.to_bytes()))?;
        match &self.host {
            Host::Unknown => return Ok(()),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "@{ip}:{}", self.tcp)?,
            Host::Ip(IpAddr::V6(ip)) => write!(f, "@[{ip}]:{}", self.tcp)?,
            Host::Name(name) => write!(f, "@{name}:{}", self.tcp)?,
        }
        if self.udp != self.tcp {
            write!(f, "?discport={}", self.udp)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    fn key() -> PublicKey {
        SecretKey::from_bytes(&[7u8; 32]).unwrap().public_key()
    }

    #[test]
    fn tcp_port_zero_is_no_tcp_endpoint() {
        // How a bootnode (discovery only) prints itself: nothing to dial, UDP at discport.
        let text = format!(
            "enode://{}@127.0.0.1:0?discport=30301",
            hex(&key().to_bytes())
        );
        let e: Enode = text.parse().unwrap();
        assert_eq!((e.tcp, e.udp), (0, 30301));
        assert_eq!(e.tcp_addr(), None);
        assert_eq!(e.udp_addr(), Some("127.0.0.1:30301".parse().unwrap()));
        assert_eq!(e.to_string(), text);
    }

    #[test]
    fn display_round_trips() {
        let v4 = Enode::new(key(), "10.0.0.1".parse().unwrap(), 30303, 30301);
        let v6 = Enode::new(key(), "fe80::1".parse().unwrap(), 30303, 30303);
        for node in [v4, v6] {
            let text = node.to_string();
            assert_eq!(text.parse::<Enode>(), Ok(node.clone()), "{text}");
        }
    }

    #[test]
    fn discport_is_omitted_when_equal_and_ipv6_is_bracketed() {
        let n = Enode::new(key(), "::1".parse().unwrap(), 1, 1);
        assert!(n.to_string().ends_with("@[::1]:1"), "{n}");
        let n = Enode::new(key(), "1.2.3.4".parse().unwrap(), 1, 2);
        assert!(n.to_string().ends_with("@1.2.3.4:1?discport=2"), "{n}");
    }

    #[test]
    fn refuses_bad_hosts_and_ports() {
        let k = hex(&key().to_bytes());
        for (addr, err) in [
            ("1.2.3.4", EnodeError::InvalidPort),
            ("1.2.3.4:", EnodeError::InvalidPort),
            ("1.2.3.4:+1", EnodeError::InvalidPort),
            ("1.2.3.4:65536", EnodeError::InvalidPort),
            (":30303", EnodeError::InvalidHost),
            ("::1:30303", EnodeError::InvalidHost),
            ("[1.2.3.4]:30303", EnodeError::InvalidHost),
            ("[::1]30303", EnodeError::InvalidPort),
            ("bad_name:1", EnodeError::InvalidHost),
            ("1.2.3.256:1", EnodeError::InvalidHost),
            ("1.2.3.4:1?discport=-1", EnodeError::InvalidDiscport),
        ] {
            let url = format!("enode://{k}@{addr}");
            assert_eq!(url.parse::<Enode>(), Err(err), "{addr}");
        }
        let long = format!("enode://{k}@{}.com:1", "a".repeat(64));
        assert_eq!(long.parse::<Enode>(), Err(EnodeError::InvalidHost));
    }

    #[test]
    fn addresses_for_dialling() {
        let n = Enode::new(key(), "1.2.3.4".parse().unwrap(), 30303, 0);
        assert_eq!(n.tcp_addr(), Some("1.2.3.4:30303".parse().unwrap()));
        assert_eq!(n.udp_addr(), None);
        let url = format!("enode://{}", hex(&key().to_bytes()));
        let n: Enode = url.parse().unwrap();
        assert_eq!((n.host.clone(), n.tcp_addr()), (Host::Unknown, None));
        assert_eq!(n.node_id(), key().node_id());
    }
}
