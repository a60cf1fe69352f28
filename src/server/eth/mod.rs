//! The eth capability plugged into the shell (devp2p caps/eth.md): the service that opens the
//! chain store and builds the protocol manager ([`service`]), the loop half that runs it
//! ([`protocol`]), the session half inside each connection task ([`session`]) and what the
//! halves tell each other ([`event`]). The event loop
//! and the connection task see these only through `server::capability`'s traits.

pub mod event;
pub mod protocol;
pub mod service;
pub mod session;

pub use event::EthEvent;
pub use protocol::EthProtocol;
pub use service::EthService;
pub use session::{EthSession, STATUS_TIMEOUT};
