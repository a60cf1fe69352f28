//! The Ethereum service (go-ethereum `eth.New` and its `Protocols()`): opens the chain store,
//! writes or checks the genesis block, reads the head, and builds the protocol manager that the
//! event loop runs for the eth capabilities it offers — one per eth version, all of them offered,
//! the highest shared one used (devp2p caps/eth.md).

use std::path::PathBuf;
use std::rc::Rc;

use crate::chain::header::Header;
use crate::chain::spec::ChainSpec;
use crate::chain::store::ChainStore;
use crate::chain::store_handle::ChainStoreHandle;
use crate::eth::EthVersion;
use crate::eth::handshake::ChainHead;
use crate::eth::manager::{EthConfig, EthManager};
use crate::event_loop::EthSetup;
use crate::p2p::{Capability, LocalCapability};
use crate::service::Service;

/// The eth service: a chain store and the protocol manager on top of it.
pub struct EthService {
    datadir: PathBuf,
    spec: ChainSpec,
    versions: Vec<EthVersion>,
    config: EthConfig,
    setup: Option<EthSetup>,
}

impl EthService {
    /// A service for `spec` with its store under `datadir`, offering `versions`.
    pub fn new(
        datadir: PathBuf,
        spec: ChainSpec,
        versions: Vec<EthVersion>,
        config: EthConfig,
    ) -> EthService {
        EthService {
            datadir,
            spec,
            versions,
            config,
            setup: None,
        }
    }
}

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
            })
            .collect()
    }

    fn start(&mut self) -> Result<(), String> {
        let store = ChainStore::open(&self.datadir).map_err(|e| e.to_string())?;
        let head = store
            .init_genesis(&self.spec.genesis_header)
            .map_err(|e| format!("{e} (this datadir holds another chain)"))?;
        let time = match store.header_by_hash(&head.hash) {
            Ok(Some(Header { timestamp, .. })) => timestamp,
            Ok(None) => return Err("chain store: the head header is missing".into()),
            Err(e) => return Err(e.to_string()),
        };
        let handle = ChainStoreHandle::spawn(store).map_err(|e| e.to_string())?;
        let head = ChainHead {
            number: head.number,
            hash: head.hash,
            time,
            td: head.td,
            earliest: 0,
        };
        let manager = EthManager::new(self.spec.clone(), head, self.config.clone());
        self.setup = Some(EthSetup {
            manager,
            store: Rc::new(handle),
        });
        Ok(())
    }

    fn stop(&mut self) {
        // The loop holds the store handle while it runs; the last holder closes the store.
        self.setup = None;
    }

    fn take_eth(&mut self) -> Option<EthSetup> {
        self.setup.take()
    }
}
