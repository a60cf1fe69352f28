//! Node Discovery Protocol v4 (devp2p `discv4.md`, with the EIP-8 forward-compatibility rules and
//! the EIP-868 ENR extension): the UDP protocol through which nodes find each other.
//!
//! Everything here is sans-IO. [`packet`] turns datagrams into typed, signature-checked packets
//! and back; the caller owns the socket and the clock, and passes the current unix time in
//! wherever an expiration is made or checked.

pub mod packet;
