//! A hand-driven RLPx peer for tests, built from the library's sans-IO cores over a blocking
//! socket: it can behave well (handshake, Hello, Ping) or badly (garbage, forged MACs, oversized
//! frames, snappy bombs, a second Hello, silence), one step at a time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ethpeer::crypto::{PublicKey, SecretKey};
use ethpeer::p2p::{self, Capability, DisconnectReason, Hello};
use ethpeer::rlpx::frame::{Egress, FrameCodec, HEADER_LEN, Ingress};
use ethpeer::rlpx::handshake::{Handshake, Step};
use ethpeer::rlpx::snappy;

use super::TestRng;

/// A connected peer past the ECIES handshake.
pub struct RawPeer {
    pub stream: TcpStream,
    pub egress: Egress,
    pub ingress: Ingress,
    pub key: SecretKey,
    pub snappy: bool,
}

/// What the peer read, or why it could not.
#[derive(Debug, PartialEq, Eq)]
pub enum Read_ {
    Message(u64, Vec<u8>),
    Disconnect(DisconnectReason),
    Closed,
    Timeout,
    Error(String),
}

impl RawPeer {
    /// Connects and runs the ECIES handshake as initiator, with a key drawn from `seed`.
    pub fn connect(addr: SocketAddr, remote: PublicKey, seed: u64) -> Result<RawPeer, String> {
        let mut rng = TestRng::new(seed);
        let key = SecretKey::generate(|b| rng.fill(b));
        Self::connect_with_key(addr, remote, key, seed)
    }

    /// Like [`RawPeer::connect`] with a given static key.
    pub fn connect_with_key(
        addr: SocketAddr,
        remote: PublicKey,
        key: SecretKey,
        seed: u64,
    ) -> Result<RawPeer, String> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect: {e}"))?;
        Self::handshake(stream, remote, key, seed)
    }

    /// Runs the ECIES handshake as initiator over a stream already connected (e.g. from a
    /// chosen source address).
    pub fn handshake(
        mut stream: TcpStream,
        remote: PublicKey,
        key: SecretKey,
        seed: u64,
    ) -> Result<RawPeer, String> {
        let mut rng = TestRng::new(seed ^ 0x5eed);
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        let ephemeral = SecretKey::generate(|b| rng.fill(b));
        let mut nonce = [0u8; 32];
        rng.fill(&mut nonce);
        let mut hs = Handshake::initiator(key.clone(), remote, ephemeral, nonce);
        let auth = hs
            .write_auth(&mut |b| rng.fill(b))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(&auth)
            .map_err(|e| format!("write auth: {e}"))?;
        loop {
            let mut buf = vec![0u8; hs.wanted()];
            stream
                .read_exact(&mut buf)
                .map_err(|e| format!("read ack: {e}"))?;
            match hs.handle_read(&buf, &mut |b| rng.fill(b)) {
                Ok(Step::NeedMore) => {}
                Ok(Step::Done(done)) => {
                    let (egress, ingress) = FrameCodec::new(done.secrets).split();
                    return Ok(RawPeer {
                        stream,
                        egress,
                        ingress,
                        key,
                        snappy: false,
                    });
                }
                Err(e) => return Err(format!("handshake: {e}")),
            }
        }
    }

    /// Our Hello with the given capabilities.
    pub fn our_hello(&self, caps: &[(&str, u32)]) -> Hello {
        Hello {
            protocol_version: p2p::P2P_VERSION,
            client_id: "raw-test-peer".into(),
            capabilities: caps.iter().map(|(n, v)| Capability::new(n, *v)).collect(),
            listen_port: 0,
            id: self.key.public_key(),
        }
    }

    /// Sends our Hello and reads theirs; turns snappy on when both speak v5.
    pub fn hello(&mut self, caps: &[(&str, u32)]) -> Result<Hello, Read_> {
        let ours = self.our_hello(caps);
        self.send_uncompressed(p2p::HELLO_ID, &ours.encode());
        match self.recv() {
            Read_::Message(0, payload) => {
                let h = Hello::decode(&payload).map_err(|e| Read_::Error(e.to_string()))?;
                self.snappy = h.protocol_version >= 5;
                Ok(h)
            }
            other => Err(other),
        }
    }

    /// One sealed frame, not yet sent (for tampering).
    pub fn seal(&mut self, code: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.egress.seal(code, payload, &mut out).unwrap();
        out
    }

    /// Sends a message, compressed when snappy is on.
    pub fn send(&mut self, code: u64, payload: &[u8]) {
        let body = if self.snappy {
            snappy::compress(payload).unwrap()
        } else {
            payload.to_vec()
        };
        self.send_uncompressed(code, &body);
    }

    /// Sends a frame whose payload is taken as is.
    pub fn send_uncompressed(&mut self, code: u64, payload: &[u8]) {
        let f = self.seal(code, payload);
        let _ = self.stream.write_all(&f);
    }

    /// Sends raw bytes.
    pub fn send_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one message (decompressed when snappy is on), or what ended the session.
    pub fn recv(&mut self) -> Read_ {
        let mut header = [0u8; HEADER_LEN];
        if let Err(e) = self.stream.read_exact(&mut header) {
            return io_end(e);
        }
        let n = match self.ingress.open_header(&mut header) {
            Ok(n) => n,
            Err(e) => return Read_::Error(format!("header: {e}")),
        };
        let mut body = vec![0u8; n];
        if let Err(e) = self.stream.read_exact(&mut body) {
            return io_end(e);
        }
        let (code, payload) = match self.ingress.open_body(&mut body) {
            Ok((c, p)) => (c, p.to_vec()),
            Err(e) => return Read_::Error(format!("body: {e}")),
        };
        // Hello is never compressed; Disconnect may or may not be.
        let payload = if self.snappy && code != p2p::HELLO_ID {
            match snappy::decompress(&payload, 1 << 24) {
                Ok(p) => p,
                Err(_) if code == p2p::DISCONNECT_ID => payload,
                Err(e) => return Read_::Error(format!("snappy: {e}")),
            }
        } else {
            payload
        };
        if code == p2p::DISCONNECT_ID {
            return match DisconnectReason::decode(&payload) {
                Ok(r) => Read_::Disconnect(r),
                Err(e) => Read_::Error(format!("disconnect: {e}")),
            };
        }
        Read_::Message(code, payload)
    }

    /// Reads until a Disconnect, the end of the stream, or `timeout`; skips other messages.
    pub fn until_end(&mut self, timeout: Duration) -> Read_ {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
        loop {
            match self.recv() {
                Read_::Message(..) => continue,
                other => return other,
            }
        }
    }

    /// Sends Ping and waits for Pong (skipping other messages).
    pub fn ping(&mut self, timeout: Duration) -> Result<(), Read_> {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
        self.send(p2p::PING_ID, &[0xc0]);
        loop {
            match self.recv() {
                Read_::Message(3, _) => return Ok(()),
                Read_::Message(..) => continue,
                other => return Err(other),
            }
        }
    }
}

