//! The discovery simulation's scenarios, for either discovery version ([`Version`]): hundreds
//! of state machines in one process over `common::simnet` (devp2p discv4.md "Kademlia Table",
//! "Recursive Lookup"; discv5-theory.md "Node Table", "Lookup"). Both versions share the table
//! (`discv4::table`), so what "full", "evicted" and "bounded" mean is the same for both; what
//! differs (how a node is named to a bootstrapping node, how a lookup is aimed, what may excuse
//! a lookup's miss, how long a failed revalidation takes) is the [`Version`]'s.
//!
//! What it shows, per seed:
//! - every node's table fills (see [`is_full`] for what that means and why);
//! - lookups for random targets return the 16 true closest live nodes (truth by brute force);
//! - nodes that leave are evicted from every table by revalidation, within a computed bound;
//! - a flood of 100 nodes from one /24 never holds more than the subnet limits in a victim's
//!   table.
//!
//! Invariants are checked after every step. Every failure names its seed and network size, and
//! `make sim SEED=<seed> NODES=<n>` (env `SIM_SEED`, `SIM_NODES`) replays exactly that run;
//! `SIM_SEEDS=<n>` runs seeds 1..=n.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::common::TestRng;
use super::common::simnet::{NetParams, SimDisc, SimNet, fnv, key_from};
use ethpeer::crypto::{NodeId, SecretKey};
use ethpeer::dial::Millis;
use ethpeer::discv4::lookup::RESULT_NODES_MAX;
use ethpeer::discv4::table::{
    BUCKET_COUNT, BUCKET_SIZE, BUCKET_SUBNET_MAX, REPLACEMENTS_MAX, REVALIDATE_INTERVAL,
    TABLE_SUBNET_MAX, Table, bucket_index, distance_cmp, log_distance,
};

/// What differs between the discovery versions in the scenarios.
pub trait Version: SimDisc + Sized {
    /// How a node is named to those that bootstrap from it (v4: its endpoint, v5: its record).
    type Boot: Clone;
    /// The version's name, for the report.
    const NAME: &'static str;
    /// A refusal (the simnet's variant name) by the missed node of the asker's request that
    /// excuses a lookup's miss without loss, if the version has one (v4: `NoBond`, the stale
    /// endpoint proof).
    const STALE_PROOF: Option<&'static str>;
    /// From a revalidation ping to its failure being counted: every try's timeout.
    const FAILED_PING_TIME: Millis;
    fn boot(key: &SecretKey, addr: SocketAddr) -> Self::Boot;
    fn boot_id(b: &Self::Boot) -> NodeId;
    fn add(
        net: &mut SimNet<Self>,
        key: SecretKey,
        addr: SocketAddr,
        boot: Vec<Self::Boot>,
        seed: u64,
    ) -> usize;
    fn self_lookup(&mut self, now: Millis);
    fn random_lookup(&mut self, now: Millis);
    /// A lookup for a target drawn from `rng`.
    fn lookup(&mut self, now: Millis, rng: &mut TestRng) -> Option<u64>;
    /// Whether a lookup for `target` asking the node `asked` (as its table is now) would not be
    /// told of `node`: v5 asks for three log distances and gets at most 16 live entries of
    /// them; v4 asks for the closest to the target (never).
    fn out_of_reach(target: &NodeId, asked: &Self, node: &NodeId) -> bool;
}

