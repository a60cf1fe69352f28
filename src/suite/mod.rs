//! The conformance suites of `ethpeer test` (go-ethereum's `devp2p rlpx eth-test` and
//! `devp2p discv4 test`, `devp2p discv5 test`, rebuilt in Rust): [`runner`] (named tests, filter,
//! deadlines, TAP and JSON-lines reports), [`eth`], [`discv4`] and [`discv5`]. Outside the cores (in tidy's shell list, a program
//! like the CLI): the tests open sockets, read the clock and run on threads. They drive the node
//! with the library's own codecs (RLPx handshake and frames, the session core, eth and discv4
//! codecs, discv5's sans-IO packet, crypto and message codecs) and never with a copy of them.

pub mod discv4;
pub mod discv5;
pub mod eth;
pub mod runner;
