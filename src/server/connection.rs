//! The per-connection task: the imperative shell around one RLPx session (rlpx.md, p2p capability).
//!
//! A task dials (or takes an accepted socket), runs the ECIES handshake and the Hello exchange
//! under their deadlines, and stops twice to ask the event loop for a verdict (geth's checkpoints:
//! after encryption, after Hello). Once admitted it runs two halves side by side: the reader, which
//! opens frames, answers p2p Ping and posts every capability message to the loop over the one
//! shared bounded channel; and the writer, which drains this peer's own bounded queue, writes our
//! Ping every 15 s, and writes the final Disconnect. The task never sees other peers, and the loop
//! never awaits it.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use async_io::Timer;
use async_net::TcpStream;
use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt, BufReader};

use crate::crypto::{PublicKey, SecretKey, os_random};
use crate::log;
use crate::p2p::session::CapRange;
use crate::p2p::session::{Session, Verdict};
use crate::p2p::{self, DisconnectReason, Fault, Hello};
use crate::rlpx::frame::{Egress, FRAME_SIZE_MAX, FrameCodec, FrameError, HEADER_LEN, Ingress};
use crate::rlpx::handshake::{Established, Handshake, Step};
use crate::rlpx::snappy;
use crate::server::capability::CapSession;
use crate::server::traffic::{TRAFFIC_FLUSH_INTERVAL, Traffic};

/// The deadline for the ECIES handshake and, separately, for the Hello exchange (geth: 5 s each).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a dial may take to connect: the dial scheduler's own deadline (geth: 15 s).
pub const DIAL_TIMEOUT: Duration = Duration::from_millis(crate::dial::DIAL_TIMEOUT);
/// We send a p2p Ping this often (geth `pingInterval`: 15 s).
pub const PING_INTERVAL: Duration = Duration::from_secs(15);
/// A session that delivers no frame for this long is dead: with our Ping every 15 s a live peer
/// always answers within it (geth `frameReadTimeout`: 30 s).
pub const FRAME_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A frame write that stalls this long means the peer stopped reading (geth `frameWriteTimeout`).
pub const FRAME_WRITE_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest frame accepted before Hello: a base-protocol message plus the msg-id byte.
pub const HELLO_FRAME_SIZE_MAX: usize = p2p::BASE_PROTOCOL_MESSAGE_SIZE_MAX + 1;
/// The read buffer a session keeps between frames at most; a larger one is freed after use.
const READ_BUFFER_KEEP_MAX: usize = 64 * 1024;
/// A frame body is read in pieces of this size, the buffer growing with each, so its memory
/// follows the bytes the peer has sent, not the length its 32-byte header announces (16 MiB).
const FRAME_READ_CHUNK: usize = 64 * 1024;
/// Ping and Pong carry an empty RLP list.
const EMPTY_LIST: [u8; 1] = [0xc0];
/// Room for the reader's answers (Pong) and stop requests to the writer.
const CONTROL_QUEUE_MAX: usize = 8;

pub use crate::node::ConnId;
pub use crate::server::events::{Admission, CloseReason, Outgoing, PeerEvent, Role};

/// What every task needs from the node, shared read-only between tasks.
#[derive(Debug)]
pub struct TaskContext {
    /// Our node key.
    pub key: SecretKey,
    /// The Hello we send (protocol version, client id, capabilities, port, id).
    pub hello: Hello,
    /// Where events go; bounded, shared by all tasks.
    pub events: Sender<PeerEvent>,
}

