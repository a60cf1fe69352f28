//! Unit tests of the discv4 packet codec (`super`): encodings, decoding limits, EIP-8 leniency.
use super::*;

fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).unwrap()
}

/// `[4, [from_ip, 1, 2], ["", 3, 0], expiration]` with the expiration's bytes as given.
fn ping_body(from_ip: &[u8], expiration_bytes: &[u8]) -> Vec<u8> {
    let mut s = RlpStream::new_list(4);
    s.append(&4u64);
    s.begin_list(3);
    s.append(&from_ip);
    s.append(&1u16);
    s.append(&2u16);
    s.begin_list(3)
        .append_empty_data()
        .append(&3u16)
        .append(&0u16);
    s.append(&expiration_bytes);
    s.out().to_vec()
}

fn ping(expiration_bytes: &[u8]) -> Vec<u8> {
    ping_body(&[10, 0, 0, 1], expiration_bytes)
}

/// Signs raw packet-data the way `encode` does, for hand-built bodies.
fn sign_raw(ptype: u8, data: &[u8], k: &SecretKey) -> Vec<u8> {
    let sig = k.sign_prehash(&keccak256_concat(&[&[ptype], data]));
    let hash = keccak256_concat(&[&sig.0, &[ptype], data]);
    [&hash[..], &sig.0, &[ptype], data].concat()
}

#[test]
fn limits_have_the_documented_values() {
    assert_eq!(HEAD_SIZE, 98);
    assert_eq!(NODE_SIZE_MAX, 91);
    assert_eq!(NODE_SIZE_MIN, 71);
    assert_eq!(NEIGHBORS_NODES_MAX, 16);
    assert_eq!(NEIGHBORS_NODES_PER_PACKET, 12);
    assert!(neighbors_size_max(12) <= PACKET_SIZE_MAX);
    assert!(neighbors_size_max(13) > PACKET_SIZE_MAX);
}

#[test]
fn four_and_eight_byte_expirations_both_read() {
    let k = key(7);
    for (raw, want) in [
        (&[0x43, 0xb9, 0xa3, 0x55][..], 0x43b9_a355u64),
        (&[0x01, 0, 0, 0, 0, 0, 0, 0x02][..], 0x0100_0000_0000_0002),
        (&[0xff; 8][..], u64::MAX),
    ] {
        let d = decode(&sign_raw(1, &ping(raw), &k)).unwrap();
        assert_eq!(d.packet.expiration(), Some(want), "{raw:02x?}");
    }
    // Nine bytes do not fit a u64; a leading zero is not canonical.
    for raw in [&[1u8; 9][..], &[0, 1, 2, 3][..]] {
        assert_eq!(
            decode(&sign_raw(1, &ping(raw), &k)),
            Err(PacketError::Malformed("expiration")),
            "{raw:02x?}"
        );
    }
}

#[test]
fn expiry_is_strictly_in_the_past() {
    assert_eq!(expiration_from(1000), 1020);
    assert!(!is_expired(1020, 1020));
    assert!(is_expired(1019, 1020));
    assert_eq!(expiration_from(u64::MAX), u64::MAX);
}

#[test]
fn empty_ip_reads_as_unknown_and_bad_lengths_are_refused() {
    let k = key(3);
    let Packet::Ping(p) = decode(&sign_raw(1, &ping(&[1]), &k)).unwrap().packet else {
        panic!("not a ping");
    };
    assert_eq!(p.to.ip, None);
    assert_eq!(p.from.ip, Some(IpAddr::from([10, 0, 0, 1])));
    // A 5-byte IP in `from`.
    assert_eq!(
        decode(&sign_raw(1, &ping_body(&[10, 0, 0, 1, 9], &[1]), &k)),
        Err(PacketError::BadEndpoint)
    );
}

