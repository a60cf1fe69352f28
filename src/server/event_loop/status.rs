//! The node's periodic status lines, so a node at the default verbosity is not silent (geth's
//! `p2p/server.go` "Looking for peers" every 8 s below the peer limit, and the transaction pool's
//! periodic statistics). Counters are the loop's own; nothing here touches a peer.

use std::time::{Duration, Instant};

use super::Server;
use crate::eth::txs::TxStats;
use crate::log;

/// How often the peer status line is written (geth: 8 s).
pub(super) const STATUS_INTERVAL: Duration = Duration::from_secs(8);

/// How often transaction statistics are written, when they changed (geth's pool: 1 min).
pub(super) const TX_STATS_INTERVAL: Duration = Duration::from_secs(60);

/// What the status lines remember between two writes.
#[derive(Debug)]
pub(super) struct StatusState {
    /// When the next peer status line is due.
    pub next_status: Instant,
    /// Dials started since the last peer status line (geth's `tried`).
    pub dials: usize,
    /// When the next transaction statistics line is due, and what the last one said.
    pub next_tx_stats: Instant,
    pub last_tx_stats: TxStats,
    /// For the metrics: dials started and connections accepted since start, and how many of
    /// each became admitted peers; admitted sessions ended, by reason (bounded).
    pub dials_total: u64,
    pub serves_total: u64,
    pub dials_success: u64,
    pub serves_success: u64,
    pub drops: std::collections::BTreeMap<String, u64>,
}

impl StatusState {
    pub(super) fn new(now: Instant) -> Self {
        StatusState {
            next_status: now + STATUS_INTERVAL,
            dials: 0,
            next_tx_stats: now + TX_STATS_INTERVAL,
            last_tx_stats: TxStats::default(),
            dials_total: 0,
            serves_total: 0,
            dials_success: 0,
            serves_success: 0,
            drops: std::collections::BTreeMap::new(),
        }
    }

    /// The earliest status line due.
    pub(super) fn deadline(&self) -> Instant {
        self.next_status.min(self.next_tx_stats)
    }
}

impl Server {
    /// Writes the status lines that are due.
    pub(super) fn status_tick(&mut self, now: Instant) {
        if now >= self.status.next_status {
            self.status.next_status = now + STATUS_INTERVAL;
            let peers = self.node.peer_count();
            let tried = std::mem::take(&mut self.status.dials);
            let statics = self.node.static_count();
            let head = self.eth.as_ref().map(|e| e.manager.head().number);
            let txs = self.eth.as_ref().map(|e| e.manager.pool_len());
            let mut kv: Vec<(&str, &dyn std::fmt::Display)> = vec![
                ("peercount", &peers),
                ("tried", &tried),
                ("static", &statics),
            ];
            if let (Some(h), Some(t)) = (&head, &txs) {
                kv.push(("head", h));
                kv.push(("txs", t));
            }
            // Below the limit geth says it is looking; at the limit it has nothing to say, but
            // a node that serves a chain still reports its head.
            if peers < self.node.max_peers() {
                log::info("Looking for peers", &kv);
            } else if head.is_some() {
                log::info("Peer status", &kv);
            }
        }
        if now >= self.status.next_tx_stats {
            self.status.next_tx_stats = now + TX_STATS_INTERVAL;
            if let Some(e) = &self.eth {
                let t = e.manager.tx_stats();
                if t != self.status.last_tx_stats {
                    self.status.last_tx_stats = t;
                    log_tx_stats("Transaction propagation", &t);
                }
            }
        }
    }
}

/// One transaction statistics line.
pub(super) fn log_tx_stats(msg: &str, t: &TxStats) {
    log::info(
        msg,
        &[
            ("received", &t.received),
            ("duplicates", &t.duplicates),
            ("invalid", &t.invalid),
            ("added", &t.added),
            ("sent", &t.sent),
            ("announced", &t.announced),
        ],
    );
}
