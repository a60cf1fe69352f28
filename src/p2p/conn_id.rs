//! The id of one RLPx session (devp2p rlpx.md: a connection between two nodes). The node
//! numbers its connections from 1 and never reuses a number while the node runs; every layer
//! that names a peer (admission, the eth manager, its syncer and transaction handler) names it
//! by this id, so a connection is never confused with a count, a request id or an index.

/// One connection, from dial or accept to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConnId(pub u64);

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
