//! Incoming packets of the discovery v5 state machine (devp2p `discv5-theory.md` "Handshake
//! Steps" 2–5, `discv5-wire.md` "Protocol Messages"): ordinary packets opened or challenged,
//! WHOAREYOU answered with a handshake, handshakes verified, and messages answered or matched to
//! our requests.

use std::net::SocketAddr;

use super::{
    Challenge, Discovery, Dropped, Event, FINDNODE_RESULT_MAX, Failure, MESSAGE_PACKET_OVERHEAD,
    NODES_RESPONSES_MAX, Purpose, RESPONSE_TIMEOUT, record_node,
};
use crate::crypto::{NodeId, PublicKey, SecretKey};
use crate::discv4::table::log_distance;
use crate::discv5::crypto as c5;
use crate::discv5::message::{Message, NODES_RECORDS_MAX, RequestId};
use crate::discv5::packet::{
    self, AuthData, Decoded, Handshake, Header, MASKING_IV_SIZE, PACKET_SIZE_MAX, WhoAreYou,
};
use crate::discv5::session::Session;
use crate::enr::Record;
use crate::time::UnixMs;

use super::CHALLENGE_LIFETIME;
use super::CHALLENGES_MAX;
use super::HANDSHAKES_PER_REQUEST_MAX;

impl Discovery {
    /// An ordinary message packet: open it under the session with this node at this endpoint,
    /// or challenge the sender.
    pub(super) fn on_message_packet(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        src: NodeId,
        d: &Decoded,
        size: usize,
    ) -> Result<(), Dropped> {
        if src == self.self_id {
            return Err(Dropped::FromSelf);
        }
        let key = (src, from);
        let mut opened = None;
        if let Some(s) = self.sessions.get_mut(now, &key)
            && let Some(pt) = c5::decrypt(
                &s.read_key,
                &d.header.nonce,
                &d.message,
                &d.authenticated_data(),
            )
        {
            let newly = !s.confirmed;
            s.confirmed = true;
            opened = Some((pt, newly));
        }
        let Some((pt, newly_confirmed)) = opened else {
            self.send_whoareyou(now, src, from, d.header.nonce, size);
            return Ok(());
        };
        if newly_confirmed {
            self.events.push_back(Event::Session {
                node: src,
                addr: from,
                record: self.records.get(&src).cloned(),
            });
        }
        let m = Message::decode(&pt).map_err(Dropped::Message)?;
        self.on_message(now, src, from, m)
    }

    /// Challenges a sender whose packet we could not open. While a challenge for this node and
    /// endpoint lives, the same WHOAREYOU is sent again: the handshake it asks for may be on its
    /// way. A WHOAREYOU (63 bytes) is never larger than the packet it answers.
    fn send_whoareyou(
        &mut self,
        now: UnixMs,
        src: NodeId,
        from: SocketAddr,
        nonce: c5::Nonce,
        size: usize,
    ) {
        let key = (src, from);
        if let Some(c) = self.challenges.get(&key)
            && c.expires > now
        {
            if c.packet.len() <= size {
                self.transmits.push_back((from, c.packet.clone()));
            }
            return;
        }
        if self.challenges.len() >= CHALLENGES_MAX {
            self.challenges.retain(|_, c| c.expires > now);
        }
        if self.challenges.len() >= CHALLENGES_MAX
            && let Some(oldest) = self
                .challenges
                .iter()
                .min_by_key(|(_, c)| c.expires)
                .map(|(k, _)| *k)
        {
            self.challenges.remove(&oldest);
        }
        let record = self.records.get(&src).cloned();
        let w = WhoAreYou {
            id_nonce: self.random(),
            enr_seq: record.as_ref().map_or(0, Record::seq),
        };
        let iv: [u8; MASKING_IV_SIZE] = self.random();
        let header = Header {
            nonce,
            auth: AuthData::WhoAreYou(w),
        };
        let challenge_data = packet::authenticated_data(&iv, &header.encode());
        let Ok(p) = packet::encode(&src, &iv, &header, None) else {
            return;
        };
        if p.len() > size {
            return;
        }
        self.transmits.push_back((from, p.clone()));
        self.challenges.insert(
            key,
            Challenge {
                packet: p,
                challenge_data,
                record,
                expires: now + CHALLENGE_LIFETIME,
            },
        );
    }

