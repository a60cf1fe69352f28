//! Deterministic simulation of transaction propagation: 50 nodes, each running the
//! [`Broadcaster`] push/announce policy and the [`TxFetcher`] over a seeded random graph with
//! message latency, in simulated time. The in-test "pool" is a set of hashes.
//!
//! The main run injects 200 transactions (random senders, some over 4 KiB, some blob) at random
//! nodes and checks that every node ends up with every transaction, that no node ever sent the
//! same body twice to the same peer, that each node pushes at most ⌈√deg⌉ copies and fetches
//! nothing twice, and it prints the full bodies received per node per transaction. Replay a failure with `SIM_SEED=<seed> cargo test --test sim_txprop`.

mod common;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};

use common::TestRng;
use ethpeer::eth::NewPooledTransactionHashes;
use ethpeer::eth::txs::broadcast::{BLOB_TX_TYPE, Broadcaster, ConnId, TX_BROADCAST_SIZE_MAX};
use ethpeer::eth::txs::tx_fetcher::{FetchAction, TxFetcher};
use ethpeer::time::Mono;
use ethpeer::tx::{Hash, PoolTx};

/// Nodes in the main run.
const NODES: usize = 50;
/// Transactions injected in the main run.
const TXS: usize = 200;
/// Each node wants between these many peers.
const DEGREE_MIN: usize = 8;
const DEGREE_MAX: usize = 12;
/// One-way message latency range, milliseconds.
const LATENCY_MIN: u64 = 20;
const LATENCY_MAX: u64 = 150;
/// Injections are spread over this much simulated time, milliseconds.
const INJECT_SPAN: u64 = 20_000;
/// Distinct senders the transactions are drawn from (several transactions share one).
const SENDERS: u64 = 60;
/// Full bodies received per node per transaction the project aims for (reported, see the end
/// of the main test for why the ⌈√n⌉ policy does not reach it).
const RECEPTIONS_TARGET: f64 = 1.3;
/// The seed used when `SIM_SEED` is not set.
const DEFAULT_SEED: u64 = 0x7870_726f_7000_0001;

fn seed() -> u64 {
    match std::env::var("SIM_SEED") {
        Ok(s) => s.parse().unwrap_or_else(|e| panic!("SIM_SEED={s:?}: {e}")),
        Err(_) => DEFAULT_SEED,
    }
}

/// A message between nodes (bodies travel as hashes into the shared transaction table).
#[derive(Debug, Clone)]
enum Msg {
    /// Transactions: full bodies pushed.
    Txs(Vec<Hash>),
    /// NewPooledTransactionHashes.
    Announce(NewPooledTransactionHashes),
    /// GetPooledTransactions.
    GetPooled { id: u64, hashes: Vec<Hash> },
    /// PooledTransactions.
    Pooled { id: u64, hashes: Vec<Hash> },
    /// A transaction submitted locally at the node.
    Inject(Hash),
}

struct Event {
    at: u64,
    seq: u64,
    from: usize,
    to: usize,
    msg: Msg,
}

