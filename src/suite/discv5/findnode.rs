//! The FINDNODE tests (devp2p `discv5-wire.md` "FINDNODE Request", "NODES Response";
//! `discv5-theory.md` "Node Table"; go-ethereum v5test `TestFindnodeZeroDistance`,
//! `TestFindnodeResults`): distance 0 is the node's own record, alone; and nodes that made
//! themselves known to the node (the *bystanders*: endpoints of the tester with keys and records
//! of their own that handshake with the node and then answer whatever it asks) are in the
//! NODES it returns for their distances, once the node's liveness rules have admitted them.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Env;
use super::conn::{Conn, Packet, WAIT, bind, local_addr};
use super::ping::msg;
use crate::crypto::{NodeId, hex};
use crate::discv4::table::log_distance;
use crate::discv5::crypto::Nonce;
use crate::discv5::message::Message;
use crate::enr::Record;
use crate::suite::runner::{Stop, TestResult};

/// Bystanders made (go-ethereum makes five).
pub const BYSTANDERS: usize = 5;
/// How long FindnodeResults polls for the bystanders: the node may wait to see them answer its
/// PING before it returns them (go-ethereum's test allows 60 s for its revalidation; ours
/// answers at once, and a node that needs more than this is too slow to pass).
pub const BYSTANDER_WAIT: Duration = Duration::from_secs(30);
/// Time between two FINDNODE polls.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// A bystander's read timeout: how soon it notices the test is over.
const BYSTANDER_READ: Duration = Duration::from_millis(200);
/// Responses a bystander keeps to send again in a handshake should the node challenge one.
const BYSTANDER_SENT_MAX: usize = 64;
/// The largest `total` a NODES may carry: go-ethereum's test accepts 1 to 6 (sixteen records of
/// at most 300 bytes fit in four 1280-byte packets; a node may split further).
pub const NODES_TOTAL_MAX: u64 = 6;

/// Sends FINDNODE for `distances` from `sock` and gathers every NODES answering it (geth's
/// `conn.findnode`): `total` is 1 to [`NODES_TOTAL_MAX`] and the same in each; a WHOAREYOU for
/// the request runs the handshake; the node's PINGs meanwhile are answered.
pub fn findnode(c: &mut Conn, sock: &UdpSocket, distances: Vec<u16>) -> Result<Vec<Record>, Stop> {
    let id = c.next_request_id();
    let pt = Message::FindNode {
        id: id.clone(),
        distances,
    }
    .encode();
    let nonce = c.write_plaintext(sock, c.remote.addr, &pt, None)?;
    let mut total: Option<u64> = None;
    let mut received = 0u64;
    let mut records = Vec::new();
    while total.is_none_or(|t| received < t) {
        let (p, from) = c.expect(sock, "NODES")?;
        match p {
            Packet::WhoAreYou(ch) if ch.nonce == nonce && total.is_none() => {
                c.write_plaintext(sock, from, &pt, Some(&ch))?;
            }
            Packet::WhoAreYou(ch) => {
                return Err(Stop::fail(format!(
                    "unexpected WHOAREYOU (nonce {}) while waiting for NODES",
                    hex(&ch.nonce)
                )));
            }
            Packet::Message(Message::Ping { id: ping_id, .. }) => {
                let pong = Message::Pong {
                    id: ping_id,
                    enr_seq: c.record.seq(),
                    ip: from.ip(),
                    port: from.port(),
                };
                c.write_plaintext(sock, from, &pong.encode(), None)?;
            }
            Packet::Message(Message::Nodes {
                id: got,
                total: t,
                records: rs,
            }) => {
                if got != id {
                    return Err(Stop::fail(format!(
                        "NODES response has wrong request ID {}, want {}",
                        hex(got.as_bytes()),
                        hex(id.as_bytes())
                    )));
                }
                match total {
                    None if t == 0 || t > NODES_TOTAL_MAX => {
                        return Err(Stop::fail(format!(
                            "invalid NODES response count {t} (not in 1..={NODES_TOTAL_MAX})"
                        )));
                    }
                    None => total = Some(t),
                    Some(first) if first != t => {
                        return Err(Stop::fail(format!(
                            "invalid NODES response count {t} (the first said {first})"
                        )));
                    }
                    Some(_) => {}
                }
                received += 1;
                records.extend(rs);
            }
            p => return Err(Stop::fail(format!("expected NODES, got {}", p.name()))),
        }
    }
    Ok(records)
}

pub fn zero_distance(env: &Env) -> TestResult {
    let l1 = bind(env.listen1, WAIT)?;
    let mut c = Conn::new(env.remote.clone())?;
    let nodes = findnode(&mut c, &l1, vec![0])?;
    if nodes.len() != 1 {
        return Err(Stop::fail(format!(
            "the node returned {} records for FINDNODE [0], want exactly its own",
            nodes.len()
        )));
    }
    let got = nodes[0].node_id();
    if got != Some(env.remote.id) {
        return Err(Stop::fail(format!(
            "the record returned for FINDNODE [0] is of {}, want the node's {}",
            got.map_or("no node".into(), |id| hex(&id.0)),
            hex(&env.remote.id.0)
        )));
    }
    Ok(())
}

