//! A deterministic in-memory UDP network for discovery state machines (v4's and v5's, through
//! [`SimDisc`]): simulated time, per-datagram latency and loss from a seeded generator, and an
//! event queue instead of sockets.
//!
//! Time is event-driven: the network jumps straight to the earlier of the next datagram delivery
//! and the earliest node timeout (`Discovery::poll_timeout`), so hundreds of nodes that mostly
//! wait cost nothing while they wait. Datagrams are ordered by (delivery time, sequence number)
//! and node timers by (time, node index), so the same seed always gives the same run; every
//! delivered datagram is folded into a trace digest that a replay must reproduce.
//!
//! Each datagram draws its own latency, but one (sender, receiver) path delivers in order, as a
//! route does for datagrams sent back to back. Lost and refused datagrams are logged so that a
//! scenario can tell a failure the network caused from one the protocol caused.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use ethpeer::crypto::{NodeId, SecretKey};
use ethpeer::dial::Millis;
use ethpeer::discv4::discovery::{Config, Discovery, Event, LookupId};
use ethpeer::discv4::table::{Node, Table};
use ethpeer::discv5::discovery::{
    Config as Config5, Discovery as Discovery5, Event as Event5, seeded_entropy,
};
use ethpeer::enr::Record;
use ethpeer::time::UnixMs;

use super::TestRng;

/// The simulation's epoch: unix ms (Nov 2023), so packet expirations look real.
pub const EPOCH: Millis = 1_700_000_000_000;

/// What the network needs of a discovery state machine: datagrams and time in, datagrams,
/// timers and finished lookups out, and its table to inspect.
pub trait SimDisc {
    fn handle_packet(&mut self, now: UnixMs, from: SocketAddr, bytes: &[u8]) -> Result<(), String>;
    fn handle_timeout(&mut self, now: UnixMs);
    fn poll_timeout(&self) -> Option<UnixMs>;
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)>;
    /// The next finished lookup among its events (the others are dropped): id, target, the
    /// ids found (closest first), rounds.
    fn poll_lookup_done(&mut self) -> Option<(LookupId, NodeId, Vec<NodeId>, u32)>;
    fn table(&self) -> &Table;
}

/// The variant's name of a refusal: enough to tell reasons apart.
fn variant(e: impl std::fmt::Debug) -> String {
    let reason = format!("{e:?}");
    reason.split('(').next().unwrap_or("?").to_string()
}

impl SimDisc for Discovery {
    fn handle_packet(&mut self, now: UnixMs, from: SocketAddr, b: &[u8]) -> Result<(), String> {
        Discovery::handle_packet(self, now, from, b).map_err(variant)
    }
    fn handle_timeout(&mut self, now: UnixMs) {
        Discovery::handle_timeout(self, now)
    }
    fn poll_timeout(&self) -> Option<UnixMs> {
        Discovery::poll_timeout(self)
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        Discovery::poll_transmit(self)
    }
    fn poll_lookup_done(&mut self) -> Option<(LookupId, NodeId, Vec<NodeId>, u32)> {
        while let Some(e) = self.poll_event() {
            if let Event::LookupDone {
                id,
                target,
                result,
                rounds,
            } = e
            {
                return Some((id, target, result.iter().map(|n| n.id).collect(), rounds));
            }
        }
        None
    }
    fn table(&self) -> &Table {
        Discovery::table(self)
    }
}

impl SimDisc for Discovery5 {
    fn handle_packet(&mut self, now: UnixMs, from: SocketAddr, b: &[u8]) -> Result<(), String> {
        Discovery5::handle_packet(self, now, from, b).map_err(variant)
    }
    fn handle_timeout(&mut self, now: UnixMs) {
        Discovery5::handle_timeout(self, now)
    }
    fn poll_timeout(&self) -> Option<UnixMs> {
        Discovery5::poll_timeout(self)
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        Discovery5::poll_transmit(self)
    }
    fn poll_lookup_done(&mut self) -> Option<(LookupId, NodeId, Vec<NodeId>, u32)> {
        while let Some(e) = self.poll_event() {
            if let Event5::LookupDone {
                id,
                target,
                records,
                rounds,
            } = e
            {
                let ids = records.iter().filter_map(Record::node_id).collect();
                return Some((id, target, ids, rounds));
            }
        }
        None
    }
    fn table(&self) -> &Table {
        Discovery5::table(self)
    }
}

