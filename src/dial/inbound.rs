//! The inbound admission throttle of the p2p server: what go-ethereum's `Server` does before it
//! starts an RLPx handshake on an accepted TCP connection.
//!
//! Three rules, checked in this order:
//! 1. a peer outside `--netrestrict` is refused;
//! 2. at most `max_pending` (go-ethereum's `MaxPendingPeers`) handshakes run at once;
//! 3. an Internet address may start one handshake per [`INBOUND_THROTTLE`]; loopback and LAN
//!    addresses ([`crate::netutil::is_lan`]) are exempt.
//!
//! The event loop calls [`InboundThrottle::handle_inbound`] when it accepts a connection and, if
//! admitted, hands the returned [`InboundPermit`] back through [`InboundThrottle::release`] when
//! the handshake ends (whatever its result).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use super::history::ExpiryHistory;
use super::{Millis, Mono};
use crate::netutil::{Netlist, is_lan};

/// How long an Internet address must wait between two inbound attempts: 30 s, go-ethereum's
/// `inboundThrottleTime`.
pub const INBOUND_THROTTLE: Millis = 30_000;

/// Default bound on handshakes in progress: 50, go-ethereum's `defaultMaxPendingPeers`.
pub const PENDING_INBOUND_MAX_DEFAULT: usize = 50;

/// Most addresses the throttle remembers at once. Entries expire after [`INBOUND_THROTTLE`]; when
/// this many distinct Internet addresses have connected within that window, further Internet
/// attempts are refused until entries expire. That caps inbound handshakes from the Internet at
/// 4096 per 30 s (about 136/s), far above what a healthy node sees, and keeps memory bounded
/// against an attacker with many addresses.
pub const INBOUND_HISTORY_MAX: usize = 4096;

/// Why an inbound connection was refused before its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundRefusal {
    /// The address is outside the `--netrestrict` networks.
    NotInNetrestrict,
    /// `max_pending` handshakes are already in progress.
    TooManyPending,
    /// The same address (IPv6: the same /64) attempted within [`INBOUND_THROTTLE`].
    TooManyAttempts,
    /// [`INBOUND_HISTORY_MAX`] distinct addresses attempted within [`INBOUND_THROTTLE`].
    HistoryFull,
}

impl fmt::Display for InboundRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InboundRefusal::NotInNetrestrict => "not in netrestrict list",
            InboundRefusal::TooManyPending => "too many pending inbound handshakes",
            InboundRefusal::TooManyAttempts => "too many attempts from this address",
            InboundRefusal::HistoryFull => "too many inbound attempts overall",
        })
    }
}

impl std::error::Error for InboundRefusal {}

/// Proof that one pending-handshake slot is held. Not `Clone`: giving it back to
/// [`InboundThrottle::release`] consumes it, so a slot cannot be released twice.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "the slot stays taken until the permit is released"]
pub struct InboundPermit {
    _private: (),
}

/// The inbound admission state: pending-handshake count and recent Internet addresses.
#[derive(Debug, Clone)]
pub struct InboundThrottle {
    max_pending: usize,
    pending: usize,
    netrestrict: Option<Netlist>,
    history: ExpiryHistory<IpAddr>,
}

impl InboundThrottle {
    /// A throttle admitting at most `max_pending` concurrent handshakes (0 means
    /// [`PENDING_INBOUND_MAX_DEFAULT`], as in go-ethereum) and, if `netrestrict` is set, only
    /// addresses inside it.
    pub fn new(max_pending: usize, netrestrict: Option<Netlist>) -> InboundThrottle {
        InboundThrottle {
            max_pending: if max_pending == 0 {
                PENDING_INBOUND_MAX_DEFAULT
            } else {
                max_pending
            },
            pending: 0,
            netrestrict,
            history: ExpiryHistory::new(),
        }
    }

    /// Decides whether a connection just accepted from `ip` may start its handshake. On success a
    /// pending slot is taken and the address (unless LAN) is remembered for [`INBOUND_THROTTLE`].
    /// A refusal takes nothing and remembers nothing, so a peer refused for being one too many
    /// may retry as soon as a slot frees.
    pub fn handle_inbound(
        &mut self,
        now: Mono,
        ip: IpAddr,
    ) -> Result<InboundPermit, InboundRefusal> {
        let ip = ip.to_canonical();
        if let Some(list) = &self.netrestrict
            && !list.contains(ip)
        {
            return Err(InboundRefusal::NotInNetrestrict);
        }
        if self.pending >= self.max_pending {
            return Err(InboundRefusal::TooManyPending);
        }
        if !is_lan(ip) {
            self.history.expire(now, |_| {});
            let key = throttle_key(ip);
            if self.history.contains(&key, now) {
                return Err(InboundRefusal::TooManyAttempts);
            }
            if self.history.len() >= INBOUND_HISTORY_MAX {
                return Err(InboundRefusal::HistoryFull);
            }
            self.history.add(key, now.saturating_add(INBOUND_THROTTLE));
        }
        self.pending += 1;
        Ok(InboundPermit { _private: () })
    }

    /// Frees the slot of a handshake that has ended (succeeded, failed or timed out).
    pub fn release(&mut self, permit: InboundPermit) {
        let InboundPermit { _private: () } = permit;
        self.pending = self.pending.saturating_sub(1);
    }

    /// Handshakes in progress.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The bound on handshakes in progress.
    pub fn max_pending(&self) -> usize {
        self.max_pending
    }

