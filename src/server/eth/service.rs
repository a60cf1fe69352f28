//! The Ethereum service (go-ethereum `eth.New` and its `Protocols()`): opens the chain store,
//! writes or checks the genesis block, reads the head and any imported state snapshot, and
//! builds the protocol manager that the
//! event loop runs for the eth capabilities it offers — one per eth version, all of them offered,
//! the highest shared one used (devp2p caps/eth.md).

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use crate::chain::header::Header;
use crate::chain::spec::ChainSpec;
use crate::chain::store::ChainStore;
use crate::chain::store_handle::ChainStoreHandle;
use crate::eth::EthVersion;
use crate::eth::manager::{EthConfig, EthManager};
use crate::eth::wire::handshake::ChainHead;
use crate::log;
use crate::p2p::{Capability, LocalCapability};
use crate::server::eth::EthProtocol;
use crate::server::protocol::Protocol;
use crate::server::service::Service;
use crate::storage::{Db, Worker};
use crate::time::Mono;
use crate::tx::journal::{JOURNAL_FILE, Journal};
use async_channel::Sender;

/// The eth service: a chain store and the protocol manager on top of it.
pub struct EthService {
    datadir: PathBuf,
    /// The datadir's one database and storage thread, shared with the node database.
    storage: (Db, Arc<Worker>),
    spec: ChainSpec,
    versions: Vec<EthVersion>,
    config: EthConfig,
    /// Transactions given on the command line (`--txs`), network encoding.
    local_txs: Vec<Vec<u8>>,
    protocol: Option<EthProtocol>,
}

impl EthService {
    /// A service for `spec` with its store in `storage` (the database of `datadir` and its
    /// storage thread), offering `versions`.
    pub fn new(
        datadir: PathBuf,
        storage: (Db, Arc<Worker>),
        spec: ChainSpec,
        versions: Vec<EthVersion>,
        config: EthConfig,
        local_txs: Vec<Vec<u8>>,
    ) -> EthService {
        EthService {
            datadir,
            storage,
            spec,
            versions,
            config,
            local_txs,
            protocol: None,
        }
    }
}

impl EthService {
    /// Loads the transaction journal's local transactions into the pool, adds `--txs`, rewrites
    /// the journal with what is live, and hands it to its own thread (appends fsync; the loop
    /// never waits for a disk).
    fn open_journal(&self, manager: &mut EthManager) -> Result<Sender<Vec<u8>>, String> {
        let path = self.datadir.join(JOURNAL_FILE);
        let (mut journal, records, report) = Journal::open(&path).map_err(|e| e.to_string())?;
        let mut loaded = 0;
        for tx in &records {
            if manager.add_local_tx(Mono(0), tx, false).is_ok() {
                loaded += 1;
            }
        }
        for tx in &self.local_txs {
            if let Err(e) = manager.add_local_tx(Mono(0), tx, false) {
                log::warn("Local transaction refused", &[("err", &e)]);
            }
        }
        let live = manager.local_txs();
        journal
            .rotate(live.iter().map(Vec::as_slice))
            .map_err(|e| e.to_string())?;
        log::info(
            "Loaded local transaction journal",
            &[
                ("transactions", &loaded),
                ("dropped", &(records.len() - loaded)),
                ("torn_tail_bytes", &report.dropped_tail_bytes),
                ("live", &live.len()),
            ],
        );
        let (tx, rx) = async_channel::bounded::<Vec<u8>>(JOURNAL_QUEUE_MAX);
        std::thread::Builder::new()
            .name("txjournal".into())
            .spawn(move || {
                while let Ok(bytes) = rx.recv_blocking() {
                    if let Err(e) = journal.append(&bytes) {
                        log::error("Transaction journal append failed", &[("err", &e)]);
                    }
                }
            })
            .map_err(|e| format!("journal thread: {e}"))?;
        Ok(tx)
    }
}

/// Local transactions queued for the journal thread at most; a full queue drops the journal
/// entry (the transaction stays in the pool) with an error in the log.
pub const JOURNAL_QUEUE_MAX: usize = 1024;

impl Service for EthService {
    fn name(&self) -> &str {
        "eth"
    }

    fn protocols(&self) -> Vec<LocalCapability> {
        self.versions
            .iter()
            .map(|v| LocalCapability {
                capability: Capability::new("eth", v.number()),
                length: v.protocol_length(),
                message_size_max: crate::eth::MESSAGE_SIZE_MAX,
            })
            .collect()
    }

    fn start(&mut self) -> Result<(), String> {
        let store = ChainStore::on(self.storage.0.clone()).map_err(|e| e.to_string())?;
        let head = store
            .init_genesis(&self.spec.genesis_header)
            .map_err(|e| format!("{e} (this datadir holds another chain)"))?;
        let head_header: Header = match store.header_by_hash(&head.hash) {
            Ok(Some(h)) => h,
            Ok(None) => return Err("chain store: the head header is missing".into()),
            Err(e) => return Err(e.to_string()),
        };
        let time = head_header.timestamp;
        let handle =
            ChainStoreHandle::spawn_on(store, &self.storage.1).map_err(|e| e.to_string())?;
        let head = ChainHead {
            number: head.number,
            hash: head.hash,
            time,
            td: head.td,
            earliest: 0,
        };
        log::info(
            "Loaded most recent local block",
            &[
                ("number", &head.number),
                ("hash", &format!("0x{}", crate::crypto::hex(&head.hash))),
                ("age", &head_age(head.time)),
            ],
        );
        let mut manager =
            EthManager::new(self.spec.clone(), head, &head_header, self.config.clone());
        manager.handle_clock(crate::server::clock::unix_secs());
        // The state snapshot is read on the storage thread, before the loop runs.
        let state = async_io::block_on(handle.state()).map_err(|e| e.to_string())?;
        if let Some(state) = state {
            let current = state.block_hash == head.hash;
            log::info(
                "Loaded state snapshot",
                &[
                    ("number", &state.number),
                    ("accounts", &state.accounts.len()),
                    ("head", &current),
                ],
            );
            manager.set_state(state);
        }
        let journal = self.open_journal(&mut manager)?;
        self.protocol = Some(EthProtocol::new(manager, Rc::new(handle), Some(journal)));
        Ok(())
    }

    fn stop(&mut self) {
        // The loop holds the store handle while it runs; the last holder closes the store.
        self.protocol = None;
    }

    fn take_protocols(&mut self) -> Vec<Box<dyn Protocol>> {
        self.protocol
            .take()
            .map(|p| Box::new(p) as Box<dyn Protocol>)
            .into_iter()
            .collect()
    }
}

/// How old a block with timestamp `time` is, as geth prints it (`3d2h`, `5m10s`, `12s`).
fn head_age(time: u64) -> String {
    let secs = crate::server::clock::unix_secs().saturating_sub(time);
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}
