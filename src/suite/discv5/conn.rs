//! The discv5 tester's endpoint (go-ethereum `cmd/devp2p/internal/v5test/framework.go` plays the
//! same part): a key and record of its own, one session with the node under test, and packets
//! built and read with the library's codec (`discv5::packet`, `discv5::crypto`,
//! `discv5::message`, `discv5::session::Session`). It speaks both sides of the handshake
//! (devp2p `discv5-theory.md` "Handshake Steps"): as initiator it answers the node's WHOAREYOU
//! with a handshake packet carrying its request again; as recipient (a bystander the node
//! contacts) it challenges an unreadable packet and opens the node's handshake. Like geth's
//! `conn` it keeps one session whichever socket it writes on, so a session made on one address
//! is offered on another. Every read waits at most the socket's timeout ([`WAIT`] unless set).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use crate::crypto::{NodeId, PublicKey, SecretKey, os_random};
use crate::discv5::crypto::{self as c5, Nonce};
use crate::discv5::discovery::{RANDOM_MESSAGE_SIZE, record_node};
use crate::discv5::message::{Message, MessageError, RequestId};
use crate::discv5::packet::{
    self, AuthData, Handshake, Header, MASKING_IV_SIZE, PACKET_SIZE_MAX, WhoAreYou,
};
use crate::discv5::session::Session;
use crate::enr::Record;
use crate::suite::runner::Stop;
use crate::time::UnixMs;

/// How long a read waits for the node: go-ethereum's suite waits 300 ms; a loaded CI machine
/// gets more. Tests that expect no answer wait this long for nothing.
pub const WAIT: Duration = Duration::from_millis(1000);

/// The node under test, from its record.
#[derive(Debug, Clone)]
pub struct Remote {
    pub record: Record,
    pub id: NodeId,
    pub key: PublicKey,
    pub addr: SocketAddr,
}

impl Remote {
    /// The node a record names: its key and UDP endpoint (IPv4, else IPv6).
    pub fn from_record(record: Record) -> Result<Remote, String> {
        let node = record_node(&record)
            .ok_or("the record names no public key and UDP endpoint (ip/udp or ip6/udp6)")?;
        Ok(Remote {
            id: node.id,
            key: node.key,
            addr: node.udp_addr(),
            record,
        })
    }
}

/// A WHOAREYOU the node sent: the challenge a handshake answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The nonce of the packet it answers.
    pub nonce: Nonce,
    /// `masking-iv || header`: what the keys and the id signature are bound to.
    pub challenge_data: Vec<u8>,
    /// The sequence number of our record the node holds.
    pub enr_seq: u64,
}

/// What a read brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// A WHOAREYOU.
    WhoAreYou(Challenge),
    /// A message opened under our session (or in the node's handshake, which set the session).
    Message(Message),
    /// A message that opened but does not decode (a request id over 8 bytes, say).
    BadMessage(MessageError),
    /// An ordinary packet our keys do not open: the node starts a handshake with us.
    Unreadable { nonce: Nonce },
}

impl Packet {
    /// The packet's name for messages: `PONG`, `WHOAREYOU`, …
    pub fn name(&self) -> String {
        match self {
            Packet::WhoAreYou(_) => "WHOAREYOU".into(),
            Packet::Message(m) => message_name(m).into(),
            Packet::BadMessage(e) => format!("an undecodable message ({e})"),
            Packet::Unreadable { .. } => "a packet our session keys do not open".into(),
        }
    }
}

/// A message's name as the spec writes it.
pub fn message_name(m: &Message) -> &'static str {
    match m {
        Message::Ping { .. } => "PING",
        Message::Pong { .. } => "PONG",
        Message::FindNode { .. } => "FINDNODE",
        Message::Nodes { .. } => "NODES",
        Message::TalkReq { .. } => "TALKREQ",
        Message::TalkResp { .. } => "TALKRESP",
    }
}

/// Binds a UDP socket on an ephemeral port of `ip`, reads waiting at most `wait`.
pub fn bind(ip: IpAddr, wait: Duration) -> Result<UdpSocket, Stop> {
    let s =
        UdpSocket::bind((ip, 0)).map_err(|e| Stop::fail(format!("cannot listen on {ip}: {e}")))?;
    s.set_read_timeout(Some(wait))
        .map_err(|e| Stop::fail(format!("socket: {e}")))?;
    Ok(s)
}

/// The address a socket is bound to.
pub fn local_addr(sock: &UdpSocket) -> Result<SocketAddr, Stop> {
    sock.local_addr()
        .map_err(|e| Stop::fail(format!("socket: {e}")))
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    os_random(&mut b);
    b
}

/// The tester's side of the conversation with one node.
pub struct Conn {
    pub key: SecretKey,
    pub id: NodeId,
    /// Our record: no endpoint for the tester, its socket's for a bystander.
    pub record: Record,
    pub remote: Remote,
    session: Option<Session>,
    /// The WHOAREYOU we sent the node (recipient side): its challenge data.
    challenged: Option<Vec<u8>>,
    next_id: u32,
}

