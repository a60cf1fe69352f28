//! Peers built to misbehave, one fault at a time, for the teeth of `ethpeer test`: a small eth
//! node (RLPx recipient, Hello, Status, headers served from the fixture chain, transactions
//! relayed to its other sessions) and a small discv4 responder. Each is made from the library's
//! codecs over blocking sockets on loopback, in threads of the test process.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};

use ethpeer::crypto::{SecretKey, hex};
use ethpeer::discv4::packet::{self as v4, Neighbors, Packet, Pong};
use ethpeer::eth::{self, EthMessage, EthVersion, RawList, RawResponse};
use ethpeer::p2p::{self, Capability, Hello};
use ethpeer::rlpx::frame::{Egress, FrameCodec, HEADER_LEN, Ingress};
use ethpeer::rlpx::handshake::{Handshake, Step};
use ethpeer::rlpx::snappy;
use ethpeer::suite::eth::chain::TestChain;

/// What the eth peer does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: the control.
    None,
    /// Its Status carries a fork hash off by one bit.
    WrongForkId,
    /// It answers GetBlockHeaders with the request id plus one.
    WrongRequestId,
    /// It answers GetBlockHeaders with a message of 11 MiB (over eth's 10 MiB).
    OversizedReply,
    /// It relays every transaction it gets, valid or not.
    RelaysInvalidTx,
}

type Writer = Arc<Mutex<(TcpStream, Egress)>>;

fn send(w: &Writer, code: u64, payload: &[u8]) {
    let body = snappy::compress(payload).unwrap();
    let mut out = Vec::new();
    let mut g = w.lock().unwrap();
    g.1.seal(code, &body, &mut out).unwrap();
    let _ = g.0.write_all(&out);
}

fn read_frame(s: &mut TcpStream, ingress: &mut Ingress) -> Option<(u64, Vec<u8>)> {
    let mut header = [0u8; HEADER_LEN];
    s.read_exact(&mut header).ok()?;
    let n = ingress.open_header(&mut header).ok()?;
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).ok()?;
    let (code, payload) = ingress.open_body(&mut body).ok()?;
    Some((code, payload.to_vec()))
}

/// Starts the eth peer; returns its enode URL.
pub fn start_eth(fault: Fault) -> String {
    let chain = Arc::new(TestChain::load(&super::fixture_path("chain")).unwrap());
    let key = SecretKey::from_bytes(&[0x42; 32]).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let enode = format!(
        "enode://{}@127.0.0.1:{port}",
        hex(&key.public_key().to_bytes())
    );
    let sessions: Arc<Mutex<Vec<Writer>>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (chain, key, sessions) = (chain.clone(), key.clone(), sessions.clone());
            std::thread::spawn(move || session(stream, &key, &chain, fault, &sessions));
        }
    });
    enode
}

