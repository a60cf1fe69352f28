//! The node's file descriptor budget: how many descriptors its configured limits may hold at
//! once, set against the process's `RLIMIT_NOFILE` (POSIX getrlimit/setrlimit). go-ethereum
//! raises its soft limit at start the same way (`common/fdlimit`).
//!
//! Every descriptor the node opens for the network is bounded by a limit of its own: admitted
//! peers (`--maxpeers`, plus static and trusted nodes, which may exceed it), handshakes in
//! progress (`--maxpendpeers`), dials in flight (at most a dial per peer slot), and each RPC
//! server's [`CONNECTIONS_MAX`](crate::rpc::CONNECTIONS_MAX). The store keeps at most
//! [`CACHED_FILES_MAX`](crate::storage::CACHED_FILES_MAX) table files open. The rest (sockets,
//! the poller, threads' wakers, the datadir lock, journals) fits in [`FDS_RESERVE`].
//!
//! When the limit is lower than the budget, nothing is refused at start: the node runs, and
//! when descriptors run out accept fails, the loop pauses accepting
//! ([`ACCEPT_ERROR_PAUSE`](crate::server::event_loop::ACCEPT_ERROR_PAUSE)) and serves what it
//! has (`tests/node_fdlimit.rs`).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors the node holds besides peers, handshakes, dials, RPC connections and the store's
/// table files: 64 (about 20 for an idle node with a chain store: listeners, UDP socket,
/// epoll, event fds, the datadir lock, the store's journal and directories; the rest is slack).
pub const FDS_RESERVE: u64 = 64;

/// What the node's limits may hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub peers: u64,
    pub pending: u64,
    pub dials: u64,
    pub rpc: u64,
    pub store: u64,
}

impl Budget {
    /// The budget for `max_peers` (plus `pinned` static and trusted nodes), `max_pending`
    /// handshakes, `rpc_servers` servers of [`crate::rpc::CONNECTIONS_MAX`] connections each, and
    /// a chain store if `store`.
    pub fn new(
        max_peers: usize,
        pinned: usize,
        max_pending: usize,
        rpc_servers: usize,
        store: bool,
    ) -> Budget {
        let peers = (max_peers + pinned) as u64;
        Budget {
            peers,
            pending: max_pending as u64,
            dials: peers,
            rpc: (rpc_servers * crate::rpc::CONNECTIONS_MAX) as u64,
            store: if store {
                crate::storage::CACHED_FILES_MAX as u64
            } else {
                0
            },
        }
    }

    /// Descriptors in all, with [`FDS_RESERVE`].
    pub fn total(&self) -> u64 {
        self.peers + self.pending + self.dials + self.rpc + self.store + FDS_RESERVE
    }
}

/// The process's descriptor limit, before and after [`raise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub before: u64,
    pub now: u64,
}

/// The soft `RLIMIT_NOFILE` now (`None` for no limit).
pub fn current() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// Raises the soft descriptor limit to `want`, or as far as the hard limit allows; never
/// lowers it. `None` when the limit cannot be read.
pub fn raise(want: u64) -> Option<Limit> {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let before = current?;
    if before >= want {
        return Some(Limit {
            before,
            now: before,
        });
    }
    let target = maximum.map_or(want, |hard| hard.min(want));
    let now = if target > before
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(target),
                maximum,
            },
        )
        .is_ok()
    {
        target
    } else {
        before
    };
    Some(Limit { before, now })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_node_fits_a_common_limit_of_1024() {
        // geth's defaults: 50 peers, 50 pending; HTTP, WS and metrics on; a chain store.
        let b = Budget::new(50, 0, 50, 3, true);
        assert_eq!(b.total(), 50 + 50 + 50 + 3 * 128 + 128 + 64);
        assert!(b.total() <= 1024, "{}", b.total());
    }

    #[test]
    fn raise_never_lowers_and_reports_what_it_read() {
        let before = current();
        let l = raise(1).expect("a limit");
        assert_eq!(Some(l.before), before);
        assert_eq!(l.now, l.before);
        assert_eq!(current(), before);
    }
}
