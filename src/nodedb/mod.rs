//! The node database: what discovery v4 and v5 remember about other nodes across restarts
//! (devp2p discv4.md "Endpoint Proof" and "Kademlia Table", discv5-theory.md "Node Table"; the
//! role go-ethereum's `p2p/enode/nodedb.go` plays for both), kept on disk with fjall.
//!
//! Per node (keyed by its 32-byte node id, the same for both versions) it holds the endpoint, the
//! public key, the node's latest ENR (raw RLP), when we last received a v4 Ping and a v4 Pong
//! from it and when it last answered us over v5 (unix seconds), and how many v4 FindNode
//! requests to it failed in a row. On start each table is seeded from nodes seen over its version
//! in the last [`SEED_AGE_MAX`] seconds (v5 needs the ENR too); nodes unseen over either version
//! for [`EXPIRE_UNSEEN`] seconds are removed every [`EXPIRE_INTERVAL`]. "Seen" means an answer
//! that proves the endpoint: a v4 Pong echoes our Ping's hash, a v5 response is sealed with the
//! session's keys and came from the endpoint the node's record names, whereas a v4 Ping's UDP
//! source can be spoofed.
//!
//! The database is a cache, as in go-ethereum: a schema mismatch is wiped and rebuilt, a corrupt
//! value is skipped, and losing the last few seconds of updates to a power cut is acceptable as
//! long as the store still opens. (A database fjall cannot recover is an error: it is shared with
//! the chain store, which is not a cache.) Three parts:
//!
//! - this file: [`NodeRecord`] and its compact, defensively decoded value layout;
//! - [`store`]: [`NodeDb`], the synchronous store, one keyspace of the datadir's database
//!   ([`crate::storage`]);
//! - [`handle`]: [`NodeDbHandle`], the event loop's front-end on the storage thread
//!   ([`crate::storage::worker`]) that owns the store, so disk I/O (and fjall's write stalls)
//!   never run on the loop.

pub mod handle;
pub mod store;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::crypto::{NodeId, PublicKey};
use crate::enode::Enode;
use crate::enr::ENR_SIZE_MAX;
use crate::rlp::strict;

pub use handle::{HandleConfig, NodeDbHandle};
pub use store::{DbCheck, NodeDb, NodeDbError};

/// How far back a Pong may be for its node to seed the table at start: 5 days, the age
/// go-ethereum's `seedMaxAge` uses, long enough to survive a node being off over a weekend.
pub const SEED_AGE_MAX: u64 = 5 * 24 * 3600;

/// How long a node may go without a Pong before the hourly expiry removes it: 24 hours
/// (go-ethereum's `dbNodeExpiration`). The table refreshes live nodes far more often than that.
pub const EXPIRE_UNSEEN: u64 = 24 * 3600;

/// How often expired nodes are removed: hourly (go-ethereum's `dbCleanupCycle`).
pub const EXPIRE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Value layout tag for a node reached over IPv4; the address that follows is 4 bytes.
const TAG_IPV4: u8 = 4;
/// Value layout tag for a node reached over IPv6; the address that follows is 16 bytes.
const TAG_IPV6: u8 = 6;
/// Bytes of a value before the optional ENR, with an IPv6 address (the longer form): tag, key,
/// address, two ports, two v4 timestamps, the failure count and the v5 timestamp.
const FIXED_LEN_MAX: usize = 1 + 64 + 16 + 2 + 2 + 8 + 8 + 4 + 8;
/// Longest value ever written or accepted: the fixed part plus an ENR of at most
/// [`ENR_SIZE_MAX`] bytes (EIP-778). Anything longer is corrupt.
pub const VALUE_SIZE_MAX: usize = FIXED_LEN_MAX + ENR_SIZE_MAX;

/// Everything the node database keeps about one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// The node's public key; its keccak-256 is the node id the record is stored under.
    pub key: PublicKey,
    /// The node's IP address.
    pub ip: IpAddr,
    /// Its discovery (UDP) port.
    pub udp: u16,
    /// Its RLPx (TCP) port; 0 when it does not accept connections.
    pub tcp: u16,
    /// Its latest ENR as raw RLP, at most [`ENR_SIZE_MAX`] bytes, when we have one.
    pub enr: Option<Vec<u8>>,
    /// When we last received a Ping from it (unix seconds; 0 = never).
    pub last_ping_received: u64,
    /// When we last received a Pong from it (unix seconds; 0 = never). This is "last seen".
    pub last_pong_received: u64,
    /// FindNode requests to it that failed in a row.
    pub findnode_failures: u32,
    /// When it last answered us over discovery v5 from its record's endpoint (unix seconds;
    /// 0 = never). v5's "last seen".
    pub last_seen_v5: u64,
}

