//! Behaviour of the discovery v4 node table through its public API: bucket placement,
//! replacements, subnet limits with the LAN exemption, revalidation and replacement, and
//! `closest` against brute force (devp2p discv4.md "Kademlia Table", go-ethereum table.go).

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::TestRng;
use ethpeer::crypto::{NodeId, PublicKey, SecretKey};
use ethpeer::discv4::table::Node;
use ethpeer::discv4::table::{
    AddOutcome, AddRefusal, BUCKET_SIZE, BUCKET_SUBNET_MAX, REPLACEMENTS_MAX, REVALIDATE_INTERVAL,
    REVALIDATION_EXPIRY, Revalidated, TABLE_SUBNET_MAX, Table, bucket_index, distance_cmp,
    log_distance,
};
use ethpeer::time::UnixMs;

fn key() -> PublicKey {
    SecretKey::from_bytes(&[3; 32]).unwrap().public_key()
}

/// A node with a chosen id (the table trusts `id`; the key is shared).
fn node(id: NodeId, ip: IpAddr) -> Node {
    Node {
        id,
        key: key(),
        ip,
        udp: 30303,
        tcp: 30303,
        enr_seq: 0,
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// A LAN address, exempt from the subnet limits.
fn lan(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 | i))
}

fn random_id(rng: &mut TestRng) -> NodeId {
    let mut id = [0u8; 32];
    rng.fill(&mut id);
    NodeId(id)
}

/// A random id at log distance `d` (1..=256) from `base`.
fn id_at(base: &NodeId, d: u32, rng: &mut TestRng) -> NodeId {
    let mut id = random_id(rng).0;
    let flip = (256 - d) as usize;
    for bit in 0..=flip {
        let (byte, mask) = (bit / 8, 0x80u8 >> (bit % 8));
        let want = (base.0[byte] & mask) ^ if bit == flip { mask } else { 0 };
        id[byte] = (id[byte] & !mask) | want;
    }
    let id = NodeId(id);
    assert_eq!(log_distance(base, &id), d);
    id
}

#[test]
fn nodes_land_in_the_bucket_of_their_distance() {
    let mut rng = TestRng::new(1);
    let me = random_id(&mut rng);
    let mut t = Table::new(me, 1);
    assert_eq!(
        t.add_seen(UnixMs(0), node(me, lan(1))),
        Err(AddRefusal::IsSelf)
    );
    assert_eq!(
        t.add_verified(UnixMs(0), node(me, lan(1))),
        Err(AddRefusal::IsSelf)
    );
    let mut want = [0usize; 17];
    for (i, d) in (200..=256).enumerate() {
        let id = id_at(&me, d, &mut rng);
        let b = bucket_index(d);
        let outcome = if want[b] < BUCKET_SIZE {
            AddOutcome::Inserted
        } else {
            AddOutcome::Replacement
        };
        assert_eq!(
            t.add_seen(UnixMs(0), node(id, lan(i as u32))),
            Ok(outcome),
            "d {d}"
        );
        want[b] += 1;
    }
    for (b, &n) in want.iter().enumerate() {
        assert_eq!(t.bucket_len(b), n.min(BUCKET_SIZE), "bucket {b}");
    }
    assert_eq!(
        t.bucket_len(0),
        BUCKET_SIZE,
        "distances up to 240 share bucket 0"
    );
    assert_eq!(t.len(), BUCKET_SIZE + 16);
}