/// Nodes in the main simulation when `SIM_NODES` is not set: what a debug `make test` affords
/// (every datagram is signed and its signature recovered). `make sim` passes 500.
const NODES_DEFAULT: usize = 150;
/// Nodes in the replay-determinism runs (the whole scenario, twice, plus another seed).
const REPLAY_NODES: usize = 40;
/// The first nodes are bootnodes; every other node knows them (and only them) at start.
const BOOTNODES: usize = 4;
/// Nodes join at uniformly drawn times within this window.
const JOIN_WINDOW: Millis = 20_000;
/// Each node runs a lookup this often (self and random in turn) until its table is full.
const REFRESH_INTERVAL: Millis = 10_000;
/// Tables must be full by then (simulated time since the first node started).
const FILL_DEADLINE: Millis = 5 * 60_000;
/// How often fill and whole-table invariants are checked.
const CHECKPOINT: Millis = 1_000;
/// The farthest buckets (distances 256 and 255) must end up as full as the network allows: they
/// cover three quarters of the id space, so three random lookups in four restock one of them.
const FAR_BUCKETS: usize = 2;
/// Random-target lookups checked against the truth: the first half over the lossy network, the
/// second half with loss switched off.
const LOOKUPS: usize = 50;
/// Lookups start this far apart.
const LOOKUP_SPACING: Millis = 200;
/// Nodes that leave the network at once.
const LEAVERS: usize = 5;
/// The longest gap between two revalidation pings of one table (`REVALIDATE_INTERVAL / 2 +
/// jitter`, the jitter below one interval).
const REVALIDATE_GAP_MAX: Millis = REVALIDATE_INTERVAL * 3 / 2;
/// Honest nodes in the flood simulation (besides the victim).
const FLOOD_HONEST: usize = 30;
/// Attacking nodes, all in one /24.
const FLOOD_ATTACKERS: usize = 100;
/// How long the flood runs (simulated).
const FLOOD_TIME: Millis = 30_000;
/// Every node in the flood runs a lookup this often (self and random in turn).
const FLOOD_REFRESH: Millis = 10_000;
/// The seed of the default run.
const DEFAULT_SEED: u64 = 1;

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// The seeds to run: `SIM_SEED=<s>` for one, `SIM_SEEDS=<n>` for 1..=n, else the default.
pub fn seeds() -> Vec<u64> {
    if let Some(s) = env("SIM_SEED") {
        return vec![s.trim().parse().expect("SIM_SEED is a u64")];
    }
    if let Some(n) = env("SIM_SEEDS") {
        let n: u64 = n.trim().parse().expect("SIM_SEEDS is a count");
        return (1..=n).collect();
    }
    vec![DEFAULT_SEED]
}

/// The main network's size: `SIM_NODES` or the default.
pub fn node_count() -> usize {
    env("SIM_NODES").map_or(NODES_DEFAULT, |n| {
        n.trim().parse().expect("SIM_NODES is a count")
    })
}

fn replay_hint(seed: u64, n: usize) -> String {
    format!("seed {seed}, {n} nodes: replay with `make sim SEED={seed} NODES={n}`")
}

/// Asserts with the replay command in the message.
macro_rules! check {
    ($replay:expr, $cond:expr, $($fmt:tt)+) => {
        assert!($cond, "{} -- {}", format!($($fmt)+), $replay)
    };
}

/// Latency and loss for a seed: 5-80 ms one way, 1-5 % of datagrams lost.
fn params(rng: &mut TestRng) -> NetParams {
    NetParams {
        latency_min: 5,
        latency_max: 80,
        loss_per_10k: 100 + rng.below(401),
    }
}

