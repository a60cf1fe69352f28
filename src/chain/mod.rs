//! The chain side of the `eth` protocol, without I/O: Merkle-Patricia trie roots ([`trie`]),
//! block headers ([`header`]), genesis files and the genesis block ([`genesis`], read with the
//! small [`json`] reader), EIP-2124 fork identifiers ([`forkid`]), the built-in public networks
//! ([`networks`]) and the chain spec a node runs with ([`spec`]).

pub mod forkid;
pub mod genesis;
pub mod header;
pub mod json;
pub mod networks;
pub mod spec;
pub mod trie;
