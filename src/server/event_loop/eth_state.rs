//! The event loop's eth part (devp2p caps/eth.md; go-ethereum `eth/handler.go` as the loop sees
//! it): what a session learns at admission, turning the protocol manager's decisions into sends,
//! disconnects, block writes and journal appends, and the block writer task.

use std::rc::Rc;

use async_channel::{Receiver, Sender};
use async_executor::LocalExecutor;

use super::{Outgoing, Server};
use crate::chain::block::{Head, StoredBlock};
use crate::chain::store_handle::ChainStoreHandle;
use crate::eth::manager::{EthAction, EthManager};
use crate::eth::{self, EthVersion};
use crate::log;
use crate::p2p::SharedCapability;
use crate::server::connection::ConnId;
use crate::server::eth_connection::EthSession;

/// What the loop needs to run eth.
pub struct EthSetup {
    /// The protocol manager, built on the store's head.
    pub manager: EthManager,
    /// The chain store: sessions serve from it, the block writer writes to it.
    pub store: Rc<ChainStoreHandle>,
    /// The transaction journal's thread, for local transactions.
    pub journal: Option<Sender<Vec<u8>>>,
}

/// Block batches queued for the writer task at most. The syncer keeps fewer than this in flight
/// (`writes_in_flight_max`), so a full queue is a bug that drops the batch with an error.
const WRITES_QUEUE_MAX: usize = 8;

/// The loop's eth state.
pub(super) struct EthState {
    pub(super) manager: EthManager,
    /// The eth range and version of each session that runs eth.
    pub(super) sessions: std::collections::BTreeMap<ConnId, (u64, EthVersion)>,
    /// Block batches to the writer task.
    pub(super) writes: Sender<Vec<StoredBlock>>,
    /// Local transactions to the journal thread.
    pub(super) journal: Option<Sender<Vec<u8>>>,
}

impl Server {
    /// The eth part of an admission: the shared eth version, its range, and our Status.
    pub(super) fn eth_session(
        &mut self,
        conn: ConnId,
        caps: &[SharedCapability],
    ) -> Option<EthSession> {
        let e = self.eth.as_mut()?;
        let cap = caps.iter().find(|c| c.capability.name == "eth")?;
        let version = EthVersion::from_number(cap.capability.version.into())?;
        e.sessions.insert(conn, (cap.offset, version));
        Some(EthSession {
            offset: cap.offset,
            version,
            status: e.manager.status_for(version),
        })
    }

    /// Turns the eth manager's decisions into sends, disconnects, writes and log lines.
    pub(super) fn drain_eth(&mut self) {
        let Some(e) = self.eth.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        while let Some(action) = e.manager.poll_action() {
            match action {
                EthAction::Send { peer, msg } => {
                    let Some(&(offset, version)) = e.sessions.get(&ConnId(peer)) else {
                        continue;
                    };
                    match eth::encode(version, &msg) {
                        Ok((id, payload)) => out.push((
                            peer,
                            Outgoing::Message {
                                code: offset + id,
                                payload,
                            },
                        )),
                        Err(err) => log::error(
                            "Cannot encode eth message",
                            &[("id", &msg.id()), ("err", &err)],
                        ),
                    }
                }
                EthAction::Disconnect { peer, reason, why } => {
                    log::debug(
                        "Dropping eth peer",
                        &[("conn", &peer), ("reason", &reason), ("why", &why)],
                    );
                    out.push((peer, Outgoing::Disconnect(reason)));
                }
                EthAction::Write(blocks) => {
                    if let Err(err) = e.writes.try_send(blocks) {
                        log::error("Block writer queue full", &[("err", &err)]);
                    }
                }
                EthAction::Journal(bytes) => {
                    if let Some(j) = &e.journal
                        && j.try_send(bytes).is_err()
                    {
                        log::error("Transaction journal queue full", &[]);
                    }
                }
                EthAction::Log { msg, mut fields } => {
                    // The manager names peers by connection; a user knows them by node id.
                    for (k, v) in fields.iter_mut() {
                        if *k == "peer"
                            && let Ok(conn) = v.parse::<u64>().map(ConnId)
                            && let Some(id) = self.node.conn(conn).and_then(|c| c.remote)
                        {
                            *v = id.node_id().to_string();
                        }
                    }
                    let fields: Vec<(&str, &dyn std::fmt::Display)> = fields
                        .iter()
                        .map(|(k, v)| (*k, v as &dyn std::fmt::Display))
                        .collect();
                    log::info(msg, &fields);
                }
            }
        }
        for (peer, msg) in out {
            self.send(ConnId(peer), msg);
        }
    }
}

/// Spawns the block writer: a task that stores block batches in order through the chain store
/// handle (which awaits the storage thread, so the loop never does) and reports each result.
pub(super) fn spawn_block_writer(
    ex: &LocalExecutor<'_>,
    store: Rc<ChainStoreHandle>,
) -> (Sender<Vec<StoredBlock>>, Receiver<Result<Head, String>>) {
    let (tx, rx) = async_channel::bounded::<Vec<StoredBlock>>(WRITES_QUEUE_MAX);
    let (done_tx, done_rx) = async_channel::bounded(WRITES_QUEUE_MAX);
    ex.spawn(async move {
        while let Ok(blocks) = rx.recv().await {
            let result = store.insert_blocks(blocks).await.map_err(|e| e.to_string());
            if done_tx.send(result).await.is_err() {
                break;
            }
        }
    })
    .detach();
    (tx, done_rx)
}