/// An error on the way to, or during, a session, before it is turned into a [`CloseReason`].
#[derive(Debug)]
enum SessionError {
    Io(std::io::Error),
    Timeout(&'static str),
    Protocol(Fault, String),
    Remote(DisconnectReason),
    Refused(Fault),
    LoopGone,
}

impl From<std::io::Error> for SessionError {
    fn from(e: std::io::Error) -> Self {
        SessionError::Io(e)
    }
}

impl From<FrameError> for SessionError {
    fn from(e: FrameError) -> Self {
        SessionError::Protocol(Fault::Frame, e.to_string())
    }
}

/// Runs one connection from dial or accept to close, then reports `Closed` to the loop.
pub async fn run(conn: ConnId, role: Role, ctx: Rc<TaskContext>) {
    let traffic = RefCell::new(Traffic::default());
    let reason = match session(conn, role, &ctx, &traffic).await {
        Ok(r) => r,
        Err(SessionError::Io(e)) => CloseReason::Failed(format!("i/o: {e}")),
        Err(SessionError::Timeout(what)) => CloseReason::Failed(format!("{what} timed out")),
        Err(SessionError::Protocol(f, why)) => {
            CloseReason::Failed(format!("{}: {why}", f.reason()))
        }
        Err(SessionError::Remote(r)) => CloseReason::Remote(r),
        Err(SessionError::Refused(f)) => CloseReason::Local(f.reason()),
        Err(SessionError::LoopGone) => CloseReason::Local(Fault::Quitting.reason()),
    };
    // If the loop is gone the node is shutting down; nobody is left to tell.
    let traffic = traffic.into_inner();
    if !traffic.is_empty() {
        let traffic = Box::new(traffic);
        let _ = ctx.events.send(PeerEvent::Traffic { conn, traffic }).await;
    }
    let _ = ctx.events.send(PeerEvent::Closed { conn, reason }).await;
}

async fn with_timeout<T>(
    what: &'static str,
    d: Duration,
    f: impl Future<Output = Result<T, SessionError>>,
) -> Result<T, SessionError> {
    future::or(f, async {
        Timer::after(d).await;
        Err(SessionError::Timeout(what))
    })
    .await
}

async fn session(
    conn: ConnId,
    role: Role,
    ctx: &TaskContext,
    traffic: &RefCell<Traffic>,
) -> Result<CloseReason, SessionError> {
    let (stream, expected) = match role {
        Role::Dial { addr, remote } => {
            let s = with_timeout("dial", DIAL_TIMEOUT, async {
                Ok(TcpStream::connect(addr).await?)
            })
            .await?;
            (s, Some(remote))
        }
        Role::Accept(s) => (s, None),
    };
    let _ = stream.set_nodelay(true);

    // ECIES handshake, then checkpoint 1.
    let (mut reader, mut writer, codec, remote) = with_timeout(
        "handshake",
        HANDSHAKE_TIMEOUT,
        ecies_handshake(stream, &ctx.key, expected),
    )
    .await?;
    let (mut egress, mut ingress) = codec.split();
    let verdict = ask(&ctx.events, |tx| PeerEvent::Encrypted {
        conn,
        remote,
        verdict: tx,
    })
    .await?;
    if let Err(reason) = verdict {
        write_disconnect(&mut writer, &mut egress, reason, false).await;
        return Err(SessionError::Refused(reason));
    }

    // Hello exchange, then checkpoint 2.
    let hello = exchange_hello(
        &mut reader,
        &mut writer,
        &mut egress,
        &mut ingress,
        &ctx.hello,
        &remote,
    )
    .await;
    let hello = match hello {
        Ok(h) => h,
        Err(SessionError::Protocol(reason, why)) => {
            write_disconnect(&mut writer, &mut egress, reason, false).await;
            return Err(SessionError::Protocol(reason, why));
        }
        Err(e) => return Err(e),
    };
    let snappy = p2p::snappy_enabled(ctx.hello.protocol_version, hello.protocol_version);
    let admission = ask(&ctx.events, |tx| PeerEvent::Hello {
        conn,
        hello: Box::new(hello),
        verdict: tx,
    })
    .await?;
    let (queue, caps, mut sessions) = match admission {
        Admission::Admit {
            queue,
            caps,
            sessions,
        } => (queue, caps, sessions),
        Admission::Refuse(fault) => {
            write_disconnect(&mut writer, &mut egress, fault, snappy).await;
            return Err(SessionError::Refused(fault));
        }
    };

    // Each capability's opening messages (eth: our Status) go first; the queue is empty and
    // holds more than any capability opens with.
    let (ctl_tx, ctl_rx) = async_channel::bounded(CONTROL_QUEUE_MAX);
    for (range, session) in caps.iter().zip(sessions.iter_mut()) {
        let Some(session) = session else { continue };
        match session.opening() {
            Ok(msgs) => {
                for (id, payload) in msgs {
                    let _ = ctl_tx.try_send(Control::Message(range.offset + id, payload));
                }
            }
            Err(end) => {
                write_disconnect(&mut writer, &mut egress, end.fault, snappy).await;
                return Err(SessionError::Protocol(end.fault, end.why));
            }
        }
    }
    let read = read_loop(
        conn,
        (reader, ingress),
        Session::new(snappy, caps.clone()),
        ctl_tx,
        CapSessions { caps, sessions },
        traffic,
    );
    let write = write_loop(
        (writer, egress, snappy),
        queue,
        ctl_rx,
        traffic,
        (conn, &ctx.events),
    );
    // Either half may end the session. A reader that wants a Disconnect written hands it to the
    // writer and waits; otherwise the first half to finish decides.
    Ok(future::or(
        async {
            match read.await {
                Some(end) => end,
                None => future::pending::<CloseReason>().await,
            }
        },
        write,
    )
    .await)
}

/// Dials `remote` at `addr`, completes the ECIES handshake and the Hello exchange, sends
/// Disconnect ("disconnect requested") and returns the remote's Hello (`ethpeer rlpx ping`).
/// The deadlines are the node's: 15 s to connect, 5 s for each handshake.
pub async fn probe(
    addr: SocketAddr,
    remote: PublicKey,
    key: &SecretKey,
    hello: &Hello,
) -> Result<Hello, String> {
    let attempt = async {
        let stream = with_timeout("dial", DIAL_TIMEOUT, async {
            Ok(TcpStream::connect(addr).await?)
        })
        .await?;
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer, codec, remote) = with_timeout(
            "handshake",
            HANDSHAKE_TIMEOUT,
            ecies_handshake(stream, key, Some(remote)),
        )
        .await
        .map_err(|e| match e {
            // A node that cannot decrypt our auth message (it is sealed to the key in the URL)
            // just closes the socket: the usual sign of a wrong node id.
            SessionError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                SessionError::Protocol(
                    Fault::HelloIdentity,
                    "the remote closed the connection during the encryption handshake \
                     (is the node id in the enode URL the node's?)"
                        .into(),
                )
            }
            other => other,
        })?;
        let (mut egress, mut ingress) = codec.split();
        let theirs = exchange_hello(
            &mut reader,
            &mut writer,
            &mut egress,
            &mut ingress,
            hello,
            &remote,
        )
        .await?;
        let snappy = p2p::snappy_enabled(hello.protocol_version, theirs.protocol_version);
        write_disconnect(&mut writer, &mut egress, Fault::Requested, snappy).await;
        Ok(theirs)
    };
    attempt.await.map_err(|e: SessionError| match e {
        SessionError::Io(e) => format!("{addr}: {e}"),
        SessionError::Timeout(what) => format!("{addr}: {what} timed out"),
        SessionError::Protocol(f, why) => format!("{addr}: {why} ({})", f.reason()),
        SessionError::Remote(r) => format!("{addr}: remote disconnected: {r}"),
        SessionError::Refused(f) => format!("{addr}: refused: {}", f.reason()),
        SessionError::LoopGone => format!("{addr}: aborted"),
    })
}