#[test]
fn a_full_bucket_keeps_the_newest_replacements() {
    let mut rng = TestRng::new(2);
    let me = random_id(&mut rng);
    let mut t = Table::new(me, 2);
    let ids: Vec<NodeId> = (0..BUCKET_SIZE + REPLACEMENTS_MAX + 2)
        .map(|_| id_at(&me, 256, &mut rng))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let want = if i < BUCKET_SIZE {
            AddOutcome::Inserted
        } else {
            AddOutcome::Replacement
        };
        assert_eq!(
            t.add_seen(UnixMs(0), node(*id, lan(i as u32))),
            Ok(want),
            "node {i}"
        );
    }
    assert_eq!(t.len(), BUCKET_SIZE);
    assert_eq!(t.replacement_count(), REPLACEMENTS_MAX);
    let reps = &ids[BUCKET_SIZE..];
    assert!(
        !t.is_replacement(&reps[0]) && !t.is_replacement(&reps[1]),
        "oldest dropped"
    );
    assert!(
        reps[2..].iter().all(|id| t.is_replacement(id)),
        "newest kept"
    );
    assert_eq!(
        t.add_seen(UnixMs(1), node(ids[0], lan(999))),
        Ok(AddOutcome::Present)
    );
    assert_eq!(
        t.entry(&ids[0]).unwrap().node.ip,
        lan(0),
        "a third party cannot move it"
    );
    // A verified node for a full bucket also waits as a replacement.
    let late = id_at(&me, 256, &mut rng);
    assert_eq!(
        t.add_verified(UnixMs(1), node(late, lan(500))),
        Ok(AddOutcome::Replacement)
    );
    assert!(t.is_replacement(&late));
    assert!(!t.is_replacement(&reps[2]), "pushed out by the newer one");
}

#[test]
fn one_subnet_gets_two_slots_per_bucket() {
    let mut rng = TestRng::new(3);
    let me = random_id(&mut rng);
    let mut t = Table::new(me, 3);
    for i in 0..BUCKET_SUBNET_MAX {
        let id = id_at(&me, 256, &mut rng);
        assert_eq!(
            t.add_seen(UnixMs(0), node(id, v4(1, 2, 3, i as u8))),
            Ok(AddOutcome::Inserted)
        );
    }
    let id = id_at(&me, 256, &mut rng);
    assert_eq!(
        t.add_seen(UnixMs(0), node(id, v4(1, 2, 3, 99))),
        Err(AddRefusal::BucketSubnetLimit)
    );
    assert_eq!(
        t.add_verified(UnixMs(0), node(id, v4(1, 2, 3, 99))),
        Err(AddRefusal::BucketSubnetLimit)
    );
    assert_eq!(
        t.add_seen(UnixMs(0), node(id, v4(1, 2, 4, 1))),
        Ok(AddOutcome::Inserted)
    );
    let other = id_at(&me, 255, &mut rng);
    assert_eq!(
        t.add_seen(UnixMs(0), node(other, v4(1, 2, 3, 100))),
        Ok(AddOutcome::Inserted),
        "another bucket has its own two slots"
    );
    // Replacements count too: fill the bucket, then offer the subnet again.
    for i in 0..BUCKET_SIZE {
        t.add_seen(UnixMs(0), node(id_at(&me, 256, &mut rng), lan(i as u32)))
            .unwrap();
    }
    let r = id_at(&me, 256, &mut rng);
    assert_eq!(
        t.add_seen(UnixMs(0), node(r, v4(1, 2, 3, 7))),
        Err(AddRefusal::BucketSubnetLimit)
    );
    assert_eq!(
        t.add_seen(UnixMs(0), node(r, v4(1, 2, 5, 7))),
        Ok(AddOutcome::Replacement)
    );
}