impl PartialEq for Event {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Event {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Node {
    broadcaster: Broadcaster,
    fetcher: TxFetcher,
    pool: HashSet<Hash>,
    peers: BTreeSet<usize>,
    /// A liar announces every size one byte larger than the truth.
    liar: bool,
}

struct Sim {
    seed: u64,
    rng: TestRng,
    now: u64,
    seq: u64,
    nodes: Vec<Node>,
    txs: HashMap<Hash, PoolTx>,
    queue: BinaryHeap<Reverse<Event>>,
    /// Full bodies received (pushed or fetched), duplicates included.
    bodies_received: u64,
    /// Full bodies sent per (from, to, hash).
    bodies_sent: HashMap<(usize, usize, Hash), u32>,
    /// Which peer delivered each node its copy of each transaction first (None: injected), and
    /// when.
    first_from: HashMap<(usize, Hash), (Option<usize>, u64)>,
    /// When each transaction was injected.
    injected: HashMap<Hash, u64>,
    /// Pushes (Transactions) sent per (from, hash).
    pushes: HashMap<(usize, Hash), usize>,
    /// Fetched bodies (PooledTransactions) received per (node, hash).
    fetches: HashMap<(usize, Hash), usize>,
    /// (disconnecting node, peer) pairs.
    disconnects: Vec<(usize, usize, &'static str)>,
    /// Fixed latency instead of a random one (for scripted tests).
    fixed_latency: Option<u64>,
}

impl Sim {
    fn new(seed: u64, n: usize, edges: &[(usize, usize)], liars: &[usize]) -> Sim {
        let mut rng = TestRng::new(seed);
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| Node {
                broadcaster: Broadcaster::new(),
                fetcher: TxFetcher::new(),
                pool: HashSet::new(),
                peers: BTreeSet::new(),
                liar: liars.contains(&i),
            })
            .collect();
        for &(a, b) in edges {
            let (sa, sb) = (rng.next_u64(), rng.next_u64());
            nodes[a].peers.insert(b);
            nodes[a].broadcaster.add_peer(ConnId(b as u64), sa);
            nodes[b].peers.insert(a);
            nodes[b].broadcaster.add_peer(ConnId(a as u64), sb);
        }
        Sim {
            seed,
            rng,
            now: 0,
            seq: 0,
            nodes,
            txs: HashMap::new(),
            queue: BinaryHeap::new(),
            bodies_received: 0,
            bodies_sent: HashMap::new(),
            first_from: HashMap::new(),
            injected: HashMap::new(),
            pushes: HashMap::new(),
            fetches: HashMap::new(),
            disconnects: Vec::new(),
            fixed_latency: None,
        }
    }

    fn push(&mut self, at: u64, from: usize, to: usize, msg: Msg) {
        self.seq += 1;
        self.queue.push(Reverse(Event {
            at,
            seq: self.seq,
            from,
            to,
            msg,
        }));
    }

    fn send(&mut self, from: usize, to: usize, msg: Msg) {
        let latency = self
            .fixed_latency
            .unwrap_or_else(|| LATENCY_MIN + self.rng.below(LATENCY_MAX - LATENCY_MIN + 1));
        if let Msg::Txs(hashes) | Msg::Pooled { hashes, .. } = &msg {
            for h in hashes {
                *self.bodies_sent.entry((from, to, *h)).or_default() += 1;
            }
        }
        if let Msg::Txs(hashes) = &msg {
            for h in hashes {
                *self.pushes.entry((from, *h)).or_default() += 1;
            }
        }
        self.push(self.now + latency, from, to, msg);
    }

    /// Node `at` has a body for `hash`, from `from` (None: submitted locally).
    fn take_body(&mut self, at: usize, from: Option<usize>, hash: Hash) {
        if let Some(f) = from {
            self.bodies_received += 1;
            self.nodes[at]
                .broadcaster
                .mark_known(ConnId(f as u64), hash);
        }
        let node = &mut self.nodes[at];
        node.fetcher.handle_broadcast(&hash);
        if !node.pool.insert(hash) {
            return;
        }
        self.first_from.insert((at, hash), (from, self.now));
        if from.is_none() {
            self.injected.insert(hash, self.now);
        }
        let tx = &self.txs[&hash];
        let peers: Vec<ConnId> = node.peers.iter().map(|p| ConnId(*p as u64)).collect();
        // Only the node a transaction entered at pushes it whole; relays announce.
        let plans = node.broadcaster.plan_txs(&[tx], &peers, from.is_none());
        let liar = node.liar;
        for (peer, plan) in plans {
            let to = peer.0 as usize;
            if !plan.full.is_empty() {
                self.send(at, to, Msg::Txs(plan.full.clone()));
            }
            for mut pack in plan.announcements() {
                if liar {
                    pack.sizes.iter_mut().for_each(|s| *s += 1);
                }
                self.send(at, to, Msg::Announce(pack));
            }
        }
    }

    fn drain_actions(&mut self, at: usize) {
        while let Some(action) = self.nodes[at].fetcher.poll_action() {
            match action {
                FetchAction::Request {
                    peer,
                    request_id,
                    hashes,
                } => self.send(
                    at,
                    peer.0 as usize,
                    Msg::GetPooled {
                        id: request_id,
                        hashes,
                    },
                ),
                FetchAction::Disconnect { peer, why } => {
                    self.disconnects.push((at, peer.0 as usize, why));
                    self.unlink(at, peer.0 as usize);
                }
            }
        }
    }

