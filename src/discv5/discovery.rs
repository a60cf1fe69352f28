//! The discovery v5 state machine (devp2p `discv5-theory.md` "Handshake Steps", "Session
//! Cache", "Node Table"; `discv5-wire.md` "Protocol Messages"): datagrams in, datagrams and
//! events out.
//!
//! It ties the codec to sessions: our requests go out sealed when we hold a session with the
//! node at that endpoint, and as an ordinary packet of random bytes otherwise, which the remote
//! answers with WHOAREYOU; we then resend the request in a handshake packet. Packets we cannot
//! open are answered with WHOAREYOU, one challenge per node and endpoint, resent unchanged while
//! it lives. Before a handshake completes the only thing we send a stranger is a 63-byte
//! WHOAREYOU, never more than the packet that caused it (no amplification); NODES and PONG go
//! only to nodes that completed a handshake from that endpoint.
//!
//! The node table is discv4's ([`crate::discv4::table`]: the same Kademlia rules and subnet
//! limits), holding records of nodes whose handshake named an endpoint that matched the packet's;
//! the records themselves are kept beside it.
//!
//! `now` is milliseconds, given by the caller; randomness (masking IVs, nonces, id-nonces,
//! ephemeral keys) comes from the `entropy` source the caller passes in, the OS in the node and a
//! seeded generator in tests.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use crate::crypto::{NodeId, PublicKey, SecretKey};
use crate::discv4::ratelimit::RateLimit;
use crate::discv4::table::{self, Node, Revalidated, Table};
use crate::enr::{EnrError, Record};
use crate::time::{Millis, UnixMs};

use super::crypto::{EPHEMERAL_KEY_SIZE, ID_SIGNATURE_SIZE, Nonce, TAG_SIZE};
use super::endpoint::EndpointVotes;
pub use super::event::{Dropped, Event, Failure, RequestError};
use super::message::{Message, RequestId};
use super::packet::{self, AuthData, Header, MASKING_IV_SIZE, PACKET_SIZE_MAX, STATIC_HEADER_SIZE};
use super::session::{SessionCache, SessionKey};

mod incoming;
mod lookups;

pub use lookups::{LOOKUP_DISTANCES, LOOKUPS_MAX, LookupId, lookup_distances};

/// A request unanswered this long is sent again, or fails (the spec suggests 500 ms for a
/// request and 1 s for a handshake; each leg of ours gets 500 ms).
pub const RESPONSE_TIMEOUT: Millis = 500;
/// Times a request is sent again after a timeout (a lost datagram costs one timeout, not the
/// request).
pub const REQUEST_RETRIES: u32 = 1;
/// Handshakes one request may run: a WHOAREYOU after that means the remote cannot keep a session
/// with us, and the request fails.
pub const HANDSHAKES_PER_REQUEST_MAX: u32 = 2;
/// A WHOAREYOU challenge we sent lives this long (the spec's 1 s handshake timeout).
pub const CHALLENGE_LIFETIME: Millis = 1000;
/// Challenges outstanding at most; the oldest goes first when a flood of strangers fills it.
pub const CHALLENGES_MAX: usize = 1024;
/// Our requests in flight at most.
pub const REQUESTS_MAX: usize = 1024;
/// Records a FINDNODE is answered with at most (the spec's recommended limit, 16).
pub const FINDNODE_RESULT_MAX: usize = table::BUCKET_SIZE;
/// NODES messages accepted for one FINDNODE: 16 records of ≤ 300 bytes fit in 4 packets of
/// 1280 bytes, and go-ethereum caps `total` at 5. Further ones are ignored.
pub const NODES_RESPONSES_MAX: u64 = 5;
/// Bytes of random message an ordinary packet opening a handshake carries (the size of a small
/// sealed message, so it looks like one).
pub const RANDOM_MESSAGE_SIZE: usize = 44;
/// Overhead of an ordinary message packet around the message plaintext.
pub const MESSAGE_PACKET_OVERHEAD: usize = MASKING_IV_SIZE + STATIC_HEADER_SIZE + 32 + TAG_SIZE;

/// What the state machine needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The IP we advertise in our record.
    pub ip: IpAddr,
    /// Our discovery port.
    pub udp: u16,
    /// Our RLPx port (0: none).
    pub tcp: u16,
    /// The first sequence number of our record (the shell passes the unix time in ms).
    pub enr_seq: u64,
    /// Extra record entries (raw RLP values), e.g. the `eth` fork id.
    pub enr_entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Records to bootstrap from: they enter the table unverified.
    pub bootnodes: Vec<Record>,
    /// Seeds the table's revalidation jitter and sampling.
    pub seed: u64,
    /// Our endpoint is given (`--nat extip:`): PONG statements do not move it.
    pub fixed_endpoint: bool,
}