    /// A WHOAREYOU: if it answers a packet of ours, resend that request in a handshake packet.
    pub(super) fn on_whoareyou(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        d: &Decoded,
        w: WhoAreYou,
    ) -> Result<(), Dropped> {
        let id = self
            .requests
            .iter()
            .find(|(_, r)| r.addr == from && r.nonces.contains(&d.header.nonce))
            .map(|(id, _)| id.clone())
            .ok_or(Dropped::UnsolicitedWhoAreYou)?;
        let Some(mut r) = self.requests.remove(&id) else {
            return Err(Dropped::UnsolicitedWhoAreYou);
        };
        let challenge_data = d.authenticated_data();
        if let Some((c, p)) = &r.last_handshake
            && *c == challenge_data
        {
            // The same challenge again: our handshake may be lost, or the remote answered
            // another packet of ours with it. Either way the same handshake is the answer.
            self.transmits.push_back((from, p.clone()));
            self.requests.insert(id, r);
            return Ok(());
        }
        if r.handshakes >= HANDSHAKES_PER_REQUEST_MAX {
            self.fail(now, id, r, Failure::HandshakeFailed);
            return Ok(());
        }
        r.handshakes += 1;
        let eph = SecretKey::generate(|b| (self.entropy)(b));
        let eph_pub = eph.public_key().to_compressed();
        let keys = c5::initiator_keys(&eph, &r.to_key, &self.self_id, &challenge_data);
        let id_signature = c5::id_sign(&self.key, &challenge_data, &eph_pub, &r.to_id);
        let record = (w.enr_seq < self.record.seq()).then(|| self.record.to_rlp());
        let mut session = Session::new(&keys, true, r.to.seq(), now);
        let nonce = session.next_nonce(self.random());
        let header = Header {
            nonce,
            auth: AuthData::Handshake(Handshake {
                src_id: self.self_id,
                id_signature,
                ephemeral_key: eph_pub,
                record,
            }),
        };
        let iv: [u8; MASKING_IV_SIZE] = self.random();
        let sealed = packet::encode(
            &r.to_id,
            &iv,
            &header,
            Some((&session.write_key, &r.message.encode())),
        );
        self.sessions.insert((r.to_id, from), session);
        r.nonces.push(nonce);
        r.deadline = now + RESPONSE_TIMEOUT;
        if let Ok(p) = sealed {
            self.transmits.push_back((from, p.clone()));
            r.last_handshake = Some((challenge_data, p));
        }
        self.requests.insert(id, r);
        Ok(())
    }

    /// A handshake message packet: verify it against the challenge we sent this node at this
    /// endpoint, establish the session, then read the message.
    pub(super) fn on_handshake(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        d: &Decoded,
        h: Handshake,
    ) -> Result<(), Dropped> {
        if h.src_id == self.self_id {
            return Err(Dropped::FromSelf);
        }
        let key = (h.src_id, from);
        let c = self
            .challenges
            .get(&key)
            .filter(|c| c.expires > now)
            .ok_or(Dropped::NoChallenge)?;
        let record = match &h.record {
            Some(bytes) => {
                let r = Record::decode_verified(bytes).map_err(|e| Dropped::BadRecord(Some(e)))?;
                if r.node_id() != Some(h.src_id) {
                    return Err(Dropped::BadRecord(None));
                }
                match &c.record {
                    // An older record than the one we hold is refused (replay of an old one).
                    Some(old) if old.seq() > r.seq() => old.clone(),
                    _ => r,
                }
            }
            None => c.record.clone().ok_or(Dropped::BadRecord(None))?,
        };
        let signer = record.public_key().ok_or(Dropped::BadRecord(None))?;
        if !c5::id_verify(
            &signer,
            &h.id_signature,
            &c.challenge_data,
            &h.ephemeral_key,
            &self.self_id,
        ) {
            return Err(Dropped::BadHandshake);
        }
        let eph = PublicKey::from_sec1(&h.ephemeral_key).map_err(|_| Dropped::BadHandshake)?;
        let keys = c5::recipient_keys(&self.key, &eph, &h.src_id, &self.self_id, &c.challenge_data);
        let pt = c5::decrypt(
            &keys.initiator_key,
            &d.header.nonce,
            &d.message,
            &d.authenticated_data(),
        )
        .ok_or(Dropped::Undecryptable)?;
        self.challenges.remove(&key);
        self.sessions
            .insert(key, Session::new(&keys, false, record.seq(), now));
        if record_node(&record).is_some_and(|n| n.udp_addr() == from) {
            self.node_seen(now, record.clone());
        }
        self.events.push_back(Event::Session {
            node: h.src_id,
            addr: from,
            record: Some(record),
        });
        let m = Message::decode(&pt).map_err(Dropped::Message)?;
        self.on_message(now, h.src_id, from, m)
    }

