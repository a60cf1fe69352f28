//! The conformance suites of `ethpeer test` (go-ethereum's `devp2p rlpx eth-test` and
//! `devp2p discv4 test`, rebuilt in Rust): [`runner`] (named tests, filter, deadlines, TAP and
//! JSON-lines reports), [`eth`] and [`discv4`]. Outside the cores (in tidy's shell list, a program
//! like the CLI): the tests open sockets, read the clock and run on threads. They drive the node
//! with the library's own codecs (RLPx handshake and frames, the session core, eth and discv4
//! codecs) and never with a copy of them. Discovery v5's suite waits for discovery v5.

pub mod discv4;
pub mod eth;
pub mod runner;