/// Sends `make(verdict_tx)` to the loop and waits for its answer.
async fn ask<T>(
    events: &Sender<PeerEvent>,
    make: impl FnOnce(Sender<T>) -> PeerEvent,
) -> Result<T, SessionError> {
    let (tx, rx) = async_channel::bounded(1);
    events
        .send(make(tx))
        .await
        .map_err(|_| SessionError::LoopGone)?;
    rx.recv().await.map_err(|_| SessionError::LoopGone)
}

/// Runs the ECIES handshake over `stream`; `expected` is the key we dialed (initiator) or `None`.
async fn ecies_handshake(
    stream: TcpStream,
    key: &SecretKey,
    expected: Option<PublicKey>,
) -> Result<(BufReader<TcpStream>, TcpStream, FrameCodec, PublicKey), SessionError> {
    let mut rng = |b: &mut [u8]| os_random(b);
    let ephemeral = SecretKey::generate(os_random);
    let mut nonce = [0u8; 32];
    os_random(&mut nonce);
    let mut writer = stream.clone();
    // The handshake reads exactly what it wants, so the buffer never swallows the first frame.
    let mut reader = BufReader::new(stream);
    let mut hs = match expected {
        Some(remote) => {
            let mut hs = Handshake::initiator(key.clone(), remote, ephemeral, nonce);
            let auth = hs
                .write_auth(&mut rng)
                .map_err(|e| SessionError::Protocol(Fault::Handshake, format!("auth: {e}")))?;
            writer.write_all(&auth).await?;
            hs
        }
        None => Handshake::recipient(key.clone(), ephemeral, nonce),
    };
    let mut buf = Vec::new();
    loop {
        let want = hs.wanted();
        buf.resize(want, 0);
        reader.read_exact(&mut buf).await?;
        match hs.handle_read(&buf, &mut rng) {
            Ok(Step::NeedMore) => continue,
            Ok(Step::Done(done)) => {
                let Established {
                    reply,
                    secrets,
                    remote,
                    ..
                } = *done;
                if let Some(ack) = reply {
                    writer.write_all(&ack).await?;
                }
                return Ok((reader, writer, FrameCodec::new(secrets), remote));
            }
            Err(e) => {
                return Err(SessionError::Protocol(
                    Fault::Handshake,
                    format!("handshake: {e}"),
                ));
            }
        }
    }
}