impl Conn {
    /// A fresh key and a record without endpoint (seq 1).
    pub fn new(remote: Remote) -> Result<Conn, Stop> {
        Conn::with_endpoint(remote, None)
    }

    /// A fresh key and a record naming `endpoint` (a bystander, which the node may add).
    pub fn with_endpoint(remote: Remote, endpoint: Option<SocketAddr>) -> Result<Conn, Stop> {
        let key = SecretKey::generate(os_random);
        let mut b = Record::builder().seq(1);
        if let Some(e) = endpoint {
            b = b.ip(e.ip()).udp(e.port());
        }
        let record = b
            .sign(&key)
            .map_err(|e| Stop::fail(format!("cannot sign our record: {e}")))?;
        Ok(Conn {
            id: key.public_key().node_id(),
            key,
            record,
            remote,
            session: None,
            challenged: None,
            next_id: 0,
        })
    }

    /// A fresh request id: four bytes counting up, as geth's tester makes them.
    pub fn next_request_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId::new(&self.next_id.to_be_bytes()).expect("four bytes")
    }

    /// Sends a message to the node from `sock`; see [`Conn::write_plaintext`].
    pub fn write(
        &mut self,
        sock: &UdpSocket,
        m: &Message,
        challenge: Option<&Challenge>,
    ) -> Result<Nonce, Stop> {
        self.write_plaintext(sock, self.remote.addr, &m.encode(), challenge)
    }

    /// Sends `plaintext` (`message-type || rlp(message-data)`, well formed or not) to `to`: in a
    /// handshake packet answering `challenge` when given (which makes a new session), else
    /// sealed under our session, else as an ordinary packet of random bytes, which the node
    /// answers with WHOAREYOU. Returns the packet's nonce.
    pub fn write_plaintext(
        &mut self,
        sock: &UdpSocket,
        to: SocketAddr,
        plaintext: &[u8],
        challenge: Option<&Challenge>,
    ) -> Result<Nonce, Stop> {
        let iv: [u8; MASKING_IV_SIZE] = random();
        let encoded = match (challenge, &mut self.session) {
            (Some(c), _) => {
                let eph = SecretKey::generate(os_random);
                let eph_pub = eph.public_key().to_compressed();
                let keys = c5::initiator_keys(&eph, &self.remote.key, &self.id, &c.challenge_data);
                let id_signature =
                    c5::id_sign(&self.key, &c.challenge_data, &eph_pub, &self.remote.id);
                let record = (c.enr_seq < self.record.seq()).then(|| self.record.to_rlp());
                let mut s = Session::new(&keys, true, self.remote.record.seq(), UnixMs(0));
                let nonce = s.next_nonce(random());
                let header = Header {
                    nonce,
                    auth: AuthData::Handshake(Handshake {
                        src_id: self.id,
                        id_signature,
                        ephemeral_key: eph_pub,
                        record,
                    }),
                };
                let p = packet::encode(
                    &self.remote.id,
                    &iv,
                    &header,
                    Some((&s.write_key, plaintext)),
                );
                self.session = Some(s);
                p.map(|p| (p, nonce))
            }
            (None, Some(s)) => {
                let nonce = s.next_nonce(random());
                let header = Header {
                    nonce,
                    auth: AuthData::Message { src_id: self.id },
                };
                packet::encode(
                    &self.remote.id,
                    &iv,
                    &header,
                    Some((&s.write_key, plaintext)),
                )
                .map(|p| (p, nonce))
            }
            (None, None) => {
                let nonce: Nonce = random();
                let filler: [u8; RANDOM_MESSAGE_SIZE] = random();
                let header = Header {
                    nonce,
                    auth: AuthData::Message { src_id: self.id },
                };
                packet::encode_sealed(&self.remote.id, &iv, header.encode(), &filler)
                    .map(|p| (p, nonce))
            }
        };
        let (bytes, nonce) =
            encoded.map_err(|e| Stop::fail(format!("cannot encode our packet: {e}")))?;
        sock.send_to(&bytes, to)
            .map_err(|e| Stop::fail(format!("cannot send to {to}: {e}")))?;
        Ok(nonce)
    }

    /// Answers an unreadable packet of the node (nonce `nonce`) with a WHOAREYOU from `sock`.
    /// Our enr-seq is 0, so the node's handshake carries its record.
    pub fn challenge(
        &mut self,
        sock: &UdpSocket,
        to: SocketAddr,
        nonce: Nonce,
    ) -> Result<(), Stop> {
        let iv: [u8; MASKING_IV_SIZE] = random();
        let header = Header {
            nonce,
            auth: AuthData::WhoAreYou(WhoAreYou {
                id_nonce: random(),
                enr_seq: 0,
            }),
        };
        self.challenged = Some(packet::authenticated_data(&iv, &header.encode()));
        let bytes = packet::encode(&self.remote.id, &iv, &header, None)
            .map_err(|e| Stop::fail(format!("cannot encode our WHOAREYOU: {e}")))?;
        sock.send_to(&bytes, to)
            .map_err(|e| Stop::fail(format!("cannot send to {to}: {e}")))?;
        Ok(())
    }

    /// The next packet from the node on `sock` and the address it came from, or `None` when the
    /// socket's timeout passes in silence. Datagrams from other addresses are passed over; one
    /// that is not a discv5 packet for us fails the test.
    pub fn read(&mut self, sock: &UdpSocket) -> Result<Option<(Packet, SocketAddr)>, Stop> {
        let mut buf = [0u8; PACKET_SIZE_MAX + 1];
        loop {
            let (n, from) = match sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(Stop::fail(format!("socket error: {e}"))),
            };
            if from != self.remote.addr {
                continue;
            }
            let d = packet::decode(&self.id, &buf[..n])
                .map_err(|e| Stop::fail(format!("the node sent a bad packet: {e}")))?;
            let p = match &d.header.auth {
                AuthData::WhoAreYou(w) => Packet::WhoAreYou(Challenge {
                    nonce: d.header.nonce,
                    challenge_data: d.authenticated_data(),
                    enr_seq: w.enr_seq,
                }),
                AuthData::Message { src_id } => {
                    if *src_id != self.remote.id {
                        return Err(Stop::fail(format!(
                            "a packet from {from} names source {}, not the node",
                            crate::crypto::hex(&src_id.0)
                        )));
                    }
                    let opened = self.session.as_ref().and_then(|s| {
                        c5::decrypt(
                            &s.read_key,
                            &d.header.nonce,
                            &d.message,
                            &d.authenticated_data(),
                        )
                    });
                    match opened {
                        Some(pt) => decoded(&pt),
                        None => Packet::Unreadable {
                            nonce: d.header.nonce,
                        },
                    }
                }
                AuthData::Handshake(h) => self.open_handshake(&d, h)?,
            };
            return Ok(Some((p, from)));
        }
    }

    /// The node's handshake answering our WHOAREYOU: check it, take its keys, open its message.
    fn open_handshake(&mut self, d: &packet::Decoded, h: &Handshake) -> Result<Packet, Stop> {
        let fail = |why: &str| Err(Stop::fail(format!("the node's handshake: {why}")));
        let Some(challenge_data) = self.challenged.take() else {
            return fail("it answers no WHOAREYOU of ours");
        };
        if h.src_id != self.remote.id {
            return fail("it names another node id");
        }
        if !c5::id_verify(
            &self.remote.key,
            &h.id_signature,
            &challenge_data,
            &h.ephemeral_key,
            &self.id,
        ) {
            return fail("the id signature does not verify");
        }
        let Ok(eph) = PublicKey::from_sec1(&h.ephemeral_key) else {
            return fail("the ephemeral key is not a curve point");
        };
        let keys = c5::recipient_keys(&self.key, &eph, &h.src_id, &self.id, &challenge_data);
        let Some(pt) = c5::decrypt(
            &keys.initiator_key,
            &d.header.nonce,
            &d.message,
            &d.authenticated_data(),
        ) else {
            return fail("its message does not open under the agreed keys");
        };
        self.session = Some(Session::new(&keys, false, 0, UnixMs(0)));
        Ok(decoded(&pt))
    }

    /// Like [`Conn::read`], but silence fails the test (`what` names the awaited answer).
    pub fn expect(&mut self, sock: &UdpSocket, what: &str) -> Result<(Packet, SocketAddr), Stop> {
        self.read(sock)?.ok_or_else(|| {
            Stop::fail(format!(
                "no {what} within {} ms",
                sock.read_timeout()
                    .ok()
                    .flatten()
                    .unwrap_or(WAIT)
                    .as_millis()
            ))
        })
    }

    /// Sends a request and returns the answer, running the handshake first when the node asks
    /// for one (geth's `reqresp`): `None` when the node stays silent.
    pub fn request(&mut self, sock: &UdpSocket, plaintext: &[u8]) -> Result<Option<Packet>, Stop> {
        let nonce = self.write_plaintext(sock, self.remote.addr, plaintext, None)?;
        match self.read(sock)? {
            Some((Packet::WhoAreYou(c), from)) => {
                if c.nonce != nonce {
                    return Err(Stop::fail(format!(
                        "WHOAREYOU names nonce {}, not our request's {}",
                        crate::crypto::hex(&c.nonce),
                        crate::crypto::hex(&nonce)
                    )));
                }
                self.write_plaintext(sock, from, plaintext, Some(&c))?;
                Ok(self.read(sock)?.map(|(p, _)| p))
            }
            other => Ok(other.map(|(p, _)| p)),
        }
    }
}

fn decoded(pt: &[u8]) -> Packet {
    match Message::decode(pt) {
        Ok(m) => Packet::Message(m),
        Err(e) => Packet::BadMessage(e),
    }
}