    /// A message that opened under a session with `src` at `from`.
    fn on_message(
        &mut self,
        now: UnixMs,
        src: NodeId,
        from: SocketAddr,
        m: Message,
    ) -> Result<(), Dropped> {
        match m {
            Message::Ping { id, .. } => {
                let pong = Message::Pong {
                    id,
                    enr_seq: self.record.seq(),
                    ip: from.ip(),
                    port: from.port(),
                };
                self.send_response(now, src, from, &pong);
                Ok(())
            }
            Message::FindNode { id, distances } => {
                self.answer_findnode(now, src, from, id, &distances);
                Ok(())
            }
            Message::TalkReq { id, .. } => {
                // No application protocol is registered: every protocol is unknown, and the spec
                // asks for an empty TALKRESP.
                let resp = Message::TalkResp {
                    id,
                    response: Vec::new(),
                };
                self.send_response(now, src, from, &resp);
                Ok(())
            }
            Message::Pong { .. } | Message::Nodes { .. } | Message::TalkResp { .. } => {
                self.on_response(now, src, from, m)
            }
        }
    }

    /// The records at the asked distances (0: our own record), at most 16, live table entries
    /// only, split over as many NODES messages as keep each packet within 1280 bytes.
    fn answer_findnode(
        &mut self,
        now: UnixMs,
        src: NodeId,
        from: SocketAddr,
        id: RequestId,
        distances: &[u16],
    ) {
        let mut found: Vec<Record> = Vec::new();
        let mut asked: Vec<u16> = Vec::new();
        for &d in distances {
            if found.len() >= FINDNODE_RESULT_MAX {
                break;
            }
            if asked.contains(&d) {
                continue;
            }
            asked.push(d);
            if d == 0 {
                found.push(self.record.clone());
                continue;
            }
            for n in self.table.nodes() {
                if found.len() >= FINDNODE_RESULT_MAX {
                    break;
                }
                let live = self
                    .table
                    .entry(&n.id)
                    .is_some_and(|e| e.last_pong.is_some());
                if live
                    && log_distance(&self.self_id, &n.id) == u32::from(d)
                    && let Some(r) = self.records.get(&n.id)
                {
                    found.push(r.clone());
                }
            }
        }
        let chunks = split_nodes(&id, found);
        let total = chunks.len() as u64;
        for records in chunks {
            let m = Message::Nodes {
                id: id.clone(),
                total,
                records,
            };
            self.send_response(now, src, from, &m);
        }
    }