/// Reads one whole frame into `buf`; returns the message id and the payload range.
async fn read_frame(
    reader: &mut BufReader<TcpStream>,
    ingress: &mut Ingress,
    buf: &mut Vec<u8>,
) -> Result<(u64, std::ops::Range<usize>), SessionError> {
    let mut header = [0u8; HEADER_LEN];
    reader.read_exact(&mut header).await?;
    // open_header refuses sizes over the frame limit, so the buffer is bounded; it grows only as
    // the body arrives, so a peer that announces a large frame and dribbles it (or stops) holds
    // memory for what it sent.
    let body_len = ingress.open_header(&mut header)?;
    buf.clear();
    while buf.len() < body_len {
        let at = buf.len();
        buf.resize(at + (body_len - at).min(FRAME_READ_CHUNK), 0);
        reader.read_exact(&mut buf[at..]).await?;
    }
    let base = buf.as_ptr() as usize;
    let (code, payload) = ingress.open_body(buf)?;
    let start = payload.as_ptr() as usize - base;
    Ok((code, start..start + payload.len()))
}

/// Sends our Hello and reads theirs under the 5 s deadline. Until theirs arrives no frame may be
/// larger than a base-protocol message (2 KiB, as geth); after it, the RLPx frame limit.
async fn exchange_hello(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    egress: &mut Egress,
    ingress: &mut Ingress,
    ours: &Hello,
    remote: &PublicKey,
) -> Result<Hello, SessionError> {
    ingress.set_frame_size_max(HELLO_FRAME_SIZE_MAX);
    let theirs = with_timeout("hello", HANDSHAKE_TIMEOUT, async {
        let mut out = Vec::new();
        egress.seal(p2p::HELLO_ID, &ours.encode(), &mut out)?;
        writer.write_all(&out).await?;
        read_hello(reader, ingress, remote).await
    })
    .await;
    ingress.set_frame_size_max(FRAME_SIZE_MAX);
    theirs
}

/// Reads the remote's Hello (never compressed). A Disconnect in its place ends the session.
async fn read_hello(
    reader: &mut BufReader<TcpStream>,
    ingress: &mut Ingress,
    remote: &PublicKey,
) -> Result<Hello, SessionError> {
    let mut buf = Vec::new();
    let (code, range) = read_frame(reader, ingress, &mut buf).await?;
    let payload = &buf[range];
    match code {
        p2p::HELLO_ID => {
            let hello = Hello::decode(payload)
                .map_err(|e| SessionError::Protocol(Fault::BadHello, format!("hello: {e}")))?;
            if hello.id != *remote {
                return Err(SessionError::Protocol(
                    Fault::HelloIdentity,
                    "hello id differs from the handshake key".into(),
                ));
            }
            Ok(hello)
        }
        p2p::DISCONNECT_ID => Err(SessionError::Remote(p2p::session::decode_disconnect(
            payload, false,
        ))),
        other => Err(SessionError::Protocol(
            Fault::BadHello,
            format!("expected hello, got message {other}"),
        )),
    }
}

/// Messages from the reader to the writer of the same session.
enum Control {
    Pong,
    /// A reply the reader built (a capability's answer or opening message): id and payload.
    Message(u64, Vec<u8>),
    /// Write Disconnect for this fault and end the session.
    Disconnect(Fault),
}

/// The session halves of the capabilities this session runs, beside their id ranges.
struct CapSessions {
    caps: Vec<CapRange>,
    /// `sessions[i]` serves `caps[i]`; `None`: no protocol took the range.
    sessions: Vec<Option<Box<dyn CapSession>>>,
}

impl CapSessions {
    /// The soonest capability deadline (eth: the remote Status), with what missing it means.
    fn deadline(&self) -> Option<(Instant, Fault, &'static str, &'static str)> {
        self.sessions
            .iter()
            .flatten()
            .filter_map(|s| s.deadline().map(|(at, f, why)| (at, f, why, s.label())))
            .min_by_key(|d| d.0)
    }
}