fn io_end(e: std::io::Error) -> Read_ {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Read_::Timeout,
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted => Read_::Closed,
        _ => Read_::Error(e.to_string()),
    }
}

/// Whether the other side closed the TCP connection within `timeout` (reads until EOF).
pub fn closed_within(stream: &mut TcpStream, timeout: Duration) -> bool {
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => return io_end(e) == Read_::Closed,
        }
    }
}

/// One GetBlockHeaders for 16 headers from block `1 + id % 500`, answered in full by a
/// BlockHeaders with the same id (the node's Pings are answered meanwhile): its round trip.
/// Panics on any other outcome.
pub fn ask_headers(
    p: &mut RawPeer,
    version: ethpeer::eth::EthVersion,
    id: u64,
) -> std::time::Duration {
    use ethpeer::eth::{self, BlockOrigin, EthMessage, GetBlockHeaders};
    const ETH: u64 = 0x10;
    let msg = EthMessage::GetBlockHeaders(GetBlockHeaders {
        request_id: id,
        origin: BlockOrigin::Number(1 + id % 500),
        amount: 16,
        skip: 0,
        reverse: false,
    });
    let (code, payload) = eth::encode(version, &msg).unwrap();
    let sent = std::time::Instant::now();
    p.send(ETH + code, &payload);
    loop {
        match p.recv() {
            Read_::Message(2, _) => p.send(3, &[0xc0]),
            Read_::Message(code, payload) if code > ETH => {
                if let Ok(EthMessage::BlockHeaders(r)) = eth::decode(version, code - ETH, &payload)
                {
                    assert_eq!((r.request_id, r.items.len()), (id, 16), "wrong reply");
                    return sent.elapsed();
                }
            }
            Read_::Message(..) => continue,
            other => panic!("request {id} unanswered: {other:?}"),
        }
    }
}
