//! ethpeer: a lightweight Ethereum devp2p node. Arrows point down only; `tests/tidy.rs`
//! enforces it.
//!
//! ```text
//! server      the shell: event loop, connection and UDP tasks, services, start(Config) -> NodeHandle
//!   |
//! node dial   the node's peer state and admission, the dial scheduler        (sans-IO cores,
//! discv4      discovery v4: packets, table, lookups                           no clock, no
//! eth tx      eth protocol: wire codecs, sync, tx propagation; the tx pool    sockets, no
//! chain       blocks, verification, genesis, fork id, trie (store files: storage)  global RNG)
//! p2p rlpx    base protocol and session policy; the RLPx handshake and frames
//! enr enode   node records and URLs
//! rlp crypto  codecs and keys at the bottom (also netutil, rng, time: the clocks as types)
//! nodedb      the node database (its handle and fjall file are storage)
//! storage     the datadir's one fjall database and the storage thread the stores' handles use
//! log         the shell's log lines
//! suite       `ethpeer test`: the eth and discv4 conformance suites (shell: sockets, threads)
//! ```
//!
//! A program starts a node with [`server::start`]. ARCHITECTURE.md is the map.

pub mod chain;
pub mod crypto;
pub mod dial;
pub mod discv4;
pub mod discv5;
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
pub mod rpc;
pub mod server;
pub mod storage;
pub mod suite;
pub mod time;
pub mod tx;