    fn unlink(&mut self, a: usize, b: usize) {
        for (x, y) in [(a, b), (b, a)] {
            let n = &mut self.nodes[x];
            n.peers.remove(&y);
            n.broadcaster.remove_peer(ConnId(y as u64));
            n.fetcher.remove_peer(ConnId(y as u64));
        }
        self.drain_actions(b);
    }

    fn deliver(&mut self, e: Event) {
        let (at, from) = (e.to, e.from);
        if !matches!(e.msg, Msg::Inject(_)) && !self.nodes[at].peers.contains(&from) {
            return; // the link was cut while the message travelled
        }
        match e.msg {
            Msg::Inject(hash) => self.take_body(at, None, hash),
            Msg::Txs(hashes) => {
                for h in hashes {
                    self.take_body(at, Some(from), h);
                }
            }
            Msg::Announce(a) => {
                let node = &mut self.nodes[at];
                for h in &a.hashes {
                    node.broadcaster.mark_known(ConnId(from as u64), *h);
                }
                let pool = &node.pool;
                node.fetcher.handle_announce(
                    Mono(self.now),
                    ConnId(from as u64),
                    &a.types,
                    &a.sizes,
                    &a.hashes,
                    &|h| pool.contains(h),
                );
            }
            Msg::GetPooled { id, hashes } => {
                let have: Vec<Hash> = hashes
                    .into_iter()
                    .filter(|h| self.nodes[at].pool.contains(h))
                    .collect();
                for h in &have {
                    self.nodes[at]
                        .broadcaster
                        .mark_known(ConnId(from as u64), *h);
                }
                self.send(at, from, Msg::Pooled { id, hashes: have });
            }
            Msg::Pooled { id, hashes } => {
                let metas: Vec<(Hash, u8, usize)> = hashes
                    .iter()
                    .map(|h| (*h, self.txs[h].tx_type, self.txs[h].size))
                    .collect();
                let rejected = self.nodes[at].fetcher.handle_delivery(
                    Mono(self.now),
                    ConnId(from as u64),
                    Some(id),
                    &metas,
                );
                for h in hashes {
                    *self.fetches.entry((at, h)).or_default() += 1;
                    if !rejected.contains(&h) {
                        self.take_body(at, Some(from), h);
                    }
                }
            }
        }
        self.drain_actions(at);
    }

    /// Runs until no message is in flight and no fetcher has a timer.
    fn run(&mut self) {
        loop {
            let timer = (0..self.nodes.len())
                .filter_map(|i| self.nodes[i].fetcher.poll_timeout().map(|t| (t, i)))
                .min();
            let next = self.queue.peek().map(|Reverse(e)| e.at);
            match (timer, next) {
                (Some((t, i)), n) if n.is_none_or(|n| t <= Mono(n)) => {
                    assert!(t >= Mono(self.now), "seed {}: timer in the past", self.seed);
                    self.now = t.0;
                    self.nodes[i].fetcher.handle_timeout(t);
                    self.drain_actions(i);
                }
                (_, Some(_)) => {
                    let Some(Reverse(e)) = self.queue.pop() else {
                        unreachable!()
                    };
                    self.now = e.at;
                    self.deliver(e);
                }
                (None, None) => break,
                (Some(_), None) => unreachable!(),
            }
        }
    }

