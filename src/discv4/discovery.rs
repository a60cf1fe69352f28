//! The discovery v4 state machine (devp2p discv4.md "Endpoint Proof", "Kademlia Table",
//! "Recursive Lookup"; EIP-868): packets in, packets and events out.
//!
//! It composes the packet codec, the table and lookups, and adds what ties them together: the
//! endpoint proof (we answer FindNode and ENRRequest only from nodes that answered our Ping in
//! the last 24 h, and before we query a node we make sure it has a fresh proof of us), request
//! matching with 500 ms deadlines, Neighbors replies gathered across datagrams, table
//! revalidation, our own signed ENR, and a per-IP packet rate limit.
//!
//! Time is one clock for everything here: `now` is unix time in milliseconds, given by the
//! caller (the event loop reads the wall clock; a simulation makes it up). Expirations on the
//! wire are unix seconds derived from it. Randomness comes from the seed in [`Config`].

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use crate::crypto::{NodeId, PublicKey, SecretKey};
use crate::enr::{EnrError, Record};
use crate::netutil::{Netlist, is_lan};
use crate::time::{Millis, UnixMs};

pub use super::event::{Dropped, Event, LookupId, StoreOp};
use super::lookup::Lookup;
use super::packet::{
    self, Decoded, Endpoint, EnrRequest, EnrResponse, FindNode, Neighbors, Packet, Ping, Pong,
};
use super::ratelimit::{RateLimit, RequestBudget};
use super::request::{Deferred, DeferredRequest, Pending, PingPurpose};
use super::table::{self, Node, Revalidated, Table};

mod incoming;

/// A proof of endpoint is good for this long (geth `bondExpiration`: 24 h).
pub const BOND_EXPIRATION: Millis = 24 * 3600 * 1000;
/// A request unanswered this long has failed (geth `respTimeout`: 500 ms).
pub const RESPONSE_TIMEOUT: Millis = 500;
/// After this many FindNode failures in a row we ping the node again first (geth
/// `maxFindnodeFailures`: 5).
pub const FINDNODE_FAILURES_MAX: u32 = 5;
/// How long a request waits for the remote's Ping back before it is sent anyway.
pub const BOND_WAIT: Millis = 2 * RESPONSE_TIMEOUT;
/// Endpoint-proof records kept, oldest forgotten first: bounded memory under a flood of senders.
pub const BONDS_MAX: usize = 8192;
/// Outstanding requests at most; more are refused rather than queued without bound.
pub const PENDING_MAX: usize = 1024;
/// Requests waiting for a bond at most.
pub const DEFERRED_MAX: usize = 1024;
/// Lookups running at once at most.
pub const LOOKUPS_MAX: usize = 8;
/// Nodes a FindNode is answered with (the table's bucket size).
pub const FINDNODE_RESULT_NODES: usize = table::BUCKET_SIZE;

/// What the state machine needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The IP we advertise (in Ping `from` and our ENR).
    pub ip: IpAddr,
    /// Our discovery port.
    pub udp: u16,
    /// Our RLPx port (0: we accept no connections).
    pub tcp: u16,
    /// Nodes to bootstrap from; they enter the table unverified.
    pub bootnodes: Vec<Node>,
    /// Only nodes inside these networks are talked to or kept.
    pub netrestrict: Option<Netlist>,
    /// Seeds the table's and our own randomness.
    pub seed: u64,
    /// The first sequence number of our ENR; the shell passes the unix time in ms so a restart
    /// never reuses a number.
    pub enr_seq: u64,
    /// Extra ENR entries (raw RLP values), e.g. the `eth` fork id.
    pub enr_entries: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The endpoint-proof record of one node.
#[derive(Debug, Clone, Default)]
struct Bond {
    /// When the node last answered our Ping (it proved its endpoint to us), and from which IP:
    /// the proof holds for that address only (geth keys it by id and IP), so a bonded key cannot
    /// aim replies at another address.
    last_pong: Option<(UnixMs, IpAddr)>,
    /// When the node last pinged us (and got our Pong: we proved ours to it).
    last_ping_received: Option<UnixMs>,
    /// FindNode requests to it that failed in a row.
    findnode_failures: u32,
    /// For eviction when the map is full.
    touched: UnixMs,
}

struct LookupState {
    lookup: Lookup,
    target_key: [u8; 64],
}