    /// A response: match it to our request by id, node and endpoint.
    fn on_response(
        &mut self,
        now: UnixMs,
        src: NodeId,
        from: SocketAddr,
        m: Message,
    ) -> Result<(), Dropped> {
        let id = m.id().clone();
        let asked = self
            .requests
            .get(&id)
            .filter(|r| r.to_id == src && r.addr == from)
            .ok_or(Dropped::Unsolicited)?
            .to
            .clone();
        // It answered at the endpoint its record names: a live node for the table.
        if record_node(&asked).is_some_and(|n| n.udp_addr() == from) {
            self.node_seen(now, asked);
        }
        let r = self.requests.get_mut(&id).ok_or(Dropped::Unsolicited)?;
        match (m, &r.message) {
            (
                Message::Pong {
                    enr_seq, ip, port, ..
                },
                Message::Ping { .. },
            ) => {
                let Some(r) = self.requests.remove(&id) else {
                    return Err(Dropped::Unsolicited);
                };
                self.on_endpoint_statement(now, src, SocketAddr::new(ip, port));
                match r.purpose {
                    Purpose::Revalidate => self.on_revalidation(now, &src, true, Some(enr_seq)),
                    _ => self.events.push_back(Event::Pong {
                        request: id,
                        from: src,
                        enr_seq,
                        ip,
                        port,
                    }),
                }
                // A newer record is fetched from the node itself: FINDNODE [0].
                let known = self.records.get(&src).map_or(r.to.seq(), Record::seq);
                if enr_seq > known {
                    let m = Message::FindNode {
                        id: self.new_request_id(),
                        distances: vec![0],
                    };
                    let _ = self.request(now, &r.to, m, Purpose::RecordUpdate);
                }
                Ok(())
            }
            (Message::Nodes { total, records, .. }, Message::FindNode { distances, .. }) => {
                r.nodes_received += 1;
                for rec in records {
                    let Some(rid) = rec.node_id() else { continue };
                    let d = log_distance(&src, &rid) as u16;
                    if distances.contains(&d)
                        && r.records.len() < NODES_RESPONSES_MAX as usize * NODES_RECORDS_MAX
                        && !r.records.iter().any(|x| x.node_id() == Some(rid))
                    {
                        r.records.push(rec);
                    }
                }
                if r.nodes_received >= total.clamp(1, NODES_RESPONSES_MAX) {
                    let Some(r) = self.requests.remove(&id) else {
                        return Err(Dropped::Unsolicited);
                    };
                    self.nodes_done(now, id, src, r.purpose, r.to, r.records);
                }
                Ok(())
            }
            (Message::TalkResp { response, .. }, Message::TalkReq { .. }) => {
                self.requests.remove(&id);
                self.events.push_back(Event::TalkResp {
                    request: id,
                    from: src,
                    response,
                });
                Ok(())
            }
            _ => Err(Dropped::Unsolicited),
        }
    }

    fn nodes_done(
        &mut self,
        now: UnixMs,
        id: RequestId,
        src: NodeId,
        purpose: Purpose,
        asked: Record,
        records: Vec<Record>,
    ) {
        match purpose {
            Purpose::RecordUpdate => {
                let newer = records
                    .into_iter()
                    .find(|r| r.node_id() == Some(src) && r.seq() > asked.seq());
                if let Some(rec) = newer {
                    if let Some(node) = record_node(&rec) {
                        let _ = self.table.add_verified(now, node);
                    }
                    self.keep_record(rec.clone());
                    self.events.push_back(Event::RecordUpdated(rec));
                }
            }
            Purpose::Lookup(l) => self.lookup_answered(now, l, src, records),
            _ => self.events.push_back(Event::Nodes {
                request: id,
                from: src,
                records,
            }),
        }
    }
}

/// Splits records over NODES messages so that each packet stays within [`PACKET_SIZE_MAX`];
/// always at least one message (an empty answer is one NODES with no records).
pub(super) fn split_nodes(id: &RequestId, records: Vec<Record>) -> Vec<Vec<Record>> {
    let budget = PACKET_SIZE_MAX - MESSAGE_PACKET_OVERHEAD;
    let mut chunks: Vec<Vec<Record>> = vec![Vec::new()];
    for r in records {
        let last = chunks.last_mut().expect("never empty");
        last.push(r);
        let size = Message::Nodes {
            id: id.clone(),
            // `total` is at most 16 here: one byte, as the placeholder.
            total: 16,
            records: last.clone(),
        }
        .encode()
        .len();
        if size > budget && last.len() > 1 {
            let r = last.pop().expect("just pushed");
            chunks.push(vec![r]);
        }
    }
    chunks
}