    fn add_tx(&mut self, tx: PoolTx) {
        self.txs.insert(tx.hash, tx);
    }
}

fn make_tx(n: u64, sender: u64, tx_type: u8, size: usize) -> PoolTx {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&n.to_be_bytes());
    hash[8] = 0xaa;
    let mut address = [0u8; 20];
    address[..8].copy_from_slice(&sender.to_be_bytes());
    PoolTx {
        hash,
        sender: address,
        nonce: n,
        tx_type,
        gas_limit: 21_000,
        fee_cap: 1,
        tip_cap: 1,
        blob_count: usize::from(tx_type == BLOB_TX_TYPE),
        blob_fee_cap: 0,
        cost: ethpeer::chain::header::U256::ZERO,
        size,
        network_rlp: vec![0; size],
    }
}

/// A connected random graph where every node has DEGREE_MIN..=DEGREE_MAX peers (as far as the
/// draw allows), as edges (a, b) with a < b.
fn random_graph(rng: &mut TestRng, n: usize) -> Vec<(usize, usize)> {
    loop {
        let want: Vec<usize> = (0..n)
            .map(|_| DEGREE_MIN + rng.below((DEGREE_MAX - DEGREE_MIN + 1) as u64) as usize)
            .collect();
        let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        for a in 0..n {
            let mut tries = 0;
            while adj[a].len() < want[a] && tries < 1_000 {
                tries += 1;
                let b = rng.below(n as u64) as usize;
                if b != a && !adj[a].contains(&b) && adj[b].len() < DEGREE_MAX {
                    adj[a].insert(b);
                    adj[b].insert(a);
                }
            }
        }
        let mut seen = vec![false; n];
        let mut stack = vec![0];
        while let Some(x) = stack.pop() {
            if !std::mem::replace(&mut seen[x], true) {
                stack.extend(adj[x].iter().copied());
            }
        }
        if seen.iter().all(|s| *s) {
            return (0..n)
                .flat_map(|a| adj[a].iter().filter(move |b| **b > a).map(move |b| (a, *b)))
                .collect();
        }
    }
}

#[test]
fn transactions_reach_every_node_with_few_copies() {
    let seed = seed();
    let mut rng = TestRng::new(seed);
    let edges = random_graph(&mut rng, NODES);
    let mut sim = Sim::new(rng.next_u64(), NODES, &edges, &[]);
    let mut kinds = BTreeMap::new();
    for i in 0..TXS as u64 {
        let roll = rng.below(100);
        let (tx_type, size, kind) = match roll {
            0..=69 => (2, 100 + rng.below(1_500) as usize, "small"),
            70..=84 => (
                2,
                TX_BROADCAST_SIZE_MAX + 1 + rng.below(60_000) as usize,
                "large",
            ),
            _ => (BLOB_TX_TYPE, 131_300 + rng.below(1_000) as usize, "blob"),
        };
        *kinds.entry(kind).or_insert(0u32) += 1;
        let tx = make_tx(i, rng.below(SENDERS), tx_type, size);
        let hash = tx.hash;
        sim.add_tx(tx);
        let at = rng.below(NODES as u64) as usize;
        let when = rng.below(INJECT_SPAN);
        sim.push(when, at, at, Msg::Inject(hash));
    }
    sim.run();

    let degrees: Vec<usize> = sim.nodes.iter().map(|n| n.peers.len()).collect();
    let pushable = |h: &Hash| {
        let tx = &sim.txs[h];
        tx.tx_type != BLOB_TX_TYPE && tx.network_rlp.len() <= TX_BROADCAST_SIZE_MAX
    };
    let missing: usize = sim
        .nodes
        .iter()
        .map(|n| sim.txs.keys().filter(|h| !n.pool.contains(*h)).count())
        .sum();
    let dup_sends: Vec<_> = sim.bodies_sent.iter().filter(|(_, c)| **c > 1).collect();
    let per_node = sim.bodies_received as f64 / (NODES * TXS) as f64;
    let (mut small_bodies, mut other_bodies) = (0u64, 0u64);
    for ((_, _, h), c) in &sim.bodies_sent {
        if pushable(h) {
            small_bodies += u64::from(*c);
        } else {
            other_bodies += u64::from(*c);
        }
    }
    let small = u64::from(kinds["small"]);
    let others = TXS as u64 - small;
    // How long each transaction took to reach the last node.
    let mut spread: Vec<u64> = sim
        .injected
        .iter()
        .map(|(h, t0)| {
            (0..NODES)
                .filter_map(|i| sim.first_from.get(&(i, *h)).map(|f| f.1 - t0))
                .max()
                .unwrap_or(0)
        })
        .collect();
    spread.sort_unstable();
    let stats: Vec<_> = sim.nodes.iter().map(|n| n.fetcher.stats()).collect();
    let requests: u64 = stats.iter().map(|s| s.requests).sum();
    println!(
        "seed {seed}: {NODES} nodes (degrees {}..={}, {} links), {TXS} txs {kinds:?}",
        degrees.iter().min().unwrap(),
        degrees.iter().max().unwrap(),
        edges.len()
    );
    println!(
        "full bodies received per node per tx: {per_node:.3} (target {RECEPTIONS_TARGET}); \
         pushed txs: {:.3}; announce-only txs: {:.3}; {requests} GetPooledTransactions; \
         time to reach every node: median {} ms, max {} ms",
        small_bodies as f64 / (small * NODES as u64) as f64,
        other_bodies as f64 / (others * NODES as u64) as f64,
        spread[spread.len() / 2],
        spread[spread.len() - 1],
    );
    assert_eq!(
        missing, 0,
        "seed {seed}: {missing} (node, tx) pairs never arrived"
    );
    assert!(
        dup_sends.is_empty(),
        "seed {seed}: bodies sent twice to one peer: {:?}",
        &dup_sends[..dup_sends.len().min(5)]
    );
    assert!(
        sim.disconnects.is_empty(),
        "seed {seed}: {:?}",
        sim.disconnects
    );
    for (i, s) in stats.iter().enumerate() {
        assert_eq!(
            s.unavailable + s.timeouts,
            0,
            "seed {seed}: node {i}: {s:?}"
        );
        assert_eq!(
            s.dropped_peer_full + s.dropped_waiting_full,
            0,
            "seed {seed}"
        );
    }
    // The policy's own arithmetic: a node pushes a transaction once, to at most ⌈√deg⌉ peers,
    // and never pushes a blob or large one; nothing is fetched twice by one node.
    for ((from, h), n) in &sim.pushes {
        assert!(
            sim.first_from
                .get(&(*from, *h))
                .is_some_and(|f| f.0.is_none()),
            "seed {seed}: node {from} relayed a tx by pushing it"
        );
        let cap = (1..).find(|k| k * k >= degrees[*from]).unwrap_or(0);
        assert!(
            pushable(h),
            "seed {seed}: node {from} pushed an announce-only tx"
        );
        assert!(
            *n <= cap,
            "seed {seed}: node {from} pushed a tx to {n} > {cap} peers"
        );
    }
    for ((at, _), n) in &sim.fetches {
        assert_eq!(*n, 1, "seed {seed}: node {at} fetched a tx {n} times");
    }
    assert_eq!(
        other_bodies,
        others * (NODES as u64 - 1),
        "seed {seed}: an announce-only tx crosses to each node but its origin exactly once"
    );
    // Pushes happen at the origin only, so a transaction's body reaches each node once by
    // fetch, plus at most the origin's ⌈√deg⌉ pushes that overlap a fetch already under way.
    assert!(
        per_node <= RECEPTIONS_TARGET,
        "seed {seed}: {per_node:.3} full bodies per node per tx, over the {RECEPTIONS_TARGET} target"
    );
}

#[test]
fn a_lying_announcer_is_disconnected_and_the_tx_fetched_from_an_honest_one() {
    // Node 0 hears of a blob transaction (announce-only) from node 1, which lies about its
    // size, and from node 2, which does not. With equal latency both announcements arrive
    // together and the fetcher asks the lower peer id, the liar, first.
    let mut sim = Sim::new(seed(), 3, &[(0, 1), (0, 2)], &[1]);
    sim.fixed_latency = Some(50);
    let tx = make_tx(1, 1, BLOB_TX_TYPE, 131_500);
    let hash = tx.hash;
    sim.add_tx(tx);
    sim.push(0, 1, 1, Msg::Inject(hash));
    sim.push(0, 2, 2, Msg::Inject(hash));
    sim.run();
    assert_eq!(
        sim.disconnects,
        vec![(0, 1, ethpeer::eth::txs::tx_fetcher::MISMATCH_REASON)]
    );
    assert!(sim.nodes[0].pool.contains(&hash), "fetched from node 2");
    assert_eq!(sim.first_from.get(&(0, hash)).map(|f| f.0), Some(Some(2)));
    assert_eq!(sim.nodes[0].fetcher.stats().mismatches, 1);
    assert!(!sim.nodes[0].peers.contains(&1) && !sim.nodes[1].peers.contains(&0));
}