#[test]
fn one_subnet_gets_ten_slots_per_table_and_lan_is_exempt() {
    let mut rng = TestRng::new(4);
    let me = random_id(&mut rng);
    let mut t = Table::new(me, 4);
    let mut added = Vec::new();
    let mut d = 256;
    while added.len() < TABLE_SUBNET_MAX {
        for _ in 0..BUCKET_SUBNET_MAX {
            let id = id_at(&me, d, &mut rng);
            let ip = v4(5, 6, 7, added.len() as u8);
            assert_eq!(
                t.add_seen(UnixMs(0), node(id, ip)),
                Ok(AddOutcome::Inserted)
            );
            added.push(id);
        }
        d -= 1;
    }
    let id = id_at(&me, d, &mut rng);
    assert_eq!(
        t.add_seen(UnixMs(0), node(id, v4(5, 6, 7, 200))),
        Err(AddRefusal::TableSubnetLimit)
    );
    assert_eq!(
        t.add_seen(UnixMs(0), node(id, "::ffff:5.6.7.201".parse().unwrap())),
        Err(AddRefusal::TableSubnetLimit),
        "an IPv4-mapped address is the same subnet"
    );
    assert_eq!(t.remove(&added[0]).map(|n| n.id), Some(added[0]));
    assert_eq!(
        t.add_seen(UnixMs(0), node(id, v4(5, 6, 7, 200))),
        Ok(AddOutcome::Inserted)
    );
    // LAN and loopback: no limit at all.
    let mut t = Table::new(me, 4);
    for i in 0..(4 * BUCKET_SIZE) as u32 {
        let id = id_at(&me, 256 - i % 4, &mut rng);
        let ip = if i % 2 == 0 { lan(i) } else { v4(127, 0, 0, 1) };
        assert!(t.add_seen(UnixMs(0), node(id, ip)).is_ok(), "LAN node {i}");
    }
    assert_eq!(t.len(), 4 * BUCKET_SIZE);
}

#[test]
fn ipv6_counts_by_48() {
    let mut rng = TestRng::new(5);
    let me = random_id(&mut rng);
    let mut t = Table::new(me, 5);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    for s in ["2001:db8:1:1::1", "2001:db8:1:ffff::2"] {
        assert!(
            t.add_seen(UnixMs(0), node(id_at(&me, 256, &mut rng), ip(s)))
                .is_ok()
        );
    }
    let id = id_at(&me, 256, &mut rng);
    assert_eq!(
        t.add_seen(UnixMs(0), node(id, ip("2001:db8:1:abcd::3"))),
        Err(AddRefusal::BucketSubnetLimit)
    );
    assert_eq!(
        t.add_seen(UnixMs(0), node(id, ip("2001:db8:2::3"))),
        Ok(AddOutcome::Inserted)
    );
}

/// A full bucket at distance 256 of unverified LAN nodes plus `reps` replacements.
fn full_bucket(rng: &mut TestRng, reps: usize) -> (Table, Vec<NodeId>, Vec<NodeId>) {
    let me = random_id(rng);
    let mut t = Table::new(me, 6);
    let entries: Vec<NodeId> = (0..BUCKET_SIZE).map(|_| id_at(&me, 256, rng)).collect();
    let replacements: Vec<NodeId> = (0..reps).map(|_| id_at(&me, 256, rng)).collect();
    for (i, id) in entries.iter().chain(&replacements).enumerate() {
        t.add_seen(UnixMs(0), node(*id, lan(i as u32))).unwrap();
    }
    (t, entries, replacements)
}

#[test]
fn a_dead_entry_is_replaced_by_the_newest_replacement() {
    let mut rng = TestRng::new(6);
    let (mut t, entries, reps) = full_bucket(&mut rng, 3);
    let victim = t
        .poll_revalidate(UnixMs(0))
        .expect("a full table has someone to ping");
    assert!(entries.contains(&victim.id));
    assert_eq!(
        t.poll_revalidate(UnixMs(0)),
        None,
        "one revalidation at a time"
    );
    let out = t.handle_revalidation_result(UnixMs(10), &victim.id, false, None);
    let newest = reps[2];
    assert_eq!(
        out,
        Revalidated::Removed {
            promoted: Some(t.entry(&newest).unwrap().node.clone())
        }
    );
    assert!(!t.contains(&victim.id) && !t.is_replacement(&victim.id));
    assert!(t.contains(&newest) && !t.is_replacement(&newest));
    assert_eq!(t.len(), BUCKET_SIZE);
    assert_eq!(t.replacement_count(), 2);
    assert_eq!(
        t.handle_revalidation_result(UnixMs(11), &victim.id, true, None),
        Revalidated::Unknown
    );
    // Without replacements the slot just empties.
    let (mut t, _, _) = full_bucket(&mut rng, 0);
    let victim = t.poll_revalidate(UnixMs(0)).unwrap();
    assert_eq!(
        t.handle_revalidation_result(UnixMs(10), &victim.id, false, None),
        Revalidated::Removed { promoted: None }
    );
    assert_eq!(t.len(), BUCKET_SIZE - 1);
}