    /// Addresses currently remembered (a memory gauge; at most [`INBOUND_HISTORY_MAX`]).
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// Drops expired addresses. Not needed for correctness (admission expires lazily); the loop
    /// may call it on its housekeeping tick to release memory early.
    pub fn handle_timeout(&mut self, now: Mono) {
        self.history.expire(now, |_| {});
    }
}

/// The address the throttle remembers: an IPv4 address as is, an IPv6 address by its /64, since
/// one end site usually owns a whole /64 and could otherwise rotate through it to dodge the
/// per-address limit.
fn throttle_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from_bits(a.to_bits() & !u128::from(u64::MAX))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn same_internet_address_waits_30s() {
        let mut t = InboundThrottle::new(10, None);
        let p = t.handle_inbound(Mono(1_000), ip("203.0.113.5")).unwrap();
        t.release(p);
        assert_eq!(
            t.handle_inbound(Mono(1_000 + INBOUND_THROTTLE - 1), ip("203.0.113.5")),
            Err(InboundRefusal::TooManyAttempts)
        );
        assert!(
            t.handle_inbound(Mono(2_000), ip("203.0.113.6")).is_ok(),
            "other address"
        );
        assert!(
            t.handle_inbound(Mono(1_000 + INBOUND_THROTTLE), ip("203.0.113.5"))
                .is_ok()
        );
    }

    #[test]
    fn ipv4_mapped_counts_as_ipv4() {
        let mut t = InboundThrottle::new(10, None);
        let _p = t.handle_inbound(Mono(0), ip("203.0.113.5")).unwrap();
        assert_eq!(
            t.handle_inbound(Mono(1), ip("::ffff:203.0.113.5")),
            Err(InboundRefusal::TooManyAttempts)
        );
    }

    #[test]
    fn ipv6_throttled_per_64() {
        let mut t = InboundThrottle::new(10, None);
        let _p = t.handle_inbound(Mono(0), ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            t.handle_inbound(Mono(1), ip("2001:db8:1:2:ffff::9")),
            Err(InboundRefusal::TooManyAttempts)
        );
        assert!(t.handle_inbound(Mono(1), ip("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn loopback_and_lan_exempt() {
        let mut t = InboundThrottle::new(100, None);
        for s in ["127.0.0.1", "192.168.1.7", "10.0.0.1", "::1", "fd00::5"] {
            for i in 0..3 {
                assert!(t.handle_inbound(Mono(i), ip(s)).is_ok(), "{s} attempt {i}");
            }
        }
        assert_eq!(t.history_len(), 0, "LAN addresses are not remembered");
    }

    #[test]
    fn pending_bound_and_release() {
        let mut t = InboundThrottle::new(2, None);
        let a = t.handle_inbound(Mono(0), ip("127.0.0.1")).unwrap();
        let _b = t.handle_inbound(Mono(0), ip("127.0.0.1")).unwrap();
        assert_eq!(t.pending(), 2);
        assert_eq!(
            t.handle_inbound(Mono(0), ip("203.0.113.1")),
            Err(InboundRefusal::TooManyPending)
        );
        t.release(a);
        assert_eq!(t.pending(), 1);
        // The refusal above did not remember the address, so it may come in now.
        assert!(t.handle_inbound(Mono(1), ip("203.0.113.1")).is_ok());
    }

    #[test]
    fn zero_max_pending_means_default() {
        assert_eq!(
            InboundThrottle::new(0, None).max_pending(),
            PENDING_INBOUND_MAX_DEFAULT
        );
    }

    #[test]
    fn netrestrict_refuses_outsiders() {
        let list: Netlist = "10.0.0.0/8".parse().unwrap();
        let mut t = InboundThrottle::new(10, Some(list));
        assert_eq!(
            t.handle_inbound(Mono(0), ip("203.0.113.1")),
            Err(InboundRefusal::NotInNetrestrict)
        );
        assert_eq!(
            t.handle_inbound(Mono(0), ip("127.0.0.1")),
            Err(InboundRefusal::NotInNetrestrict),
            "netrestrict applies to loopback too"
        );
        assert!(t.handle_inbound(Mono(0), ip("10.9.9.9")).is_ok());
    }

    #[test]
    fn history_is_bounded_and_expires() {
        let mut t = InboundThrottle::new(usize::MAX, None);
        let mut permits = Vec::new();
        for i in 0..INBOUND_HISTORY_MAX as u32 {
            let a = IpAddr::V4((0x0800_0000 + i).into()); // 8.0.0.0 + i: Internet addresses
            permits.push(t.handle_inbound(Mono(0), a).unwrap());
        }
        assert_eq!(t.history_len(), INBOUND_HISTORY_MAX);
        assert_eq!(
            t.handle_inbound(Mono(1), ip("9.9.9.9")),
            Err(InboundRefusal::HistoryFull)
        );
        assert!(
            t.handle_inbound(Mono(1), ip("127.0.0.1")).is_ok(),
            "LAN unaffected"
        );
        assert!(
            t.handle_inbound(Mono(INBOUND_THROTTLE), ip("9.9.9.9"))
                .is_ok()
        );
        assert_eq!(t.history_len(), 1, "expired entries were dropped");
        t.handle_timeout(Mono(2 * INBOUND_THROTTLE));
        assert_eq!(t.history_len(), 0);
        for p in permits {
            t.release(p);
        }
    }
}
