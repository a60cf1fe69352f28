//! Node Discovery Protocol v4 (devp2p `discv4.md`, with the EIP-8 forward-compatibility rules and
//! the EIP-868 ENR extension): the UDP protocol through which nodes find each other.
//!
//! Everything here is sans-IO. [`packet`] turns datagrams into typed, signature-checked packets
//! and back; [`table`] is the Kademlia node table; [`lookup`] is the iterative lookup. The caller
//! owns the socket and the clock, and passes the current time in.

pub mod discovery;
pub mod event;
pub mod lookup;
pub mod packet;
pub mod ratelimit;
pub mod request;
pub mod table;
