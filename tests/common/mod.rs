//! Helpers shared by the integration tests: fixture loading, hex, and a seeded RNG.
#![allow(dead_code)]

use std::path::PathBuf;

/// The path of a file under `fixtures/`.
pub fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// Reads and parses a JSON fixture.
pub fn fixture_json(rel: &str) -> serde_json::Value {
    let path = fixture_path(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Hex (with or without `0x`) to bytes; panics on bad fixture data.
pub fn h(s: &str) -> Vec<u8> {
    ethpeer::crypto::unhex(s).unwrap_or_else(|e| panic!("bad hex in fixture {s:?}: {e}"))
}

/// Hex of a JSON string value.
pub fn hv(v: &serde_json::Value) -> Vec<u8> {
    h(v.as_str()
        .unwrap_or_else(|| panic!("expected a hex string, got {v}")))
}

/// Hex to a fixed-size array.
pub fn h32(s: &str) -> [u8; 32] {
    h(s).try_into().expect("expected 32 bytes")
}

/// A small deterministic generator (SplitMix64) for property tests: every failure message prints
/// the seed so the case can be replayed.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        TestRng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        ethpeer::rng::splitmix64(&mut self.0)
    }
    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

pub mod bad_discv5;
pub mod bad_node;
pub mod clique;
pub mod crash;
pub mod fixture_chain;
pub mod fixture_node;
pub mod interop;
pub mod node_proc;
pub mod raw_peer;
pub mod rpc;
pub mod simnet;
pub mod suite_cli;
