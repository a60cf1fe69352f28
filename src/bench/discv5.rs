//! Figure group "discv5": discovery v5 handshakes per second, both state machines in one process
//! (devp2p `discv5-theory.md` "Handshake Steps"), beside their crypto floor measured in the same
//! run; and ordinary packets opened per second beside AES-GCM alone.
//!
//! One handshake is a PING whose session expired: the random packet, the WHOAREYOU, the
//! handshake packet (ephemeral key, ECDH, HKDF, id signature, sealed PING), its verification on
//! the other side (signature check, ECDH, HKDF, opening), the sealed PONG and its opening. The
//! floor is the crypto no implementation can skip:
//! 1 keygen + 2 ECDH + 2 HKDF + 1 sign + 1 verify + 4 AES-GCM (two seals, two opens).

use std::net::SocketAddr;

use ethpeer::crypto::SecretKey;
use ethpeer::discv5::crypto as c5;
use ethpeer::discv5::discovery::{Config, Discovery, Event, seeded_entropy};
use ethpeer::discv5::message::{Message, RequestId};
use ethpeer::discv5::packet::{self, AuthData, Header};
use ethpeer::discv5::session::SESSION_LIFETIME;
use ethpeer::time::UnixMs;

use crate::timing::{Op, Rng, keep, rates};

fn node(i: u8, addr: SocketAddr) -> Discovery {
    let mut b = [7u8; 32];
    b[31] = i;
    let key = SecretKey::from_bytes(&b).expect("a valid key");
    let config = Config {
        ip: addr.ip(),
        udp: addr.port(),
        tcp: 0,
        enr_seq: 1,
        enr_entries: Vec::new(),
        bootnodes: Vec::new(),
        seed: u64::from(i),
        fixed_endpoint: true,
    };
    Discovery::new(key, config, seeded_entropy(u64::from(i)), UnixMs(0)).expect("our record signs")
}

/// Two nodes on loopback (no rate limit) and the clock they share.
struct Pair {
    a: Discovery,
    b: Discovery,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    now: u64,
}

impl Pair {
    /// A PING from a to b with every session expired first: a whole handshake. Returns the
    /// number of datagrams exchanged and whether the PONG came.
    fn handshake(&mut self) -> (usize, bool) {
        self.now += SESSION_LIFETIME + 1;
        let rb = self.b.record().clone();
        self.a
            .ping(UnixMs(self.now), &rb)
            .expect("b has an endpoint");
        let mut datagrams = 0;
        loop {
            let mut moved = false;
            while let Some((_, d)) = self.a.poll_transmit() {
                datagrams += 1;
                moved = true;
                let _ = self.b.handle_packet(UnixMs(self.now), self.a_addr, &d);
            }
            while let Some((_, d)) = self.b.poll_transmit() {
                datagrams += 1;
                moved = true;
                let _ = self.a.handle_packet(UnixMs(self.now), self.b_addr, &d);
            }
            if !moved {
                break;
            }
        }
        let mut pong = false;
        while let Some(ev) = self.a.poll_event() {
            pong |= matches!(ev, Event::Pong { .. });
        }
        while self.b.poll_event().is_some() {}
        (datagrams, pong)
    }
}

/// The crypto of one handshake, done directly.
fn floor(rng: &mut Rng, a: &SecretKey, b: &SecretKey, challenge: &[u8]) {
    let eph = SecretKey::generate(|x: &mut [u8]| rng.fill(x));
    let eph_pub = eph.public_key();
    let eph_bytes = eph_pub.to_compressed();
    let (a_id, b_id) = (a.public_key().node_id(), b.public_key().node_id());
    let ka = c5::initiator_keys(&eph, &b.public_key(), &a_id, challenge);
    let sig = c5::id_sign(a, challenge, &eph_bytes, &b_id);
    assert!(c5::id_verify(
        &a.public_key(),
        &sig,
        challenge,
        &eph_bytes,
        &b_id
    ));
    let kb = c5::recipient_keys(b, &eph_pub, &a_id, &b_id, challenge);
    let pt = [1u8; 12];
    let n = [0u8; 12];
    let sealed = c5::encrypt(&ka.initiator_key, &n, &pt, challenge);
    keep(c5::decrypt(&kb.initiator_key, &n, &sealed, challenge));
    let sealed = c5::encrypt(&kb.recipient_key, &n, &pt, challenge);
    keep(c5::decrypt(&ka.recipient_key, &n, &sealed, challenge));
}

/// Runs the group and prints its lines.
pub fn run() {
    let a_addr: SocketAddr = "127.0.0.1:30001".parse().expect("an address literal");
    let b_addr: SocketAddr = "127.0.0.2:30002".parse().expect("an address literal");
    let mut pair = Pair {
        a: node(1, a_addr),
        b: node(2, b_addr),
        a_addr,
        b_addr,
        now: 0,
    };
    // A handshake that does not complete would make the figure meaningless: check two.
    for _ in 0..2 {
        assert_eq!(pair.handshake(), (4, true), "a full handshake and its PONG");
    }
    let ka = SecretKey::from_bytes(&[3; 32]).expect("a valid key");
    let kb = SecretKey::from_bytes(&[4; 32]).expect("a valid key");
    let challenge = [9u8; 63];
    let mut rng = Rng::new(5);

    // An ordinary PING packet under a known key, to open again and again.
    let key = [6u8; 16];
    let dest = kb.public_key().node_id();
    let header = Header {
        nonce: [1; 12],
        auth: AuthData::Message {
            src_id: ka.public_key().node_id(),
        },
    };
    let ping = Message::Ping {
        id: RequestId::from_u64(1),
        enr_seq: 1,
    };
    let pt = ping.encode();
    let datagram = packet::encode(&dest, &[2; 16], &header, Some((&key, &pt))).expect("fits");
    let open = || {
        let d = packet::decode(&dest, &datagram).expect("decodes");
        let pt =
            c5::decrypt(&key, &d.header.nonce, &d.message, &d.authenticated_data()).expect("opens");
        Message::decode(&pt).expect("a PING")
    };
    assert_eq!(open(), ping);
    let ad = [0u8; 71];
    let sealed = c5::encrypt(&key, &[1; 12], &pt, &ad);

    let found = rates(vec![
        Op::new("handshake", || keep(pair.handshake())),
        Op::new("floor", || floor(&mut rng, &ka, &kb, &challenge)),
        Op::new("open", || keep(open())),
        Op::new("gcm", || keep(c5::decrypt(&key, &[1; 12], &sealed, &ad))),
    ]);
    let (hs, fl, op, gcm) = (found[0], found[1], found[2], found[3]);
    println!(
        "discv5 handshake {hs:>8.0} /s   floor {fl:>8.0} /s   ratio {:.2}   \
         [floor = 1 keygen + 2 ECDH + 2 HKDF + 1 sign + 1 verify + 4 GCM]",
        hs / fl
    );
    println!(
        "discv5 packets   {op:>8.0} opened/s   GCM-open floor {gcm:>8.0} /s   ratio {:.2}",
        op / gcm
    );
}
