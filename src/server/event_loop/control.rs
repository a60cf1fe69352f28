//! The loop's side of [`crate::server::control`]: answering requests from outside, and telling
//! subscribers when peers come and go. Every answer is a `try_send` into the caller's own reply
//! channel: the loop never waits for a caller.

use super::Server;
use crate::dial::ConnKind;
use crate::log;
use crate::node::ConnId;
use crate::server::control::{
    Control, DROP_REASONS_MAX, MessageTraffic, MetricsSnapshot, PeerInfo, PeerNotice,
    SUBSCRIBERS_MAX,
};
use crate::server::events::CloseReason;
use crate::server::traffic::Traffic;

impl Server {
    /// Answers one request.
    pub(super) fn handle_control(&mut self, c: Control) {
        let now = self.now();
        match c {
            Control::Peers(reply) => {
                let peers = self
                    .node
                    .peers()
                    .filter_map(|(_, c)| {
                        let key = c.remote?;
                        let id = key.node_id();
                        Some(PeerInfo {
                            id,
                            key,
                            name: c.client_id.clone(),
                            addr: c.addr,
                            inbound: c.kind == ConnKind::Inbound,
                            trusted: self.node.trusts(&id),
                            is_static: c.kind == ConnKind::StaticDialed,
                            caps: c
                                .caps
                                .iter()
                                .flatten()
                                .map(|s| format!("{}/{}", s.capability.name, s.capability.version))
                                .collect(),
                        })
                    })
                    .collect();
                let _ = reply.try_send(peers);
            }
            Control::AddPeer {
                node,
                trusted,
                reply,
            } => {
                let r = if trusted {
                    self.node.add_trusted(node.node_id());
                    Ok(())
                } else {
                    self.node.add_static(now, &node)
                };
                log::debug(
                    "Peer added by request",
                    &[("id", &node.node_id()), ("trusted", &trusted)],
                );
                let _ = reply.try_send(r);
            }
            Control::RemovePeer { id, trusted, reply } => {
                let r = if trusted {
                    self.node.remove_trusted(&id)
                } else {
                    self.node.remove_static(now, &id)
                };
                let _ = reply.try_send(r);
            }
            Control::Protocol { name, run } => {
                match self.protocols.iter_mut().find(|p| p.name() == name) {
                    Some(p) => run(p.as_any_mut(), now),
                    // No such protocol: the request sees a state of no type, and says so.
                    None => run(&mut (), now),
                }
            }
            Control::Subscribe(tx) => {
                if self.subscribers.len() < SUBSCRIBERS_MAX {
                    self.subscribers.push(tx);
                }
                // Over the limit the sender is dropped here: the subscriber's stream ends.
            }
            Control::Metrics(reply) => {
                let _ = reply.try_send(self.metrics_snapshot());
            }
        }
    }

    /// The counters and gauges now.
    fn metrics_snapshot(&self) -> MetricsSnapshot {
        let (mut inbound, mut outbound) = (0, 0);
        for (_, c) in self.node.peers() {
            if c.kind == ConnKind::Inbound {
                inbound += 1;
            } else {
                outbound += 1;
            }
        }
        let st = &self.status;
        let mut m = MetricsSnapshot {
            peers: inbound + outbound,
            peers_inbound: inbound,
            peers_outbound: outbound,
            dials: st.dials_total,
            dials_success: st.dials_success,
            serves: st.serves_total,
            serves_success: st.serves_success,
            drops: st.drops.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            dial_errors: st.dial_errors.iter().map(|(k, v)| (*k, *v)).collect(),
            serve_errors: st.serve_errors.iter().map(|(k, v)| (*k, *v)).collect(),
            ingress: st.ingress_bytes,
            egress: st.egress_bytes,
            messages: st
                .messages
                .iter()
                .map(|((name, version, code), c)| MessageTraffic {
                    name: name.clone(),
                    version: *version,
                    code: *code,
                    in_packets: c.in_packets,
                    in_bytes: c.in_bytes,
                    out_packets: c.out_packets,
                    out_bytes: c.out_bytes,
                })
                .collect(),
            discover_ingress: st.discover_ingress,
            discover_throttled: st.discover_throttled,
            discover_egress: st.discover_egress,
            ..MetricsSnapshot::default()
        };
        if let Some(d) = &self.disc {
            let t = d.table();
            m.discover_nodes = Some(t.len() as u64);
            m.discover_buckets = (0..crate::discv4::table::BUCKET_COUNT)
                .map(|i| t.bucket_len(i) as u64)
                .collect();
        }
        for p in &self.protocols {
            p.fill_metrics(&mut m);
        }
        m
    }

    /// Adds a session's traffic report to the totals; each message id is named by the shared
    /// capability whose range holds it (base-protocol ids and ids outside every range count in
    /// the totals only).
    pub(super) fn count_traffic(&mut self, conn: ConnId, traffic: &Traffic) {
        self.status.ingress_bytes += traffic.ingress_bytes;
        self.status.egress_bytes += traffic.egress_bytes;
        let Some(caps) = self.node.conn(conn).and_then(|c| c.caps.as_ref()) else {
            return;
        };
        for (id, c) in traffic.used() {
            let Some(cap) = caps.iter().find(|cap| cap.contains(id)) else {
                continue;
            };
            let key = (
                cap.capability.name.clone(),
                cap.capability.version,
                id - cap.offset,
            );
            let t = self.status.messages.entry(key).or_default();
            t.in_packets += c.in_packets;
            t.in_bytes += c.in_bytes;
            t.out_packets += c.out_packets;
            t.out_bytes += c.out_bytes;
        }
    }

    /// Counts a connection that ended before it became a peer, by cause and by who dialed.
    pub(super) fn count_handshake_error(&mut self, conn: ConnId, reason: &CloseReason) {
        let Some(c) = self.node.conn(conn) else {
            return;
        };
        if c.caps.is_some() {
            return;
        }
        let cause = super::status::handshake_error_cause(c.remote.is_some(), reason);
        let map = match c.kind {
            ConnKind::Inbound => &mut self.status.serve_errors,
            _ => &mut self.status.dial_errors,
        };
        *map.entry(cause).or_default() += 1;
    }

    /// Counts an admitted peer (by who dialed) or an ended session (by reason) for the metrics.
    fn count_notice(&mut self, notice: &PeerNotice) {
        match notice {
            PeerNotice::Added { id, .. } => {
                let inbound = self.node.peers().any(|(_, c)| {
                    c.kind == ConnKind::Inbound && c.remote.map(|k| k.node_id()) == Some(*id)
                });
                if inbound {
                    self.status.serves_success += 1;
                } else {
                    self.status.dials_success += 1;
                }
            }
            PeerNotice::Dropped { reason, .. } => {
                let drops = &mut self.status.drops;
                let key = if drops.contains_key(reason) || drops.len() < DROP_REASONS_MAX - 1 {
                    reason.clone()
                } else {
                    "other".to_string()
                };
                *drops.entry(key).or_default() += 1;
            }
        }
    }

    /// Tells every subscriber; one whose queue is full (or gone) is dropped.
    pub(super) fn notify(&mut self, notice: PeerNotice) {
        self.count_notice(&notice);
        // Each subscriber's channel holds `NOTICE_QUEUE_MAX` notices: full means it fell behind.
        self.subscribers
            .retain(|tx| tx.try_send(notice.clone()).is_ok());
    }
}
