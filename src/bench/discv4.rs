//! Figure group "discv4": discovery packets verified per second (decode: size, hash, RLP and the
//! signature recovery) beside the recover floor measured in the same run.
//!
//! A discovery packet's cost is dominated by one secp256k1 public-key recovery; the ratio says
//! how little the rest (keccak of the packet, strict RLP, building the typed packet) adds.

use ethpeer::crypto::{SecretKey, keccak256};
use ethpeer::discv4::packet::{self, Endpoint, Packet, Ping};

use crate::timing::{Op, Rng, keep, rates};

/// Runs the group and prints its line.
pub fn run() {
    let mut rng = Rng::new(7);
    let key = SecretKey::generate(|b: &mut [u8]| rng.fill(b));
    let ping = Packet::Ping(Ping {
        version: packet::PING_VERSION,
        from: Endpoint {
            ip: Some("127.0.0.1".parse().expect("an IP literal")),
            udp: 30303,
            tcp: 30303,
        },
        to: Endpoint {
            ip: Some("127.0.0.2".parse().expect("an IP literal")),
            udp: 30303,
            tcp: 0,
        },
        expiration: 1_900_000_000,
        enr_seq: Some(1),
    });
    let (datagram, _) = packet::encode(&ping, &key).expect("a Ping fits in a datagram");
    let decoded = packet::decode(&datagram).expect("our own Ping decodes");
    assert_eq!(decoded.sender, key.public_key(), "the signer is recovered");
    let digest = keccak256(b"floor");
    let sig = key.sign_prehash(&digest);
    let found = rates(vec![
        Op::new("decode", || keep(packet::decode(&datagram))),
        Op::new("recover", || keep(sig.recover(&digest))),
    ]);
    let (rate, floor) = (found[0], found[1]);
    println!(
        "discv4 packets   {rate:>9.0} verified/s   recover floor {floor:>9.0} /s   ratio {:.2}",
        rate / floor
    );
}