/// How the network treats datagrams.
#[derive(Debug, Clone, Copy)]
pub struct NetParams {
    /// One-way latency, drawn uniformly from `latency_min..=latency_max` per datagram.
    pub latency_min: Millis,
    pub latency_max: Millis,
    /// Datagrams lost, per ten thousand.
    pub loss_per_10k: u64,
}

/// A finished lookup, as the owner of a node saw it.
#[derive(Debug, Clone)]
pub struct LookupDone {
    pub node: usize,
    pub id: LookupId,
    pub target: NodeId,
    /// The ids found, closest first.
    pub result: Vec<NodeId>,
    pub rounds: u32,
    pub at: Millis,
}

/// One simulated host: a discovery state machine at an address.
pub struct SimNode<D> {
    pub disc: D,
    pub node: Node,
    /// A node that left gets no datagrams and is never woken again.
    pub alive: bool,
    /// The timer queued for it, if any (at most one per node).
    timer: Option<Millis>,
}

/// Counters over the whole run.
#[derive(Debug, Default, Clone, Copy)]
pub struct NetStats {
    pub sent: u64,
    pub lost: u64,
    pub delivered: u64,
    /// Delivered but refused by the receiver (`handle_packet` returned an error).
    pub refused: u64,
    /// Addressed to a node that left or never existed.
    pub undeliverable: u64,
    pub timeouts: u64,
}

struct Datagram {
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// The simulated network and every node on it (discovery v4 unless told otherwise).
pub struct SimNet<D = Discovery> {
    pub nodes: Vec<SimNode<D>>,
    by_addr: BTreeMap<SocketAddr, usize>,
    queue: BTreeMap<(Millis, u64), Datagram>,
    timers: BTreeSet<(Millis, usize)>,
    seq: u64,
    rng: TestRng,
    pub params: NetParams,
    /// Absolute simulated time (unix ms).
    pub now: Millis,
    pub stats: NetStats,
    /// Lookups finished (the owner clears it when it likes).
    pub done: Vec<LookupDone>,
    trace: u64,
    /// How to replay this run (the seed and command), for failure messages.
    pub replay: String,
    /// Datagrams refused by their receiver, by reason.
    pub refusals: BTreeMap<String, u64>,
    /// Every lost datagram: (time sent, sender, receiver).
    pub lost_log: Vec<(Millis, usize, usize)>,
    /// Every refused datagram: (time, receiver, sender, reason).
    pub refused_log: Vec<(Millis, usize, usize, String)>,
    /// The latest delivery time queued on each (sender, receiver) path.
    paths: BTreeMap<(SocketAddr, SocketAddr), Millis>,
}

/// FNV-1a over `bytes`, continuing from `h`: a cheap, stable digest for replay comparison.
pub fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A node key drawn from `rng`.
pub fn key_from(rng: &mut TestRng) -> SecretKey {
    SecretKey::generate(|b| rng.fill(b))
}

impl<D: SimDisc> SimNet<D> {
    /// An empty network. `seed` draws latencies and losses; `replay` says how to reproduce the
    /// run and goes into every failure message.
    pub fn new(seed: u64, params: NetParams, replay: String) -> SimNet<D> {
        SimNet {
            nodes: Vec::new(),
            by_addr: BTreeMap::new(),
            queue: BTreeMap::new(),
            timers: BTreeSet::new(),
            seq: 0,
            // A stream of its own, so adding a scenario draw elsewhere does not shift the network.
            rng: TestRng::new(seed ^ 0x6e65_7477_6f72_6b21),
            params,
            now: EPOCH,
            stats: NetStats::default(),
            done: Vec::new(),
            trace: 0xcbf2_9ce4_8422_2325,
            replay,
            refusals: BTreeMap::new(),
            refused_log: Vec::new(),
            lost_log: Vec::new(),
            paths: BTreeMap::new(),
        }
    }