/// A bystander: its own key and record on a socket of its own, answering the node in a thread.
struct Bystander {
    id: NodeId,
    record: Record,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Bystander {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Records the bystanders know (each other's: set once, when all have started), and how many
/// the node has PINGed.
#[derive(Default)]
struct Shared {
    known: OnceLock<Vec<Record>>,
    pinged: AtomicUsize,
}

impl Bystander {
    /// Makes itself known to the node with a PING whose handshake carries its record, then
    /// answers the node in a thread of its own.
    fn start(env: &Env, n: usize, shared: Arc<Shared>) -> Result<Bystander, Stop> {
        let sock = bind(env.listen1, WAIT)?;
        let mut c = Conn::with_endpoint(env.remote.clone(), Some(local_addr(&sock)?))?;
        let ping = Message::Ping {
            id: c.next_request_id(),
            enr_seq: c.record.seq(),
        };
        match c.request(&sock, &ping.encode())? {
            Some(Packet::Message(Message::Pong { .. })) => {}
            Some(p) => {
                return Err(Stop::fail(format!(
                    "bystander {n}: expected PONG, got {}",
                    p.name()
                )));
            }
            None => {
                return Err(Stop::fail(format!(
                    "bystander {n}: no PONG within {} ms",
                    WAIT.as_millis()
                )));
            }
        }
        sock.set_read_timeout(Some(BYSTANDER_READ))
            .map_err(|e| Stop::fail(format!("socket: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (id, record) = (c.id, c.record.clone());
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("bystander {n}"))
            .spawn(move || answer_node(c, sock, &stop2, &shared))
            .map_err(|e| Stop::fail(format!("cannot start bystander {n}: {e}")))?;
        Ok(Bystander {
            id,
            record,
            stop,
            thread: Some(thread),
        })
    }
}

/// A bystander's loop: answers PING, FINDNODE and TALKREQ, challenges packets it cannot open,
/// and answers a challenge with the response it was for (or a PING) in a handshake.
fn answer_node(mut c: Conn, sock: UdpSocket, stop: &AtomicBool, shared: &Shared) {
    let mut sent: HashMap<Nonce, Vec<u8>> = HashMap::new();
    let mut pinged = false;
    while !stop.load(Ordering::Relaxed) {
        let (p, from) = match c.read(&sock) {
            Ok(Some(x)) => x,
            Ok(None) => continue,
            Err(_) => {
                // A packet we could not read; keep listening.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let (plaintext, challenge) = match p {
            Packet::Unreadable { nonce } => {
                let _ = c.challenge(&sock, from, nonce);
                continue;
            }
            Packet::WhoAreYou(ch) => {
                let pt = sent.remove(&ch.nonce).unwrap_or_else(|| {
                    Message::Ping {
                        id: c.next_request_id(),
                        enr_seq: c.record.seq(),
                    }
                    .encode()
                });
                (pt, Some(ch))
            }
            Packet::Message(m) => {
                if matches!(m, Message::Ping { .. }) && !pinged {
                    pinged = true;
                    shared.pinged.fetch_add(1, Ordering::Relaxed);
                }
                let Some(resp) = answer(&c, m, from, shared) else {
                    continue;
                };
                (resp.encode(), None)
            }
            Packet::BadMessage(_) => continue,
        };
        if let Ok(nonce) = c.write_plaintext(&sock, from, &plaintext, challenge.as_ref()) {
            if sent.len() >= BYSTANDER_SENT_MAX {
                sent.clear();
            }
            sent.insert(nonce, plaintext);
        }
    }
}

/// A bystander's answer to a request of the node.
fn answer(c: &Conn, m: Message, from: SocketAddr, shared: &Shared) -> Option<Message> {
    match m {
        Message::Ping { id, .. } => Some(Message::Pong {
            id,
            enr_seq: c.record.seq(),
            ip: from.ip(),
            port: from.port(),
        }),
        Message::FindNode { id, distances } => {
            let known = shared.known.get().cloned().unwrap_or_default();
            let records = known
                .into_iter()
                .filter(|r| {
                    r.node_id()
                        .is_some_and(|n| distances.contains(&(log_distance(&n, &c.id) as u16)))
                })
                .collect();
            Some(Message::Nodes {
                id,
                total: 1,
                records,
            })
        }
        Message::TalkReq { id, .. } => Some(Message::TalkResp {
            id,
            response: Vec::new(),
        }),
        Message::Pong { .. } | Message::Nodes { .. } | Message::TalkResp { .. } => None,
    }
}

pub fn results(env: &Env) -> TestResult {
    let shared = Arc::new(Shared::default());
    let mut bystanders = Vec::with_capacity(BYSTANDERS);
    for n in 0..BYSTANDERS {
        bystanders.push(Bystander::start(env, n, shared.clone())?);
    }
    let _ = shared
        .known
        .set(bystanders.iter().map(|b| b.record.clone()).collect());
    let mut distances: Vec<u16> = bystanders
        .iter()
        .map(|b| log_distance(&env.remote.id, &b.id) as u16)
        .collect();
    distances.sort_unstable();
    distances.dedup();

    let l1 = bind(env.listen1, WAIT)?;
    let mut c = Conn::new(env.remote.clone())?;
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let found = findnode(&mut c, &l1, distances.clone())
            .map_err(|e| Stop::fail(format!("FINDNODE {distances:?}: {}", msg(e))))?;
        let missing = bystanders
            .iter()
            .filter(|b| !found.iter().any(|r| r.node_id() == Some(b.id)))
            .count();
        if missing == 0 {
            return Ok(());
        }
        if start.elapsed() + POLL_INTERVAL > BYSTANDER_WAIT {
            return Err(Stop::fail(format!(
                "{missing} of {BYSTANDERS} bystanders missing from FINDNODE {distances:?} \
                 after {attempts} attempts over {:.0}s (the node PINGed {} of them; a node \
                 with a table from earlier runs may hold others at these distances)",
                start.elapsed().as_secs_f64(),
                shared.pinged.load(Ordering::Relaxed)
            )));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
