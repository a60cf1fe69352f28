//! IP network helpers for the p2p server: CIDR networks, the `--netrestrict` list, and the LAN
//! test that exempts local peers from the inbound throttle.
//!
//! There is no devp2p spec section for these; they follow go-ethereum's `p2p/netutil` behaviour:
//! a netrestrict list is a comma-separated list of CIDR masks (`10.0.0.0/8,fd00::/8`), and a
//! node outside every listed network is neither dialed nor accepted.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Most networks a netrestrict list may hold. The list comes from the command line, not the wire,
/// but a bound keeps the per-connection membership test cheap; 256 is far more than any
/// deployment writes by hand.
pub const NETLIST_ENTRIES_MAX: usize = 256;

/// Why a CIDR mask or netrestrict list did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetlistError {
    /// The entry has no `/prefix` part.
    MissingPrefix(String),
    /// The address before the `/` is not an IPv4 or IPv6 address.
    BadAddress(String),
    /// The prefix length is not a number or exceeds 32 (IPv4) / 128 (IPv6).
    BadPrefix(String),
    /// More than [`NETLIST_ENTRIES_MAX`] networks.
    TooManyEntries,
}

impl fmt::Display for NetlistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlistError::MissingPrefix(s) => write!(f, "network {s:?} has no /prefix"),
            NetlistError::BadAddress(s) => write!(f, "network {s:?} has an invalid IP address"),
            NetlistError::BadPrefix(s) => write!(f, "network {s:?} has an invalid prefix length"),
            NetlistError::TooManyEntries => {
                write!(f, "more than {NETLIST_ENTRIES_MAX} networks in the list")
            }
        }
    }
}

impl std::error::Error for NetlistError {}

/// One CIDR network: an address with its host bits cleared, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// A network from an address and prefix length; host bits of `addr` are cleared, as
    /// `10.1.2.3/8` means `10.0.0.0/8`. Returns `None` if the prefix is too long for the family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let net = match addr {
            IpAddr::V4(a) => {
                if prefix > 32 {
                    return None;
                }
                IpAddr::V4(Ipv4Addr::from_bits(a.to_bits() & mask32(prefix)))
            }
            IpAddr::V6(a) => {
                if prefix > 128 {
                    return None;
                }
                IpAddr::V6(Ipv6Addr::from_bits(a.to_bits() & mask128(prefix)))
            }
        };
        Some(Cidr { net, prefix })
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.net
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) count as
    /// the IPv4 address they carry, because dual-stack sockets report IPv4 peers that way.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => a.to_bits() & mask32(self.prefix) == n.to_bits(),
            (IpAddr::V6(n), IpAddr::V6(a)) => a.to_bits() & mask128(self.prefix) == n.to_bits(),
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = NetlistError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| NetlistError::MissingPrefix(s.to_owned()))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| NetlistError::BadAddress(s.to_owned()))?;
        // Only plain decimal digits: `u8::from_str` would also take a leading `+`.
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NetlistError::BadPrefix(s.to_owned()));
        }
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| NetlistError::BadPrefix(s.to_owned()))?;
        Cidr::new(addr, prefix).ok_or_else(|| NetlistError::BadPrefix(s.to_owned()))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// A list of networks, as `--netrestrict` gives it. An empty list contains nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Netlist {
    nets: Vec<Cidr>,
}

impl Netlist {
    /// An empty list.
    pub fn new() -> Netlist {
        Netlist::default()
    }

    /// Adds one network.
    pub fn push(&mut self, net: Cidr) -> Result<(), NetlistError> {
        if self.nets.len() >= NETLIST_ENTRIES_MAX {
            return Err(NetlistError::TooManyEntries);
        }
        self.nets.push(net);
        Ok(())
    }

    /// Whether `ip` lies in any listed network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// The networks, in the order given.
    pub fn nets(&self) -> &[Cidr] {
        &self.nets
    }
}

impl FromStr for Netlist {
    type Err = NetlistError;

    /// Parses `"10.0.0.0/8, 127.0.0.0/8, fd00::/8"`; empty entries (a trailing comma) are skipped.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut list = Netlist::new();
        for part in s.split(',') {
            if part.trim().is_empty() {
                continue;
            }
            list.push(part.parse()?)?;
        }
        Ok(list)
    }
}

