//! The vocabulary of a sync run (devp2p caps/eth.md "Chain Synchronization"): the syncer's
//! tunables ([`SyncConfig`]), what a peer can serve ([`PeerView`]), what one request asks for ([`Want`]), what a run reports ([`Event`]),
//! and which peers failed a work item ([`Fails`]), which decides who is asked next.
//!
//! A peer that answered empty or timed out once is asked for the item again only when no other
//! peer that could serve it has not failed it; twice, never. When every capable peer gave up on
//! an item, nobody has it: the downloader then stores a block without its receipts, lowers the
//! target below headers nobody has, or fails the run for a body nobody has.

use crate::eth::wire::EthVersion;
use crate::eth::wire::Hash;

pub use crate::p2p::ConnId;

/// The most peers one work item remembers as having failed it. Beyond this the oldest is
/// forgotten (it may then be asked again, which costs at most one more failed request).
const FAILS_PEERS_MAX: usize = 16;

/// An item a peer failed this many times is never asked of it again: a peer that answered
/// empty twice for an item it should have does not have it.
const FAILS_GIVE_UP: u8 = 2;

/// The syncer's tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// A new peer starts a sync when at least this many peers are connected: 5, go-ethereum's
    /// `minPeers` for its chain syncer.
    pub min_peers: usize,
    /// Every this many ms a sync starts with the best peer even with fewer peers: 10 s,
    /// go-ethereum's `forceSyncCycle`.
    pub force_interval: u64,
    /// A request unanswered this long (ms) is retried on another peer: 5 s, within
    /// go-ethereum's adaptive request TTL range.
    pub request_timeout: u64,
    /// Headers per request: 192, go-ethereum's `MaxHeaderFetch`.
    pub headers_per_request: u64,
    /// Bodies per request: 128, go-ethereum's `MaxBlockFetch`.
    pub bodies_per_request: usize,
    /// Receipt lists per request: 64 (go-ethereum asks up to 256; fewer keeps one reply of a
    /// block-heavy chain near the 2 MiB soft limit).
    pub receipts_per_request: usize,
    /// Fetched-but-unwritten blocks at most: 1024. Blocks of today's mainnet average well under
    /// 200 KB with receipts, so about 200 MB at worst on mainnet and far less on small chains.
    pub blocks_buffered_max: usize,
    /// Headers fetched above the written head at most: 2048 (about 1.3 MB of headers).
    pub headers_buffered_max: usize,
    /// Blocks per Write: 128, so one write batch stays a few MB.
    pub write_batch_max: usize,
    /// Writes handed to the storage thread and not yet confirmed: 2, so one is applied while
    /// the next is prepared.
    pub writes_in_flight_max: usize,
    /// Whether to fetch receipts (a node that serves them needs them).
    pub receipts: bool,
    /// Whether the chain is past the merge: peers are then ranked by head number; before it,
    /// eth/68 peers are ranked by total difficulty first.
    pub merged: bool,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            min_peers: 5,
            force_interval: 10_000,
            request_timeout: 5_000,
            headers_per_request: 192,
            bodies_per_request: 128,
            receipts_per_request: 64,
            blocks_buffered_max: 1024,
            headers_buffered_max: 2048,
            write_batch_max: 128,
            writes_in_flight_max: 2,
            receipts: true,
            merged: true,
        }
    }
}

/// What a peer can serve, as the syncer knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerView {
    /// The peer's connection id.
    pub id: ConnId,
    /// Its eth version.
    pub version: EthVersion,
    /// Its head number.
    pub number: u64,
    /// The earliest block it serves (eth/69+; 0 on eth/68).
    pub earliest: u64,
}

impl PeerView {
    /// Whether the peer should have every block in `lo..=hi`.
    pub fn serves(&self, lo: u64, hi: u64) -> bool {
        self.number >= hi && self.earliest <= lo
    }
}

/// One request's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// The headers `start ..= start + count - 1`.
    Headers { start: u64, count: u64 },
    /// The bodies of these blocks.
    Bodies(Vec<u64>),
    /// The receipts of these blocks; the first block's list from receipt `first_index` on
    /// (eth/70; 0 otherwise).
    Receipts { numbers: Vec<u64>, first_index: u64 },
}

