//! The discovery state machine's handlers for incoming packets (devp2p discv4.md "Ping Packet"
//! to "ENRResponse Packet"): each answers, proves endpoints, matches replies to requests and
//! feeds the table and lookups. The state they change is [`super::Discovery`]'s.

use super::*;

impl Discovery {
    pub(super) fn on_ping(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        sender: PublicKey,
        hash: [u8; 32],
        p: Ping,
    ) -> Result<(), Dropped> {
        let id = sender.node_id();
        let pong = Packet::Pong(Pong {
            to: Endpoint {
                ip: Some(from.ip()),
                udp: from.port(),
                tcp: p.from.tcp,
            },
            ping_hash: hash,
            expiration: packet::expiration_from(now.secs()),
            enr_seq: Some(self.record.seq()),
        });
        self.send(from, &pong);
        let bond = self.bond_mut(id, now);
        bond.last_ping_received = Some(now);
        let proven = bond
            .last_pong
            .is_some_and(|(t, ip)| ip == from.ip() && now.since(t) < BOND_EXPIRATION);
        self.events
            .push_back(Event::Store(StoreOp::PingReceived { id, at: now }));
        let mut node = Node::new(sender, from.ip(), from.port(), p.from.tcp);
        node.enr_seq = p.enr_seq.unwrap_or(0);
        if proven {
            let _ = self.table.add_verified(now, node);
        } else {
            // The sender is not proven to us yet: ping it back, and add it when it answers.
            self.send_ping(now, id, from, Some(node), PingPurpose::Bond);
        }
        // Requests that waited for this node to bond with us can go now.
        let (ready, keep): (Vec<_>, Vec<_>) =
            self.deferred.drain(..).partition(|d| d.node.id == id);
        self.deferred = keep;
        for d in ready {
            self.send_deferred(now, d);
        }
        Ok(())
    }

    pub(super) fn on_pong(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        sender_id: NodeId,
        p: Pong,
    ) -> Result<(), Dropped> {
        let pos = self.pending.iter().position(|q| {
            matches!(q, Pending::Ping { hash, to, addr, purpose, .. }
                if *hash == p.ping_hash
                    && (*to == sender_id || *purpose == PingPurpose::Explicit)
                    && addr.ip() == from.ip())
        });
        let Some(pos) = pos else {
            return Err(Dropped::Unsolicited);
        };
        let Pending::Ping { node, purpose, .. } = self.pending.swap_remove(pos) else {
            unreachable!("matched a Ping above");
        };
        let bond = self.bond_mut(sender_id, now);
        bond.last_pong = Some((now, from.ip()));
        match purpose {
            PingPurpose::Explicit => self.events.push_back(Event::PingResult {
                to: from,
                pong: Some((sender_id, p.enr_seq)),
            }),
            PingPurpose::Revalidate => {
                if let Revalidated::Alive { enr_changed: true } = self
                    .table
                    .handle_revalidation_result(now, &sender_id, true, p.enr_seq)
                    && let Some(n) = node.clone()
                {
                    self.request_bonded(now, n, DeferredRequest::Enr);
                }
            }
            PingPurpose::Bond => {}
        }
        if let Some(mut n) = node
            && n.id == sender_id
        {
            if let Some(seq) = p.enr_seq {
                n.enr_seq = n.enr_seq.max(seq);
            }
            self.events.push_back(Event::Store(StoreOp::Verified {
                node: n.clone(),
                at: now,
            }));
            let _ = self.table.add_verified(now, n);
        }
        Ok(())
    }

    pub(super) fn on_findnode(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        sender_id: NodeId,
        f: FindNode,
    ) -> Result<(), Dropped> {
        if !self.proven(&sender_id, from.ip(), now) {
            // No endpoint proof: answering would let anyone aim our Neighbors at a victim.
            return Err(Dropped::NoBond);
        }
        // One more than we answer with, since the asker itself is left out: a reply short of
        // FINDNODE_RESULT_NODES keeps the asker waiting for more until its deadline.
        let closest = self
            .table
            .closest_live(&f.target_id(), FINDNODE_RESULT_NODES + 1);
        let nodes: Vec<packet::Node> = closest
            .iter()
            .filter(|n| n.id != sender_id)
            .take(FINDNODE_RESULT_NODES)
            .map(|n| packet::Node {
                ip: n.ip,
                udp: n.udp,
                tcp: n.tcp,
                id: n.key,
            })
            .collect();
        let expiration = packet::expiration_from(now.secs());
        for part in packet::neighbors_packets(&nodes, expiration) {
            self.send(from, &Packet::Neighbors(part));
        }
        Ok(())
    }