impl fmt::Display for Netlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.nets.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

/// Whether `ip` is a loopback or local-network address: IPv4 loopback, `0.0.0.0/8`, the RFC 1918
/// private ranges, `169.254.0.0/16` link-local; IPv6 loopback, `fe80::/10` link-local and
/// `fc00::/7` unique-local. IPv4-mapped IPv6 addresses are judged by the IPv4 address inside.
/// Such peers are exempt from the inbound throttle: they cannot be an Internet-wide flood and
/// a local test network reconnects often.
pub fn is_lan(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(a) => {
            // 100.64.0.0/10 (carrier-grade NAT) is deliberately not LAN: many unrelated
            // Internet users share it.
            a.is_loopback() || a.octets()[0] == 0 || a.is_private() || a.is_link_local()
        }
        IpAddr::V6(a) => {
            let seg0 = a.segments()[0];
            a.is_loopback() || (seg0 & 0xffc0) == 0xfe80 || (seg0 & 0xfe00) == 0xfc00
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_masks() {
        let c: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(c.addr(), ip("10.0.0.0"));
        assert_eq!(c.prefix(), 8);
        assert_eq!(c.to_string(), "10.0.0.0/8");
        let c: Cidr = "fd12:3456::1/16".parse().unwrap();
        assert_eq!(c.to_string(), "fd12::/16");
    }

    #[test]
    fn rejects_bad_entries() {
        for (s, want) in [
            ("10.0.0.0", NetlistError::MissingPrefix("10.0.0.0".into())),
            ("10.0.0/8", NetlistError::BadAddress("10.0.0/8".into())),
            ("10.0.0.0/33", NetlistError::BadPrefix("10.0.0.0/33".into())),
            ("10.0.0.0/", NetlistError::BadPrefix("10.0.0.0/".into())),
            ("10.0.0.0/+8", NetlistError::BadPrefix("10.0.0.0/+8".into())),
            ("::/129", NetlistError::BadPrefix("::/129".into())),
            ("::/999", NetlistError::BadPrefix("::/999".into())),
        ] {
            assert_eq!(s.parse::<Cidr>(), Err(want), "entry {s:?}");
        }
    }

    #[test]
    fn contains_v4_and_v6() {
        let list: Netlist = "10.0.0.0/8, 127.0.0.0/8,fd00::/8,".parse().unwrap();
        assert_eq!(list.nets().len(), 3);
        assert_eq!(list.to_string(), "10.0.0.0/8,127.0.0.0/8,fd00::/8");
        assert!(list.contains(ip("10.255.0.1")));
        assert!(list.contains(ip("127.0.0.1")));
        assert!(
            list.contains(ip("::ffff:10.1.1.1")),
            "IPv4-mapped counts as IPv4"
        );
        assert!(list.contains(ip("fd00::1")));
        assert!(!list.contains(ip("11.0.0.1")));
        assert!(!list.contains(ip("fe80::1")));
        assert!(!list.contains(ip("::1")));
        assert!(!Netlist::new().contains(ip("10.0.0.1")));
    }

    #[test]
    fn zero_and_full_prefixes() {
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!(
            !all.contains(ip("2001:db8::1")),
            "an IPv4 net never holds IPv6"
        );
        let one: Cidr = "2001:db8::7/128".parse().unwrap();
        assert!(one.contains(ip("2001:db8::7")));
        assert!(!one.contains(ip("2001:db8::8")));
    }

    #[test]
    fn list_is_bounded() {
        let text = vec!["10.0.0.0/8"; NETLIST_ENTRIES_MAX + 1].join(",");
        assert_eq!(text.parse::<Netlist>(), Err(NetlistError::TooManyEntries));
    }

    #[test]
    fn lan_addresses() {
        for s in [
            "127.0.0.1",
            "127.8.8.8",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.3.4",
            "::1",
            "fe80::1",
            "fc00::1",
            "fdff::1",
            "::ffff:192.168.0.1",
        ] {
            assert!(is_lan(ip(s)), "{s} is LAN");
        }
        for s in [
            "8.8.8.8",
            "172.32.0.1",
            "100.64.0.1",
            "2001:db8::1",
            "fec0::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_lan(ip(s)), "{s} is not LAN");
        }
    }
}
