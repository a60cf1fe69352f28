//! Our external endpoint, predicted from what others see (devp2p `discv5-wire.md` "PONG
//! Response": `recipient-ip`, `recipient-port`), as go-ethereum's IP tracker does: each PONG is
//! one node's statement of the address our PING came from; when enough recent statements agree,
//! that address is where the network reaches us.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::crypto::NodeId;
use crate::time::{Millis, UnixMs};

/// Statements older than this no longer count (geth's `iptrackWindow`, 5 min).
pub const VOTE_WINDOW: Millis = 5 * 60 * 1000;
/// Statements needed before an endpoint is predicted (geth's `iptrackMinStatements`, 10).
pub const VOTES_MIN: usize = 10;
/// Voters remembered at most; the oldest statement goes first.
pub const VOTERS_MAX: usize = 256;

/// The latest statement of each voter.
#[derive(Debug, Default)]
pub struct EndpointVotes {
    votes: BTreeMap<NodeId, (SocketAddr, UnixMs)>,
}

impl EndpointVotes {
    /// No statements yet.
    pub fn new() -> EndpointVotes {
        EndpointVotes::default()
    }

    /// `voter` says our packets come from `addr`.
    pub fn add(&mut self, now: UnixMs, voter: NodeId, addr: SocketAddr) {
        self.votes
            .retain(|_, (_, at)| now.since(*at) <= VOTE_WINDOW);
        if self.votes.len() >= VOTERS_MAX
            && !self.votes.contains_key(&voter)
            && let Some(oldest) = self
                .votes
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(id, _)| *id)
        {
            self.votes.remove(&oldest);
        }
        self.votes.insert(voter, (addr, now));
    }

    /// The endpoint most recent statements name, when at least [`VOTES_MIN`] do and they are
    /// more than half of all recent statements.
    pub fn predict(&self, now: UnixMs) -> Option<SocketAddr> {
        let mut count: BTreeMap<SocketAddr, usize> = BTreeMap::new();
        let mut total = 0;
        for (addr, at) in self.votes.values() {
            if now.since(*at) <= VOTE_WINDOW {
                *count.entry(*addr).or_default() += 1;
                total += 1;
            }
        }
        let (addr, n) = count.into_iter().max_by_key(|(_, n)| *n)?;
        (n >= VOTES_MIN && 2 * n > total).then_some(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voter(i: u8) -> NodeId {
        NodeId([i; 32])
    }

    #[test]
    fn a_majority_of_ten_recent_statements_predicts() {
        let a: SocketAddr = "1.2.3.4:30303".parse().unwrap();
        let b: SocketAddr = "5.6.7.8:30303".parse().unwrap();
        let mut v = EndpointVotes::new();
        for i in 0..9 {
            v.add(UnixMs(0), voter(i), a);
        }
        assert_eq!(v.predict(UnixMs(0)), None, "nine are not enough");
        // One voter saying it twice is still one statement.
        v.add(UnixMs(1), voter(0), a);
        assert_eq!(v.predict(UnixMs(1)), None);
        v.add(UnixMs(1), voter(9), a);
        assert_eq!(v.predict(UnixMs(1)), Some(a));
        for i in 10..25 {
            v.add(UnixMs(2), voter(i), b);
        }
        assert_eq!(v.predict(UnixMs(2)), Some(b));
        // Statements expire.
        assert_eq!(v.predict(UnixMs(2 + VOTE_WINDOW + 1)), None);
    }
}
