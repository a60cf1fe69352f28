//! Transaction exchange (devp2p caps/eth.md "Transaction Exchange"; go-ethereum's
//! `eth/handler.go` broadcast loops and `eth/fetcher/tx_fetcher.go` as the model):
//! [`broadcast`] is the propagation policy (who gets a transaction, or a block, whole and who
//! only its hash), [`tx_fetcher`] turns announcements into GetPooledTransactions, and
//! [`tx_handler`] ties both to the pool: validate, propagate, fetch, serve pooled transactions.
//!
//! Sans-IO: inputs carry `now`, outputs are drained. Arrows: `tx_handler` → `tx_fetcher` →
//! `broadcast`, and all of them → [`crate::eth::wire`] and [`crate::tx`].

pub mod broadcast;
pub mod tx_fetcher;
pub mod tx_handler;

pub use tx_handler::{TxHandler, TxOut, TxStats};