#[test]
fn ipv4_mapped_addresses_read_as_ipv4() {
    let mapped = Ipv4Addr::new(1, 2, 3, 4).to_ipv6_mapped().octets();
    assert_eq!(ip_from(&mapped), Some(IpAddr::from([1, 2, 3, 4])));
    assert_eq!(ip_from(&[0u8; 16]), Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
    assert_eq!(ip_from(&[1, 2, 3]), None);
}

#[test]
fn header_checks_come_in_order() {
    let k = key(9);
    let (good, _) = encode(&Packet::EnrRequest(EnrRequest { expiration: 5 }), &k).unwrap();
    assert_eq!(
        decode(&[0u8; PACKET_SIZE_MAX + 1]),
        Err(PacketError::TooLarge { size: 1281 })
    );
    assert_eq!(
        decode(&good[..HEAD_SIZE]),
        Err(PacketError::TooSmall { size: HEAD_SIZE })
    );
    let mut bad_type = sign_raw(0x07, &good[HEAD_SIZE..], &k);
    assert_eq!(decode(&bad_type), Err(PacketError::UnknownType(7)));
    bad_type[0] ^= 1;
    assert_eq!(decode(&bad_type), Err(PacketError::BadHash));
    // A recovery id of 4 is not a signature; the hash is recomputed so only that fails.
    let mut bad_sig = good.clone();
    bad_sig[32 + 64] = 4;
    let h = keccak256(&bad_sig[32..]);
    bad_sig[..32].copy_from_slice(&h);
    assert_eq!(decode(&bad_sig), Err(PacketError::BadSignature));
    // A body that is a string, not a list.
    assert_eq!(
        decode(&sign_raw(5, &[0x80], &k)),
        Err(PacketError::Malformed("packet-data (not a list)"))
    );
    // A truncated list.
    assert!(matches!(
        decode(&sign_raw(5, &[0xc5, 0x84], &k)),
        Err(PacketError::Rlp(_))
    ));
}

#[test]
fn neighbors_entries_with_unusable_addresses_or_keys_are_dropped() {
    let k = key(4);
    let good = key(5).public_key().to_bytes();
    let mut s = RlpStream::new_list(2);
    s.begin_list(3);
    for (ip, id) in [
        (&[1u8, 2, 3, 4][..], good),
        (&[1u8, 2, 3][..], good),
        (&[1u8, 2, 3, 4][..], [1u8; 64]),
    ] {
        s.begin_list(4);
        s.append(&ip);
        s.append(&30303u16);
        s.append(&30303u16);
        s.append(&id.as_slice());
    }
    s.append(&9u64);
    let Packet::Neighbors(n) = decode(&sign_raw(4, &s.out(), &k)).unwrap().packet else {
        panic!("not neighbors");
    };
    assert_eq!(n.nodes.len(), 1);
    assert_eq!(n.nodes[0].id.to_bytes(), good);
}

#[test]
fn too_many_neighbors_are_refused_before_decoding_them() {
    let k = key(4);
    let mut s = RlpStream::new_list(2);
    s.begin_list(NEIGHBORS_NODES_MAX + 1);
    for _ in 0..=NEIGHBORS_NODES_MAX {
        s.begin_list(0);
    }
    s.append(&9u64);
    assert_eq!(
        decode(&sign_raw(4, &s.out(), &k)),
        Err(PacketError::TooManyNodes {
            count: NEIGHBORS_NODES_MAX + 1
        })
    );
}

#[test]
fn enr_seq_position_holding_a_list_means_no_enr_seq() {
    let k = key(6);
    let base = ping(&[5]);
    let mut s = RlpStream::new_list(5);
    let inner = Rlp::new(&base);
    for item in inner.iter() {
        s.append_raw(item.as_raw(), 1);
    }
    s.begin_list(1);
    s.append(&1u8);
    let Packet::Ping(p) = decode(&sign_raw(1, &s.out(), &k)).unwrap().packet else {
        panic!("not a ping");
    };
    assert_eq!(p.enr_seq, None);
    assert_eq!(p.expiration, 5);
}