/// A source of random bytes for keys, nonces and masking IVs.
pub type Entropy = Box<dyn FnMut(&mut [u8]) + Send>;

/// A WHOAREYOU we sent and the state to finish the handshake it asks for.
struct Challenge {
    /// The packet as sent, resent unchanged while the challenge lives.
    packet: Vec<u8>,
    /// `masking-iv || header` of that packet.
    challenge_data: Vec<u8>,
    /// The remote's record we held when we sent it (its seq went in the challenge).
    record: Option<Record>,
    expires: UnixMs,
}

/// Why we sent a request: the caller's, or our own bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Caller,
    Revalidate,
    /// FINDNODE [0] after a PONG announced a newer record.
    RecordUpdate,
    /// A query of a lookup.
    Lookup(LookupId),
}

/// A request of ours in flight.
struct Request {
    to: Record,
    to_id: NodeId,
    to_key: PublicKey,
    addr: SocketAddr,
    message: Message,
    purpose: Purpose,
    /// Nonces of every packet that carried it: a WHOAREYOU may answer any of them.
    nonces: Vec<Nonce>,
    deadline: UnixMs,
    retries_left: u32,
    handshakes: u32,
    /// The challenge we last answered and the handshake packet we answered it with: the same
    /// WHOAREYOU again (resent by the remote for another packet of ours) gets the same packet,
    /// so the keys the remote may already hold stay ours.
    last_handshake: Option<(Vec<u8>, Vec<u8>)>,
    /// NODES gathered so far: messages received and the records that passed the checks.
    nodes_received: u64,
    records: Vec<Record>,
}

/// The discovery v5 state machine.
pub struct Discovery {
    key: SecretKey,
    self_id: NodeId,
    config: Config,
    record: Record,
    entropy: Entropy,
    sessions: SessionCache,
    challenges: BTreeMap<SessionKey, Challenge>,
    requests: BTreeMap<RequestId, Request>,
    next_request: u64,
    lookups: BTreeMap<LookupId, lookups::LookupState>,
    next_lookup: LookupId,
    table: Table,
    /// The records of the table's nodes (entries and replacements).
    records: BTreeMap<NodeId, Record>,
    rates: RateLimit,
    votes: EndpointVotes,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<Event>,
    /// When the shell last said datagrams were arriving faster than it could hand them over
    /// ([`Discovery::handle_congestion`]).
    overloaded_at: Option<UnixMs>,
}

impl Discovery {
    /// A node with an empty table; bootnodes enter it unverified.
    pub fn new(
        key: SecretKey,
        config: Config,
        entropy: Entropy,
        now: UnixMs,
    ) -> Result<Discovery, EnrError> {
        let self_id = key.public_key().node_id();
        let record = sign_record(&key, &config, config.enr_seq)?;
        let mut d = Discovery {
            self_id,
            table: Table::new(self_id, config.seed),
            key,
            record,
            entropy,
            sessions: SessionCache::new(),
            challenges: BTreeMap::new(),
            requests: BTreeMap::new(),
            next_request: 1,
            lookups: BTreeMap::new(),
            next_lookup: 1,
            records: BTreeMap::new(),
            rates: RateLimit::new(),
            votes: EndpointVotes::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            overloaded_at: None,
            config,
        };
        let boot = d.config.bootnodes.clone();
        d.add_seeds(now, boot);
        Ok(d)
    }

    /// Our node id.
    pub fn self_id(&self) -> NodeId {
        self.self_id
    }

    /// Our signed record.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The node table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The record we hold for a node.
    pub fn node_record(&self, id: &NodeId) -> Option<&Record> {
        self.records.get(id)
    }

    /// The records of up to `n` distinct table entries chosen at random (from the table's
    /// seeded generator), for the dial scheduler.
    pub fn random_records(&mut self, n: usize) -> Vec<Record> {
        let nodes = self.table.random_nodes(n);
        nodes
            .iter()
            .filter_map(|node| self.records.get(&node.id).cloned())
            .collect()
    }

    /// Sessions held.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether we hold a live session with `id` at `addr`.
    pub fn has_session(&self, now: UnixMs, id: NodeId, addr: SocketAddr) -> bool {
        self.sessions.contains(now, &(id, addr))
    }

