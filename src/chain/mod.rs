//! The chain side of the `eth` protocol, without I/O: Merkle-Patricia trie roots ([`trie`]),
//! block headers ([`header`]), genesis files and the genesis block ([`genesis`], read with the
//! small [`json`] reader), and EIP-2124 fork identifiers ([`forkid`]).

pub mod forkid;
pub mod genesis;
pub mod header;
pub mod json;
pub mod trie;
