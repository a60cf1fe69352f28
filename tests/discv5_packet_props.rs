//! Property tests of the discv5 codec on untrusted bytes: random datagrams, random plaintexts and
//! every one-bit change of a real packet are refused with an error, never a panic, and a changed
//! packet never yields a message. Seeds are fixed and printed so a failure replays.

mod common;

use common::TestRng;
use ethpeer::crypto::{NodeId, SecretKey};
use ethpeer::discv5::crypto as c5;
use ethpeer::discv5::message::{Message, RequestId};
use ethpeer::discv5::packet::{self, AuthData, Header, PACKET_SIZE_MAX, PacketError};

const CASES: u64 = 20_000;

#[test]
fn random_datagrams_are_refused_without_panic() {
    let me = NodeId([7; 32]);
    let mut rng = TestRng::new(1);
    let mut accepted = 0;
    for case in 0..CASES {
        let len = rng.below(PACKET_SIZE_MAX as u64 + 200) as usize;
        let mut buf = vec![0u8; len];
        rng.fill(&mut buf);
        match packet::decode(&me, &buf) {
            Ok(_) => accepted += 1,
            Err(PacketError::TooLarge { size }) => assert!(size > PACKET_SIZE_MAX, "case {case}"),
            Err(_) => {}
        }
    }
    // Random bytes unmask to "discv5" with probability 2^-48: none should pass.
    assert_eq!(accepted, 0);
}

#[test]
fn random_plaintexts_are_refused_without_panic() {
    let mut rng = TestRng::new(2);
    for _ in 0..CASES {
        let len = rng.below(300) as usize;
        let mut buf = vec![0u8; len];
        rng.fill(&mut buf);
        if let Some(t) = buf.first_mut() {
            *t = 1 + (*t % 7);
        }
        let _ = Message::decode(&buf);
    }
}

/// A sealed message whose header the decoder reads, mutated at every bit: either the header is
/// refused or the message no longer authenticates.
#[test]
fn every_bit_flip_of_a_packet_is_detected() {
    let sender = SecretKey::from_bytes(&[3; 32]).unwrap();
    let recipient = SecretKey::from_bytes(&[4; 32]).unwrap();
    let dest = recipient.public_key().node_id();
    let key = [9u8; 16];
    let header = Header {
        nonce: [5; 12],
        auth: AuthData::Message {
            src_id: sender.public_key().node_id(),
        },
    };
    let ping = Message::Ping {
        id: RequestId::from_u64(77),
        enr_seq: 3,
    };
    let p = packet::encode(&dest, &[1; 16], &header, Some((&key, &ping.encode()))).unwrap();
    let open = |bytes: &[u8]| -> Option<Message> {
        let d = packet::decode(&dest, bytes).ok()?;
        let pt = c5::decrypt(&key, &d.header.nonce, &d.message, &d.authenticated_data())?;
        Message::decode(&pt).ok()
    };
    assert_eq!(open(&p), Some(ping));
    for bit in 0..p.len() * 8 {
        let mut m = p.clone();
        m[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            open(&m),
            None,
            "bit {bit} changed and the packet still opened"
        );
    }
    // Truncations and extensions too.
    for n in 0..p.len() {
        assert_eq!(open(&p[..n]), None, "truncated to {n}");
    }
    let mut longer = p.clone();
    longer.push(0);
    assert_eq!(open(&longer), None);
}