    /// Records heard of from someone else (bootnodes, NODES answers): they enter the table
    /// unverified.
    pub fn add_seeds(&mut self, now: UnixMs, records: impl IntoIterator<Item = Record>) {
        for r in records {
            if let Some(node) = record_node(&r)
                && node.id != self.self_id
                && self.table.add_seen(now, node.clone()).is_ok()
            {
                self.keep_record(r);
            }
        }
    }

    /// Changes the endpoint we advertise; our record's sequence number goes up when it changes.
    pub fn set_endpoint(&mut self, ip: IpAddr, udp: u16) -> Result<(), EnrError> {
        if (ip, udp) == (self.config.ip, self.config.udp) {
            return Ok(());
        }
        self.config.ip = ip;
        self.config.udp = udp;
        self.record = sign_record(&self.key, &self.config, self.record.seq() + 1)?;
        Ok(())
    }

    /// Sends a PING to the node of `record`.
    pub fn ping(&mut self, now: UnixMs, record: &Record) -> Result<RequestId, RequestError> {
        let id = self.new_request_id();
        let m = Message::Ping {
            id: id.clone(),
            enr_seq: self.record.seq(),
        };
        self.request(now, record, m, Purpose::Caller)
    }

    /// Sends a FINDNODE for `distances` to the node of `record`.
    pub fn find_node(
        &mut self,
        now: UnixMs,
        record: &Record,
        distances: Vec<u16>,
    ) -> Result<RequestId, RequestError> {
        let id = self.new_request_id();
        let m = Message::FindNode { id, distances };
        self.request(now, record, m, Purpose::Caller)
    }

