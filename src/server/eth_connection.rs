//! The eth side of one session, inside its connection task (devp2p caps/eth.md "Status" and
//! "Chain Synchronization"; go-ethereum `eth/handler_eth.go` and `eth/protocols/eth/handlers.go`
//! play this part in each peer's goroutine).
//!
//! Our Status goes out first; the remote's must be the first eth message and arrive within
//! [`STATUS_TIMEOUT`]. The loop then judges it (checkpoint 3) and, once the peer is in, this
//! reader answers GetBlockHeaders, GetBlockBodies and GetReceipts from the chain store itself —
//! one request at a time per peer, which is the back-pressure: a peer that floods requests only
//! waits for its own answers — and hands every other eth message, decoded, to the loop.
//!
//! Every breach ends the session with "subprotocol error", which is what go-ethereum answers to
//! any error its eth handler returns: a message over [`eth::MESSAGE_SIZE_MAX`], one that does not
//! decode, a code the version does not define, anything before Status, a second Status.

use std::time::Duration;

use async_channel::Sender;

use crate::chain::store_handle::ChainStoreHandle;
use crate::eth::{self, EthMessage, ServeChain, Status};
use crate::log;
use crate::node::ConnId;
use crate::p2p::DisconnectReason;
pub use crate::server::events::EthSession;
use crate::server::events::PeerEvent;

/// The remote Status must arrive this soon after the session is admitted (geth
/// `handshakeTimeout`: 5 s). Missing it ends the session with "read timeout" (0x0b), as geth does.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the eth side ends a session: the reason to send and a line for the log.
#[derive(Debug)]
pub struct EthEnd {
    pub reason: DisconnectReason,
    pub why: String,
}

impl EthEnd {
    fn breach(why: impl Into<String>) -> EthEnd {
        EthEnd {
            reason: DisconnectReason::SubprotocolError,
            why: why.into(),
        }
    }
}

/// The reader's eth state for one session.
pub struct EthReader<'a> {
    conn: ConnId,
    session: EthSession,
    status_done: bool,
    store: Option<&'a ChainStoreHandle>,
    events: &'a Sender<PeerEvent>,
}

impl<'a> EthReader<'a> {
    /// The eth side of session `conn`; `store` answers chain requests (none: empty answers).
    pub fn new(
        conn: ConnId,
        session: EthSession,
        store: Option<&'a ChainStoreHandle>,
        events: &'a Sender<PeerEvent>,
    ) -> Self {
        EthReader {
            conn,
            session,
            status_done: false,
            store,
            events,
        }
    }

    /// Whether wire message id `code` is in the eth range.
    pub fn owns(&self, code: u64) -> bool {
        code >= self.session.offset
            && code - self.session.offset < self.session.version.protocol_length()
    }

    /// Whether the remote Status is still awaited (the read deadline is then the Status one).
    pub fn status_pending(&self) -> bool {
        !self.status_done
    }

    /// Our Status as a wire message: the first thing the writer sends.
    pub fn status_message(&self) -> Result<(u64, Vec<u8>), EthEnd> {
        self.wire(&EthMessage::Status(self.session.status))
    }

    fn wire(&self, msg: &EthMessage) -> Result<(u64, Vec<u8>), EthEnd> {
        let (id, payload) = eth::encode(self.session.version, msg)
            .map_err(|e| EthEnd::breach(format!("cannot encode our {}: {e}", msg.id())))?;
        Ok((self.session.offset + id, payload))
    }

    /// Handles one eth message (`code` owned by this range, `payload` decompressed and within
    /// [`eth::MESSAGE_SIZE_MAX`]). Returns a reply to write, if any.
    pub async fn handle(
        &mut self,
        code: u64,
        payload: &[u8],
    ) -> Result<Option<(u64, Vec<u8>)>, EthEnd> {
        let version = self.session.version;
        let id = code - self.session.offset;
        let msg = eth::decode(version, id, payload).map_err(|e| {
            let name = eth::message_name(version, id).unwrap_or("unknown message");
            EthEnd::breach(format!("{name} (0x{id:02x}): {e}"))
        })?;
        if !self.status_done {
            let EthMessage::Status(status) = msg else {
                return Err(EthEnd::breach(format!(
                    "{} before Status",
                    eth::message_name(version, id).unwrap_or("message")
                )));
            };
            return self.checkpoint(status).await.map(|()| None);
        }
        match msg {
            EthMessage::Status(_) => Err(EthEnd::breach("second Status")),
            EthMessage::GetBlockHeaders(_)
            | EthMessage::GetBlockBodies(_)
            | EthMessage::GetReceipts(_) => self.serve(msg).await,
            msg => {
                let ev = PeerEvent::Eth {
                    conn: self.conn,
                    msg: Box::new(msg),
                };
                self.events.send(ev).await.map_err(|_| EthEnd {
                    reason: DisconnectReason::ClientQuitting,
                    why: "node shutting down".into(),
                })?;
                Ok(None)
            }
        }
    }

    /// Checkpoint 3: the loop judges the remote Status and registers the peer.
    async fn checkpoint(&mut self, status: Status) -> Result<(), EthEnd> {
        let (tx, rx) = async_channel::bounded(1);
        let ev = PeerEvent::EthStatus {
            conn: self.conn,
            status: Box::new(status),
            verdict: tx,
        };
        let quitting = || EthEnd {
            reason: DisconnectReason::ClientQuitting,
            why: "node shutting down".into(),
        };
        self.events.send(ev).await.map_err(|_| quitting())?;
        match rx.recv().await.map_err(|_| quitting())? {
            Ok(()) => {
                self.status_done = true;
                Ok(())
            }
            Err(why) => Err(EthEnd::breach(why)),
        }
    }

    /// Answers a chain request from the store, on the storage thread.
    async fn serve(&mut self, request: EthMessage) -> Result<Option<(u64, Vec<u8>)>, EthEnd> {
        let Some(store) = self.store else {
            return Ok(None);
        };
        match store.serve(self.session.version, request).await {
            Ok(Some(reply)) => self.wire(&reply).map(Some),
            Ok(None) => Ok(None),
            Err(e) => {
                // Our storage failed, not the peer: it gets no answer and times out its request.
                log::error("Serving a chain request failed", &[("err", &e)]);
                Ok(None)
            }
        }
    }
}
