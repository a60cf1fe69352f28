//! discv4 packet vectors (fixtures/discv4/packets.json): the EIP-8 "RLPx Discovery Protocol"
//! packets and go-ethereum's plain Ping, plus the fixture author's RFC 6979-signed encodings of
//! all six packet types (EIP-868 ENRRequest and ENRResponse included).
//!
//! The upstream packets were not signed with deterministic nonces, so they are checked by
//! decoding (hash, recovered signer, type, fields) and by comparing packet-data, never by
//! re-signing. The derived vectors are checked byte for byte in both directions.

mod common;

use std::net::IpAddr;

use common::{fixture_json, h, hv};
use ethpeer::crypto::{PublicKey, SecretKey, keccak256_concat};
use ethpeer::discv4::packet::{
    self, Endpoint, EnrRequest, EnrResponse, FindNode, HEAD_SIZE, Neighbors, Node, Packet, Ping,
    Pong,
};
use ethpeer::enr::Record;
use serde_json::Value;

fn u(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what}: expected an integer, got {v}"))
}

fn port(v: &Value, what: &str) -> u16 {
    u16::try_from(u(v, what)).unwrap_or_else(|_| panic!("{what}: not a port"))
}

/// An IP from either the `ip_hex` bytes (upstream vectors) or the textual `ip` (derived ones).
fn ip(v: &Value) -> IpAddr {
    if let Some(hex) = v.get("ip_hex") {
        let b = hv(hex);
        match b.len() {
            4 => IpAddr::from(<[u8; 4]>::try_from(b).unwrap()),
            16 => IpAddr::from(<[u8; 16]>::try_from(b).unwrap()),
            n => panic!("ip_hex of {n} bytes"),
        }
    } else {
        v["ip"].as_str().unwrap().parse().unwrap()
    }
}

fn endpoint(v: &Value) -> Endpoint {
    Endpoint {
        ip: Some(ip(v)),
        udp: port(&v["udp"], "udp"),
        tcp: port(&v["tcp"], "tcp"),
    }
}

fn array<const N: usize>(v: &Value) -> [u8; N] {
    hv(v)
        .try_into()
        .unwrap_or_else(|_| panic!("expected {N} bytes: {v}"))
}

/// Our policy for the EIP-868 position: an integer is the enr-seq; the two EIP-8 vectors that
/// hold a list there (recorded as an "INVALID: ..." string) read as no enr-seq.
fn enr_seq(v: Option<&Value>) -> Option<u64> {
    match v {
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(n) => Some(u(n, "enr_seq")),
    }
}

/// The packet a vector's fields describe; `ptype` is the vector's packet-type byte.
fn packet_from_fields(ptype: u8, f: &Value) -> Packet {
    let expiration = || u(&f["expiration"], "expiration");
    match ptype {
        1 => Packet::Ping(Ping {
            version: u(&f["version"], "version"),
            from: endpoint(&f["from"]),
            to: endpoint(&f["to"]),
            expiration: expiration(),
            enr_seq: enr_seq(f.get("enr_seq_eip868").or(f.get("enr_seq"))),
        }),
        2 => Packet::Pong(Pong {
            to: endpoint(&f["to"]),
            ping_hash: array(&f["ping_hash"]),
            expiration: expiration(),
            enr_seq: enr_seq(f.get("enr_seq_eip868").or(f.get("enr_seq"))),
        }),
        3 => Packet::FindNode(FindNode {
            target: array(&f["target"]),
            expiration: expiration(),
        }),
        4 => Packet::Neighbors(Neighbors {
            nodes: f["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| Node {
                    ip: ip(n),
                    udp: port(&n["udp"], "udp"),
                    tcp: port(&n["tcp"], "tcp"),
                    id: PublicKey::from_bytes(&hv(&n["node_id"])).unwrap(),
                })
                .collect(),
            expiration: expiration(),
        }),
        5 => Packet::EnrRequest(EnrRequest {
            expiration: expiration(),
        }),
        6 => Packet::EnrResponse(EnrResponse {
            request_hash: array(&f["request_hash"]),
            record: Record::from_text(f["enr"].as_str().unwrap()).unwrap(),
        }),
        t => panic!("unknown packet type {t} in fixture"),
    }
}

fn signer(j: &Value) -> (SecretKey, PublicKey) {
    let key = SecretKey::from_bytes(&hv(&j["signer_private_key"])).unwrap();
    let public = PublicKey::from_bytes(&hv(&j["signer_pubkey"])).unwrap();
    assert_eq!(key.public_key(), public, "fixture signer key pair");
    (key, public)
}

/// Builds a datagram around raw packet-data, signed as `packet::encode` signs.
fn sign_raw(ptype: u8, data: &[u8], key: &SecretKey) -> Vec<u8> {
    let sig = key.sign_prehash(&keccak256_concat(&[&[ptype], data]));
    let hash = keccak256_concat(&[&sig.0, &[ptype], data]);
    [&hash[..], &sig.0, &[ptype], data].concat()
}

