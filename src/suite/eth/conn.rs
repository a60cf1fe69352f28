//! The tester's side of one RLPx session with the node under test (devp2p rlpx.md; go-ethereum
//! `cmd/devp2p/internal/ethtest/conn.go` plays the same part): dial, the ECIES handshake
//! (`rlpx::handshake`), frames (`rlpx::frame`), Hello (`p2p::Hello`), the per-frame verdicts of
//! the session core (`p2p::session`), and eth messages through the eth codecs (`eth::wire`).
//! Blocking sockets with a read timeout on every read: the runner's deadline is the backstop,
//! these timeouts are what make a silent node fail a test promptly.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::crypto::{PublicKey, SecretKey, os_random};
use crate::eth::{self, EthMessage, EthVersion, Status};
use crate::p2p::session::{CapRange, Session, Verdict};
use crate::p2p::{self, Capability, DisconnectReason, Hello};
use crate::rlpx::frame::{Egress, FrameCodec, HEADER_LEN, Ingress};
use crate::rlpx::handshake::{Handshake, Step};
use crate::rlpx::snappy;

/// How long one read waits for the node: go-ethereum's suite waits 2 s; a loaded CI machine
/// gets more.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the TCP connect may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The client name the tester sends in its Hello.
pub const CLIENT_ID: &str = concat!("ethpeer-test/v", env!("CARGO_PKG_VERSION"));

/// Why the session could not go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnError {
    /// The node said Disconnect.
    Disconnected(DisconnectReason),
    /// The node closed the TCP connection.
    Closed,
    /// Nothing arrived within the read timeout.
    Timeout,
    /// A socket error.
    Io(String),
    /// The node sent something that cannot be read (a bad frame, Hello or eth message).
    Protocol(String),
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Disconnected(r) => write!(f, "the node disconnected: {r}"),
            ConnError::Closed => f.write_str("the node closed the connection"),
            ConnError::Timeout => write!(f, "no answer within {}s", READ_TIMEOUT.as_secs()),
            ConnError::Io(e) => write!(f, "socket error: {e}"),
            ConnError::Protocol(e) => f.write_str(e),
        }
    }
}

fn io_error(e: std::io::Error) -> ConnError {
    use std::io::ErrorKind::*;
    match e.kind() {
        WouldBlock | TimedOut => ConnError::Timeout,
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe => ConnError::Closed,
        _ => ConnError::Io(e.to_string()),
    }
}

/// One frame as it came off the wire: its message id and payload (decompressed when the session
/// is past Hello with snappy on).
#[derive(Debug)]
pub struct Frame {
    pub code: u64,
    pub payload: Vec<u8>,
}

/// A session with the node.
pub struct Conn {
    stream: TcpStream,
    egress: Egress,
    ingress: Ingress,
    key: SecretKey,
    /// Set by [`Conn::hello`]: the session core's view of the frames that follow.
    session: Option<Session>,
    snappy: bool,
    /// The eth version this connection offers and, after Hello, runs.
    pub version: EthVersion,
}

impl Conn {
    /// Dials `addr` as `key` and completes the ECIES handshake with `remote`.
    pub fn dial_as(
        addr: SocketAddr,
        remote: PublicKey,
        key: SecretKey,
        version: EthVersion,
    ) -> Result<Conn, ConnError> {
        let mut stream = TcpStream::connect_timeout(&addr, DIAL_TIMEOUT).map_err(io_error)?;
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .map_err(io_error)?;
        stream
            .set_write_timeout(Some(READ_TIMEOUT))
            .map_err(io_error)?;
        let _ = stream.set_nodelay(true);
        let mut rng = |b: &mut [u8]| os_random(b);
        let ephemeral = SecretKey::generate(os_random);
        let mut nonce = [0u8; 32];
        os_random(&mut nonce);
        let mut hs = Handshake::initiator(key.clone(), remote, ephemeral, nonce);
        let auth = hs
            .write_auth(&mut rng)
            .map_err(|e| ConnError::Protocol(format!("auth: {e}")))?;
        stream.write_all(&auth).map_err(io_error)?;
        loop {
            let mut buf = vec![0u8; hs.wanted()];
            stream.read_exact(&mut buf).map_err(io_error)?;
            match hs.handle_read(&buf, &mut rng) {
                Ok(Step::NeedMore) => {}
                Ok(Step::Done(done)) => {
                    let (egress, ingress) = FrameCodec::new(done.secrets).split();
                    return Ok(Conn {
                        stream,
                        egress,
                        ingress,
                        key,
                        session: None,
                        snappy: false,
                        version,
                    });
                }
                Err(e) => return Err(ConnError::Protocol(format!("RLPx handshake: {e}"))),
            }
        }
    }

