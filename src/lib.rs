//! ethpeer: a lightweight Ethereum devp2p node.
//!
//! The protocol logic lives in sans-IO cores (no sockets, no clock, no global RNG, no async):
//! [`crypto`], [`rlp`], [`enode`], [`enr`], [`rlpx`], [`p2p`], [`dial`], [`discv4`],
//! [`chain`] and [`eth`].
//! The imperative shell (the event loop, the per-connection tasks, the CLI) turns I/O into calls on
//! those cores. ARCHITECTURE.md is the map.

pub mod chain;
pub mod crypto;
pub mod dial;
pub mod discv4;
pub mod enode;
pub mod enr;
pub mod eth;
pub mod log;
pub mod netutil;
pub mod node;
pub mod nodedb;
pub mod p2p;
pub mod rlp;
pub mod rlpx;
pub mod rng;
pub mod server;
pub mod storage;
pub mod tx;