#[test]
fn a_long_lived_entry_survives_a_lost_pong_but_not_many() {
    let mut rng = TestRng::new(7);
    let me = random_id(&mut rng);
    let mut t = Table::new(me, 7);
    let id = id_at(&me, 250, &mut rng);
    assert_eq!(
        t.add_verified(UnixMs(0), node(id, lan(1))),
        Ok(AddOutcome::Inserted)
    );
    let mut now = 0;
    for _ in 0..4 {
        let n = t.poll_revalidate(UnixMs(now)).expect("due");
        assert_eq!(n.id, id);
        assert_eq!(
            t.handle_revalidation_result(UnixMs(now), &id, true, Some(0)),
            Revalidated::Alive { enr_changed: false }
        );
        now = t.poll_timeout().unwrap().0;
    }
    assert_eq!(t.entry(&id).unwrap().liveness_checks, 5);
    assert_eq!(t.poll_revalidate(UnixMs(now)).map(|n| n.id), Some(id));
    assert_eq!(
        t.handle_revalidation_result(UnixMs(now), &id, false, None),
        Revalidated::Kept
    );
    assert_eq!(t.entry(&id).unwrap().liveness_checks, 1);
    now = t.poll_timeout().unwrap().0;
    assert_eq!(t.poll_revalidate(UnixMs(now)).map(|n| n.id), Some(id));
    assert_eq!(
        t.handle_revalidation_result(UnixMs(now), &id, false, None),
        Revalidated::Removed { promoted: None }
    );
    assert!(t.is_empty());
    assert_eq!(t.poll_timeout(), None, "an empty table has no timer");
}

#[test]
fn revalidation_is_paced_and_cycles_through_every_entry() {
    let mut rng = TestRng::new(8);
    let (mut t, entries, _) = full_bucket(&mut rng, 0);
    let mut now = 0;
    let mut pinged = Vec::new();
    for _ in 0..BUCKET_SIZE {
        let n = t.poll_revalidate(UnixMs(now)).expect("due at poll_timeout");
        assert_eq!(t.poll_revalidate(UnixMs(now)), None);
        t.handle_revalidation_result(UnixMs(now + 50), &n.id, true, None);
        pinged.push(n.id);
        let next = t.poll_timeout().unwrap();
        assert!(
            next >= UnixMs(now + REVALIDATE_INTERVAL / 2)
                && next < UnixMs(now + REVALIDATE_INTERVAL * 3 / 2),
            "interval {}",
            next - UnixMs(now)
        );
        assert_eq!(t.poll_revalidate(next - 1), None, "not before the timer");
        now = next.0;
    }
    pinged.sort();
    let mut want = entries.clone();
    want.sort();
    assert_eq!(pinged, want, "each entry once per cycle");
    // Verified entries are then revisited oldest check first.
    let first_again = t.poll_revalidate(UnixMs(now)).unwrap();
    assert_eq!(first_again.id, pinged_first(&t, &entries));
    // An unreported revalidation is forgotten after its expiry.
    assert_eq!(
        t.poll_revalidate(UnixMs(now + REVALIDATION_EXPIRY - 1)),
        None
    );
    assert!(
        t.poll_revalidate(UnixMs(now + REVALIDATION_EXPIRY))
            .is_some()
    );
}

/// The entry whose last check is oldest (all answered, so no urgent ones).
fn pinged_first(t: &Table, ids: &[NodeId]) -> NodeId {
    *ids.iter()
        .min_by_key(|id| (t.entry(id).unwrap().last_pong, **id))
        .unwrap()
}

