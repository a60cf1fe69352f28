//! A per-IP packet rate limit for discovery (a token bucket per sender address).
//!
//! discv4.md leaves flood protection to implementations; this one bounds the work any single
//! address can make us do (decoding, signature recovery, replies). Loopback is exempt so local
//! tests and tools are never throttled. Memory is bounded: when the map is full, the address
//! seen longest ago is forgotten (it starts again with a full bucket, which costs at most one
//! burst).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::time::UnixMs;

/// Packets one IP may send per second on average.
pub const PACKETS_PER_IP_PER_SEC: u32 = 50;
/// The burst a quiet IP may send at once.
pub const PACKETS_PER_IP_BURST: u32 = 100;
/// IPs whose rate is tracked at most.
pub const RATE_TRACKED_IPS_MAX: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u32,
    at: UnixMs,
}

impl Bucket {
    /// Refills `per_sec` tokens a second up to `burst`, then takes one if there is one.
    fn take(&mut self, now: UnixMs, per_sec: u32, burst: u32) -> bool {
        let refill = now.since(self.at) * u64::from(per_sec) / 1000;
        if refill > 0 {
            let refill = u32::try_from(refill).unwrap_or(u32::MAX);
            self.tokens = self.tokens.saturating_add(refill).min(burst);
            self.at = now;
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

/// Token buckets by sender IP.
#[derive(Debug, Default)]
pub struct RateLimit {
    buckets: BTreeMap<IpAddr, Bucket>,
}

impl RateLimit {
    /// An empty limiter.
    pub fn new() -> RateLimit {
        RateLimit::default()
    }

    /// Whether a packet from `ip` at `now` may be processed; takes a token if so.
    pub fn allow(&mut self, now: UnixMs, ip: IpAddr) -> bool {
        if ip.is_loopback() {
            return true;
        }
        if !self.buckets.contains_key(&ip)
            && self.buckets.len() >= RATE_TRACKED_IPS_MAX
            && let Some(old) = self
                .buckets
                .iter()
                .min_by_key(|(k, b)| (b.at, **k))
                .map(|(k, _)| *k)
        {
            self.buckets.remove(&old);
        }
        self.buckets
            .entry(ip)
            .or_insert(Bucket {
                tokens: PACKETS_PER_IP_BURST,
                at: now,
            })
            .take(now, PACKETS_PER_IP_PER_SEC, PACKETS_PER_IP_BURST)
    }

    /// How many addresses are tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no address is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// Requests processed per second from all senders together: 1000, with a burst as large. A
/// request (Ping, FindNode, ENRRequest, or anything that is not a reply we await) costs a
/// signature recovery and a signed answer, and often a signed Ping of our own; 1000 a second is
/// about a seventh of a core in a release build, and tens of times what a node on a public
/// network is sent. Past it, requests are dropped before they are decoded, so a flood from many
/// addresses (each within [`PACKETS_PER_IP_PER_SEC`]) cannot take the loop's time, and the
/// replies we await (revalidations of the table's entries among them) are still read: they are
/// exempt. Loopback is exempt, as above.
pub const REQUESTS_PER_SEC: u32 = 1000;

/// One token bucket for the requests of all senders together ([`REQUESTS_PER_SEC`]).
#[derive(Debug)]
pub struct RequestBudget {
    bucket: Bucket,
}

impl RequestBudget {
    /// A full bucket at `now`.
    pub fn new(now: UnixMs) -> RequestBudget {
        RequestBudget {
            bucket: Bucket {
                tokens: REQUESTS_PER_SEC,
                at: now,
            },
        }
    }

    /// Whether a request from `ip` at `now` may be processed; takes a token if so.
    pub fn allow(&mut self, now: UnixMs, ip: IpAddr) -> bool {
        if ip.is_loopback() {
            return true;
        }
        self.bucket.take(now, REQUESTS_PER_SEC, REQUESTS_PER_SEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_from_one_ip_is_cut_to_its_rate_and_loopback_is_exempt() {
        let mut r = RateLimit::new();
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let allowed = (0..1000).filter(|_| r.allow(UnixMs(0), ip)).count();
        assert_eq!(
            allowed, PACKETS_PER_IP_BURST as usize,
            "a burst, then nothing"
        );
        // One second later, one second's worth of tokens.
        let allowed = (0..1000).filter(|_| r.allow(UnixMs(1000), ip)).count();
        assert_eq!(allowed, PACKETS_PER_IP_PER_SEC as usize);
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!((0..10_000).all(|_| r.allow(UnixMs(0), lo)));
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(
            r.allow(UnixMs(1000), other),
            "other senders are not affected"
        );
    }

    #[test]
    fn the_request_budget_holds_all_senders_together_to_its_rate() {
        let mut b = RequestBudget::new(UnixMs(0));
        let ip = |i: u32| IpAddr::V4(std::net::Ipv4Addr::from(0xc612_0000 + i));
        let allowed = (0..5000).filter(|i| b.allow(UnixMs(0), ip(*i))).count();
        assert_eq!(allowed, REQUESTS_PER_SEC as usize, "a burst, then nothing");
        let allowed = (0..5000).filter(|i| b.allow(UnixMs(500), ip(*i))).count();
        assert_eq!(
            allowed,
            REQUESTS_PER_SEC as usize / 2,
            "half a second's worth"
        );
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(b.allow(UnixMs(500), lo), "loopback is exempt");
    }

    #[test]
    fn memory_is_bounded() {
        let mut r = RateLimit::new();
        for i in 0..(RATE_TRACKED_IPS_MAX as u32 + 100) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            r.allow(UnixMs(u64::from(i)), ip);
        }
        assert_eq!(r.len(), RATE_TRACKED_IPS_MAX);
    }
}