/// Reads frames until the session ends. Returns `Some(reason)` when the session is over at once,
/// or `None` after handing the writer a Disconnect to write.
async fn read_loop(
    conn: ConnId,
    (mut reader, mut ingress): (BufReader<TcpStream>, Ingress),
    session: Session,
    ctl: Sender<Control>,
    mut caps: CapSessions,
    traffic: &RefCell<Traffic>,
) -> Option<CloseReason> {
    let mut buf = Vec::new();
    let fault = loop {
        // A rare large frame (up to 16 MiB) must not stay allocated for the session's life: an
        // idle peer keeps only a small buffer, so memory per peer stays small on a small board.
        if buf.capacity() > READ_BUFFER_KEEP_MAX {
            buf = Vec::new();
        }
        // A capability handshake still awaited (eth Status) shortens the read deadline.
        let deadline = caps.deadline();
        let wait = match deadline {
            Some((at, ..)) => at
                .saturating_duration_since(Instant::now())
                .min(FRAME_READ_TIMEOUT),
            None => FRAME_READ_TIMEOUT,
        };
        let frame = with_timeout(
            "frame read",
            wait,
            read_frame(&mut reader, &mut ingress, &mut buf),
        )
        .await;
        let (code, range) = match frame {
            Ok(f) => f,
            Err(SessionError::Timeout(_)) => match deadline {
                Some((at, fault, why, label)) if Instant::now() >= at => {
                    log::debug(label, &[("conn", &conn), ("err", &why)]);
                    break fault;
                }
                _ => break Fault::ReadTimeout,
            },
            Err(SessionError::Protocol(f, why)) => {
                log::debug("Bad frame from peer", &[("conn", &conn), ("err", &why)]);
                break f;
            }
            Err(SessionError::Io(e)) => return Some(CloseReason::Failed(format!("read: {e}"))),
            Err(e) => return Some(CloseReason::Failed(format!("{e:?}"))),
        };
        traffic.borrow_mut().read(code, HEADER_LEN + buf.len());
        // The session core decides; this task only acts on its verdict.
        match session.handle_frame(code, &buf[range]) {
            Verdict::RemoteDisconnect(r) => return Some(CloseReason::Remote(r)),
            Verdict::Pong => {
                log::trace("Received ping", &[("conn", &conn)]);
                // A full control queue means the writer has been stuck for several Pongs: the
                // peer does not read what we send, so it is too slow to keep.
                if ctl.try_send(Control::Pong).is_err() {
                    return Some(CloseReason::Failed("peer too slow: not reading".into()));
                }
            }
            Verdict::PongReceived => log::trace("Received pong", &[("conn", &conn)]),
            Verdict::Ignore => {}
            Verdict::Disconnect { fault, why } => {
                log::debug(
                    "Peer breached the session",
                    &[("conn", &conn), ("err", &why)],
                );
                break fault;
            }
            Verdict::Deliver { cap, code, payload } => {
                let offset = caps.caps[cap].offset;
                let Some(handler) = caps.sessions[cap].as_mut() else {
                    // A shared capability no protocol took: nobody reads it.
                    log::trace(
                        "Message without a handler",
                        &[("conn", &conn), ("code", &code)],
                    );
                    continue;
                };
                match handler.handle(code - offset, payload).await {
                    Ok(None) => {}
                    Ok(Some((id, reply))) => {
                        // Waiting here is the back-pressure on a peer that asks faster than it
                        // reads our answers.
                        if ctl
                            .send(Control::Message(offset + id, reply))
                            .await
                            .is_err()
                        {
                            return Some(CloseReason::Failed("writer gone".into()));
                        }
                    }
                    Err(end) => {
                        log::debug(handler.label(), &[("conn", &conn), ("err", &end.why)]);
                        break end.fault;
                    }
                }
            }
        }
    };
    match ctl.try_send(Control::Disconnect(fault)) {
        Ok(()) => None,
        // The writer is stuck or gone: end without writing.
        Err(_) => Some(CloseReason::Local(fault.reason())),
    }
}

