//! The eth loop half (devp2p caps/eth.md; go-ethereum `eth/handler.go` as the loop sees it): the
//! protocol manager inside the event loop, the sessions it admitted, its decisions turned into
//! messages for peers (encoded later by their connection tasks), block writes, journal appends
//! and log lines, and the block writer task.

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_channel::Sender;
use async_executor::LocalExecutor;

use crate::chain::block::StoredBlock;
use crate::chain::store_handle::ChainStoreHandle;
use crate::crypto::NodeId;
use crate::enr::Record;
use crate::eth::manager::{EthAction, EthManager};
use crate::eth::txs::TxStats;
use crate::eth::wire::handshake::StatusError;
use crate::eth::{self, EthMessage, EthVersion, Status};
use crate::log;
use crate::node::ConnId;
use crate::p2p::SharedCapability;
use crate::server::capability::{CapEvent, CapSession, WireMessage};
use crate::server::clock::unix_secs;
use crate::server::control::MetricsSnapshot;
use crate::server::eth::event::EthEvent;
use crate::server::eth::session::{EthSession, STATUS_TIMEOUT};
use crate::server::events::Outgoing;
use crate::server::protocol::{CapLink, PeerMeta, Protocol};
use crate::time::Mono;

/// Block batches queued for the writer task at most. The syncer keeps fewer than this in flight
/// (`writes_in_flight_max`), so a full queue is a bug that drops the batch with an error.
const WRITES_QUEUE_MAX: usize = 8;

/// Transaction statistics are logged this often at most, and only when they changed.
const TX_STATS_INTERVAL: Duration = Duration::from_secs(60);

/// An eth message for a peer, encoded by the peer's connection task as it writes it.
#[derive(Debug)]
pub struct EthWire {
    offset: u64,
    version: EthVersion,
    msg: EthMessage,
}

impl WireMessage for EthWire {
    fn encode(&self) -> Result<(u64, Vec<u8>), String> {
        let (id, payload) = eth::encode(self.version, &self.msg)
            .map_err(|e| format!("cannot encode eth {}: {e}", self.msg.id()))?;
        Ok((self.offset + id, payload))
    }
}

/// The loop's eth state.
pub struct EthProtocol {
    pub(crate) manager: EthManager,
    /// The chain store: sessions serve from it, the block writer writes to it.
    store: Rc<ChainStoreHandle>,
    /// The eth range, version and node id of each session that runs eth.
    sessions: BTreeMap<ConnId, (u64, EthVersion, NodeId)>,
    /// Block batches to the writer task (set by `start`).
    writes: Option<Sender<Vec<StoredBlock>>>,
    /// Local transactions to the journal thread.
    journal: Option<Sender<Vec<u8>>>,
    /// Messages and disconnects decided, not yet drained by the loop.
    out: VecDeque<(ConnId, Outgoing)>,
    next_tx_stats: Instant,
    last_tx_stats: TxStats,
    /// Sessions admitted whose Status has not been judged yet, with when they were admitted.
    awaiting_status: BTreeMap<ConnId, Mono>,
    /// Failed Status exchanges by geth's cause words, for the metrics (a fixed set of keys).
    handshake_errors: BTreeMap<&'static str, u64>,
}

/// Why a Status exchange failed, in go-ethereum's metric words (`eth/protocols/eth/handshake/
/// error/…`): the remote's Status by the rule it broke; a session that ended without one by
/// whether the Status deadline had passed (`timeout`) or not (`peer`).
fn status_error_cause(e: &StatusError) -> &'static str {
    match e {
        StatusError::Version { .. } => "version",
        StatusError::NetworkId { .. } => "network",
        StatusError::Genesis { .. } => "genesis",
        StatusError::ForkId(_) => "forkid",
        StatusError::BlockRange { .. } => "peer",
    }
}

impl EthProtocol {
    /// The eth protocol over `manager` (built on the store's head) and `store`.
    pub fn new(
        manager: EthManager,
        store: Rc<ChainStoreHandle>,
        journal: Option<Sender<Vec<u8>>>,
    ) -> Self {
        EthProtocol {
            manager,
            store,
            sessions: BTreeMap::new(),
            awaiting_status: BTreeMap::new(),
            handshake_errors: BTreeMap::new(),
            writes: None,
            journal,
            out: VecDeque::new(),
            next_tx_stats: Instant::now() + TX_STATS_INTERVAL,
            last_tx_stats: TxStats::default(),
        }
    }