impl NodeRecord {
    /// A record for a node with no history yet.
    pub fn new(key: PublicKey, ip: IpAddr, udp: u16, tcp: u16) -> Self {
        NodeRecord {
            key,
            ip,
            udp,
            tcp,
            enr: None,
            last_ping_received: 0,
            last_pong_received: 0,
            findnode_failures: 0,
            last_seen_v5: 0,
        }
    }

    /// When the node last proved its endpoint over either version (unix seconds; 0 = never).
    pub fn last_seen(&self) -> u64 {
        self.last_pong_received.max(self.last_seen_v5)
    }

    /// The node id the record is stored under.
    pub fn id(&self) -> NodeId {
        self.key.node_id()
    }

    /// The node's address as an enode.
    pub fn enode(&self) -> Enode {
        Enode::new(self.key, self.ip, self.tcp, self.udp)
    }

    /// The compact value stored on disk:
    /// `tag (4|6) || key[64] || ip[4|16] || udp[2] || tcp[2] || last_ping[8] || last_pong[8] ||
    /// findnode_failures[4] || last_seen_v5[8] || enr[0..=300]`, integers big-endian. A fixed layout rather than RLP
    /// because every field but the ENR has a fixed size, so decoding is a handful of bounded
    /// slices. An ENR longer than [`ENR_SIZE_MAX`] is refused.
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        let enr = self.enr.as_deref().unwrap_or_default();
        if enr.len() > ENR_SIZE_MAX {
            return Err(RecordError::EnrTooLarge(enr.len()));
        }
        let mut out = Vec::with_capacity(FIXED_LEN_MAX + enr.len());
        match self.ip {
            IpAddr::V4(ip) => {
                out.push(TAG_IPV4);
                out.extend_from_slice(&self.key.to_bytes());
                out.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.push(TAG_IPV6);
                out.extend_from_slice(&self.key.to_bytes());
                out.extend_from_slice(&ip.octets());
            }
        }
        out.extend_from_slice(&self.udp.to_be_bytes());
        out.extend_from_slice(&self.tcp.to_be_bytes());
        out.extend_from_slice(&self.last_ping_received.to_be_bytes());
        out.extend_from_slice(&self.last_pong_received.to_be_bytes());
        out.extend_from_slice(&self.findnode_failures.to_be_bytes());
        out.extend_from_slice(&self.last_seen_v5.to_be_bytes());
        out.extend_from_slice(enr);
        Ok(out)
    }

    /// Reads a stored value back. Every length is checked before use, the key must be a curve
    /// point and the ENR (if any) one canonical RLP item; anything else is [`RecordError`], never
    /// a panic.
    pub fn decode(value: &[u8]) -> Result<NodeRecord, RecordError> {
        if value.len() > VALUE_SIZE_MAX {
            return Err(RecordError::TooLong(value.len()));
        }
        let mut r = Reader(value);
        let tag = r.array::<1>()?[0];
        let key = PublicKey::from_bytes(&r.array::<64>()?).map_err(|_| RecordError::PublicKey)?;
        let ip = match tag {
            TAG_IPV4 => IpAddr::V4(Ipv4Addr::from(r.array::<4>()?)),
            TAG_IPV6 => IpAddr::V6(Ipv6Addr::from(r.array::<16>()?)),
            other => return Err(RecordError::Tag(other)),
        };
        let udp = u16::from_be_bytes(r.array()?);
        let tcp = u16::from_be_bytes(r.array()?);
        let last_ping_received = u64::from_be_bytes(r.array()?);
        let last_pong_received = u64::from_be_bytes(r.array()?);
        let findnode_failures = u32::from_be_bytes(r.array()?);
        let last_seen_v5 = u64::from_be_bytes(r.array()?);
        let enr = match r.0 {
            [] => None,
            rest => {
                strict::validate(rest).map_err(|_| RecordError::EnrNotRlp)?;
                Some(rest.to_vec())
            }
        };
        Ok(NodeRecord {
            key,
            ip,
            udp,
            tcp,
            enr,
            last_ping_received,
            last_pong_received,
            findnode_failures,
            last_seen_v5,
        })
    }
}