/// What the run asks the syncer to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The peer served data that fails verification.
    Drop { peer: ConnId, why: String },
    /// The peer's header at our head number is another block: its chain does not contain our
    /// head.
    Foreign {
        peer: ConnId,
        number: u64,
        theirs: Hash,
    },
    /// No peer could send this block's receipts (all that should have answered empty): it is
    /// stored without them.
    ReceiptsUnavailable { number: u64, hash: Hash },
}

/// Peers that failed one work item, with how often.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fails(Vec<(ConnId, u8)>);

impl Fails {
    pub(crate) fn count(&self, peer: ConnId) -> u8 {
        self.0
            .iter()
            .find(|(p, _)| *p == peer)
            .map_or(0, |(_, c)| *c)
    }

    pub(crate) fn add(&mut self, peer: ConnId) {
        if let Some(entry) = self.0.iter_mut().find(|(p, _)| *p == peer) {
            entry.1 = entry.1.saturating_add(1);
            return;
        }
        if self.0.len() >= FAILS_PEERS_MAX {
            self.0.remove(0);
        }
        self.0.push((peer, 1));
    }

    /// Whether `peer` may be asked for an item covering `lo..=hi`: it serves the range, has not
    /// given up on it, and if it failed it once no other peer that has not is there.
    pub(crate) fn may_ask(&self, peer: &PeerView, lo: u64, hi: u64, peers: &[PeerView]) -> bool {
        if !peer.serves(lo, hi) {
            return false;
        }
        match self.count(peer.id) {
            0 => true,
            c if c >= FAILS_GIVE_UP => false,
            _ => !peers
                .iter()
                .any(|q| q.id != peer.id && q.serves(lo, hi) && self.count(q.id) == 0),
        }
    }

    /// Whether every peer that should have the item gave up on it (false when none should).
    pub(crate) fn all_gave_up(&self, lo: u64, hi: u64, peers: &[PeerView]) -> bool {
        let mut capable = peers.iter().filter(|q| q.serves(lo, hi)).peekable();
        capable.peek().is_some() && capable.all(|q| self.count(q.id) >= FAILS_GIVE_UP)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An eth/69 peer at `number` serving from `earliest` (shared with the downloader's tests).
    pub(crate) fn view(id: ConnId, number: u64, earliest: u64) -> PeerView {
        PeerView {
            id,
            version: EthVersion::Eth69,
            number,
            earliest,
        }
    }

    #[test]
    fn a_failed_peer_is_asked_again_only_when_no_other_can() {
        let peers = [
            view(ConnId(1), 100, 0),
            view(ConnId(2), 100, 0),
            view(ConnId(3), 50, 0),
        ];
        let mut f = Fails::default();
        assert!(f.may_ask(&peers[0], 10, 60, &peers));
        assert!(!f.may_ask(&peers[2], 10, 60, &peers), "peer 3 is behind");
        f.add(ConnId(1));
        assert!(
            !f.may_ask(&peers[0], 10, 60, &peers),
            "peer 2 should go first"
        );
        f.add(ConnId(2));
        assert!(f.may_ask(&peers[0], 10, 60, &peers));
        assert!(!f.all_gave_up(10, 60, &peers));
        f.add(ConnId(1));
        f.add(ConnId(2));
        assert!(!f.may_ask(&peers[0], 10, 60, &peers));
        assert!(f.all_gave_up(10, 60, &peers));
        assert!(
            !f.all_gave_up(10, 60, &[]),
            "nobody capable is not giving up"
        );
    }

    #[test]
    fn fails_remember_a_bounded_number_of_peers() {
        let mut f = Fails::default();
        for p in 0..100 {
            f.add(ConnId(p));
        }
        assert_eq!(f.0.len(), FAILS_PEERS_MAX);
        assert_eq!(f.count(ConnId(99)), 1);
        assert_eq!(f.count(ConnId(0)), 0);
    }

    #[test]
    fn earliest_limits_what_a_peer_serves() {
        let p = view(ConnId(1), 1000, 500);
        assert!(p.serves(500, 1000));
        assert!(!p.serves(499, 600));
        assert!(!p.serves(600, 1001));
    }
}