    /// The protocol manager (the node handle's chain queries read it).
    pub fn manager(&self) -> &EthManager {
        &self.manager
    }

    /// Runs the manager's decisions: sends and disconnects go to `out`, the rest is done here.
    fn drain_manager(&mut self) {
        while let Some(action) = self.manager.poll_action() {
            match action {
                EthAction::Send { peer, msg } => {
                    let conn = peer;
                    if let Some(&(offset, version, _)) = self.sessions.get(&conn) {
                        let wire = EthWire {
                            offset,
                            version,
                            msg,
                        };
                        self.out
                            .push_back((conn, Outgoing::Message(Box::new(wire))));
                    }
                }
                EthAction::Disconnect { peer, fault, why } => {
                    log::debug(
                        "Dropping eth peer",
                        &[("conn", &peer), ("fault", &fault), ("why", &why)],
                    );
                    self.out.push_back((peer, Outgoing::Disconnect(fault)));
                }
                EthAction::Write(blocks) => {
                    if let Some(w) = &self.writes
                        && let Err(err) = w.try_send(blocks)
                    {
                        log::error("Block writer queue full", &[("err", &err)]);
                    }
                }
                EthAction::Journal(bytes) => {
                    if let Some(j) = &self.journal
                        && j.try_send(bytes).is_err()
                    {
                        log::error("Transaction journal queue full", &[]);
                    }
                }
                EthAction::Log { msg, peer, fields } => {
                    // The manager names peers by connection; a user knows them by node id.
                    let peer = peer.map(|conn| match self.sessions.get(&conn) {
                        Some((_, _, id)) => id.to_string(),
                        None => format!("conn {conn}"),
                    });
                    let fields: Vec<(&str, String)> = peer
                        .map(|p| ("peer", p))
                        .into_iter()
                        .chain(fields)
                        .collect();
                    let fields: Vec<(&str, &dyn std::fmt::Display)> = fields
                        .iter()
                        .map(|(k, v)| (*k, v as &dyn std::fmt::Display))
                        .collect();
                    log::info(msg, &fields);
                }
            }
        }
    }

    fn handle_status(&mut self, now: Mono, conn: ConnId, status: &Status) -> Result<(), String> {
        let Some(&(_, version, _)) = self.sessions.get(&conn) else {
            return Err("no eth session".into());
        };
        self.awaiting_status.remove(&conn);
        let answer = self
            .manager
            .handle_status(now, conn, version, status)
            .map_err(|err| {
                *self
                    .handshake_errors
                    .entry(status_error_cause(&err))
                    .or_default() += 1;
                err.to_string()
            });
        match &answer {
            Ok(()) => log::debug(
                "Ethereum peer connected",
                &[("conn", &conn), ("version", &status.version())],
            ),
            Err(why) => log::debug(
                "Ethereum handshake failed",
                &[("conn", &conn), ("err", why)],
            ),
        }
        answer
    }
}

