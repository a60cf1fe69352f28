//! The discovery state machine between a few in-memory nodes: bonding, lookups, ENR requests,
//! and the endpoint proof that guards FindNode.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::TestRng;
use ethpeer::crypto::SecretKey;
use ethpeer::discv4::discovery::{Config, Discovery, Dropped, Event};
use ethpeer::discv4::packet::{self, FindNode, Packet};
use ethpeer::discv4::table::Node;
use ethpeer::time::UnixMs;

const T0: u64 = 1_700_000_000_000;

struct Net {
    nodes: BTreeMap<SocketAddr, Discovery>,
    events: BTreeMap<SocketAddr, Vec<Event>>,
    now: u64,
}

impl Net {
    fn addr(i: u8) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)), 30303)
    }

    fn key(i: u8) -> SecretKey {
        let mut rng = TestRng::new(u64::from(i));
        SecretKey::generate(|b| rng.fill(b))
    }

    fn node(i: u8) -> Node {
        let a = Self::addr(i);
        Node::new(Self::key(i).public_key(), a.ip(), a.port(), a.port())
    }

    fn new(count: u8, boot: &[u8]) -> Net {
        let mut nodes = BTreeMap::new();
        for i in 1..=count {
            let a = Self::addr(i);
            let config = Config {
                ip: a.ip(),
                udp: a.port(),
                tcp: a.port(),
                bootnodes: boot
                    .iter()
                    .filter(|b| **b != i)
                    .map(|b| Self::node(*b))
                    .collect(),
                netrestrict: None,
                seed: u64::from(i),
                enr_seq: 1,
                enr_entries: Vec::new(),
            };
            nodes.insert(a, Discovery::new(Self::key(i), config, UnixMs(T0)).unwrap());
        }
        Net {
            nodes,
            events: BTreeMap::new(),
            now: T0,
        }
    }

    /// Two nodes: node 2 bonds with node 1, its bootnode, through a self lookup run for `ms`.
    fn bonded_pair(ms: u64) -> Net {
        let mut net = Net::new(2, &[1]);
        let now = net.now;
        net.nodes
            .get_mut(&Net::addr(2))
            .unwrap()
            .start_self_lookup(UnixMs(now));
        net.run(ms, 50);
        net
    }

    /// Delivers every datagram until the network is quiet, then advances time by `step`.
    fn run(&mut self, ms: u64, step: u64) {
        let end = self.now + ms;
        while self.now < end {
            loop {
                let mut out = Vec::new();
                for (a, d) in self.nodes.iter_mut() {
                    while let Some((to, bytes)) = d.poll_transmit() {
                        out.push((*a, to, bytes));
                    }
                    while let Some(e) = d.poll_event() {
                        self.events.entry(*a).or_default().push(e);
                    }
                }
                if out.is_empty() {
                    break;
                }
                for (from, to, bytes) in out {
                    if let Some(d) = self.nodes.get_mut(&to) {
                        let _ = d.handle_packet(UnixMs(self.now), from, &bytes);
                    }
                }
            }
            self.now += step;
            for d in self.nodes.values_mut() {
                d.handle_timeout(UnixMs(self.now));
            }
        }
    }
}

#[test]
fn nodes_find_each_other_through_a_bootnode() {
    let mut net = Net::new(6, &[1]);
    for i in 2..=6 {
        let now = net.now;
        net.nodes
            .get_mut(&Net::addr(i))
            .unwrap()
            .start_self_lookup(UnixMs(now));
    }
    net.run(5_000, 50);
    for i in 2..=6 {
        let now = net.now;
        net.nodes
            .get_mut(&Net::addr(i))
            .unwrap()
            .start_random_lookup(UnixMs(now));
    }
    net.run(5_000, 50);
    for i in 2..=6 {
        let d = &net.nodes[&Net::addr(i)];
        assert!(
            d.table().len() >= 4,
            "node {i} knows only {} nodes",
            d.table().len()
        );
        let done = net.events[&Net::addr(i)]
            .iter()
            .filter(|e| matches!(e, Event::LookupDone { .. }))
            .count();
        assert_eq!(done, 2, "node {i}: both lookups finished");
    }
}

#[test]
fn findnode_without_an_endpoint_proof_gets_no_answer() {
    let mut net = Net::new(2, &[]);
    let stranger = Net::key(9);
    let f = Packet::FindNode(FindNode {
        target: [7; 64],
        expiration: packet::expiration_from(T0 / 1000),
    });
    let (bytes, _) = packet::encode(&f, &stranger).unwrap();
    let d = net.nodes.get_mut(&Net::addr(1)).unwrap();
    assert_eq!(
        d.handle_packet(UnixMs(T0), Net::addr(9), &bytes),
        Err(Dropped::NoBond)
    );
    assert!(
        d.poll_transmit().is_none(),
        "nothing is sent to an unproven sender"
    );
}