#[test]
fn upstream_packets_decode() {
    let j = fixture_json("discv4/packets.json");
    let (key, public) = signer(&j);
    let packets = j["packets"].as_array().unwrap();
    assert_eq!(packets.len(), 6, "the file documents six packets");
    for v in packets {
        let name = v["name"].as_str().unwrap();
        let bytes = hv(&v["packet_hex"]);
        let ptype = u8::try_from(u(&v["packet_type"], "packet_type")).unwrap();
        let d = packet::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.hash.to_vec(), hv(&v["hash"]), "{name}: hash");
        assert_eq!(d.sender, public, "{name}: recovered signer");
        assert_eq!(
            d.sender_id.0.to_vec(),
            hv(&v["sender_node_id_keccak"]),
            "{name}: sender id"
        );
        assert_eq!(d.packet.packet_type(), ptype, "{name}: type");
        let want = packet_from_fields(ptype, &v["decoded"]);
        assert_eq!(d.packet, want, "{name}: decoded fields");
        // Fixtures' expirations are in 2006: decoding succeeds, the expiry check says expired.
        assert!(
            packet::is_expired(d.packet.expiration().unwrap(), 1_700_000_000),
            "{name}: expired"
        );

        // Without extra elements our packet-data is exactly upstream's (payloads, not
        // signatures, are comparable); with them, ours is upstream's minus the extras.
        let data = hv(&v["packet_data_rlp"]);
        let extras = v["decoded"]["extra_list_elements_raw"].as_array().unwrap();
        if extras.is_empty() {
            assert_eq!(d.packet.encode_data(), data, "{name}: packet-data");
        }

        // Re-signed with more junk after the list, the packet still decodes to the same fields.
        let mut padded = data.clone();
        padded.extend(hv(&v["trailing_data_after_rlp"]));
        padded.extend(h("0xdeadbeef00c0c1"));
        let again = packet::decode(&sign_raw(ptype, &padded, &key))
            .unwrap_or_else(|e| panic!("{name} with junk: {e}"));
        assert_eq!(again.packet, want, "{name}: junk after the list ignored");

        // Re-encoding what we decoded and decoding that gives the same packet.
        let (ours, hash) = packet::encode(&d.packet, &key).unwrap();
        let back = packet::decode(&ours).unwrap();
        assert_eq!((back.packet, back.hash), (want, hash), "{name}: round trip");
    }
}

#[test]
fn eip8_extra_elements_follow_our_enr_seq_policy() {
    let j = fixture_json("discv4/packets.json");
    let mut seen = 0;
    for v in j["packets"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let d = packet::decode(&hv(&v["packet_hex"])).unwrap();
        let got = match &d.packet {
            Packet::Ping(p) => p.enr_seq,
            Packet::Pong(p) => p.enr_seq,
            _ => continue,
        };
        seen += 1;
        match &v["decoded"]["enr_seq_eip868"] {
            Value::String(s) => {
                assert!(s.starts_with("INVALID"), "{name}: {s}");
                assert_eq!(
                    v["accepted_by_go_ethereum_today"],
                    Value::Bool(false),
                    "{name}"
                );
                assert_eq!(got, None, "{name}: a list in the enr-seq slot means none");
            }
            Value::Null => assert_eq!(got, None, "{name}"),
            n => assert_eq!(got, n.as_u64(), "{name}"),
        }
    }
    assert_eq!(
        seen, 4,
        "three pings and one pong carry the enr-seq position"
    );
}

#[test]
fn derived_encodings_are_byte_exact() {
    let j = fixture_json("discv4/packets.json");
    let (key, public) = signer(&j);
    let vectors = j["derived_encoding_vectors"]["vectors"].as_array().unwrap();
    let mut types = Vec::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let bytes = hv(&v["packet_hex"]);
        let ptype = *bytes.get(HEAD_SIZE - 1).expect("a full header");
        types.push(ptype);
        let want = packet_from_fields(ptype, &v["fields"]);

        let (ours, hash) =
            packet::encode(&want, &key).unwrap_or_else(|e| panic!("{name}: encode: {e}"));
        assert_eq!(ours[HEAD_SIZE..], bytes[HEAD_SIZE..], "{name}: packet-data");
        // k256 signs with RFC 6979 nonces and low s, as the fixture's signer did.
        assert_eq!(ours, bytes, "{name}: whole datagram (signature included)");
        assert_eq!(hash[..], bytes[..32], "{name}: returned hash");

        let d = packet::decode(&bytes).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        assert_eq!(d.packet, want, "{name}: decoded fields");
        assert_eq!(d.sender, public, "{name}: signer");
    }
    types.sort_unstable();
    types.dedup();
    assert_eq!(types, [1, 2, 3, 4, 5, 6], "every packet type has a vector");
}

#[test]
fn derived_replies_echo_the_request_hashes() {
    let j = fixture_json("discv4/packets.json");
    let vectors = j["derived_encoding_vectors"]["vectors"].as_array().unwrap();
    let decoded: Vec<_> = vectors
        .iter()
        .map(|v| packet::decode(&hv(&v["packet_hex"])).unwrap())
        .collect();
    let hash_of = |t: u8| {
        decoded
            .iter()
            .find(|d| d.packet.packet_type() == t)
            .map(|d| d.hash)
            .unwrap()
    };
    for d in &decoded {
        match &d.packet {
            Packet::Pong(p) => assert_eq!(p.ping_hash, hash_of(1), "pong echoes the ping"),
            Packet::EnrResponse(r) => {
                assert_eq!(r.request_hash, hash_of(5), "ENRResponse echoes the request");
                assert_eq!(
                    r.record.public_key(),
                    Some(d.sender),
                    "record signed by sender"
                );
            }
            _ => {}
        }
    }
}
