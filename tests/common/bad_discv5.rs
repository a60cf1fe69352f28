//! A small discovery v5 responder built to misbehave, one fault at a time, for the teeth of
//! `ethpeer test discv5`. It plays the recipient's side of the handshake only (devp2p
//! `discv5-theory.md` "Handshake Steps": WHOAREYOU, then the initiator's handshake packet) and
//! answers PING, TALKREQ and FINDNODE, all with the library's codec (`discv5::packet`,
//! `discv5::crypto`, `discv5::message`, `discv5::session::Session`), over a blocking socket on
//! loopback in a thread of the test process.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use ethpeer::crypto::{NodeId, PublicKey, SecretKey, os_random};
use ethpeer::discv5::crypto as c5;
use ethpeer::discv5::message::{Message, RequestId};
use ethpeer::discv5::packet::{self, AuthData, Header, WhoAreYou};
use ethpeer::discv5::session::Session;
use ethpeer::enr::Record;
use ethpeer::time::UnixMs;

/// What the responder does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discv5Fault {
    /// Nothing: the control.
    None,
    /// Its PONG carries the request id with the last bit of its last byte flipped.
    WrongRequestId,
    /// It answers TALKREQ with nothing.
    SilentTalk,
    /// Its sessions are keyed by node id alone: keys made from one address open from another.
    SessionPerNode,
    /// Every packet it cannot open gets a new challenge, even while one is pending.
    FreshChallenge,
    /// FINDNODE [0] is answered with no record.
    EmptyZeroDistance,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    os_random(&mut b);
    b
}

/// A challenge we sent: the packet as sent and its challenge data.
struct Sent {
    packet: Vec<u8>,
    challenge_data: Vec<u8>,
}

struct Responder {
    fault: Discv5Fault,
    key: SecretKey,
    id: NodeId,
    record: Record,
    sock: UdpSocket,
    sessions: HashMap<(NodeId, SocketAddr), Session>,
    challenges: HashMap<(NodeId, SocketAddr), Sent>,
}

/// Starts the responder on 127.0.0.1; returns its record as text (`enr:…`).
pub fn start_discv5(fault: Discv5Fault) -> String {
    let key = SecretKey::from_bytes(&[0x45; 32]).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let record = Record::builder()
        .seq(1)
        .ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .udp(port)
        .sign(&key)
        .unwrap();
    let text = record.to_text();
    let mut r = Responder {
        fault,
        id: key.public_key().node_id(),
        key,
        record,
        sock,
        sessions: HashMap::new(),
        challenges: HashMap::new(),
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; packet::PACKET_SIZE_MAX];
        while let Ok((n, from)) = r.sock.recv_from(&mut buf) {
            r.handle(from, &buf[..n]);
        }
    });
    text
}

impl Responder {
    fn session_key(&self, src: NodeId, from: SocketAddr) -> (NodeId, SocketAddr) {
        if self.fault == Discv5Fault::SessionPerNode {
            (src, SocketAddr::from(([0, 0, 0, 0], 0)))
        } else {
            (src, from)
        }
    }

    fn handle(&mut self, from: SocketAddr, datagram: &[u8]) {
        let Ok(d) = packet::decode(&self.id, datagram) else {
            return;
        };
        match d.header.auth.clone() {
            AuthData::Message { src_id } => {
                let skey = self.session_key(src_id, from);
                let opened = self.sessions.get(&skey).and_then(|s| {
                    c5::decrypt(
                        &s.read_key,
                        &d.header.nonce,
                        &d.message,
                        &d.authenticated_data(),
                    )
                });
                match opened {
                    Some(pt) => self.answer(src_id, from, &pt),
                    None => self.challenge(src_id, from, d.header.nonce),
                }
            }
            AuthData::Handshake(h) => {
                let Some(c) = self.challenges.remove(&(h.src_id, from)) else {
                    return;
                };
                let Some(record) = h.record.and_then(|r| Record::decode_verified(&r).ok()) else {
                    return;
                };
                let Some(signer) = record.public_key() else {
                    return;
                };
                if signer.node_id() != h.src_id
                    || !c5::id_verify(
                        &signer,
                        &h.id_signature,
                        &c.challenge_data,
                        &h.ephemeral_key,
                        &self.id,
                    )
                {
                    return;
                }
                let Ok(eph) = PublicKey::from_sec1(&h.ephemeral_key) else {
                    return;
                };
                let keys =
                    c5::recipient_keys(&self.key, &eph, &h.src_id, &self.id, &c.challenge_data);
                let Some(pt) = c5::decrypt(
                    &keys.initiator_key,
                    &d.header.nonce,
                    &d.message,
                    &d.authenticated_data(),
                ) else {
                    return;
                };
                let skey = self.session_key(h.src_id, from);
                self.sessions
                    .insert(skey, Session::new(&keys, false, record.seq(), UnixMs(0)));
                self.answer(h.src_id, from, &pt);
            }
            AuthData::WhoAreYou(_) => {}
        }
    }

    fn challenge(&mut self, src: NodeId, from: SocketAddr, nonce: c5::Nonce) {
        if self.fault != Discv5Fault::FreshChallenge
            && let Some(c) = self.challenges.get(&(src, from))
        {
            let _ = self.sock.send_to(&c.packet, from);
            return;
        }
        let iv: [u8; 16] = random();
        let header = Header {
            nonce,
            auth: AuthData::WhoAreYou(WhoAreYou {
                id_nonce: random(),
                enr_seq: 0,
            }),
        };
        let challenge_data = packet::authenticated_data(&iv, &header.encode());
        let p = packet::encode(&src, &iv, &header, None).unwrap();
        let _ = self.sock.send_to(&p, from);
        self.challenges.insert(
            (src, from),
            Sent {
                packet: p,
                challenge_data,
            },
        );
    }

    fn answer(&mut self, src: NodeId, from: SocketAddr, pt: &[u8]) {
        let Ok(m) = Message::decode(pt) else {
            return;
        };
        let reply = match m {
            Message::Ping { id, .. } => {
                let id = if self.fault == Discv5Fault::WrongRequestId {
                    let mut b = id.as_bytes().to_vec();
                    match b.last_mut() {
                        Some(x) => *x ^= 0x01,
                        None => b.push(0x01),
                    }
                    RequestId::new(&b).unwrap()
                } else {
                    id
                };
                Message::Pong {
                    id,
                    enr_seq: self.record.seq(),
                    ip: from.ip(),
                    port: from.port(),
                }
            }
            Message::TalkReq { .. } if self.fault == Discv5Fault::SilentTalk => return,
            Message::TalkReq { id, .. } => Message::TalkResp {
                id,
                response: Vec::new(),
            },
            Message::FindNode { id, distances } => {
                let own = distances.contains(&0) && self.fault != Discv5Fault::EmptyZeroDistance;
                Message::Nodes {
                    id,
                    total: 1,
                    records: if own {
                        vec![self.record.clone()]
                    } else {
                        vec![]
                    },
                }
            }
            _ => return,
        };
        let skey = self.session_key(src, from);
        let Some(s) = self.sessions.get_mut(&skey) else {
            return;
        };
        let nonce = s.next_nonce(random());
        let header = Header {
            nonce,
            auth: AuthData::Message { src_id: self.id },
        };
        let iv: [u8; 16] = random();
        let p = packet::encode(&src, &iv, &header, Some((&s.write_key, &reply.encode()))).unwrap();
        let _ = self.sock.send_to(&p, from);
    }
}