/// A cursor over a stored value that hands out fixed-size pieces or reports truncation.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(RecordError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }
}

/// Why a stored value is not a node record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// The value ends inside its fixed part.
    Truncated,
    /// The value is longer than [`VALUE_SIZE_MAX`].
    TooLong(usize),
    /// The layout tag is neither 4 nor 6.
    Tag(u8),
    /// The 64 key bytes are not a secp256k1 point.
    PublicKey,
    /// The key does not hash to the id the value is stored under.
    IdMismatch,
    /// An ENR longer than [`ENR_SIZE_MAX`] bytes was to be stored.
    EnrTooLarge(usize),
    /// The ENR bytes are not one canonical RLP item.
    EnrNotRlp,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated => write!(f, "node record value is truncated"),
            RecordError::TooLong(n) => {
                write!(f, "node record value is {n} bytes, over {VALUE_SIZE_MAX}")
            }
            RecordError::Tag(t) => write!(f, "node record value has unknown tag {t}"),
            RecordError::PublicKey => write!(f, "node record key is not a secp256k1 point"),
            RecordError::IdMismatch => write!(f, "node record key does not match its id"),
            RecordError::EnrTooLarge(n) => {
                write!(f, "ENR of {n} bytes is over the {ENR_SIZE_MAX}-byte limit")
            }
            RecordError::EnrNotRlp => write!(f, "node record ENR is not canonical RLP"),
        }
    }
}

impl std::error::Error for RecordError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    fn key(seed: u8) -> PublicKey {
        SecretKey::from_bytes(&[seed; 32]).unwrap().public_key()
    }

    fn sample() -> NodeRecord {
        NodeRecord {
            key: key(7),
            ip: "10.1.2.3".parse().unwrap(),
            udp: 30303,
            tcp: 30304,
            // An RLP list of two one-byte strings stands in for a record; the layout keeps the
            // ENR bytes as they are, checking only that they are one RLP item.
            enr: Some(vec![0xc2, 0x01, 0x02]),
            last_ping_received: 1_700_000_000,
            last_pong_received: 1_700_000_005,
            findnode_failures: 3,
            last_seen_v5: 1_700_000_009,
        }
    }

    #[test]
    fn record_round_trips_for_both_families() {
        let v4 = sample();
        assert_eq!(NodeRecord::decode(&v4.encode().unwrap()).unwrap(), v4);
        let mut v6 = sample();
        v6.ip = "2001:db8::1".parse().unwrap();
        v6.enr = None;
        let bytes = v6.encode().unwrap();
        assert_eq!(bytes.len(), FIXED_LEN_MAX);
        assert_eq!(NodeRecord::decode(&bytes).unwrap(), v6);
    }

    #[test]
    fn every_truncation_and_bad_field_is_an_error() {
        let bytes = sample().encode().unwrap();
        // Cutting inside the fixed part truncates; cutting inside the ENR breaks its RLP; cutting
        // exactly at the end of the fixed part leaves a valid record without an ENR.
        let fixed = bytes.len() - 3;
        for n in 0..bytes.len() {
            let got = NodeRecord::decode(&bytes[..n]);
            if n == fixed {
                assert_eq!(got.map(|r| r.enr), Ok(None), "prefix {n}");
            } else {
                assert!(got.is_err(), "prefix {n} decoded");
            }
        }
        let mut bad_tag = bytes.clone();
        bad_tag[0] = 5;
        assert_eq!(NodeRecord::decode(&bad_tag), Err(RecordError::Tag(5)));
        let mut bad_key = bytes.clone();
        bad_key[1..65].fill(0xff);
        assert_eq!(NodeRecord::decode(&bad_key), Err(RecordError::PublicKey));
        let long = vec![TAG_IPV4; VALUE_SIZE_MAX + 1];
        assert_eq!(
            NodeRecord::decode(&long),
            Err(RecordError::TooLong(VALUE_SIZE_MAX + 1))
        );
    }

    #[test]
    fn oversized_enr_is_refused_on_encode() {
        let mut r = sample();
        r.enr = Some(vec![0x80; ENR_SIZE_MAX + 1]);
        assert_eq!(r.encode(), Err(RecordError::EnrTooLarge(ENR_SIZE_MAX + 1)));
    }
}