async fn write_loop(
    (mut writer, mut egress, snappy): (TcpStream, Egress, bool),
    queue: Receiver<Outgoing>,
    ctl: Receiver<Control>,
    traffic: &RefCell<Traffic>,
    (conn, events): (ConnId, &Sender<PeerEvent>),
) -> CloseReason {
    enum Next {
        Ctl(Control),
        Out(Option<Outgoing>),
        Ping,
        Flush,
    }
    let mut out = Vec::new();
    let mut compressed = Vec::new();
    let mut ping = Timer::interval(PING_INTERVAL);
    let mut flush = Timer::interval(TRAFFIC_FLUSH_INTERVAL);
    loop {
        // Control first: a Pong or a stop from the reader must not wait behind a full queue.
        let next = future::or(
            async {
                match ctl.recv().await {
                    Ok(c) => Next::Ctl(c),
                    // The reader only drops its sender when it ends the session itself.
                    Err(_) => future::pending().await,
                }
            },
            future::or(
                async { Next::Out(queue.recv().await.ok()) },
                future::or(
                    async {
                        futures_lite::StreamExt::next(&mut ping).await;
                        Next::Ping
                    },
                    async {
                        futures_lite::StreamExt::next(&mut flush).await;
                        Next::Flush
                    },
                ),
            ),
        )
        .await;
        let message;
        let encoded;
        let (code, payload): (u64, &[u8]) = match next {
            Next::Ctl(Control::Pong) => (p2p::PONG_ID, &EMPTY_LIST),
            Next::Ctl(Control::Message(code, payload)) => {
                message = payload;
                (code, &message)
            }
            Next::Ping => {
                log::trace("Sending ping", &[]);
                (p2p::PING_ID, &EMPTY_LIST)
            }
            Next::Flush => {
                hand_over(traffic, conn, events);
                continue;
            }
            // The capability encodes its message here, in this peer's task, not in the loop.
            Next::Out(Some(Outgoing::Message(msg))) => match msg.encode() {
                Ok(m) => {
                    encoded = m;
                    (encoded.0, &encoded.1)
                }
                Err(e) => {
                    log::error("Cannot encode a message", &[("err", &e)]);
                    continue;
                }
            },
            Next::Ctl(Control::Disconnect(f)) | Next::Out(Some(Outgoing::Disconnect(f))) => {
                write_disconnect(&mut writer, &mut egress, f, snappy).await;
                return CloseReason::Local(f.reason());
            }
            // The loop closed our queue: it dropped us (too slow) or it is shutting down.
            Next::Out(None) => {
                write_disconnect(&mut writer, &mut egress, Fault::Quitting, snappy).await;
                return CloseReason::Local(Fault::Quitting.reason());
            }
        };
        out.clear();
        // Both buffers live as long as the session, so a message costs no allocation here once
        // they have grown to the largest message sent.
        let sealed = if snappy {
            compressed.clear();
            snappy::compress_into(payload, &mut compressed)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    egress
                        .seal(code, &compressed, &mut out)
                        .map_err(|e| e.to_string())
                })
        } else {
            egress
                .seal(code, payload, &mut out)
                .map_err(|e| e.to_string())
        };
        if let Err(e) = sealed {
            return CloseReason::Failed(format!("cannot frame message {code}: {e}"));
        }
        let wrote = future::or(
            async { writer.write_all(&out).await.map_err(|e| e.to_string()) },
            async {
                Timer::after(FRAME_WRITE_TIMEOUT).await;
                Err("frame write timed out".to_string())
            },
        )
        .await;
        if let Err(e) = wrote {
            return CloseReason::Failed(e);
        }
        traffic.borrow_mut().wrote(code, out.len());
    }
}

/// Hands the session's counts to the loop, if any; a full event queue keeps them for the next
/// try (the loop is busy; the counts are not worth waiting for).
fn hand_over(traffic: &RefCell<Traffic>, conn: ConnId, events: &Sender<PeerEvent>) {
    if traffic.borrow().is_empty() {
        return;
    }
    let counts = Box::new(std::mem::take(&mut *traffic.borrow_mut()));
    if let Err(e) = events.try_send(PeerEvent::Traffic {
        conn,
        traffic: counts,
    }) && let PeerEvent::Traffic { traffic: t, .. } = e.into_inner()
    {
        traffic.borrow_mut().merge(&t);
    }
}

/// Best-effort Disconnect with the fault's reason: written with a short deadline, errors ignored
/// (the session ends anyway).
async fn write_disconnect(writer: &mut TcpStream, egress: &mut Egress, fault: Fault, snappy: bool) {
    let payload = fault.reason().encode();
    let payload = if snappy {
        snappy::compress(&payload).unwrap_or(payload)
    } else {
        payload
    };
    let mut out = Vec::new();
    if egress.seal(p2p::DISCONNECT_ID, &payload, &mut out).is_ok() {
        let _ = future::or(async { writer.write_all(&out).await.map(|_| ()) }, async {
            Timer::after(Duration::from_secs(1)).await;
            Ok(())
        })
        .await;
        let _ = writer.flush().await;
    }
    let _ = writer.shutdown(std::net::Shutdown::Both);
}
