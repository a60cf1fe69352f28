//! Deterministic simulation of discovery v5 (devp2p discv5-theory.md "Node Table", "Lookup",
//! "Handshake Steps"): hundreds of `discv5::Discovery` state machines in one process over the
//! simulated network of `common::simnet`, with seeded entropy for their keys, nonces and
//! masking IVs, through the same scenarios as discovery v4 (`sim/scenario.rs`): the same table
//! code, so the same meaning of full, evicted and bounded.
//!
//! What it shows, per seed: every table fills; lookups for random targets (FINDNODE at the
//! three distances nearest the target) return the 16 true closest live nodes; nodes that leave
//! are evicted within a computed bound; a flood of 100 nodes from one /24 stays within the
//! subnet limits; a seed replays exactly. `make sim SEED=<seed> NODES=<n>` replays a failure.

mod common;
#[path = "sim/scenario.rs"]
mod scenario;

use std::net::SocketAddr;

use common::TestRng;
use common::simnet::SimNet;
use ethpeer::crypto::{NodeId, SecretKey};
use ethpeer::dial::Millis;
use ethpeer::discv4::table::log_distance;
use ethpeer::discv5::discovery::{
    Discovery, FINDNODE_RESULT_MAX, REQUEST_RETRIES, RESPONSE_TIMEOUT, lookup_distances,
};
use ethpeer::enr::Record;
use ethpeer::time::UnixMs;
use scenario::{Version, flood, network, node_count, replays_exactly, seeds};

impl Version for Discovery {
    type Boot = Record;
    const NAME: &'static str = "discv5";
    // A v5 node answers FINDNODE to whoever completes a handshake: no proof to go stale, so a
    // miss must be explained by a lost datagram.
    const STALE_PROOF: Option<&'static str> = None;
    // The ping and each retry time out before the failure counts.
    const FAILED_PING_TIME: Millis = RESPONSE_TIMEOUT * (1 + REQUEST_RETRIES as Millis);

    fn boot(key: &SecretKey, addr: SocketAddr) -> Record {
        // The record the node itself signs at start (sequence 1, one port for UDP and TCP).
        Record::builder()
            .seq(1)
            .ip(addr.ip())
            .udp(addr.port())
            .tcp(addr.port())
            .sign(key)
            .expect("a small record signs")
    }
    fn boot_id(b: &Record) -> NodeId {
        b.node_id().expect("a v4-scheme record")
    }
    fn add(
        net: &mut SimNet<Self>,
        key: SecretKey,
        addr: SocketAddr,
        boot: Vec<Record>,
        seed: u64,
    ) -> usize {
        net.add(key, addr, boot, seed)
    }
    fn self_lookup(&mut self, now: Millis) {
        let me = self.self_id();
        self.start_lookup(UnixMs(now), me);
    }
    fn random_lookup(&mut self, now: Millis) {
        self.start_random_lookup(UnixMs(now));
    }
    fn lookup(&mut self, now: Millis, rng: &mut TestRng) -> Option<u64> {
        let mut target = [0u8; 32];
        rng.fill(&mut target);
        self.start_lookup(UnixMs(now), NodeId(target))
    }
    fn out_of_reach(target: &NodeId, asked: &Self, node: &NodeId) -> bool {
        // The answer a FINDNODE for the lookup's distances gets (discv5-wire.md "FINDNODE"):
        // live entries at each distance in the order asked, at most FINDNODE_RESULT_MAX.
        let (t, me) = (asked.table(), asked.self_id());
        let mut answer = Vec::new();
        for d in lookup_distances(target, &me) {
            let at_d = t.nodes().filter(|n| {
                log_distance(&me, &n.id) == u32::from(d)
                    && t.entry(&n.id).is_some_and(|e| e.last_pong.is_some())
            });
            answer.extend(at_d.map(|n| n.id));
        }
        answer.truncate(FINDNODE_RESULT_MAX);
        !answer.contains(node)
    }
}

#[test]
fn sim_discv5_network() {
    let n = node_count();
    for seed in seeds() {
        let t = std::time::Instant::now();
        let o = network::<Discovery>(seed, n);
        println!("{}wall time {:.1} s\n", o.report, t.elapsed().as_secs_f64());
    }
}

#[test]
fn sim_discv5_subnet_flood() {
    for seed in seeds() {
        let t = std::time::Instant::now();
        let r = flood::<Discovery>(seed);
        println!(
            "discv5 seed {seed}: {r}wall time {:.1} s\n",
            t.elapsed().as_secs_f64()
        );
    }
}

#[test]
fn sim_discv5_replays_exactly() {
    replays_exactly::<Discovery>();
}
