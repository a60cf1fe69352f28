//! The iterative lookup against in-memory networks (devp2p discv4.md "Recursive Lookup"):
//! nodes answer `FindNode` from their own node tables, and a lookup from any node must end with
//! the true 16 closest nodes to the target, in a handful of rounds.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use common::TestRng;
use ethpeer::crypto::{NodeId, SecretKey};
use ethpeer::discv4::lookup::{ALPHA, Lookup, RESULT_NODES_MAX};
use ethpeer::discv4::table::{BUCKET_SIZE, Node, Table, distance_cmp};
use ethpeer::time::UnixMs;

/// A network of `n` nodes with random ids, each on its own public /24.
fn population(rng: &mut TestRng, n: usize) -> Vec<Node> {
    let key = SecretKey::from_bytes(&[5; 32]).unwrap().public_key();
    (0..n)
        .map(|i| {
            let mut id = [0u8; 32];
            rng.fill(&mut id);
            let ip = IpAddr::V4(Ipv4Addr::new(20, (i >> 8) as u8, i as u8, 1));
            Node {
                id: NodeId(id),
                key,
                ip,
                udp: 30303,
                tcp: 30303,
                enr_seq: 0,
            }
        })
        .collect()
}

/// The `k` nodes of `nodes` closest to `target`, leaving out `except`.
fn true_closest(nodes: &[Node], target: &NodeId, except: &NodeId, k: usize) -> Vec<NodeId> {
    let mut ids: Vec<NodeId> = nodes
        .iter()
        .map(|n| n.id)
        .filter(|id| id != except)
        .collect();
    ids.sort_by(|a, b| distance_cmp(target, a, b));
    ids.truncate(k);
    ids
}

/// Runs `lookup` to the end, each queried node answering with `answer`; checks α on the way.
fn run(lookup: &mut Lookup, mut answer: impl FnMut(&mut Lookup, &Node)) {
    while !lookup.is_finished() {
        let asked: Vec<Node> = std::iter::from_fn(|| lookup.poll_query()).collect();
        assert!(
            !asked.is_empty(),
            "an unfinished lookup with nothing to ask"
        );
        assert!(asked.len() <= ALPHA && lookup.pending_count() <= ALPHA);
        for n in &asked {
            answer(lookup, n);
        }
    }
}

fn median(mut v: Vec<u32>) -> u32 {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn lookups_over_full_tables_find_the_true_closest() {
    let mut rng = TestRng::new(0xd15c);
    let nodes = population(&mut rng, 200);
    // Every node has met every other: its table keeps what Kademlia's buckets allow.
    let tables: BTreeMap<NodeId, Table> = nodes
        .iter()
        .map(|me| {
            let mut t = Table::new(me.id, rng.next_u64());
            for other in &nodes {
                if other.id != me.id {
                    let _ = t.add_verified(UnixMs(0), other.clone());
                }
            }
            (me.id, t)
        })
        .collect();
    let mut rounds = Vec::new();
    for case in 0..60 {
        let start = &nodes[rng.below(nodes.len() as u64) as usize];
        let mut target = [0u8; 32];
        rng.fill(&mut target);
        let target = NodeId(target);
        let seeds = tables[&start.id].closest(&target, BUCKET_SIZE);
        let mut lookup = Lookup::new(target, start.id, seeds);
        run(&mut lookup, |l, n| {
            let answer = tables[&n.id].closest(&target, BUCKET_SIZE);
            assert!(l.handle_response(&n.id, answer).is_some());
        });
        let got: Vec<NodeId> = lookup.result().iter().map(|n| n.id).collect();
        let want = true_closest(&nodes, &target, &start.id, RESULT_NODES_MAX);
        assert_eq!(
            got, want,
            "case {case}: lookup from {} for {target}",
            start.id
        );
        // Each round at least halves the distance, and 200 nodes span about 8 bits.
        assert!(
            lookup.rounds() <= 8,
            "case {case}: {} rounds",
            lookup.rounds()
        );
        rounds.push(lookup.rounds());
    }
    println!(
        "median rounds over {} lookups: {}",
        rounds.len(),
        median(rounds)
    );
}

#[test]
fn nodes_bootstrapping_from_one_bootnode_learn_the_network() {
    // Each node knows only the bootnode, does a self-lookup then one random lookup; queried
    // nodes learn the querier (it proved its endpoint), queriers learn who answered and whom
    // they were told of. Afterwards lookups from anyone find the true closest.
    let mut rng = TestRng::new(0xb007);
    let nodes = population(&mut rng, 200);
    let by_id: BTreeMap<NodeId, Node> = nodes.iter().map(|n| (n.id, n.clone())).collect();
    let mut tables: BTreeMap<NodeId, Table> = nodes
        .iter()
        .map(|n| (n.id, Table::new(n.id, rng.next_u64())))
        .collect();
    let boot = nodes[0].clone();
    let lookup_in = |tables: &mut BTreeMap<NodeId, Table>, me: &Node, target: NodeId| {
        let seeds = tables[&me.id].closest(&target, BUCKET_SIZE);
        let mut lookup = Lookup::new(target, me.id, seeds);
        run(&mut lookup, |l, n| {
            let peer = tables.get_mut(&n.id).unwrap();
            let _ = peer.add_verified(UnixMs(0), me.clone());
            let answer = peer.closest_live(&target, BUCKET_SIZE);
            let fresh = l.handle_response(&n.id, answer).unwrap();
            let mine = tables.get_mut(&me.id).unwrap();
            let _ = mine.add_verified(UnixMs(0), by_id[&n.id].clone());
            for f in fresh {
                let _ = mine.add_seen(UnixMs(0), f);
            }
        });
        lookup
    };
    for me in &nodes[1..] {
        let _ = tables
            .get_mut(&me.id)
            .unwrap()
            .add_seen(UnixMs(0), boot.clone());
        let _ = tables
            .get_mut(&boot.id)
            .unwrap()
            .add_verified(UnixMs(0), me.clone());
        lookup_in(&mut tables, me, me.id);
        let mut t = [0u8; 32];
        rng.fill(&mut t);
        lookup_in(&mut tables, me, NodeId(t));
    }
    let sizes: Vec<u32> = tables.values().map(|t| t.len() as u32).collect();
    assert!(
        sizes.iter().all(|&s| s >= BUCKET_SIZE as u32),
        "a table stayed small: {sizes:?}"
    );
    let mut rounds = Vec::new();
    for case in 0..40 {
        let me = &nodes[rng.below(nodes.len() as u64) as usize];
        let mut t = [0u8; 32];
        rng.fill(&mut t);
        let target = NodeId(t);
        let lookup = lookup_in(&mut tables, me, target);
        let got: Vec<NodeId> = lookup.result().iter().map(|n| n.id).collect();
        let want = true_closest(&nodes, &target, &me.id, RESULT_NODES_MAX);
        assert_eq!(got, want, "case {case}");
        rounds.push(lookup.rounds());
    }
    println!(
        "median table size {}, median rounds {}",
        median(sizes),
        median(rounds)
    );
}