/// The discovery v4 state machine.
pub struct Discovery {
    key: SecretKey,
    self_id: NodeId,
    config: Config,
    record: Record,
    table: Table,
    bonds: BTreeMap<NodeId, Bond>,
    pending: Vec<Pending>,
    deferred: Vec<Deferred>,
    lookups: BTreeMap<LookupId, LookupState>,
    next_lookup: LookupId,
    rates: RateLimit,
    requests: RequestBudget,
    /// When a request was last dropped over the budget, or the shell last said datagrams were
    /// arriving faster than it could hand them over ([`Discovery::handle_congestion`]).
    overloaded_at: Option<UnixMs>,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<Event>,
    rng: u64,
}

impl Discovery {
    /// A discovery node with an empty table; bootnodes enter it unverified.
    pub fn new(key: SecretKey, config: Config, now: UnixMs) -> Result<Discovery, EnrError> {
        let self_id = key.public_key().node_id();
        let record = sign_record(&key, &config, config.enr_seq)?;
        let mut table = Table::new(self_id, config.seed);
        for n in &config.bootnodes {
            let _ = table.add_seen(now, n.clone());
        }
        Ok(Discovery {
            self_id,
            rng: config.seed ^ 0x9e37_79b9_7f4a_7c15,
            key,
            config,
            record,
            table,
            bonds: BTreeMap::new(),
            pending: Vec::new(),
            deferred: Vec::new(),
            lookups: BTreeMap::new(),
            next_lookup: 1,
            rates: RateLimit::new(),
            requests: RequestBudget::new(now),
            overloaded_at: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    /// Our node id.
    pub fn self_id(&self) -> NodeId {
        self.self_id
    }

    /// Our current ENR.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The table, for reading (sizes, closest nodes, feeding the dial scheduler).
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Up to `n` random table entries (dial candidates).
    pub fn random_nodes(&mut self, n: usize) -> Vec<Node> {
        self.table.random_nodes(n)
    }

    /// Adds nodes remembered by the node database (unverified, like bootnodes).
    pub fn add_seeds(&mut self, now: UnixMs, nodes: impl IntoIterator<Item = Node>) {
        for n in nodes {
            if self.allowed(&n.ip) && n.id != self.self_id {
                let _ = self.table.add_seen(now, n);
            }
        }
    }

    /// Changes the endpoint we advertise; the ENR's sequence number goes up when it changes.
    pub fn set_endpoint(&mut self, ip: IpAddr, udp: u16, tcp: u16) -> Result<(), EnrError> {
        if (ip, udp, tcp) == (self.config.ip, self.config.udp, self.config.tcp) {
            return Ok(());
        }
        self.config.ip = ip;
        self.config.udp = udp;
        self.config.tcp = tcp;
        self.record = sign_record(&self.key, &self.config, self.record.seq() + 1)?;
        Ok(())
    }

    /// Starts an iterative lookup for `target` (a 64-byte public key or any 64 bytes; only its
    /// keccak matters). The result arrives as [`Event::LookupDone`].
    pub fn start_lookup(&mut self, now: UnixMs, target: [u8; 64]) -> Option<LookupId> {
        if self.lookups.len() >= LOOKUPS_MAX {
            return None;
        }
        let target_id = NodeId(crate::crypto::keccak256(&target));
        let seeds = self.table.closest(&target_id, table::BUCKET_SIZE);
        let id = self.next_lookup;
        self.next_lookup += 1;
        self.lookups.insert(
            id,
            LookupState {
                lookup: Lookup::new(target_id, self.self_id, seeds),
                target_key: target,
            },
        );
        self.advance_lookup(now, id);
        Some(id)
    }

    /// A lookup for our own id: fills the buckets near us (done once at start).
    pub fn start_self_lookup(&mut self, now: UnixMs) -> Option<LookupId> {
        let target = self.key.public_key().to_bytes();
        self.start_lookup(now, target)
    }

    /// A lookup for a random target (drawn from the seeded generator).
    pub fn start_random_lookup(&mut self, now: UnixMs) -> Option<LookupId> {
        let mut t = [0u8; 64];
        for chunk in t.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_random().to_le_bytes());
        }
        self.start_lookup(now, t)
    }

    /// Whether any lookup is running.
    pub fn lookup_running(&self) -> bool {
        !self.lookups.is_empty()
    }

    /// Pings `addr` on the owner's behalf; the answer comes as [`Event::PingResult`].
    pub fn ping(&mut self, now: UnixMs, addr: SocketAddr, id: Option<PublicKey>) {
        let node = id.map(|k| Node::new(k, addr.ip(), addr.port(), 0));
        let to = node.as_ref().map_or(NodeId([0; 32]), |n| n.id);
        self.send_ping(now, to, addr, node, PingPurpose::Explicit);
    }

    /// Asks `node` for its ENR (bonding first if needed); the answer comes as
    /// [`Event::EnrResult`] and, when it verifies, [`Event::Enr`].
    pub fn request_enr(&mut self, now: UnixMs, node: Node) {
        self.request_bonded(now, node, DeferredRequest::Enr);
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
        let p = self.pending.iter().map(Pending::deadline).min();
        let d = self.deferred.iter().map(|d| d.deadline).min();
        let t = self.table.poll_timeout();
        [p, d, t].into_iter().flatten().min()
    }

    /// Time passed: expire requests, start revalidations.
    pub fn handle_timeout(&mut self, now: UnixMs) {
        // Requests whose bond never came: send them anyway, the remote may know us already.
        let (due, keep): (Vec<_>, Vec<_>) =
            self.deferred.drain(..).partition(|d| d.deadline <= now);
        self.deferred = keep;
        for d in due {
            self.send_deferred(now, d);
        }
        let (expired, keep): (Vec<_>, Vec<_>) =
            self.pending.drain(..).partition(|p| p.deadline() <= now);
        self.pending = keep;
        for p in expired {
            self.expire(now, p);
        }
        while let Some(node) = self.table.poll_revalidate(now) {
            let addr = node.udp_addr();
            self.send_ping(now, node.id, addr, Some(node), PingPurpose::Revalidate);
        }
    }

    /// The shell says datagrams are arriving faster than they reach us (its queue is filling,
    /// so it or the socket is dropping some unread): for a while, a reply that does not come
    /// proves nothing, and a revalidation that times out keeps the entry.
    pub fn handle_congestion(&mut self, now: UnixMs) {
        self.overloaded_at = Some(now);
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
        if !self.allowed(&from.ip()) {
            return Err(Dropped::NotInNetrestrict);
        }
        // Before any hashing or signature work: a reply is read only from an address we await
        // one from; anything else is a request, and takes from the budget all senders share.
        if packet::is_reply_type(datagram) {
            if !self.expects_reply_from(from.ip()) {
                return Err(Dropped::Unsolicited);
            }
        } else if !self.requests.allow(now, from.ip()) {
            self.overloaded_at = Some(now);
            return Err(Dropped::OverBudget);
        }
        let d = packet::decode(datagram).map_err(Dropped::Packet)?;
        if d.sender_id == self.self_id {
            return Err(Dropped::FromSelf);
        }
        if let Some(exp) = d.packet.expiration()
            && packet::is_expired(exp, now.secs())
        {
            return Err(Dropped::Expired);
        }
        let Decoded {
            packet,
            hash,
            sender,
            sender_id,
        } = d;
        match packet {
            Packet::Ping(p) => self.on_ping(now, from, sender, hash, p),
            Packet::Pong(p) => self.on_pong(now, from, sender_id, p),
            Packet::FindNode(f) => self.on_findnode(now, from, sender_id, f),
            Packet::Neighbors(n) => self.on_neighbors(now, from, sender_id, n),
            Packet::EnrRequest(_) => self.on_enr_request(now, from, sender_id, hash),
            Packet::EnrResponse(r) => self.on_enr_response(now, sender, sender_id, r),
        }
    }

    /// Whether we were overloaded within the last [`RESPONSE_TIMEOUT`] (the wait of any
    /// request now expiring): a request dropped over the budget, or congestion reported.
    fn overloaded(&self, now: UnixMs) -> bool {
        self.overloaded_at
            .is_some_and(|t| now.since(t) <= RESPONSE_TIMEOUT)
    }

    /// Whether a request of ours to `ip` is waiting for its reply.
    fn expects_reply_from(&self, ip: IpAddr) -> bool {
        self.pending.iter().any(|p| match p {
            Pending::Ping { addr, .. }
            | Pending::FindNode { addr, .. }
            | Pending::EnrRequest { addr, .. } => addr.ip() == ip,
        })
    }

    // ---- outgoing requests ------------------------------------------------------------------

    fn send(&mut self, to: SocketAddr, p: &Packet) -> Option<[u8; 32]> {
        match packet::encode(p, &self.key) {
            Ok((bytes, hash)) => {
                self.transmits.push_back((to, bytes));
                Some(hash)
            }
            // Our own packets are built within the limits; a failure is a bug we survive.
            Err(_) => None,
        }
    }

    fn ping_packet(&self, now: UnixMs, to: SocketAddr) -> Packet {
        Packet::Ping(Ping {
            version: packet::PING_VERSION,
            from: Endpoint {
                ip: Some(self.config.ip),
                udp: self.config.udp,
                tcp: self.config.tcp,
            },
            to: Endpoint {
                ip: Some(to.ip()),
                udp: to.port(),
                tcp: 0,
            },
            expiration: packet::expiration_from(now.secs()),
            enr_seq: Some(self.record.seq()),
        })
    }

    fn send_ping(
        &mut self,
        now: UnixMs,
        to: NodeId,
        addr: SocketAddr,
        node: Option<Node>,
        purpose: PingPurpose,
    ) {
        if self.pending.len() >= PENDING_MAX {
            // Our shortage, not the node's silence.
            if purpose == PingPurpose::Revalidate {
                self.table.handle_revalidation_inconclusive(now, &to);
            }
            return;
        }
        let p = self.ping_packet(now, addr);
        if let Some(hash) = self.send(addr, &p) {
            self.pending.push(Pending::Ping {
                hash,
                to,
                node,
                addr,
                purpose,
                deadline: now + RESPONSE_TIMEOUT,
            });
        }
    }

    /// Sends `request` to `node` once it holds a fresh proof of our endpoint: at once if it
    /// pinged us recently, else after pinging it and waiting (bounded) for its Ping back.
    fn request_bonded(&mut self, now: UnixMs, node: Node, request: DeferredRequest) {
        let bonded = self.bonded(&node.id, now);
        let d = Deferred {
            node,
            request,
            deadline: now + BOND_WAIT,
        };
        if bonded {
            self.send_deferred(now, d);
        } else if self.deferred.len() < DEFERRED_MAX {
            let (id, addr) = (d.node.id, d.node.udp_addr());
            let already_pinging = self
                .pending
                .iter()
                .any(|p| matches!(p, Pending::Ping { to, .. } if *to == id));
            if !already_pinging {
                self.send_ping(now, id, addr, Some(d.node.clone()), PingPurpose::Bond);
            }
            self.deferred.push(d);
        } else {
            self.fail_deferred(now, d);
        }
    }

    fn send_deferred(&mut self, now: UnixMs, d: Deferred) {
        if self.pending.len() >= PENDING_MAX {
            return self.fail_deferred(now, d);
        }
        let addr = d.node.udp_addr();
        let expiration = packet::expiration_from(now.secs());
        match d.request {
            DeferredRequest::FindNode { lookup, target } => {
                // Neighbors do not name their FindNode: with two outstanding to one node, one
                // lookup could take the other's reply and the other count the node as failed.
                // So a second FindNode waits for the first to end (see `finish_findnode`).
                let busy_until = (self.pending.iter())
                    .filter(|p| matches!(p, Pending::FindNode { to, .. } if *to == d.node.id))
                    .map(Pending::deadline)
                    .max();
                if let Some(busy_until) = busy_until {
                    if self.deferred.len() >= DEFERRED_MAX {
                        return self.fail_deferred(now, d);
                    }
                    let deadline = busy_until.max(now + 1);
                    return self.deferred.push(Deferred { deadline, ..d });
                }
                let p = Packet::FindNode(FindNode { target, expiration });
                if self.send(addr, &p).is_some() {
                    self.pending.push(Pending::FindNode {
                        to: d.node.id,
                        addr,
                        lookup,
                        nodes: Vec::new(),
                        deadline: now + RESPONSE_TIMEOUT,
                    });
                }
            }
            DeferredRequest::Enr => {
                let p = Packet::EnrRequest(EnrRequest { expiration });
                if let Some(hash) = self.send(addr, &p) {
                    self.pending.push(Pending::EnrRequest {
                        hash,
                        to: d.node.id,
                        addr,
                        node: Some(d.node),
                        deadline: now + RESPONSE_TIMEOUT,
                    });
                }
            }
        }
    }

    fn fail_deferred(&mut self, now: UnixMs, d: Deferred) {
        match d.request {
            DeferredRequest::FindNode { lookup, .. } => self.lookup_failure(now, lookup, d.node.id),
            DeferredRequest::Enr => self.events.push_back(Event::EnrResult {
                to: d.node.udp_addr(),
                record: None,
            }),
        }
    }

    /// A request's deadline passed.
    fn expire(&mut self, now: UnixMs, p: Pending) {
        match p {
            Pending::Ping {
                to, addr, purpose, ..
            } => match purpose {
                // While requests are being dropped over the budget, the socket may be dropping
                // datagrams too (a flood fills it faster than we read): silence proves nothing.
                PingPurpose::Revalidate if self.overloaded(now) => {
                    self.table.handle_revalidation_inconclusive(now, &to);
                }
                PingPurpose::Revalidate => {
                    let _ = self.table.handle_revalidation_result(now, &to, false, None);
                }
                PingPurpose::Explicit => self.events.push_back(Event::PingResult {
                    to: addr,
                    pong: None,
                }),
                PingPurpose::Bond => {}
            },
            p @ Pending::FindNode { .. } => self.finish_findnode(now, p),
            Pending::EnrRequest { addr, .. } => {
                self.events.push_back(Event::EnrResult {
                    to: addr,
                    record: None,
                });
            }
        }
    }

    /// A FindNode ended, full, partial or empty: hand what came to its lookup.
    fn finish_findnode(&mut self, now: UnixMs, p: Pending) {
        let Pending::FindNode {
            to, lookup, nodes, ..
        } = p
        else {
            return;
        };
        // A FindNode to the same node waiting for this one (not for a bond) can go now.
        if self.bonded(&to, now)
            && let Some(i) = self.deferred.iter().position(|d| {
                d.node.id == to && matches!(d.request, DeferredRequest::FindNode { .. })
            })
        {
            let d = self.deferred.remove(i);
            self.send_deferred(now, d);
        }
        let bond = self.bond_mut(to, now);
        if nodes.is_empty() {
            bond.findnode_failures = bond.findnode_failures.saturating_add(1);
            let count = bond.findnode_failures;
            self.events
                .push_back(Event::Store(StoreOp::FindnodeFailures { id: to, count }));
            self.lookup_failure(now, lookup, to);
            return;
        }
        if bond.findnode_failures != 0 {
            bond.findnode_failures = 0;
            self.events
                .push_back(Event::Store(StoreOp::FindnodeFailures { id: to, count: 0 }));
        }
        for n in &nodes {
            let _ = self.table.add_seen(now, n.clone());
        }
        if let Some(state) = self.lookups.get_mut(&lookup)
            && let Some(new) = state.lookup.handle_response(&to, nodes)
        {
            for n in new {
                self.events.push_back(Event::Discovered(n));
            }
        }
        self.advance_lookup(now, lookup);
    }

    fn lookup_failure(&mut self, now: UnixMs, lookup: LookupId, from: NodeId) {
        if let Some(state) = self.lookups.get_mut(&lookup) {
            state.lookup.handle_failure(&from);
        }
        self.advance_lookup(now, lookup);
    }

    /// Sends the lookup's next queries, or reports it finished.
    fn advance_lookup(&mut self, now: UnixMs, id: LookupId) {
        let mut queries = Vec::new();
        let finished = {
            let Some(state) = self.lookups.get_mut(&id) else {
                return;
            };
            while let Some(n) = state.lookup.poll_query() {
                queries.push((n, state.target_key));
            }
            queries.is_empty() && state.lookup.is_finished()
        };
        for (node, target) in queries {
            self.request_bonded(now, node, DeferredRequest::FindNode { lookup: id, target });
        }
        if finished && let Some(state) = self.lookups.remove(&id) {
            let result = state.lookup.result();
            self.events.push_back(Event::LookupDone {
                id,
                target: state.lookup.target(),
                rounds: state.lookup.rounds(),
                result,
            });
        }
    }

    // ---- bookkeeping ------------------------------------------------------------------------

    /// Whether `id` holds a fresh proof of our endpoint (it pinged us recently) and our
    /// requests to it have not failed too often: then requests go without pinging first.
    fn bonded(&self, id: &NodeId, now: UnixMs) -> bool {
        self.bonds.get(id).is_some_and(|b| {
            b.last_ping_received
                .is_some_and(|t| now.since(t) < BOND_EXPIRATION)
                && b.findnode_failures <= FINDNODE_FAILURES_MAX
        })
    }

    fn proven(&self, id: &NodeId, ip: IpAddr, now: UnixMs) -> bool {
        self.bonds
            .get(id)
            .and_then(|b| b.last_pong)
            .is_some_and(|(t, at)| at == ip && now.since(t) < BOND_EXPIRATION)
    }

    fn bond_mut(&mut self, id: NodeId, now: UnixMs) -> &mut Bond {
        if !self.bonds.contains_key(&id) && self.bonds.len() >= BONDS_MAX {
            // Forget the record touched longest ago; it can be earned again with a Ping.
            if let Some(old) = self
                .bonds
                .iter()
                .min_by_key(|(k, b)| (b.touched, **k))
                .map(|(k, _)| *k)
            {
                self.bonds.remove(&old);
            }
        }
        let b = self.bonds.entry(id).or_default();
        b.touched = now;
        b
    }

    fn allowed(&self, ip: &IpAddr) -> bool {
        self.config
            .netrestrict
            .as_ref()
            .is_none_or(|n| n.contains(*ip))
    }

    fn next_random(&mut self) -> u64 {
        crate::rng::splitmix64(&mut self.rng)
    }
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
