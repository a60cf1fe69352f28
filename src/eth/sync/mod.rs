//! Chain synchronization (devp2p caps/eth.md "Chain Synchronization"; go-ethereum's
//! `eth/chainsync.go` and `eth/downloader` as the model): [`syncer`] picks the best peer and
//! decides when a sync runs, [`downloader`] fetches header chunks, bodies and receipts from
//! several peers, verifies them and hands out ordered write batches, and [`sync_work`] is the
//! vocabulary both speak (the tunables, what a peer can serve, what a request asks for).
//!
//! Sans-IO: inputs carry `now`, outputs are drained. Arrows: `syncer` → `downloader` →
//! `sync_work`, and all of them → [`crate::eth::wire`] and the pure chain files.

pub mod downloader;
pub mod sync_work;
pub mod syncer;

pub use sync_work::{ConnId, SyncConfig};
pub use syncer::{LocalHead, PeerHead, SyncAction, Syncer};