#[test]
fn expired_and_garbage_packets_are_dropped_without_reply() {
    let mut net = Net::new(1, &[]);
    let k = Net::key(9);
    let old = Packet::FindNode(FindNode {
        target: [7; 64],
        expiration: T0 / 1000 - 30,
    });
    let (bytes, _) = packet::encode(&old, &k).unwrap();
    let d = net.nodes.get_mut(&Net::addr(1)).unwrap();
    assert_eq!(
        d.handle_packet(UnixMs(T0), Net::addr(9), &bytes),
        Err(Dropped::Expired)
    );
    let mut rng = TestRng::new(5);
    for len in [0usize, 10, 97, 98, 200, 1280, 1281, 4000] {
        let mut junk = vec![0u8; len];
        rng.fill(&mut junk);
        assert!(d.handle_packet(UnixMs(T0), Net::addr(9), &junk).is_err());
    }
    assert!(d.poll_transmit().is_none());
}

#[test]
fn ping_and_enr_request_are_answered() {
    let mut net = Net::new(2, &[]);
    let now = net.now;
    let key2 = Net::key(2).public_key();
    net.nodes
        .get_mut(&Net::addr(1))
        .unwrap()
        .ping(UnixMs(now), Net::addr(2), Some(key2));
    net.run(200, 50);
    let ev = &net.events[&Net::addr(1)];
    assert!(
        ev.iter().any(|e| matches!(e, Event::PingResult { pong: Some((id, Some(1))), .. } if *id == key2.node_id())),
        "{ev:?}"
    );
    let now = net.now;
    net.nodes
        .get_mut(&Net::addr(1))
        .unwrap()
        .request_enr(UnixMs(now), Net::node(2));
    net.run(2_000, 50);
    let ev = &net.events[&Net::addr(1)];
    let rec = ev
        .iter()
        .find_map(|e| match e {
            Event::EnrResult {
                record: Some(r), ..
            } => Some(r.clone()),
            _ => None,
        })
        .expect("an ENR arrived");
    assert_eq!(rec.public_key(), Some(key2));
    assert_eq!(rec.udp(), Some(30303));
}

#[test]
fn our_record_seq_goes_up_only_when_the_endpoint_changes() {
    let mut net = Net::new(1, &[]);
    let d = net.nodes.get_mut(&Net::addr(1)).unwrap();
    let seq = d.record().seq();
    d.set_endpoint(Net::addr(1).ip(), 30303, 30303).unwrap();
    assert_eq!(d.record().seq(), seq, "same endpoint, same record");
    let ip: IpAddr = "198.51.100.4".parse().unwrap();
    d.set_endpoint(ip, 30304, 30305).unwrap();
    assert_eq!(d.record().seq(), seq + 1);
    assert_eq!(d.record().udp(), Some(30304));
    assert_eq!(d.record().tcp(), Some(30305));
    assert_eq!(d.record().ip(), Some("198.51.100.4".parse().unwrap()));
    assert!(d.record().verify().is_ok(), "the new record is signed");
}

#[test]
fn an_endpoint_proof_holds_only_for_the_address_that_gave_it() {
    // Node 2 bonds with node 1 (its bootnode) through a lookup, from 127.0.0.2.
    let mut net = Net::bonded_pair(2_000);
    let f = Packet::FindNode(FindNode {
        target: [7; 64],
        expiration: packet::expiration_from(net.now / 1000),
    });
    let (bytes, _) = packet::encode(&f, &Net::key(2)).unwrap();
    let now = UnixMs(net.now);
    let d = net.nodes.get_mut(&Net::addr(1)).unwrap();
    // The same key from another address: no proof there, so no Neighbors aimed at it.
    assert_eq!(
        d.handle_packet(now, Net::addr(9), &bytes),
        Err(Dropped::NoBond)
    );
    assert!(d.poll_transmit().is_none());
    // From the address it proved: answered.
    assert_eq!(d.handle_packet(now, Net::addr(2), &bytes), Ok(()));
    assert!(matches!(d.poll_transmit(), Some((to, _)) if to == Net::addr(2)));
}

/// Node 1 holds node 2 as a verified table entry, then node 2 goes silent. Normally its first
/// failed revalidation removes it (it answered only once, at the bond). While node 1 is told its
/// datagram queue is congested (`handle_congestion`: datagrams are being lost before they reach
/// it), a timed-out revalidation proves nothing and the entry stays (issue 15's UDP flood: the
/// table keeps its honest entries); once the congestion ends, the silence counts again.
#[test]
fn a_revalidation_lost_in_congestion_keeps_the_entry() {
    let id2 = Net::node(2).id;
    for congested in [false, true] {
        let mut net = Net::bonded_pair(3_000);
        let holds = |net: &Net| {
            net.nodes[&Net::addr(1)]
                .table()
                .nodes()
                .any(|n| n.id == id2)
        };
        assert!(holds(&net), "node 2 never entered node 1's table");
        // Node 2 goes silent: datagrams to it are lost.
        net.nodes.remove(&Net::addr(2));
        for _ in 0..600 {
            if congested {
                let now = net.now;
                net.nodes
                    .get_mut(&Net::addr(1))
                    .unwrap()
                    .handle_congestion(UnixMs(now));
            }
            net.run(100, 100);
        }
        assert_eq!(
            holds(&net),
            congested,
            "after 60 s of silence (congested: {congested})"
        );
        if congested {
            net.run(60_000, 100);
            assert!(
                !holds(&net),
                "the silence counts once the congestion is over"
            );
        }
    }
}
