//! Property tests of the discv4 packet codec, driven by the seeded TestRng (every failure names
//! its seed).
//!
//! - Every packet type round-trips with random fields; every datagram we build is ≤ 1280 bytes.
//! - Neighbors lists of any length, worst-case IPv6 included, split into packets that all fit.
//! - Random bytes, random signed bodies, truncations and one-bit flips never panic; a flip
//!   anywhere fails the hash check.
//! - A datagram over 1280 bytes is refused before anything else, even when correctly signed.
//! - Expirations written in four bytes and in eight both read.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::TestRng;
use ethpeer::crypto::{SecretKey, keccak256_concat};
use ethpeer::discv4::packet::{
    self, Endpoint, EnrRequest, EnrResponse, FindNode, NEIGHBORS_NODES_PER_PACKET, Neighbors, Node,
    PACKET_SIZE_MAX, Packet, PacketError, Ping, Pong,
};
use ethpeer::enr::Record;

fn secret(rng: &mut TestRng) -> SecretKey {
    SecretKey::generate(|b| rng.fill(b))
}

fn bytes<const N: usize>(rng: &mut TestRng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b);
    b
}

/// A random address; IPv4-mapped IPv6 is avoided because the decoder reads it back as IPv4.
fn ip(rng: &mut TestRng) -> IpAddr {
    if rng.below(2) == 0 {
        IpAddr::V4(Ipv4Addr::from(bytes::<4>(rng)))
    } else {
        let v6 = Ipv6Addr::from(bytes::<16>(rng));
        match v6.to_ipv4_mapped() {
            Some(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            None => IpAddr::V6(v6),
        }
    }
}

fn port(rng: &mut TestRng) -> u16 {
    rng.next_u64() as u16
}

/// Expirations of every width: small, four bytes (32-bit timestamps), eight bytes.
fn expiration(rng: &mut TestRng) -> u64 {
    match rng.below(3) {
        0 => rng.below(256),
        1 => rng.next_u64() >> 32,
        _ => rng.next_u64() | 1 << 63,
    }
}

fn endpoint(rng: &mut TestRng) -> Endpoint {
    Endpoint {
        ip: (rng.below(4) != 0).then(|| ip(rng)),
        udp: port(rng),
        tcp: port(rng),
    }
}

fn node(rng: &mut TestRng) -> Node {
    Node {
        ip: ip(rng),
        udp: port(rng),
        tcp: port(rng),
        id: secret(rng).public_key(),
    }
}

fn enr_seq(rng: &mut TestRng) -> Option<u64> {
    (rng.below(2) == 0).then(|| rng.next_u64() >> rng.below(64))
}

fn random_packet(rng: &mut TestRng, ptype: u8) -> Packet {
    match ptype {
        1 => Packet::Ping(Ping {
            version: packet::PING_VERSION,
            from: endpoint(rng),
            to: endpoint(rng),
            expiration: expiration(rng),
            enr_seq: enr_seq(rng),
        }),
        2 => Packet::Pong(Pong {
            to: endpoint(rng),
            ping_hash: bytes(rng),
            expiration: expiration(rng),
            enr_seq: enr_seq(rng),
        }),
        3 => Packet::FindNode(FindNode {
            // Any 64 bytes: lookups send targets that are not curve points.
            target: bytes(rng),
            expiration: expiration(rng),
        }),
        4 => {
            let n = rng.below(NEIGHBORS_NODES_PER_PACKET as u64 + 1) as usize;
            Packet::Neighbors(Neighbors {
                nodes: (0..n).map(|_| node(rng)).collect(),
                expiration: expiration(rng),
            })
        }
        5 => Packet::EnrRequest(EnrRequest {
            expiration: expiration(rng),
        }),
        _ => {
            let record = Record::builder()
                .seq(rng.next_u64())
                .ip(ip(rng))
                .udp(port(rng))
                .tcp(port(rng))
                .sign(&secret(rng))
                .unwrap();
            Packet::EnrResponse(EnrResponse {
                request_hash: bytes(rng),
                record,
            })
        }
    }
}

fn sign_raw(ptype: u8, data: &[u8], key: &SecretKey) -> Vec<u8> {
    let sig = key.sign_prehash(&keccak256_concat(&[&[ptype], data]));
    let hash = keccak256_concat(&[&sig.0, &[ptype], data]);
    [&hash[..], &sig.0, &[ptype], data].concat()
}

#[test]
fn every_packet_type_round_trips_within_the_size_limit() {
    for seed in 0..60u64 {
        let mut rng = TestRng::new(seed);
        let key = secret(&mut rng);
        for ptype in 1..=6u8 {
            let p = random_packet(&mut rng, ptype);
            let (datagram, hash) = packet::encode(&p, &key).unwrap();
            assert!(
                datagram.len() <= PACKET_SIZE_MAX,
                "seed {seed} type {ptype}"
            );
            let d = packet::decode(&datagram).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert_eq!(d.packet, p, "seed {seed} type {ptype}");
            assert_eq!(d.hash, hash, "seed {seed} type {ptype}");
            assert_eq!(d.sender, key.public_key(), "seed {seed} type {ptype}");
            assert_eq!(d.sender_id, key.public_key().node_id(), "seed {seed}");
        }
    }
}

#[test]
fn neighbors_split_into_packets_that_fit_even_for_worst_case_ipv6() {
    let mut rng = TestRng::new(7);
    let key = secret(&mut rng);
    let worst = |rng: &mut TestRng| Node {
        ip: IpAddr::V6(Ipv6Addr::from([0xff; 16])),
        udp: u16::MAX,
        tcp: u16::MAX,
        id: secret(rng).public_key(),
    };
    for seed in 0..20u64 {
        let mut rng = TestRng::new(seed);
        let count = rng.below(60) as usize;
        let nodes: Vec<Node> = (0..count)
            .map(|_| {
                if seed % 2 == 0 {
                    worst(&mut rng)
                } else {
                    node(&mut rng)
                }
            })
            .collect();
        let packets = packet::neighbors_packets(&nodes, u64::MAX);
        assert_eq!(
            packets.len(),
            count.div_ceil(NEIGHBORS_NODES_PER_PACKET).max(1),
            "seed {seed}"
        );
        let mut received = Vec::new();
        for p in packets {
            let (datagram, _) = packet::encode(&Packet::Neighbors(p), &key)
                .unwrap_or_else(|e| panic!("seed {seed} count {count}: {e}"));
            assert!(datagram.len() <= PACKET_SIZE_MAX, "seed {seed}");
            let Packet::Neighbors(n) = packet::decode(&datagram).unwrap().packet else {
                panic!("seed {seed}: not neighbors");
            };
            received.extend(n.nodes);
        }
        assert_eq!(
            received, nodes,
            "seed {seed}: every node arrives once, in order"
        );
    }
    // No nodes still makes one (empty) reply.
    let empty = packet::neighbors_packets(&[], 5);
    assert_eq!(empty.len(), 1);
    assert!(empty[0].nodes.is_empty());
    // A full worst-case packet fits; one more node would not.
    let full: Vec<Node> = (0..=NEIGHBORS_NODES_PER_PACKET)
        .map(|_| worst(&mut rng))
        .collect();
    let fits = Packet::Neighbors(Neighbors {
        nodes: full[..NEIGHBORS_NODES_PER_PACKET].to_vec(),
        expiration: u64::MAX,
    });
    assert!(packet::encode(&fits, &key).unwrap().0.len() <= PACKET_SIZE_MAX);
    let over = Packet::Neighbors(Neighbors {
        nodes: full,
        expiration: u64::MAX,
    });
    assert!(matches!(
        packet::encode(&over, &key),
        Err(PacketError::TooLarge { .. })
    ));
}

#[test]
fn random_bytes_never_panic() {
    for seed in 0..300u64 {
        let mut rng = TestRng::new(seed);
        let len = rng.below(PACKET_SIZE_MAX as u64 + 200) as usize;
        let mut buf = vec![0u8; len];
        rng.fill(&mut buf);
        let r = packet::decode(&buf);
        assert!(r.is_err(), "seed {seed}: random bytes accepted");
        if len > PACKET_SIZE_MAX {
            assert_eq!(r, Err(PacketError::TooLarge { size: len }), "seed {seed}");
        }
    }
}

#[test]
fn random_signed_bodies_never_panic() {
    // With a valid hash and signature, the RLP decoders see the hostile bytes.
    let mut rng = TestRng::new(99);
    let key = secret(&mut rng);
    let templates: Vec<Vec<u8>> = (1..=6u8)
        .map(|t| random_packet(&mut rng, t).encode_data())
        .collect();
    let (mut accepted, mut refused) = (0, 0);
    for seed in 0..600u64 {
        let mut rng = TestRng::new(seed);
        let ptype = 1 + rng.below(6) as u8;
        let mut body = templates[usize::from(ptype - 1)].clone();
        match rng.below(3) {
            // Overwrite a few bytes of a real body.
            0 => {
                for _ in 0..=rng.below(4) {
                    let i = rng.below(body.len() as u64) as usize;
                    body[i] = rng.next_u64() as u8;
                }
            }
            // Cut it short.
            1 => body.truncate(rng.below(body.len() as u64) as usize + 1),
            // Replace it with noise under a list header.
            _ => {
                let n = rng.below(50) as usize;
                body = vec![0xc0 + n as u8];
                body.extend((0..n).map(|_| rng.next_u64() as u8));
            }
        }
        match packet::decode(&sign_raw(ptype, &body, &key)) {
            Ok(d) => {
                assert_eq!(d.packet.packet_type(), ptype, "seed {seed}");
                accepted += 1;
            }
            Err(_) => refused += 1,
        }
    }
    // Both paths were exercised: some mutations leave a decodable packet, most do not.
    assert!(
        accepted > 0 && refused > accepted,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn truncations_and_bit_flips_fail_without_panicking() {
    let mut rng = TestRng::new(2024);
    let key = secret(&mut rng);
    for ptype in 1..=6u8 {
        let p = random_packet(&mut rng, ptype);
        let (datagram, _) = packet::encode(&p, &key).unwrap();
        for len in 0..datagram.len() {
            assert!(
                packet::decode(&datagram[..len]).is_err(),
                "type {ptype}: prefix of {len} accepted"
            );
        }
        for bit in 0..datagram.len() * 8 {
            let mut flipped = datagram.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                packet::decode(&flipped),
                Err(PacketError::BadHash),
                "type {ptype}: bit {bit} flipped"
            );
        }
    }
}

#[test]
fn oversized_datagrams_are_refused_before_anything_else() {
    let mut rng = TestRng::new(5);
    let key = secret(&mut rng);
    let data = Packet::EnrRequest(EnrRequest { expiration: 1 }).encode_data();
    // Valid hash, valid signature, junk after the list: only the size is wrong.
    for extra in [PACKET_SIZE_MAX, PACKET_SIZE_MAX + 700] {
        let mut padded = data.clone();
        let pad = extra + 1 - packet::HEAD_SIZE - data.len();
        padded.extend(vec![0u8; pad]);
        let datagram = sign_raw(5, &padded, &key);
        assert_eq!(datagram.len(), extra + 1);
        assert_eq!(
            packet::decode(&datagram),
            Err(PacketError::TooLarge { size: extra + 1 })
        );
        // The same packet at exactly the limit decodes.
        padded.truncate(padded.len() - (extra + 1 - PACKET_SIZE_MAX));
        let at_limit = sign_raw(5, &padded, &key);
        assert_eq!(at_limit.len(), PACKET_SIZE_MAX);
        assert!(packet::decode(&at_limit).is_ok());
    }
}

#[test]
fn four_and_eight_byte_expirations_both_read() {
    let mut rng = TestRng::new(11);
    let key = secret(&mut rng);
    for seed in 0..50u64 {
        let mut rng = TestRng::new(seed);
        let four = (rng.next_u64() as u32 | 1 << 31) as u64;
        let eight = rng.next_u64() | 1 << 63;
        for (exp, width) in [(four, 4), (eight, 8)] {
            let p = Packet::FindNode(FindNode {
                target: bytes(&mut rng),
                expiration: exp,
            });
            let data = p.encode_data();
            // The expiration is the list's last item: a header byte then `width` bytes.
            assert_eq!(
                data[data.len() - width - 1],
                0x80 + width as u8,
                "seed {seed}"
            );
            let d = packet::decode(&sign_raw(3, &data, &key)).unwrap();
            assert_eq!(
                d.packet.expiration(),
                Some(exp),
                "seed {seed} width {width}"
            );
        }
    }
}
