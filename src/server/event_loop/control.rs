//! The loop's side of [`crate::server::control`]: answering requests from outside, and telling
//! subscribers when peers come and go. Every answer is a `try_send` into the caller's own reply
//! channel: the loop never waits for a caller.

use super::Server;
use crate::dial::ConnKind;
use crate::log;
use crate::server::control::{Control, PeerInfo, PeerNotice, SUBSCRIBERS_MAX};

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
                        let id = c.remote?.node_id();
                        Some(PeerInfo {
                            id,
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
                if let Some(p) = self.protocols.iter_mut().find(|p| p.name() == name) {
                    run(p.as_any_mut());
                }
            }
            Control::Subscribe(tx) => {
                if self.subscribers.len() < SUBSCRIBERS_MAX {
                    self.subscribers.push(tx);
                }
                // Over the limit the sender is dropped here: the subscriber's stream ends.
            }
        }
    }

    /// Tells every subscriber; one whose queue is full (or gone) is dropped.
    pub(super) fn notify(&mut self, notice: PeerNotice) {
        // Each subscriber's channel holds `NOTICE_QUEUE_MAX` notices: full means it fell behind.
        self.subscribers
            .retain(|tx| tx.try_send(notice.clone()).is_ok());
    }
}
