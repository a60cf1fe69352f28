//! The method table (go-ethereum `internal/ethapi`, `node/api.go`, `eth/api.go`): a call's
//! namespace must be one the server was started with (`--http.api`), else it does not exist;
//! `web3_*` and `net_*` are answered here, the others by their namespace's file. The [`Backend`]
//! is what the methods reach the node through: the loop by message, the chain store directly.

pub mod admin;
pub mod eth;
pub mod fees;
pub mod txpool;

use std::cell::RefCell;

use async_channel::Sender;
use serde_json::{Value, json};

use super::NodeFacts;
use super::format::data;
use super::gasprice::Oracle;
use super::jsonrpc::{Dispatch, RpcError};
use super::params::Params;
use crate::chain::store::StoreError;
use crate::chain::store_handle::ChainStoreHandle;
use crate::crypto::keccak256;
use crate::server::control::Control;

/// What the methods reach the node through.
pub struct Backend {
    pub facts: NodeFacts,
    control: Sender<Control>,
    /// The RPC server's own handle on the storage thread (reads only), when eth runs.
    chain: Option<ChainStoreHandle>,
    apis: Vec<String>,
    /// The gas price oracle's cache (one answer per head).
    pub oracle: RefCell<Oracle>,
}

impl Backend {
    pub fn new(
        facts: NodeFacts,
        control: Sender<Control>,
        chain: Option<ChainStoreHandle>,
        apis: Vec<String>,
    ) -> Backend {
        Backend {
            facts,
            control,
            chain,
            apis,
            oracle: RefCell::new(Oracle::default()),
        }
    }

    /// Asks the loop; a full control queue is "the node is busy" at once (the loop is never
    /// waited on for queue space).
    pub async fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Control) -> Result<T, RpcError> {
        let (tx, rx) = async_channel::bounded(1);
        self.control.try_send(make(tx)).map_err(|e| {
            RpcError::server(if e.is_full() {
                "the node is busy"
            } else {
                "the node has stopped"
            })
        })?;
        rx.recv()
            .await
            .map_err(|_| RpcError::server("the node has stopped"))
    }

    /// The chain store, when eth runs.
    pub fn chain(&self) -> Option<&ChainStoreHandle> {
        self.chain.as_ref()
    }

    fn enabled(&self, namespace: &str) -> bool {
        self.apis.iter().any(|a| a == namespace)
    }
}

/// A storage failure as the caller sees it.
pub fn store_error(e: StoreError) -> RpcError {
    RpcError::internal(e.to_string())
}

impl Dispatch for Backend {
    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
        let Some((namespace, _)) = method.split_once('_') else {
            return Err(RpcError::method_not_found(method));
        };
        if !self.enabled(namespace) {
            return Err(RpcError::method_not_found(method));
        }
        match namespace {
            "web3" | "net" => web3_net(self, method, params).await,
            "admin" => admin::call(self, method, params).await,
            "eth" if self.chain.is_some() && fees::METHODS.contains(&method) => {
                fees::call(self, method, params).await
            }
            "eth" if self.chain.is_some() => eth::call(self, method, params).await,
            "txpool" if self.chain.is_some() => txpool::call(self, method, params).await,
            _ => Err(RpcError::method_not_found(method)),
        }
    }
}

/// `web3_*` and `net_*` (geth `node/api.go` web3API, `internal/ethapi` NetAPI).
async fn web3_net(b: &Backend, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
    match method {
        "web3_clientVersion" => {
            Params::new(params, 0)?;
            Ok(json!(b.facts.client_id))
        }
        "web3_sha3" => {
            let p = Params::new(params, 1)?;
            Ok(data(&keccak256(&p.data(0)?)))
        }
        "net_version" => {
            Params::new(params, 0)?;
            let id = b.facts.chain.as_ref().map_or(0, |c| c.network_id);
            Ok(json!(id.to_string()))
        }
        "net_listening" => {
            Params::new(params, 0)?;
            Ok(json!(true))
        }
        "net_peerCount" => {
            Params::new(params, 0)?;
            let peers = b.ask(Control::Peers).await?;
            Ok(super::format::qty(peers.len() as u64))
        }
        _ => Err(RpcError::method_not_found(method)),
    }
}