/// A public address in its own /24 (44.0.0.0/8 is not LAN, so the subnet limits apply, and no
/// two honest nodes share a /24).
fn honest_addr(i: usize, rng: &mut TestRng) -> SocketAddr {
    let ip = Ipv4Addr::new(
        44,
        1 + (i / 200) as u8,
        (i % 200) as u8,
        1 + rng.below(250) as u8,
    );
    SocketAddr::new(IpAddr::V4(ip), 30303)
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn secs(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

/// Checks after every step, on the node that ran: what a table must never hold.
fn step_invariants<D: Version>(net: &SimNet<D>, i: usize) {
    let t = net.nodes[i].disc.table();
    let r = &net.replay;
    check!(
        r,
        !t.contains(&t.self_id()),
        "node {i}'s table holds itself"
    );
    check!(
        r,
        t.len() <= BUCKET_COUNT * BUCKET_SIZE,
        "node {i}: {} entries",
        t.len()
    );
    check!(
        r,
        t.replacement_count() <= BUCKET_COUNT * REPLACEMENTS_MAX,
        "node {i}: {} replacements",
        t.replacement_count()
    );
}

/// Whole-table invariants, at checkpoints: every entry is a real node at its real address.
fn table_invariants<D: Version>(net: &SimNet<D>, by_id: &BTreeMap<NodeId, usize>) {
    for (i, n) in net.nodes.iter().enumerate().filter(|(_, n)| n.alive) {
        for e in n.disc.table().nodes() {
            let j = by_id.get(&e.id).copied();
            check!(
                net.replay,
                j.is_some(),
                "node {i}'s table holds a node nobody runs"
            );
            let real = &net.nodes[j.unwrap_or(0)].node;
            check!(
                net.replay,
                e.udp_addr() == real.udp_addr() && e.key == real.key,
                "node {i} holds node {j:?} at {} (really at {})",
                e.udp_addr(),
                real.udp_addr()
            );
        }
    }
}

/// What full means for one node, computed by brute force over every live node.
struct Truth {
    /// The k nodes closest to it.
    closest: Vec<NodeId>,
    /// Live nodes in each bucket's distance range.
    per_bucket: [usize; BUCKET_COUNT],
}

fn truths<D: Version>(net: &SimNet<D>) -> Vec<Truth> {
    let live: Vec<NodeId> = net
        .nodes
        .iter()
        .filter(|n| n.alive)
        .map(|n| n.node.id)
        .collect();
    net.nodes
        .iter()
        .map(|n| {
            let me = n.node.id;
            let mut per_bucket = [0usize; BUCKET_COUNT];
            let mut others: Vec<NodeId> = live.iter().copied().filter(|o| *o != me).collect();
            for o in &others {
                per_bucket[bucket_index(log_distance(&me, o))] += 1;
            }
            others.sort_by(|a, b| distance_cmp(&me, a, b));
            others.truncate(BUCKET_SIZE);
            Truth {
                closest: others,
                per_bucket,
            }
        })
        .collect()
}

/// A table is full when
/// (a) it holds each of its k true closest live nodes, or that node's bucket is full (a bucket
///     holds only k, so when the nearest nodes spill into a crowded bucket, which k it keeps is
///     the table's choice): this is what lets a lookup for a target near it end at the right
///     nodes; and
/// (b) its [`FAR_BUCKETS`] farthest buckets hold min(k, live nodes in their range): that is
///     where random lookup targets land.
///
/// Buckets in between are reached only by random lookups that happen to land in their 1/8,
/// 1/16, ... of the id space: discv4 cannot aim a lookup at a bucket (a target is a public
/// key, its id a hash), so they fill at the rate lookups are run, not by any protocol
/// guarantee. Their fill is reported, not required.
fn is_full(t: &Table, truth: &Truth) -> bool {
    has_neighbourhood(t, truth)
        && (BUCKET_COUNT - FAR_BUCKETS..BUCKET_COUNT)
            .all(|b| t.bucket_len(b) >= truth.per_bucket[b].min(BUCKET_SIZE))
}

/// Part (a) of [`is_full`].
fn has_neighbourhood(t: &Table, truth: &Truth) -> bool {
    let me = t.self_id();
    truth.closest.iter().all(|id| {
        t.contains(id) || t.bucket_len(bucket_index(log_distance(&me, id))) >= BUCKET_SIZE
    })
}

/// What a table lacks, for failure messages: per bucket (entries, nodes in range), and the
/// missing closest nodes with where they are.
fn why_not_full(t: &Table, truth: &Truth) -> String {
    let buckets: Vec<(usize, usize)> = (0..BUCKET_COUNT)
        .map(|b| (t.bucket_len(b), truth.per_bucket[b]))
        .collect();
    let missing: Vec<(usize, bool)> = truth
        .closest
        .iter()
        .filter(|id| !t.contains(id))
        .map(|id| {
            (
                bucket_index(log_distance(&t.self_id(), id)),
                t.is_replacement(id),
            )
        })
        .collect();
    format!(
        "buckets (entries, in range) {buckets:?}; missing closest (bucket, is replacement) {missing:?}"
    )
}

/// Entries over the most the table could hold (min(k, live nodes) per bucket), in per mille.
fn fill_ratio(t: &Table, truth: &Truth) -> u64 {
    let most: usize = truth.per_bucket.iter().map(|c| (*c).min(BUCKET_SIZE)).sum();
    let have: usize = (0..BUCKET_COUNT)
        .map(|b| t.bucket_len(b).min(truth.per_bucket[b].min(BUCKET_SIZE)))
        .sum();
    (have * 1000 / most.max(1)) as u64
}

/// A digest of every table's entries, in table order.
fn tables_digest<D: Version>(net: &SimNet<D>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325;
    for n in &net.nodes {
        for e in n.disc.table().nodes() {
            h = fnv(h, &e.id.0);
        }
        h = fnv(h, b"|");
    }
    h
}

/// What one run of the main scenario produced: digests for the replay check, and the report.
pub struct Outcome {
    pub trace: u64,
    pub tables: u64,
    pub report: String,
}

/// The main scenario: nodes join, tables fill, lookups are checked, nodes leave.
pub fn network<D: Version>(seed: u64, n: usize) -> Outcome {
    let replay = replay_hint(seed, n);
    let mut rng = TestRng::new(seed);
    let params = params(&mut rng);
    let mut net: SimNet<D> = SimNet::new(seed, params, replay.clone());
    let keys: Vec<_> = (0..n).map(|_| key_from(&mut rng)).collect();
    let addrs: Vec<_> = (0..n).map(|i| honest_addr(i, &mut rng)).collect();
    let boot: Vec<D::Boot> = (0..BOOTNODES.min(n))
        .map(|i| D::boot(&keys[i], addrs[i]))
        .collect();
    let start = net.now;
    // Bootnodes start at once, the others at drawn times; net indices follow join order.
    let mut joins = Vec::new();
    for i in 0..n {
        let delay = if i < BOOTNODES {
            0
        } else {
            rng.below(JOIN_WINDOW)
        };
        joins.push((start + delay, i));
    }
    joins.sort_unstable();
    let mut joins = joins.into_iter().peekable();
    let mut refresh: BTreeSet<(Millis, usize)> = BTreeSet::new();
    let mut by_id = BTreeMap::new();
    let mut full_at: Vec<Option<Millis>> = Vec::new();
    let mut truth = Vec::new();
    let mut checkpoint = start + CHECKPOINT;
    let all_full_at = loop {
        let until = [
            joins.peek().map(|j| j.0),
            refresh.first().map(|r| r.0),
            Some(checkpoint),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(checkpoint);
        net.run_until(until, step_invariants);
        while let Some((_, u)) = joins.next_if(|j| j.0 <= until) {
            let id = keys[u].public_key().node_id();
            let bootnodes = boot
                .iter()
                .filter(|b| D::boot_id(b) != id)
                .cloned()
                .collect();
            let k = D::add(
                &mut net,
                keys[u].clone(),
                addrs[u],
                bootnodes,
                seed ^ (u as u64) << 8,
            );
            by_id.insert(id, k);
            full_at.push(None);
            net.with(k, |d, now| d.self_lookup(now));
            refresh.insert((until + REFRESH_INTERVAL, k));
            if net.nodes.len() == n {
                truth = truths(&net);
            }
        }
        while let Some((t, k)) = refresh.first().copied().filter(|r| r.0 <= until) {
            refresh.remove(&(t, k));
            if full_at[k].is_some() {
                // A full table needs no more lookups (go-ethereum refreshes every 30 min).
                continue;
            }
            // Like go-ethereum's table refresh, a self-lookup for the near buckets and random
            // ones for the far buckets: here a self-lookup while the neighbourhood is
            // incomplete, else a random one.
            let near_done =
                net.nodes.len() == n && has_neighbourhood(net.nodes[k].disc.table(), &truth[k]);
            if !near_done {
                net.with(k, |d, now| d.self_lookup(now));
            } else {
                net.with(k, |d, now| d.random_lookup(now));
            }
            refresh.insert((t + REFRESH_INTERVAL, k));
        }
        if until < checkpoint {
            continue;
        }
        checkpoint += CHECKPOINT;
        table_invariants(&net, &by_id);
        if net.nodes.len() < n {
            continue;
        }
        for (k, f) in full_at.iter_mut().enumerate() {
            if f.is_none() && is_full(net.nodes[k].disc.table(), &truth[k]) {
                *f = Some(net.now - start);
            }
        }
        let unfilled = full_at.iter().filter(|f| f.is_none()).count();
        if unfilled == 0 {
            break net.now - start;
        }
        if net.now - start >= FILL_DEADLINE {
            let k = full_at.iter().position(Option::is_none).unwrap_or(0);
            check!(
                replay,
                false,
                "{unfilled} of {n} tables not full after {} s; node {k}: {}",
                FILL_DEADLINE / 1000,
                why_not_full(net.nodes[k].disc.table(), &truth[k])
            );
        }
    };
    let fill_stats = net.stats;
    let mut fill_times: Vec<u64> = full_at.iter().flatten().copied().collect();
    let mut sizes: Vec<u64> = net
        .nodes
        .iter()
        .map(|x| x.disc.table().len() as u64)
        .collect();
    let mut ratios: Vec<u64> = (0..n)
        .map(|k| fill_ratio(net.nodes[k].disc.table(), &truth[k]))
        .collect();
    let (size_median, ratio_median) = (median(&mut sizes), median(&mut ratios));
    let ratio_min = ratios[0];
    let mut report = format!(
        "{} seed {seed}: {n} nodes, loss {:.2} %, latency {}-{} ms, joins over {} s\n\
         fill: every table full after {:.1} s (median node {:.1} s); table sizes median {} min \
         {} max {}; share of the most each table could hold: min {:.1} % median {:.1} %; {} \
         datagrams sent\n",
        D::NAME,
        secs(params.loss_per_10k * 10),
        params.latency_min,
        params.latency_max,
        JOIN_WINDOW / 1000,
        secs(all_full_at),
        secs(median(&mut fill_times)),
        size_median,
        sizes[0],
        sizes[sizes.len() - 1],
        ratio_min as f64 / 10.0,
        ratio_median as f64 / 10.0,
        fill_stats.sent,
    );
    report += &lookups(&mut net, &mut rng);
    report += &leave(&mut net, &mut rng, &by_id);
    report += &format!(
        "network: {} datagrams sent, {} lost, {} refused {:?}, {} timer wake-ups, {:.0} s \
         simulated\n",
        net.stats.sent,
        net.stats.lost,
        net.stats.refused,
        net.refusals,
        net.stats.timeouts,
        secs(net.elapsed())
    );
    Outcome {
        trace: net.trace(),
        tables: tables_digest(&net),
        report,
    }
}

/// Random-target lookups from random nodes, compared with the brute-force truth.
fn lookups<D: Version>(net: &mut SimNet<D>, rng: &mut TestRng) -> String {
    let replay = net.replay.clone();
    let loss = net.params.loss_per_10k;
    let n = net.nodes.len();
    let mut asked = BTreeMap::new();
    let mut excused_bond = [0; 2];
    let mut excused_loss = [0; 2];
    let mut excused_reach = [0; 2];
    let mut recall = Vec::new();
    let mut rounds = Vec::new();
    for half in 0..2 {
        net.params.loss_per_10k = if half == 0 { loss } else { 0 };
        net.done.clear();
        for _ in 0..LOOKUPS / 2 {
            let k = rng.below(n as u64) as usize;
            let id = net.with(k, |d, now| d.lookup(now, rng));
            check!(replay, id.is_some(), "node {k} refused to start a lookup");
            asked.insert((k, id.unwrap_or(0)), net.now);
            let t = net.now + LOOKUP_SPACING;
            net.run_until(t, step_invariants);
        }
        let deadline = net.now + 60_000;
        let mine = |net: &SimNet<D>| {
            let d = net
                .done
                .iter()
                .filter(|d| asked.contains_key(&(d.node, d.id)));
            d.cloned().collect::<Vec<_>>()
        };
        while mine(net).len() < LOOKUPS / 2 && net.now < deadline {
            let t = net.now + CHECKPOINT;
            net.run_until(t, step_invariants);
        }
        let done = mine(net);
        check!(
            replay,
            done.len() == LOOKUPS / 2,
            "only {} lookups ended",
            done.len()
        );
        let live: Vec<NodeId> = net.nodes.iter().map(|x| x.node.id).collect();
        let mut hits = Vec::new();
        for d in &done {
            let me = net.nodes[d.node].node.id;
            let mut truth: Vec<NodeId> = live.iter().copied().filter(|x| *x != me).collect();
            truth.sort_by(|a, b| distance_cmp(&d.target, a, b));
            truth.truncate(RESULT_NODES_MAX);
            let got: Vec<NodeId> = d.result.clone();
            let sorted = got
                .windows(2)
                .all(|w| distance_cmp(&d.target, &w[0], &w[1]).is_lt());
            check!(
                replay,
                sorted,
                "lookup result of node {} not closest-first",
                d.node
            );
            let found = truth.iter().filter(|t| got.contains(t)).count();
            hits.push(found as u64);
            rounds.push(u64::from(d.rounds));
            // A lookup drops a node whose query fails (the next closest takes its place), so
            // every miss needs a reason between the two nodes during the lookup: a datagram
            // between them lost, or the missed node refusing our FindNode for want of an
            // endpoint proof. The latter also happens without loss: when our Pong to its Ping
            // was lost earlier, we hold its Ping (so we think it has our proof) and it lacks
            // our Pong, until either side revalidates the other or our FindNode failures to it
            // reach the limit.
            let started = asked[&(d.node, d.id)];
            for m in truth.iter().filter(|t| !got.contains(t)) {
                let mi = net.nodes.iter().position(|x| x.node.id == *m).unwrap_or(0);
                let pair = |a: usize, b: usize| (a, b) == (d.node, mi) || (a, b) == (mi, d.node);
                let refused = net.refused_log.iter().any(|(at, to, from, why)| {
                    *to == mi
                        && *from == d.node
                        && Some(why.as_str()) == D::STALE_PROOF
                        && (started..=d.at).contains(at)
                });
                let lost = net
                    .lost_log
                    .iter()
                    .any(|(at, a, b)| pair(*a, *b) && (started..=d.at).contains(at));
                // v5 only: none of the nodes the lookup ended at would name it, as it lies
                // outside the three distances each was asked for, or past the 16 records of
                // their answer (the 16th closest of a small network can be in the other half
                // of the id space from the target).
                let unreachable = got.iter().all(|x| {
                    net.nodes
                        .iter()
                        .find(|n| n.node.id == *x)
                        .is_some_and(|n| D::out_of_reach(&d.target, &n.disc, m))
                });
                check!(
                    replay,
                    refused || lost || unreachable,
                    "a lookup by node {} missed true closest node {mi}, though no datagram \
                     between them was lost, it refused none and the distances asked cover it \
                     (found {found} of 16); {}",
                    d.node,
                    holders(net, m)
                );
                if refused {
                    excused_bond[half] += 1;
                } else if lost {
                    excused_loss[half] += 1;
                } else {
                    excused_reach[half] += 1;
                }
            }
        }
        recall.push(hits);
    }
    net.params.loss_per_10k = loss;
    let exact = |h: &Vec<u64>| h.iter().filter(|x| **x == RESULT_NODES_MAX as u64).count();
    let mean = |h: &Vec<u64>| h.iter().sum::<u64>() as f64 / h.len().max(1) as f64;
    let max_rounds = rounds.iter().max().copied().unwrap_or(0);
    format!(
        "lookups: lossy network: {}/{} exact, mean {:.2} of the 16 true closest; lossless: {}/{} \
         exact; misses explained by a lost datagram {:?}, by a stale endpoint proof (NoBond) \
         {:?}, by the distances asked {:?} (lossy, lossless); rounds median {} max {}\n",
        exact(&recall[0]),
        recall[0].len(),
        mean(&recall[0]),
        exact(&recall[1]),
        recall[1].len(),
        excused_loss,
        excused_bond,
        excused_reach,
        median(&mut rounds),
        max_rounds
    )
}

/// Which tables hold `id`, and how many of them have seen it answer (for failure messages).
fn holders<D: Version>(net: &SimNet<D>, id: &NodeId) -> String {
    let tables = net
        .nodes
        .iter()
        .filter(|x| x.disc.table().contains(id))
        .count();
    let live = net
        .nodes
        .iter()
        .filter(|x| {
            x.disc
                .table()
                .entry(id)
                .is_some_and(|e| e.last_pong.is_some())
        })
        .count();
    format!("{tables} tables hold it, {live} of them have seen it answer")
}

/// How many failed revalidations an entry survives: each divides its count by 3.
fn failures_to_evict(liveness: u32) -> u64 {
    let mut l = liveness;
    let mut f = 1;
    while l / 3 > 0 {
        l /= 3;
        f += 1;
    }
    f
}

/// A few nodes leave at once; revalidation must evict them from every table in bounded time.
fn leave<D: Version>(
    net: &mut SimNet<D>,
    rng: &mut TestRng,
    by_id: &BTreeMap<NodeId, usize>,
) -> String {
    let replay = net.replay.clone();
    let n = net.nodes.len();
    let mut leavers = BTreeSet::new();
    while leavers.len() < LEAVERS.min(n - BOOTNODES) {
        leavers.insert(BOOTNODES + rng.below((n - BOOTNODES) as u64) as usize);
    }
    let ids: Vec<NodeId> = leavers.iter().map(|l| net.nodes[*l].node.id).collect();
    // The bound: a table pings one entry per gap, oldest check first, so a dead entry is
    // reached within one gap per entry ahead of it; the rechecks that loss causes are counted
    // as one more gap per entry; then it must fail enough times in a row (each failure makes
    // it the next to check).
    let mut bound = 0;
    let mut holders = 0;
    for (i, x) in net.nodes.iter().enumerate() {
        let t = x.disc.table();
        for id in &ids {
            if let Some(e) = t.entry(id).filter(|_| !leavers.contains(&i)) {
                holders += 1;
                let gaps = 2 * t.len() as u64 + failures_to_evict(e.liveness_checks);
                bound = bound.max(gaps * REVALIDATE_GAP_MAX + D::FAILED_PING_TIME);
            }
        }
    }
    for l in &leavers {
        net.leave(*l);
    }
    let left = net.now;
    let mut first_gone: BTreeMap<(usize, usize), Millis> = BTreeMap::new();
    loop {
        let t = net.now + CHECKPOINT;
        net.run_until(t, step_invariants);
        table_invariants(net, by_id);
        let mut remaining = 0;
        for (i, x) in net.nodes.iter().enumerate().filter(|(_, x)| x.alive) {
            for (j, id) in ids.iter().enumerate() {
                if x.disc.table().contains(id) {
                    remaining += 1;
                } else {
                    first_gone.entry((i, j)).or_insert(net.now - left);
                }
            }
        }
        if remaining == 0 {
            break;
        }
        check!(
            replay,
            net.now - left <= bound,
            "{remaining} table entries still hold a node that left {:.0} s ago (bound {:.0} s)",
            secs(net.now - left),
            secs(bound)
        );
    }
    let all_gone = net.now - left;
    format!(
        "leave: {} nodes left, held by {holders} tables; all evicted after {:.0} s (bound {:.0} \
         s from table sizes and liveness counts)\n",
        ids.len(),
        secs(all_gone),
        secs(bound)
    )
}

/// Attacker nodes in one /24 against a victim: the subnet limits hold at every step.
pub fn flood<D: Version>(seed: u64) -> String {
    let replay = format!("seed {seed}, flood: replay with `make sim SEED={seed}`");
    let mut rng = TestRng::new(seed ^ 0xf100d);
    let mut net: SimNet<D> = SimNet::new(seed ^ 0xf100d, params(&mut rng), replay.clone());
    let (victim_key, victim_addr) = (key_from(&mut rng), honest_addr(0, &mut rng));
    let boot = vec![D::boot(&victim_key, victim_addr)];
    let victim = D::add(&mut net, victim_key, victim_addr, Vec::new(), seed);
    let mut roles = vec![false];
    for i in 0..FLOOD_HONEST + FLOOD_ATTACKERS {
        let attacker = i >= FLOOD_HONEST;
        let addr = if attacker {
            let host = (i - FLOOD_HONEST + 1) as u8;
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(45, 67, 89, host)), 30303)
        } else {
            honest_addr(i + 1, &mut rng)
        };
        let k = D::add(
            &mut net,
            key_from(&mut rng),
            addr,
            boot.clone(),
            seed ^ (i as u64) << 8,
        );
        roles.push(attacker);
        net.with(k, |d, now| d.self_lookup(now));
    }
    let attackers: Vec<NodeId> = (0..net.nodes.len())
        .filter(|k| roles[*k])
        .map(|k| net.nodes[k].node.id)
        .collect();
    let me = net.nodes[victim].node.id;
    let mut most = 0;
    let check_victim = |net: &SimNet<D>, i: usize, most: &mut usize| {
        step_invariants(net, i);
        if i != victim {
            return;
        }
        let t = net.nodes[victim].disc.table();
        let mut per_bucket = [0usize; BUCKET_COUNT];
        let mut total = 0;
        for a in attackers
            .iter()
            .filter(|a| t.contains(a) || t.is_replacement(a))
        {
            per_bucket[bucket_index(log_distance(&me, a))] += 1;
            total += 1;
        }
        check!(
            net.replay,
            total <= TABLE_SUBNET_MAX,
            "the victim holds {total} nodes of the flooding /24"
        );
        check!(
            net.replay,
            per_bucket.iter().all(|c| *c <= BUCKET_SUBNET_MAX),
            "a victim bucket holds more than {BUCKET_SUBNET_MAX} of the /24: {per_bucket:?}"
        );
        *most = (*most).max(total);
    };
    // Everyone runs lookups (attackers so that they keep pinging the victim and show up in the
    // answers to its lookups), self and random in turn.
    let end = net.now + FLOOD_TIME;
    let mut tick = 0u64;
    while net.now < end {
        let t = net.now + FLOOD_REFRESH;
        net.run_until(t, |net, i| check_victim(net, i, &mut most));
        tick += 1;
        for k in 0..net.nodes.len() {
            if (tick + k as u64).is_multiple_of(2) {
                net.with(k, |d, now| d.self_lookup(now));
            } else {
                net.with(k, |d, now| d.random_lookup(now));
            }
        }
    }
    check!(
        replay,
        most == TABLE_SUBNET_MAX,
        "the flood never reached the table limit (at most {most} in the table): it tested nothing"
    );
    // The flood must not crowd out honest nodes: the victim holds each of them unless its
    // bucket is full, but for a few that loss took out (an entry that answered once is dropped
    // when one revalidation goes unanswered, and comes back only when it is met again).
    let t = net.nodes[victim].disc.table();
    let honest = t.nodes().filter(|x| !attackers.contains(&x.id)).count();
    let lacking: Vec<usize> = (1..net.nodes.len())
        .filter(|k| !roles[*k])
        .filter(|k| {
            let id = net.nodes[*k].node.id;
            !t.contains(&id) && t.bucket_len(bucket_index(log_distance(&me, &id))) < BUCKET_SIZE
        })
        .collect();
    check!(
        replay,
        lacking.len() <= FLOOD_HONEST / 10,
        "the victim lacks honest nodes {lacking:?} though their buckets have room"
    );
    format!(
        "flood: {FLOOD_ATTACKERS} nodes from 45.67.89.0/24 vs a victim with {FLOOD_HONEST} honest \
         peers, {:.0} s: at most {most} of the /24 in its table (limit {TABLE_SUBNET_MAX}, \
         {BUCKET_SUBNET_MAX} per bucket); {honest} honest entries ({} missing from buckets with \
         room), {} entries in all; {} datagrams sent\n",
        secs(FLOOD_TIME),
        lacking.len(),
        t.len(),
        net.stats.sent
    )
}

/// The scenario twice with one seed gives the same run; another seed another.
pub fn replays_exactly<D: Version>() {
    for seed in seeds() {
        let a = network::<D>(seed, REPLAY_NODES);
        let b = network::<D>(seed, REPLAY_NODES);
        let replay = replay_hint(seed, REPLAY_NODES);
        check!(
            replay,
            a.trace == b.trace,
            "two runs delivered different datagrams"
        );
        check!(
            replay,
            a.tables == b.tables,
            "two runs ended with different tables"
        );
        check!(
            replay,
            a.report == b.report,
            "two runs reported differently"
        );
        let c = network::<D>(seed.wrapping_add(1), REPLAY_NODES);
        check!(
            replay,
            a.trace != c.trace,
            "another seed gave the same trace: it digests nothing"
        );
    }
}