    /// Simulated time since the start.
    pub fn elapsed(&self) -> Millis {
        self.now - EPOCH
    }

    /// The digest of every datagram delivered so far (time, sender, receiver, bytes).
    pub fn trace(&self) -> u64 {
        self.trace
    }

    /// Puts a running state machine on the network at `node`'s address; returns its index.
    pub fn add_node(&mut self, disc: D, node: Node) -> usize {
        let addr = node.udp_addr();
        let i = self.nodes.len();
        assert!(
            self.by_addr.insert(addr, i).is_none(),
            "address {addr} used twice"
        );
        self.nodes.push(SimNode {
            disc,
            node,
            alive: true,
            timer: None,
        });
        self.flush(i, false);
        i
    }

    /// Runs `f` on node `i`'s state machine now, then sends what it queued.
    pub fn with<R>(&mut self, i: usize, f: impl FnOnce(&mut D, Millis) -> R) -> R {
        let now = self.now;
        let r = f(&mut self.nodes[i].disc, now);
        self.flush(i, false);
        r
    }

    /// Takes node `i` off the network: nothing reaches it and it never runs again.
    pub fn leave(&mut self, i: usize) {
        self.nodes[i].alive = false;
        if let Some(t) = self.nodes[i].timer.take() {
            self.timers.remove(&(t, i));
        }
    }

    /// When the next thing happens (a delivery or a timer), if anything is queued.
    pub fn next_time(&self) -> Option<Millis> {
        let d = self.queue.keys().next().map(|k| k.0);
        let t = self.timers.iter().next().map(|k| k.0);
        [d, t].into_iter().flatten().min()
    }

    /// Does the next thing if it is due by `until`: returns the node it touched, or `None` (and
    /// moves the clock to `until`) when nothing is.
    pub fn step(&mut self, until: Millis) -> Option<usize> {
        loop {
            let next_d = self.queue.keys().next().map(|k| k.0);
            let next_t = self.timers.iter().next().map(|k| k.0);
            let (at, deliver) = match (next_d, next_t) {
                (Some(d), Some(t)) if d <= t => (d, true),
                (Some(d), None) => (d, true),
                (_, Some(t)) => (t, false),
                (None, None) => (Millis::MAX, false),
            };
            if at > until {
                self.now = self.now.max(until);
                return None;
            }
            self.now = at;
            if !deliver {
                let (t, i) = self.timers.pop_first()?;
                self.nodes[i].timer = None;
                self.stats.timeouts += 1;
                self.nodes[i].disc.handle_timeout(UnixMs(t));
                self.flush(i, true);
                return Some(i);
            }
            let (_, d) = self.queue.pop_first()?;
            let Some(&i) = self.by_addr.get(&d.to).filter(|i| self.nodes[**i].alive) else {
                self.stats.undeliverable += 1;
                continue;
            };
            self.stats.delivered += 1;
            let from = self.by_addr.get(&d.from).copied().unwrap_or(usize::MAX);
            self.trace = fnv(self.trace, &at.to_le_bytes());
            self.trace = fnv(self.trace, &(from as u64).to_le_bytes());
            self.trace = fnv(self.trace, &(i as u64).to_le_bytes());
            self.trace = fnv(self.trace, &d.bytes);
            if let Err(name) = self.nodes[i]
                .disc
                .handle_packet(UnixMs(at), d.from, &d.bytes)
            {
                self.stats.refused += 1;
                *self.refusals.entry(name.clone()).or_insert(0) += 1;
                self.refused_log.push((at, i, from, name));
            }
            self.flush(i, false);
            return Some(i);
        }
    }