    pub(super) fn on_neighbors(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        sender_id: NodeId,
        n: Neighbors,
    ) -> Result<(), Dropped> {
        // At most one FindNode per node is outstanding (see `send_deferred`).
        let pos = self.pending.iter().position(
            |q| matches!(q, Pending::FindNode { to, addr, .. } if *to == sender_id && addr.ip() == from.ip()),
        );
        let Some(pos) = pos else {
            return Err(Dropped::Unsolicited);
        };
        let sender_lan = is_lan(from.ip());
        let fresh: Vec<Node> = n
            .nodes
            .into_iter()
            .filter(|p| p.udp != 0 && !p.ip.is_unspecified() && !p.ip.is_multicast())
            // A node on the Internet may not point us at our LAN or loopback (geth
            // `CheckRelayIP`).
            .filter(|p| sender_lan || !is_lan(p.ip))
            .filter(|p| self.allowed(&p.ip))
            .map(|p| Node::new(p.id, p.ip, p.udp, p.tcp))
            .filter(|n| n.id != self.self_id)
            .collect();
        let complete = {
            let Pending::FindNode { nodes, .. } = &mut self.pending[pos] else {
                unreachable!("matched a FindNode above");
            };
            for f in fresh {
                if nodes.len() < FINDNODE_RESULT_NODES && !nodes.iter().any(|x| x.id == f.id) {
                    nodes.push(f);
                }
            }
            nodes.len() >= FINDNODE_RESULT_NODES
        };
        // A full answer ends the request now; a partial one waits for more datagrams until the
        // deadline (a reply of 16 nodes spans two packets).
        if complete {
            let p = self.pending.swap_remove(pos);
            self.finish_findnode(now, p);
        }
        Ok(())
    }

    pub(super) fn on_enr_request(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        sender_id: NodeId,
        hash: [u8; 32],
    ) -> Result<(), Dropped> {
        if !self.proven(&sender_id, from.ip(), now) {
            return Err(Dropped::NoBond);
        }
        let resp = Packet::EnrResponse(EnrResponse {
            request_hash: hash,
            record: self.record.clone(),
        });
        self.send(from, &resp);
        Ok(())
    }

    pub(super) fn on_enr_response(
        &mut self,
        now: UnixMs,
        sender: PublicKey,
        sender_id: NodeId,
        r: EnrResponse,
    ) -> Result<(), Dropped> {
        let pos = self.pending.iter().position(
            |q| matches!(q, Pending::EnrRequest { hash, to, .. } if *hash == r.request_hash && *to == sender_id),
        );
        let Some(pos) = pos else {
            return Err(Dropped::Unsolicited);
        };
        let Pending::EnrRequest { node, addr, .. } = self.pending.swap_remove(pos) else {
            unreachable!("matched an EnrRequest above");
        };
        match r.record.verify() {
            Ok(k) if k == sender => {}
            Ok(_) => {
                self.events.push_back(Event::EnrResult {
                    to: addr,
                    record: None,
                });
                return Err(Dropped::WrongRecord(None));
            }
            Err(e) => {
                self.events.push_back(Event::EnrResult {
                    to: addr,
                    record: None,
                });
                return Err(Dropped::WrongRecord(Some(e)));
            }
        }
        self.events.push_back(Event::EnrResult {
            to: addr,
            record: Some(r.record.clone()),
        });
        self.events.push_back(Event::Store(StoreOp::Enr {
            id: sender_id,
            record: r.record.to_rlp(),
        }));
        if let Some(mut n) = node {
            n.enr_seq = r.record.seq();
            if self.table.contains(&n.id) {
                let _ = self.table.add_verified(now, n.clone());
            }
            self.events.push_back(Event::Enr(n, r.record));
        }
        Ok(())
    }
}
