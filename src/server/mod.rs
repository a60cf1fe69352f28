//! The imperative shell: our `p2p.Server` (go-ethereum `p2p/server.go`) and `node.Node`.
//!
//! Everything here does I/O for the sans-IO cores below it: [`event_loop`] (our `srv.run`, the one
//! task that owns all peer state), [`connection`] (a task per RLPx connection: handshake,
//! frames, keepalive, checkpoints), [`protocol`] and [`capability`] (how a capability plugs
//! into both: a loop half and a session half), [`eth`] (the eth capability: its service, loop half and
//! session half), [`udp`] (the discovery socket's reader and writer), [`service`] (what brings
//! protocols to the node), [`traffic`] (what a session read and wrote, for the metrics), [`datadir`] (the node's directory, lock and key), and [`start`], which
//! assembles all of it from a [`Config`] and returns a [`NodeHandle`] that talks to the loop only
//! by message ([`control`]). Nothing in a core imports from here; the loop and the connection
//! task never name eth.

pub mod capability;
pub mod clock;
pub mod connection;
pub mod control;
pub mod datadir;
pub mod eth;
pub mod event_loop;
pub mod events;
pub mod fd_budget;
pub mod protocol;
pub mod service;
mod start;
pub mod traffic;
pub mod udp;

pub use control::{ChainInfo, PeerInfo, PeerNotice};
pub use start::{
    Config, ENODE_FILE, EthPlan, HandleError, NodeHandle, StartError, client_id, disc_node, start,
};
