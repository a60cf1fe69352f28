//! RLPx transport (devp2p `rlpx.md`): the ECIES handshake that turns a TCP stream into an
//! authenticated, encrypted one, and the frame codec that carries messages over it.
//!
//! Everything here is sans-IO: the handshake consumes and produces byte buffers, the frame codec
//! seals and opens frames in caller-owned buffers. Sockets, deadlines and randomness belong to the
//! caller (the per-connection task), which passes ephemeral keys and nonces in.

pub mod ecies;
pub mod frame;
pub mod handshake;
pub mod secrets;
pub mod snappy;

pub use secrets::Secrets;