fn session(
    mut s: TcpStream,
    key: &SecretKey,
    chain: &TestChain,
    fault: Fault,
    all: &Mutex<Vec<Writer>>,
) {
    let mut rng = |b: &mut [u8]| ethpeer::crypto::os_random(b);
    let mut hs = Handshake::recipient(
        key.clone(),
        SecretKey::generate(ethpeer::crypto::os_random),
        [7; 32],
    );
    let done = loop {
        let mut buf = vec![0u8; hs.wanted()];
        if s.read_exact(&mut buf).is_err() {
            return;
        }
        match hs.handle_read(&buf, &mut rng) {
            Ok(Step::NeedMore) => {}
            Ok(Step::Done(d)) => break d,
            Err(_) => return,
        }
    };
    s.write_all(done.reply.as_ref().unwrap()).unwrap();
    let (mut egress, mut ingress) = FrameCodec::new(done.secrets).split();
    let Some((p2p::HELLO_ID, payload)) = read_frame(&mut s, &mut ingress) else {
        return;
    };
    let Ok(theirs) = Hello::decode(&payload) else {
        return;
    };
    let ours = Hello {
        protocol_version: p2p::P2P_VERSION,
        client_id: "bad-node".into(),
        capabilities: [68, 69, 70].map(|v| Capability::new("eth", v)).to_vec(),
        listen_port: 0,
        id: key.public_key(),
    };
    let mut out = Vec::new();
    egress
        .seal(p2p::HELLO_ID, &ours.encode(), &mut out)
        .unwrap();
    s.write_all(&out).unwrap();
    let Some(version) = theirs
        .capabilities
        .iter()
        .filter(|c| c.name == "eth")
        .filter_map(|c| EthVersion::from_number(c.version.into()))
        .max_by_key(|v| v.number())
    else {
        return;
    };
    let w: Writer = Arc::new(Mutex::new((s.try_clone().unwrap(), egress)));
    let eth_send = |msg: &EthMessage| {
        let (id, payload) = eth::encode(version, msg).unwrap();
        send(&w, 0x10 + id, &payload);
    };
    let mut status = chain.status(version);
    if fault == Fault::WrongForkId {
        match &mut status {
            eth::Status::Eth68(s) => s.fork_id.hash[0] ^= 1,
            eth::Status::Eth69(s) => s.fork_id.hash[0] ^= 1,
        }
    }
    eth_send(&EthMessage::Status(status));
    all.lock().unwrap().push(w.clone());
    while let Some((code, raw)) = read_frame(&mut s, &mut ingress) {
        let Ok(payload) = snappy::decompress(&raw, 16 << 20) else {
            break;
        };
        match code {
            p2p::DISCONNECT_ID => break,
            p2p::PING_ID => send(&w, p2p::PONG_ID, &[0xc0]),
            c if c >= 0x10 => match eth::decode(version, c - 0x10, &payload) {
                Ok(EthMessage::GetBlockHeaders(q)) => {
                    let items = match fault {
                        Fault::OversizedReply => {
                            RawList::from_items([rlp::encode(&vec![0u8; 11 << 20])]).unwrap()
                        }
                        _ => RawList::from_items(chain.headers(&q).unwrap_or_default()).unwrap(),
                    };
                    let request_id = q.request_id + u64::from(fault == Fault::WrongRequestId);
                    eth_send(&EthMessage::BlockHeaders(RawResponse { request_id, items }));
                }
                Ok(EthMessage::Transactions(txs)) if fault == Fault::RelaysInvalidTx => {
                    let (id, payload) =
                        eth::encode(version, &EthMessage::Transactions(txs)).unwrap();
                    for other in all.lock().unwrap().iter().filter(|o| !Arc::ptr_eq(o, &w)) {
                        send(other, 0x10 + id, &payload);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    all.lock().unwrap().retain(|o| !Arc::ptr_eq(o, &w));
}

/// Starts a discv4 responder that answers Ping with Pong and every FindNode with Neighbors,
/// bond or not; returns its enode URL.
pub fn start_discv4_without_bond_check() -> String {
    let key = SecretKey::from_bytes(&[0x43; 32]).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let enode = format!(
        "enode://{}@127.0.0.1:{port}",
        hex(&key.public_key().to_bytes())
    );
    std::thread::spawn(move || {
        let mut buf = [0u8; 1280];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let Ok(d) = v4::decode(&buf[..n]) else {
                continue;
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let reply = match d.packet {
                Packet::Ping(_) => Packet::Pong(Pong {
                    to: v4::Endpoint {
                        ip: Some(from.ip()),
                        udp: from.port(),
                        tcp: 0,
                    },
                    ping_hash: d.hash,
                    expiration: v4::expiration_from(now),
                    enr_seq: None,
                }),
                Packet::FindNode(_) => Packet::Neighbors(Neighbors {
                    nodes: Vec::new(),
                    expiration: v4::expiration_from(now),
                }),
                _ => continue,
            };
            let (bytes, _) = v4::encode(&reply, &key).unwrap();
            let _ = sock.send_to(&bytes, from);
        }
    });
    enode
}
