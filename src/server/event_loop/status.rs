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
    /// For the metrics: dials started and connections accepted since start, and how many of
    /// each became admitted peers; admitted sessions ended, by reason (bounded).
    pub dials_total: u64,
    pub serves_total: u64,
    pub dials_success: u64,
    pub serves_success: u64,
    pub drops: std::collections::BTreeMap<String, u64>,
    /// For the metrics: connections that ended before becoming peers, by geth's cause names
    /// ([`handshake_error_cause`]), dialed and accepted apart; among the accepted also
    /// `throttled` (refused by the inbound throttle at accept) and `accept` (accept itself
    /// failed, e.g. out of file descriptors). Keys are a fixed set.
    pub dial_errors: std::collections::BTreeMap<&'static str, u64>,
    pub serve_errors: std::collections::BTreeMap<&'static str, u64>,
    /// For the metrics: bytes of RLPx frames read and written (every session, all messages),
    /// and per capability message (name, version, code): packets and bytes each way. Keys
    /// come from our own capabilities' code ranges, so the map is bounded by them.
    pub ingress_bytes: u64,
    pub egress_bytes: u64,
    pub messages: std::collections::BTreeMap<(String, u32, u64), MessageCounts>,
    /// For the metrics: discovery datagram bytes received and sent (v4 and v5).
    pub discover_ingress: u64,
    pub discover_egress: u64,
    /// For the metrics: v4 datagrams dropped unread by the per-IP rate or the request budget.
    pub discover_throttled: u64,
    /// When the last warn line about a failed accept was written.
    pub accept_warned: Option<Instant>,
}

/// One capability message's traffic since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    pub in_packets: u64,
    pub in_bytes: u64,
    pub out_packets: u64,
    pub out_bytes: u64,
}

/// Why a connection ended before it became a peer, in go-ethereum's metric words
/// (`p2p/dials/error/…`, `p2p/serves/error/…`): a refusal or a remote Disconnect by its reason,
/// a failure by the stage it reached (before the encryption handshake finished: `rlpx/enc`;
/// after it, in the Hello exchange: `rlpx/proto`).
pub fn handshake_error_cause(
    encrypted: bool,
    reason: &crate::server::events::CloseReason,
) -> &'static str {
    use crate::p2p::DisconnectReason as D;
    use crate::server::events::CloseReason;
    match reason {
        CloseReason::Local(r) | CloseReason::Remote(r) => match r {
            D::TooManyPeers => "saturated",
            D::AlreadyConnected => "known",
            D::ConnectedToSelf => "self",
            D::UselessPeer => "useless",
            D::UnexpectedIdentity => "id/unexpected",
            _ if !encrypted => "rlpx/enc",
            D::BreachOfProtocol | D::IncompatibleP2pVersion | D::NullNodeIdentity => "rlpx/proto",
            _ => "other",
        },
        CloseReason::Failed(_) if !encrypted => "rlpx/enc",
        CloseReason::Failed(_) => "rlpx/proto",
    }
}

impl StatusState {
    pub(super) fn new(now: Instant) -> Self {
        StatusState {
            next_status: now + STATUS_INTERVAL,
            dials: 0,
            dials_total: 0,
            serves_total: 0,
            dials_success: 0,
            serves_success: 0,
            drops: std::collections::BTreeMap::new(),
            dial_errors: std::collections::BTreeMap::new(),
            serve_errors: std::collections::BTreeMap::new(),
            ingress_bytes: 0,
            egress_bytes: 0,
            messages: std::collections::BTreeMap::new(),
            discover_ingress: 0,
            discover_egress: 0,
            discover_throttled: 0,
            accept_warned: None,
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