impl Protocol for EthProtocol {
    fn name(&self) -> &'static str {
        "eth"
    }

    fn start(&mut self, ex: &LocalExecutor<'_>, link: CapLink) {
        self.writes = Some(spawn_block_writer(ex, self.store.clone(), link));
    }

    fn admit(
        &mut self,
        now: Mono,
        peer: PeerMeta,
        cap: &SharedCapability,
        link: CapLink,
    ) -> Option<Box<dyn CapSession>> {
        let version = EthVersion::from_number(cap.capability.version.into())?;
        self.sessions
            .insert(peer.conn, (cap.offset, version, peer.id));
        self.awaiting_status.insert(peer.conn, now);
        if peer.named {
            self.manager.prefer_peer(peer.conn);
        }
        let status = self.manager.status_for(version);
        Some(Box::new(EthSession::new(
            version,
            status,
            Some(self.store.clone()),
            link,
        )))
    }

    fn handle_event(&mut self, now: Mono, conn: Option<ConnId>, event: CapEvent) {
        let Ok(event) = event.downcast::<EthEvent>() else {
            return;
        };
        match (*event, conn) {
            (EthEvent::Status { status, verdict }, Some(conn)) => {
                let answer = self.handle_status(now, conn, &status);
                // The task waits for exactly this answer; if it is gone, its Closed follows.
                let _ = verdict.try_send(answer);
            }
            (EthEvent::Message(msg), Some(conn)) => {
                if self.sessions.contains_key(&conn) {
                    self.manager.handle_message(now, conn, msg);
                }
            }
            (EthEvent::Written(result), None) => self.manager.handle_written(now, result),
            (other, conn) => log::error(
                "Misrouted eth event",
                &[
                    ("event", &format!("{other:?}")),
                    ("conn", &format!("{conn:?}")),
                ],
            ),
        }
    }

    fn handle_closed(&mut self, now: Mono, conn: ConnId) {
        if let Some(since) = self.awaiting_status.remove(&conn) {
            let late = now.since(since) >= STATUS_TIMEOUT.as_millis() as u64;
            let cause = if late { "timeout" } else { "peer" };
            *self.handshake_errors.entry(cause).or_default() += 1;
        }
        if self.sessions.remove(&conn).is_some() {
            self.manager.handle_closed(now, conn);
        }
    }

    fn handle_tick(&mut self, now: Mono) {
        self.manager.handle_clock(unix_secs());
        self.manager.handle_timeout(now);
        let at = Instant::now();
        if at >= self.next_tx_stats {
            self.next_tx_stats = at + TX_STATS_INTERVAL;
            let t = self.manager.tx_stats();
            if t != self.last_tx_stats {
                self.last_tx_stats = t;
                log_tx_stats("Transaction propagation", &t);
            }
        }
    }

    fn poll_timeout(&self) -> Option<Mono> {
        self.manager.poll_timeout()
    }

    fn poll_output(&mut self) -> Option<(ConnId, Outgoing)> {
        if self.out.is_empty() {
            self.drain_manager();
        }
        self.out.pop_front()
    }

    fn accepts_record(&self, record: &Record) -> bool {
        // A record with an eth entry our chain rejects (EIP-2124) is not worth a dial; one
        // without the entry is judged by its Status instead.
        match record.eth() {
            Some(fork_id) => {
                let h = self.manager.head();
                self.manager
                    .spec()
                    .validate(fork_id, h.number, h.time)
                    .is_ok()
            }
            None => true,
        }
    }

    fn status(&self) -> Vec<(&'static str, String)> {
        vec![
            ("head", self.manager.head().number.to_string()),
            ("txs", self.manager.pool_len().to_string()),
        ]
    }

    fn enr_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let head = self.manager.head();
        let fork_id = self.manager.spec().enr_eth_entry(head.number, head.time);
        vec![(b"eth".to_vec(), enr_eth_value(&fork_id))]
    }

    fn fill_metrics(&self, m: &mut MetricsSnapshot) {
        m.head = Some(self.manager.head().number);
        m.sync_target = self.manager.sync_target();
        m.pool = Some(self.manager.pool_len() as u64);
        let t = self.manager.tx_stats();
        (m.tx_received, m.tx_duplicates, m.tx_invalid) = (t.received, t.duplicates, t.invalid);
        (m.tx_added, m.tx_sent, m.tx_announced) = (t.added, t.sent, t.announced);
        m.eth_handshake_errors = self
            .handshake_errors
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
    }

    fn stop(&mut self) {
        log_tx_stats("Transaction propagation", &self.manager.tx_stats());
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The ENR `eth` entry's value: `[[fork-hash, fork-next]]` (EIP-2124, devp2p enr-entries/eth.md).
fn enr_eth_value(fork_id: &crate::enr::ForkId) -> Vec<u8> {
    let mut s = rlp::RlpStream::new_list(1);
    s.begin_list(2);
    s.append(&fork_id.hash.as_slice());
    s.append(&fork_id.next);
    s.out().to_vec()
}

fn log_tx_stats(msg: &str, t: &TxStats) {
    log::info(
        msg,
        &[
            ("received", &t.received),
            ("duplicates", &t.duplicates),
            ("invalid", &t.invalid),
            ("refused_by_state", &t.refused_by_state),
            ("added", &t.added),
            ("sent", &t.sent),
            ("announced", &t.announced),
        ],
    );
}

/// Spawns the block writer: a task that stores block batches in order through the chain store
/// handle (which awaits the storage thread, so the loop never does) and posts each result back.
fn spawn_block_writer(
    ex: &LocalExecutor<'_>,
    store: Rc<ChainStoreHandle>,
    link: CapLink,
) -> Sender<Vec<StoredBlock>> {
    let (tx, rx) = async_channel::bounded::<Vec<StoredBlock>>(WRITES_QUEUE_MAX);
    ex.spawn(async move {
        while let Ok(blocks) = rx.recv().await {
            let result = store.insert_blocks(blocks).await.map_err(|e| e.to_string());
            if link
                .post(Box::new(EthEvent::Written(result)))
                .await
                .is_err()
            {
                break;
            }
        }
    })
    .detach();
    tx
}
