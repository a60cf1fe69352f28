//! Deterministic simulation of discovery v4 (devp2p discv4.md "Kademlia Table", "Recursive
//! Lookup", "Endpoint Proof"): hundreds of `Discovery` state machines in one process over the
//! simulated network of `common::simnet` (seeded latency and loss, simulated time), through the
//! scenarios of `sim/scenario.rs` (shared with `sim_discv5.rs`).
//!
//! What it shows, per seed: every table fills; lookups for random targets return the 16 true
//! closest live nodes; nodes that leave are evicted within a computed bound; a flood of 100
//! nodes from one /24 stays within the subnet limits; a seed replays exactly. Every failure
//! names its seed and network size, and `make sim SEED=<seed> NODES=<n>` replays it. `make test`
//! runs one seed on a smaller network; `make sim` runs the 500-node network in release.

mod common;
#[path = "sim/scenario.rs"]
mod scenario;

use std::net::SocketAddr;

use common::TestRng;
use common::simnet::SimNet;
use ethpeer::crypto::{NodeId, SecretKey};
use ethpeer::dial::Millis;
use ethpeer::discv4::discovery::{Discovery, RESPONSE_TIMEOUT};
use ethpeer::discv4::table::Node;
use ethpeer::time::UnixMs;
use scenario::{Version, flood, network, node_count, replays_exactly, seeds};

impl Version for Discovery {
    type Boot = Node;
    const NAME: &'static str = "discv4";
    // Our Pong to a node's Ping was lost: we hold its Ping, it lacks our Pong, and refuses our
    // FindNode until either side revalidates the other.
    const STALE_PROOF: Option<&'static str> = Some("NoBond");
    const FAILED_PING_TIME: Millis = RESPONSE_TIMEOUT;

    fn boot(key: &SecretKey, addr: SocketAddr) -> Node {
        Node::new(key.public_key(), addr.ip(), addr.port(), addr.port())
    }
    fn boot_id(b: &Node) -> NodeId {
        b.id
    }
    fn add(
        net: &mut SimNet<Self>,
        key: SecretKey,
        addr: SocketAddr,
        boot: Vec<Node>,
        seed: u64,
    ) -> usize {
        net.add(key, addr, boot, seed)
    }
    fn self_lookup(&mut self, now: Millis) {
        self.start_self_lookup(UnixMs(now));
    }
    fn random_lookup(&mut self, now: Millis) {
        self.start_random_lookup(UnixMs(now));
    }
    fn lookup(&mut self, now: Millis, rng: &mut TestRng) -> Option<u64> {
        // A v4 target is a public key; the lookup aims at its hash.
        let mut target = [0u8; 64];
        rng.fill(&mut target);
        self.start_lookup(UnixMs(now), target)
    }
    fn out_of_reach(_: &NodeId, _: &Self, _: &NodeId) -> bool {
        // A FindNode names the target: any node may come back.
        false
    }
}

#[test]
fn sim_discv4_network() {
    let n = node_count();
    for seed in seeds() {
        let t = std::time::Instant::now();
        let o = network::<Discovery>(seed, n);
        println!("{}wall time {:.1} s\n", o.report, t.elapsed().as_secs_f64());
    }
}

#[test]
fn sim_discv4_subnet_flood() {
    for seed in seeds() {
        let t = std::time::Instant::now();
        let r = flood::<Discovery>(seed);
        println!(
            "discv4 seed {seed}: {r}wall time {:.1} s\n",
            t.elapsed().as_secs_f64()
        );
    }
}

#[test]
fn sim_discv4_replays_exactly() {
    replays_exactly::<Discovery>();
}