#[test]
fn a_newer_enr_is_reported_and_a_verified_update_takes_it() {
    let mut rng = TestRng::new(9);
    let me = random_id(&mut rng);
    let mut t = Table::new(me, 9);
    let id = id_at(&me, 256, &mut rng);
    t.add_seen(UnixMs(0), node(id, lan(1))).unwrap();
    assert_eq!(t.entry(&id).unwrap().last_pong, None);
    t.poll_revalidate(UnixMs(0)).unwrap();
    assert_eq!(
        t.handle_revalidation_result(UnixMs(5), &id, true, Some(3)),
        Revalidated::Alive { enr_changed: true }
    );
    assert_eq!(t.entry(&id).unwrap().last_pong, Some(UnixMs(5)));
    let mut newer = node(id, v4(8, 8, 8, 8));
    newer.enr_seq = 3;
    assert_eq!(
        t.add_verified(UnixMs(6), newer.clone()),
        Ok(AddOutcome::Updated)
    );
    assert_eq!(t.entry(&id).unwrap().node, newer);
    assert_eq!(
        t.add_verified(UnixMs(7), newer.clone()),
        Ok(AddOutcome::Present)
    );
    // A move into a full subnet is refused and the old endpoint stays.
    for i in 0..BUCKET_SUBNET_MAX {
        t.add_seen(
            UnixMs(8),
            node(id_at(&me, 256, &mut rng), v4(9, 9, 9, i as u8)),
        )
        .unwrap();
    }
    let mut moved = newer.clone();
    moved.ip = v4(9, 9, 9, 200);
    assert_eq!(
        t.add_verified(UnixMs(9), moved),
        Err(AddRefusal::BucketSubnetLimit)
    );
    assert_eq!(t.entry(&id).unwrap().node.ip, v4(8, 8, 8, 8));
}

#[test]
fn closest_matches_brute_force() {
    let mut rng = TestRng::new(10);
    let me = random_id(&mut rng);
    let mut t = Table::new(me, 10);
    for i in 0..400u32 {
        // Bias toward near distances so that many buckets fill.
        let d = 256 - (rng.below(20) as u32);
        let id = id_at(&me, d, &mut rng);
        if i % 3 == 0 {
            let _ = t.add_verified(UnixMs(0), node(id, lan(i)));
        } else {
            let _ = t.add_seen(UnixMs(0), node(id, lan(i)));
        }
    }
    let all: Vec<Node> = t.nodes().cloned().collect();
    assert_eq!(all.len(), t.len());
    for case in 0..50 {
        let target = random_id(&mut rng);
        let mut want = all.clone();
        want.sort_by(|a, b| distance_cmp(&target, &a.id, &b.id));
        want.truncate(BUCKET_SIZE);
        assert_eq!(t.closest(&target, BUCKET_SIZE), want, "case {case}");
        let live = t.closest_live(&target, BUCKET_SIZE);
        assert!(!live.is_empty(), "case {case}");
        assert!(
            live.iter()
                .all(|n| t.entry(&n.id).unwrap().last_pong.is_some())
        );
        assert!(
            live.windows(2)
                .all(|w| distance_cmp(&target, &w[0].id, &w[1].id).is_lt())
        );
    }
}

#[test]
fn random_nodes_are_distinct_members_and_replayable() {
    let mut rng = TestRng::new(11);
    let me = random_id(&mut rng);
    let mut a = Table::new(me, 42);
    for i in 0..100u32 {
        let _ = a.add_seen(UnixMs(0), node(id_at(&me, 256 - i % 8, &mut rng), lan(i)));
    }
    let mut b = a.clone();
    let picks = a.random_nodes(10);
    assert_eq!(picks.len(), 10);
    assert_eq!(picks, b.random_nodes(10), "same seed, same picks");
    let mut ids: Vec<NodeId> = picks.iter().map(|n| n.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10, "distinct");
    assert!(ids.iter().all(|id| a.contains(id)));
    assert_ne!(a.random_nodes(10), picks, "the generator moves on");
    assert_eq!(a.random_nodes(1000).len(), a.len());
}