    /// Dials with a fresh key.
    pub fn dial(
        addr: SocketAddr,
        remote: PublicKey,
        version: EthVersion,
    ) -> Result<Conn, ConnError> {
        Conn::dial_as(addr, remote, SecretKey::generate(os_random), version)
    }

    /// Our Hello: p2p v5, one capability, eth at this connection's version.
    pub fn our_hello(&self) -> Hello {
        Hello {
            protocol_version: p2p::P2P_VERSION,
            client_id: CLIENT_ID.into(),
            capabilities: vec![Capability::new("eth", self.version.number())],
            listen_port: 0,
            id: self.key.public_key(),
        }
    }

    /// Sends our Hello and reads theirs; requires them to offer our eth version.
    pub fn hello(&mut self) -> Result<Hello, ConnError> {
        let ours = self.our_hello();
        self.write_frame(p2p::HELLO_ID, &ours.encode())?;
        let f = self.read_frame()?;
        match f.code {
            p2p::HELLO_ID => {}
            p2p::DISCONNECT_ID => {
                return Err(ConnError::Disconnected(p2p::session::decode_disconnect(
                    &f.payload, false,
                )));
            }
            other => {
                return Err(ConnError::Protocol(format!(
                    "expected Hello, got message {other:#x}"
                )));
            }
        }
        let theirs =
            Hello::decode(&f.payload).map_err(|e| ConnError::Protocol(format!("Hello: {e}")))?;
        let want = Capability::new("eth", self.version.number());
        if !theirs.capabilities.contains(&want) {
            return Err(ConnError::Protocol(format!(
                "the node does not offer {want} (it offers {})",
                theirs
                    .capabilities
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        self.snappy = p2p::snappy_enabled(ours.protocol_version, theirs.protocol_version);
        let eth = CapRange {
            offset: p2p::BASE_PROTOCOL_LENGTH,
            length: self.version.protocol_length(),
            size_max: eth::MESSAGE_SIZE_MAX,
        };
        self.session = Some(Session::new(self.snappy, vec![eth]));
        Ok(theirs)
    }

    /// Writes one frame with `code`, its payload compressed when the session has snappy on.
    pub fn write_frame(&mut self, code: u64, payload: &[u8]) -> Result<(), ConnError> {
        let body = if self.snappy {
            snappy::compress(payload).map_err(|e| ConnError::Protocol(format!("snappy: {e}")))?
        } else {
            payload.to_vec()
        };
        let mut out = Vec::new();
        self.egress
            .seal(code, &body, &mut out)
            .map_err(|e| ConnError::Protocol(format!("frame: {e}")))?;
        self.stream.write_all(&out).map_err(io_error)
    }

    /// Reads one frame as it is (no snappy, no policy): for Hello and the handshake tests.
    pub fn read_frame(&mut self) -> Result<Frame, ConnError> {
        let mut header = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut header).map_err(io_error)?;
        let n = self
            .ingress
            .open_header(&mut header)
            .map_err(|e| ConnError::Protocol(format!("frame header: {e}")))?;
        let mut body = vec![0u8; n];
        self.stream.read_exact(&mut body).map_err(io_error)?;
        let (code, payload) = self
            .ingress
            .open_body(&mut body)
            .map_err(|e| ConnError::Protocol(format!("frame body: {e}")))?;
        Ok(Frame {
            code,
            payload: payload.to_vec(),
        })
    }

    /// Reads until an eth message arrives, answering Ping; returns its eth id and payload. The
    /// session core decides each frame: a Disconnect ends the read, an oversized or undecodable
    /// message is a protocol error of the node.
    pub fn read_eth_raw(&mut self) -> Result<(u64, Vec<u8>), ConnError> {
        loop {
            let f = self.read_frame()?;
            let Some(session) = &self.session else {
                return Err(ConnError::Protocol("read before Hello".into()));
            };
            match session.handle_frame(f.code, &f.payload) {
                Verdict::RemoteDisconnect(r) => return Err(ConnError::Disconnected(r)),
                Verdict::Pong => self.write_frame(p2p::PONG_ID, &[0xc0])?,
                Verdict::PongReceived | Verdict::Ignore => {}
                Verdict::Deliver { code, payload, .. } => {
                    return Ok((code - p2p::BASE_PROTOCOL_LENGTH, payload));
                }
                Verdict::Disconnect { why, .. } => return Err(ConnError::Protocol(why)),
            }
        }
    }

    /// Reads the next frame of any kind, answering Ping; returns its message id. A Disconnect
    /// is an error.
    pub fn read_next(&mut self) -> Result<u64, ConnError> {
        let f = self.read_frame()?;
        let Some(session) = &self.session else {
            return Err(ConnError::Protocol("read before Hello".into()));
        };
        match session.handle_frame(f.code, &f.payload) {
            Verdict::RemoteDisconnect(r) => Err(ConnError::Disconnected(r)),
            Verdict::Pong => {
                self.write_frame(p2p::PONG_ID, &[0xc0])?;
                Ok(f.code)
            }
            Verdict::Disconnect { why, .. } => Err(ConnError::Protocol(why)),
            _ => Ok(f.code),
        }
    }

    /// Reads the next eth message, decoded for this connection's version.
    pub fn read_eth(&mut self) -> Result<EthMessage, ConnError> {
        let (id, payload) = self.read_eth_raw()?;
        eth::decode(self.version, id, &payload).map_err(|e| {
            let name = eth::message_name(self.version, id).unwrap_or("unknown message");
            ConnError::Protocol(format!("the node sent a bad {name} ({id:#x}): {e}"))
        })
    }

    /// Reads messages until `pick` takes one, within `within`; others are passed over.
    pub fn read_until<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(EthMessage) -> Option<T>,
    ) -> Result<T, ConnError> {
        let end = Instant::now() + within;
        loop {
            if Instant::now() >= end {
                return Err(ConnError::Timeout);
            }
            if let Some(t) = pick(self.read_eth()?) {
                return Ok(t);
            }
        }
    }

    /// Sends an eth message in this connection's version.
    pub fn send(&mut self, msg: &EthMessage) -> Result<(), ConnError> {
        let (id, payload) = eth::encode(self.version, msg)
            .map_err(|e| ConnError::Protocol(format!("encoding our message: {e}")))?;
        self.send_raw(id, &payload)
    }

    /// Sends an eth message given as its id and payload.
    pub fn send_raw(&mut self, id: u64, payload: &[u8]) -> Result<(), ConnError> {
        self.write_frame(p2p::BASE_PROTOCOL_LENGTH + id, payload)
    }

    /// Sends a p2p Ping.
    pub fn ping(&mut self) -> Result<(), ConnError> {
        self.write_frame(p2p::PING_ID, &[0xc0])
    }

    /// Reads the node's Status (answering Ping on the way).
    pub fn read_status(&mut self) -> Result<Status, ConnError> {
        match self.read_eth()? {
            EthMessage::Status(s) => Ok(s),
            other => Err(ConnError::Protocol(format!(
                "expected Status, got {}",
                eth::message_name(self.version, other.id()).unwrap_or("?")
            ))),
        }
    }

    /// Changes the read timeout (for reads that expect silence).
    pub fn set_read_timeout(&mut self, t: Duration) {
        let _ = self.stream.set_read_timeout(Some(t));
    }

    /// Says goodbye and closes.
    pub fn close(mut self) {
        let reason = DisconnectReason::DisconnectRequested.encode();
        let _ = self.write_frame(p2p::DISCONNECT_ID, &reason);
    }
}