    /// Sends a TALKREQ to the node of `record`.
    pub fn talk_req(
        &mut self,
        now: UnixMs,
        record: &Record,
        protocol: Vec<u8>,
        request: Vec<u8>,
    ) -> Result<RequestId, RequestError> {
        let id = self.new_request_id();
        let m = Message::TalkReq {
            id,
            protocol,
            request,
        };
        self.request(now, record, m, Purpose::Caller)
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Discovery::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<UnixMs> {
        let r = self.requests.values().map(|r| r.deadline).min();
        let c = self.challenges.values().map(|c| c.expires).min();
        [r, c, self.table.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Time passed: expire challenges, retry or fail requests, revalidate the table.
    pub fn handle_timeout(&mut self, now: UnixMs) {
        self.challenges.retain(|_, c| c.expires > now);
        let due: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let Some(mut r) = self.requests.remove(&id) else {
                continue;
            };
            if r.retries_left > 0 {
                r.retries_left -= 1;
                self.send_request(now, id, r);
            } else {
                self.fail(now, id, r, Failure::Timeout);
            }
        }
        while let Some(node) = self.table.poll_revalidate(now) {
            let record = self.records.get(&node.id).cloned();
            let sent = record.map(|rec| {
                let m = Message::Ping {
                    id: self.new_request_id(),
                    enr_seq: self.record.seq(),
                };
                self.request(now, &rec, m, Purpose::Revalidate)
            });
            match sent {
                Some(Ok(_)) => {}
                // Our own requests are full: the node is no less alive for it.
                Some(Err(RequestError::TooManyRequests)) => {
                    self.table.handle_revalidation_inconclusive(now, &node.id);
                }
                Some(Err(_)) | None => {
                    self.table
                        .handle_revalidation_result(now, &node.id, false, None);
                }
            }
        }
    }

    /// The shell says datagrams are arriving faster than they reach us (its queue is filling,
    /// so it or the socket is dropping some unread): for a while, a revalidation that times out
    /// proves nothing and keeps the entry (the same rule as discovery v4's, on the same port).
    pub fn handle_congestion(&mut self, now: UnixMs) {
        self.overloaded_at = Some(now);
    }

    /// Whether congestion was reported within the whole wait of a request failing now (its
    /// timeout, once per try).
    fn overloaded(&self, now: UnixMs) -> bool {
        let wait = RESPONSE_TIMEOUT * Millis::from(REQUEST_RETRIES + 1);
        self.overloaded_at.is_some_and(|t| now.since(t) <= wait)
    }

    /// A datagram arrived from `from`.
    pub fn handle_packet(
        &mut self,
        now: UnixMs,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Dropped> {
        if !self.rates.allow(now, from.ip()) {
            return Err(Dropped::RateLimited);
        }
        let d = packet::decode(&self.self_id, datagram).map_err(Dropped::Packet)?;
        match &d.header.auth {
            AuthData::Message { src_id } => {
                let src = *src_id;
                self.on_message_packet(now, from, src, &d, datagram.len())
            }
            AuthData::WhoAreYou(w) => {
                let w = *w;
                self.on_whoareyou(now, from, &d, w)
            }
            AuthData::Handshake(h) => {
                let h = h.clone();
                self.on_handshake(now, from, &d, h)
            }
        }
    }

    // ---- outgoing ----------------------------------------------------------------------------

    fn new_request_id(&mut self) -> RequestId {
        let id = RequestId::from_u64(self.next_request);
        self.next_request += 1;
        id
    }

    fn random<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        (self.entropy)(&mut b);
        b
    }

    fn request(
        &mut self,
        now: UnixMs,
        record: &Record,
        message: Message,
        purpose: Purpose,
    ) -> Result<RequestId, RequestError> {
        let node = record_node(record).ok_or(RequestError::NoEndpoint)?;
        if node.id == self.self_id {
            return Err(RequestError::IsSelf);
        }
        if self.requests.len() >= REQUESTS_MAX {
            return Err(RequestError::TooManyRequests);
        }
        // The largest packet the request may travel in: a handshake carrying our record.
        let handshake_size = MASKING_IV_SIZE
            + STATIC_HEADER_SIZE
            + 34
            + ID_SIGNATURE_SIZE
            + EPHEMERAL_KEY_SIZE
            + self.record.to_rlp().len()
            + message.encode().len()
            + TAG_SIZE;
        if handshake_size > PACKET_SIZE_MAX {
            return Err(RequestError::TooLarge);
        }
        let id = message.id().clone();
        let r = Request {
            to: record.clone(),
            to_id: node.id,
            to_key: node.key,
            addr: node.udp_addr(),
            message,
            purpose,
            nonces: Vec::new(),
            deadline: now,
            retries_left: REQUEST_RETRIES,
            handshakes: 0,
            last_handshake: None,
            nodes_received: 0,
            records: Vec::new(),
        };
        self.send_request(now, id.clone(), r);
        Ok(id)
    }

    /// Sends (or resends) a request: sealed under the session when there is one, else as an
    /// ordinary packet of random bytes that will draw a WHOAREYOU.
    fn send_request(&mut self, now: UnixMs, id: RequestId, mut r: Request) {
        let key = (r.to_id, r.addr);
        let iv: [u8; MASKING_IV_SIZE] = self.random();
        let rand8: [u8; 8] = self.random();
        let packet = match self.sessions.get_mut(now, &key) {
            Some(s) => {
                let nonce = s.next_nonce(rand8);
                let write_key = s.write_key;
                r.nonces.push(nonce);
                let header = Header {
                    nonce,
                    auth: AuthData::Message {
                        src_id: self.self_id,
                    },
                };
                packet::encode(
                    &r.to_id,
                    &iv,
                    &header,
                    Some((&write_key, &r.message.encode())),
                )
            }
            None => {
                let nonce: Nonce = self.random();
                let filler: [u8; RANDOM_MESSAGE_SIZE] = self.random();
                r.nonces.push(nonce);
                let header = Header {
                    nonce,
                    auth: AuthData::Message {
                        src_id: self.self_id,
                    },
                };
                packet::encode_sealed(&r.to_id, &iv, header.encode(), &filler)
            }
        };
        r.deadline = now + RESPONSE_TIMEOUT;
        if let Ok(p) = packet {
            self.transmits.push_back((r.addr, p));
        }
        self.requests.insert(id, r);
    }

    /// Sends a message (a response) to a node we hold a session with.
    fn send_response(&mut self, now: UnixMs, to: NodeId, addr: SocketAddr, message: &Message) {
        let iv: [u8; MASKING_IV_SIZE] = self.random();
        let rand8: [u8; 8] = self.random();
        let Some(s) = self.sessions.get_mut(now, &(to, addr)) else {
            return;
        };
        let nonce = s.next_nonce(rand8);
        let write_key = s.write_key;
        let header = Header {
            nonce,
            auth: AuthData::Message {
                src_id: self.self_id,
            },
        };
        if let Ok(p) = packet::encode(&to, &iv, &header, Some((&write_key, &message.encode()))) {
            self.transmits.push_back((addr, p));
        }
    }

    fn fail(&mut self, now: UnixMs, id: RequestId, r: Request, reason: Failure) {
        match r.purpose {
            Purpose::Revalidate if reason == Failure::Timeout && self.overloaded(now) => {
                self.table.handle_revalidation_inconclusive(now, &r.to_id);
            }
            Purpose::Revalidate => {
                self.on_revalidation(now, &r.to_id, false, None);
            }
            Purpose::RecordUpdate => {}
            Purpose::Lookup(l) => {
                if r.nodes_received > 0 {
                    self.lookup_answered(now, l, r.to_id, r.records);
                } else {
                    self.lookup_failed(now, l, r.to_id);
                }
            }
            Purpose::Caller => {
                if matches!(r.message, Message::FindNode { .. }) && r.nodes_received > 0 {
                    self.events.push_back(Event::Nodes {
                        request: id,
                        from: r.to_id,
                        records: r.records,
                    });
                } else {
                    self.events.push_back(Event::RequestFailed {
                        request: id,
                        to: r.to_id,
                        reason,
                    });
                }
            }
        }
    }

    /// A PONG's statement of where our PING came from; when the statements agree on another
    /// endpoint than the one we advertise (and it is not fixed), our record moves there.
    fn on_endpoint_statement(&mut self, now: UnixMs, voter: NodeId, addr: SocketAddr) {
        self.votes.add(now, voter, addr);
        if self.config.fixed_endpoint {
            return;
        }
        if let Some(p) = self.votes.predict(now)
            && (p.ip(), p.port()) != (self.config.ip, self.config.udp)
        {
            let _ = self.set_endpoint(p.ip(), p.port());
        }
    }

    fn on_revalidation(&mut self, now: UnixMs, id: &NodeId, alive: bool, seq: Option<u64>) {
        let known = self.records.get(id).map(Record::seq);
        let enr_seq = seq.map(|s| if known.is_some_and(|k| s <= k) { 0 } else { s });
        match self
            .table
            .handle_revalidation_result(now, id, alive, enr_seq)
        {
            Revalidated::Removed { .. } => {
                self.records.remove(id);
            }
            Revalidated::Unknown | Revalidated::Kept | Revalidated::Alive { .. } => {}
        }
    }

    /// A node answered from the endpoint its record names: a live table entry, and a record
    /// worth remembering across restarts ([`Event::Seen`]).
    fn node_seen(&mut self, now: UnixMs, record: Record) {
        if let Some(node) = record_node(&record)
            && self.table.add_verified(now, node).is_ok()
        {
            self.keep_record(record.clone());
        }
        self.events.push_back(Event::Seen { record, at: now });
    }

    fn keep_record(&mut self, r: Record) {
        if let Some(id) = r.node_id() {
            // Bounded by the table: only nodes the table holds keep a record.
            if self.table.contains(&id) || self.table.is_replacement(&id) {
                self.records.insert(id, r);
            }
        }
        // Records of nodes the table evicted meanwhile are dropped lazily here.
        if self.records.len() > 2 * table::BUCKET_COUNT * table::BUCKET_SIZE {
            let table = &self.table;
            self.records
                .retain(|id, _| table.contains(id) || table.is_replacement(id));
        }
    }
}

/// The table node a record describes: its key and its IPv4 (else IPv6) UDP endpoint.
pub fn record_node(r: &Record) -> Option<Node> {
    let key = r.public_key()?;
    let (ip, udp) = match (r.ip(), r.udp(), r.ip6(), r.udp6()) {
        (Some(ip), Some(udp), _, _) => (IpAddr::V4(ip), udp),
        (_, _, Some(ip6), Some(udp6)) => (IpAddr::V6(ip6), udp6),
        _ => return None,
    };
    if udp == 0 {
        return None;
    }
    let mut n = Node::new(key, ip, udp, r.tcp().unwrap_or(0));
    n.enr_seq = r.seq();
    Some(n)
}

fn sign_record(key: &SecretKey, c: &Config, seq: u64) -> Result<Record, EnrError> {
    let mut b = Record::builder().seq(seq).ip(c.ip).udp(c.udp);
    if c.tcp != 0 {
        b = b.tcp(c.tcp);
    }
    for (k, v) in &c.enr_entries {
        b = b.raw(k, v.clone());
    }
    b.sign(key)
}

/// A seeded entropy source for tests and simulations (never for a real node's keys).
pub fn seeded_entropy(seed: u64) -> Entropy {
    let mut state = seed;
    Box::new(move |buf: &mut [u8]| crate::rng::fill(&mut state, buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_node_takes_the_udp_endpoint() {
        let k = SecretKey::from_bytes(&[5; 32]).unwrap();
        let r = Record::builder()
            .ip("10.0.0.1".parse().unwrap())
            .udp(9000)
            .sign(&k)
            .unwrap();
        let n = record_node(&r).unwrap();
        assert_eq!(n.udp_addr(), "10.0.0.1:9000".parse().unwrap());
        let no_udp = Record::builder()
            .ip("10.0.0.1".parse().unwrap())
            .sign(&k)
            .unwrap();
        assert!(record_node(&no_udp).is_none());
    }
}