    /// Runs until `until`, calling `check(net, node)` after every step.
    pub fn run_until(&mut self, until: Millis, mut check: impl FnMut(&SimNet<D>, usize)) {
        while let Some(i) = self.step(until) {
            check(self, i);
        }
    }

    /// Sends node `i`'s queued datagrams into the network, collects its events and re-arms its
    /// timer. `timed_out`: the node just ran `handle_timeout(now)`.
    fn flush(&mut self, i: usize, timed_out: bool) {
        let from = self.nodes[i].node.udp_addr();
        while let Some((to, bytes)) = self.nodes[i].disc.poll_transmit() {
            self.stats.sent += 1;
            if self.rng.below(10_000) < self.params.loss_per_10k {
                self.stats.lost += 1;
                let to_i = self.by_addr.get(&to).copied().unwrap_or(usize::MAX);
                self.lost_log.push((self.now, i, to_i));
                continue;
            }
            let span = self.params.latency_max - self.params.latency_min + 1;
            let mut at = self.now + self.params.latency_min + self.rng.below(span);
            // One path delivers in order (datagrams sent back to back take the same route): a
            // datagram never overtakes an earlier one from the same sender to the same receiver.
            let last = self.paths.entry((from, to)).or_insert(0);
            at = at.max(*last);
            *last = at;
            self.seq += 1;
            self.queue
                .insert((at, self.seq), Datagram { from, to, bytes });
        }
        while let Some((id, target, result, rounds)) = self.nodes[i].disc.poll_lookup_done() {
            self.done.push(LookupDone {
                node: i,
                id,
                target,
                result,
                rounds,
                at: self.now,
            });
        }
        if let Some(old) = self.nodes[i].timer.take() {
            self.timers.remove(&(old, i));
        }
        if self.nodes[i].alive
            && let Some(t) = self.nodes[i].disc.poll_timeout()
        {
            // After `handle_timeout(now)` everything due must be handled: a deadline at or
            // before now would wake the node in a loop.
            assert!(
                !timed_out || t > UnixMs(self.now),
                "node {i}: poll_timeout {t} is not after now {} after handle_timeout -- {}",
                self.now,
                self.replay
            );
            let t = t.max(UnixMs(self.now)).0;
            self.nodes[i].timer = Some(t);
            self.timers.insert((t, i));
        }
    }
}

impl SimNet<Discovery> {
    /// Brings a v4 node up at the current time; returns its index.
    pub fn add(
        &mut self,
        key: SecretKey,
        addr: SocketAddr,
        bootnodes: Vec<Node>,
        seed: u64,
    ) -> usize {
        let node = Node::new(key.public_key(), addr.ip(), addr.port(), addr.port());
        let config = Config {
            ip: addr.ip(),
            udp: addr.port(),
            tcp: addr.port(),
            bootnodes,
            netrestrict: None,
            seed,
            enr_seq: 1,
            enr_entries: Vec::new(),
        };
        let disc =
            Discovery::new(key, config, UnixMs(self.now)).expect("a fresh node signs its ENR");
        self.add_node(disc, node)
    }
}

impl SimNet<Discovery5> {
    /// Brings a v5 node up at the current time, its randomness seeded from `seed`; returns its
    /// index.
    pub fn add(
        &mut self,
        key: SecretKey,
        addr: SocketAddr,
        bootnodes: Vec<Record>,
        seed: u64,
    ) -> usize {
        let node = Node::new(key.public_key(), addr.ip(), addr.port(), addr.port());
        let config = Config5 {
            ip: addr.ip(),
            udp: addr.port(),
            tcp: addr.port(),
            enr_seq: 1,
            enr_entries: Vec::new(),
            bootnodes,
            seed,
            fixed_endpoint: true,
        };
        let entropy = seeded_entropy(seed ^ 0x0065_6e74_726f_7079);
        let disc = Discovery5::new(key, config, entropy, UnixMs(self.now))
            .expect("a fresh node signs its record");
        self.add_node(disc, node)
    }
}
