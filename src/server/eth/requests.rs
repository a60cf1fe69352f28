//! Requests from outside the loop (the node handle, JSON-RPC) that read or change the eth
//! protocol's state: each is a `Control::Protocol` closure the loop runs on the [`EthProtocol`]
//! between inputs, answering through the caller's own channel. The loop never learns what was
//! asked; a node without eth answers `None`.

use async_channel::Sender;

use crate::server::control::{ChainInfo, Control, PoolEntry};
use crate::server::eth::EthProtocol;
use crate::time::Mono;

/// A request `f` to the eth protocol, answered on `reply` with `Some(result)`, or `None` when
/// the node runs no eth. `f` runs on the loop: it must not block.
pub fn eth_request<T: Send + 'static>(
    reply: Sender<Option<T>>,
    f: impl FnOnce(&mut EthProtocol, Mono) -> T + Send + 'static,
) -> Control {
    Control::Protocol {
        name: "eth",
        run: Box::new(move |state, now| {
            let answer = state.downcast_mut::<EthProtocol>().map(|e| f(e, now));
            // The caller waits for exactly this answer; if it has gone, nobody needs it.
            let _ = reply.try_send(answer);
        }),
    }
}

impl EthProtocol {
    /// The head and the pool size.
    pub fn chain_info(&self) -> ChainInfo {
        let head = self.manager.head();
        ChainInfo {
            head_number: head.number,
            head_hash: head.hash,
            pool_size: self.manager.pool_len(),
        }
    }

    /// A transaction submitted from outside (JSON-RPC `eth_sendRawTransaction`): pooled and
    /// propagated exactly as a local `--txs` one, and journaled; its hash, or the pool's reason.
    pub fn send_transaction(&mut self, now: Mono, bytes: &[u8]) -> Result<[u8; 32], String> {
        self.manager.add_local_tx(now, bytes, true)
    }

    /// The pool's transactions: the one with `hash`, or every pending one.
    pub fn pool_entries(&self, hash: Option<[u8; 32]>) -> Vec<PoolEntry> {
        let pool = self.manager.pool();
        let entry = |t: &crate::tx::PoolTx| PoolEntry {
            sender: t.sender,
            nonce: t.nonce,
            network_rlp: t.network_rlp.clone(),
        };
        match hash {
            Some(h) => pool.get(&h).map(entry).into_iter().collect(),
            None => pool.pending().map(entry).collect(),
        }
    }

    /// The hashes of the pooled transactions.
    pub fn pool_hashes(&self) -> Vec<[u8; 32]> {
        self.manager.pool().pending().map(|t| t.hash).collect()
    }

    /// While a sync runs, the highest head a peer told us of.
    pub fn sync_target(&self) -> Option<u64> {
        self.manager.sync_target()
    }
}
