//! The chain side of the `eth` protocol. Sans-IO cores: Merkle-Patricia trie roots ([`trie`]),
//! block headers ([`header`]), the blob gas price ([`blob_fee`]), genesis files and the genesis block ([`genesis`], read with the
//! small [`json`] reader), EIP-2124 fork identifiers ([`forkid`]), the built-in public networks
//! ([`networks`]), the chain spec a node runs with ([`spec`]) and state snapshots read from a
//! state dump ([`state`]). With I/O: the chain store on
//! fjall ([`store`]), its storage thread ([`store_handle`]) and block import from RLP files
//! ([`import`]).

pub mod blob_fee;
pub mod block;
pub mod forkid;
pub mod genesis;
pub mod header;
pub mod import;
pub mod json;
pub mod networks;
pub mod reader;
pub mod spec;
pub mod state;
pub mod store;
pub mod store_handle;
pub mod trie;
pub mod verify;
