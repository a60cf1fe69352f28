//! Node Discovery Protocol v5.1 (devp2p `discv5.md`, `discv5-wire.md`, `discv5-theory.md`): the
//! encrypted UDP discovery protocol consensus-layer clients and recent geth speak beside v4.
//!
//! Everything here is sans-IO, as in [`crate::discv4`]. [`crypto`] holds header masking,
//! AES-GCM, key derivation and the id signature; [`packet`] the masked-header codec; [`message`]
//! the message codec. The caller owns the socket, the clock and the entropy, and passes them in.

pub mod crypto;
pub mod discovery;
pub mod endpoint;
pub mod event;
pub mod message;
pub mod packet;
pub mod session;
