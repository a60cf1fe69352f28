//! The node's periodic status lines, so a node at the default verbosity is not silent (geth's
//! `p2p/server.go` "Looking for peers" every 8 s below the peer limit), with the fields each
//! capability adds (eth: head, txs). Counters are the loop's own; nothing here touches a peer.

use std::time::{Duration, Instant};

use super::Server;
use crate::log;

/// How often the peer status line is written (geth: 8 s).
pub(super) const STATUS_INTERVAL: Duration = Duration::from_secs(8);

/// What the status lines remember between two writes.
#[derive(Debug)]
pub(super) struct StatusState {
    /// When the next peer status line is due.
    pub next_status: Instant,
    /// Dials started since the last peer status line (geth's `tried`).
    pub dials: usize,
}

impl StatusState {
    pub(super) fn new(now: Instant) -> Self {
        StatusState {
            next_status: now + STATUS_INTERVAL,
            dials: 0,
        }
    }

    /// When the next status line is due.
    pub(super) fn deadline(&self) -> Instant {
        self.next_status
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
            let fields: Vec<(&str, String)> =
                self.protocols.iter().flat_map(|p| p.status()).collect();
            let mut kv: Vec<(&str, &dyn std::fmt::Display)> = vec![
                ("peercount", &peers),
                ("tried", &tried),
                ("static", &statics),
            ];
            kv.extend(
                fields
                    .iter()
                    .map(|(k, v)| (*k, v as &dyn std::fmt::Display)),
            );
            if peers < self.node.max_peers() {
                log::info("Looking for peers", &kv);
            } else if !fields.is_empty() {
                log::info("Peer status", &kv);
            }
        }
    }
}
