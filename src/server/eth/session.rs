//! The eth session half, inside each connection task (devp2p caps/eth.md "Status" and "Chain
//! Synchronization"; go-ethereum `eth/handler_eth.go` and `eth/protocols/eth/handlers.go` play
//! this part in each peer's goroutine).
//!
//! Our Status goes out first; the remote's must be the first eth message and arrive within
//! [`STATUS_TIMEOUT`]. The loop half judges it and, once the peer is in, this half answers
//! GetBlockHeaders, GetBlockBodies and GetReceipts from the chain store itself — one request at a
//! time per peer, which is the back-pressure: a peer that floods requests only waits for its own
//! answers — and posts every other eth message, decoded, to the loop half.
//!
//! Every breach is [`Fault::CapabilityBreach`] ("subprotocol error"), which is what go-ethereum
//! answers to any error its eth handler returns: a message that does not decode, a code the
//! version does not define, anything before Status, a second Status.

use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::chain::store_handle::ChainStoreHandle;
use crate::eth::{self, EthMessage, EthVersion, ServeChain, Status};
use crate::log;
use crate::p2p::Fault;
use crate::server::capability::{CapEnd, CapSession, LocalFuture, Reply};
use crate::server::eth::event::EthEvent;
use crate::server::protocol::CapLink;

/// The remote Status must arrive this soon after the session is admitted (geth
/// `handshakeTimeout`: 5 s). Missing it ends the session with "read timeout" (0x0b), as geth does.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// The eth half of one session.
pub struct EthSession {
    version: EthVersion,
    /// Our Status, sent first.
    status: Status,
    status_done: bool,
    status_deadline: Instant,
    store: Option<Rc<ChainStoreHandle>>,
    link: CapLink,
}

impl EthSession {
    /// The eth half of a session at `version`; `store` answers chain requests (none: no answer).
    pub fn new(
        version: EthVersion,
        status: Status,
        store: Option<Rc<ChainStoreHandle>>,
        link: CapLink,
    ) -> Self {
        EthSession {
            version,
            status,
            status_done: false,
            status_deadline: Instant::now() + STATUS_TIMEOUT,
            store,
            link,
        }
    }

    fn wire(&self, msg: &EthMessage) -> Result<Reply, CapEnd> {
        eth::encode(self.version, msg)
            .map_err(|e| CapEnd::breach(format!("cannot encode our {}: {e}", msg.id())))
    }

    async fn handle_message(&mut self, id: u64, payload: Vec<u8>) -> Result<Option<Reply>, CapEnd> {
        let version = self.version;
        let msg = eth::decode(version, id, &payload).map_err(|e| {
            let name = eth::message_name(version, id).unwrap_or("unknown message");
            CapEnd::breach(format!("{name} (0x{id:02x}): {e}"))
        })?;
        if !self.status_done {
            let EthMessage::Status(status) = msg else {
                return Err(CapEnd::breach(format!(
                    "{} before Status",
                    eth::message_name(version, id).unwrap_or("message")
                )));
            };
            return self.checkpoint(status).await.map(|()| None);
        }
        match msg {
            EthMessage::Status(_) => Err(CapEnd::breach("second Status")),
            EthMessage::GetBlockHeaders(_)
            | EthMessage::GetBlockBodies(_)
            | EthMessage::GetReceipts(_) => self.serve(msg).await,
            msg => {
                self.link.post(Box::new(EthEvent::Message(msg))).await?;
                Ok(None)
            }
        }
    }

    /// Checkpoint 3: the loop half judges the remote Status and registers the peer.
    async fn checkpoint(&mut self, status: Status) -> Result<(), CapEnd> {
        let (tx, rx) = async_channel::bounded(1);
        let ev = EthEvent::Status {
            status,
            verdict: tx,
        };
        self.link.post(Box::new(ev)).await?;
        match rx.recv().await.map_err(|_| CapEnd::quitting())? {
            Ok(()) => {
                self.status_done = true;
                Ok(())
            }
            Err(why) => Err(CapEnd::breach(why)),
        }
    }

    /// Answers a chain request from the store, on the storage thread.
    async fn serve(&mut self, request: EthMessage) -> Result<Option<Reply>, CapEnd> {
        let Some(store) = self.store.as_deref() else {
            return Ok(None);
        };
        match store.serve(self.version, request).await {
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

impl CapSession for EthSession {
    fn opening(&mut self) -> Result<Vec<Reply>, CapEnd> {
        Ok(vec![self.wire(&EthMessage::Status(self.status))?])
    }

    fn deadline(&self) -> Option<(Instant, Fault, &'static str)> {
        (!self.status_done).then_some((
            self.status_deadline,
            Fault::CapabilityHandshakeTimeout,
            "no Status within 5 s",
        ))
    }

    fn handle<'a>(
        &'a mut self,
        id: u64,
        payload: Vec<u8>,
    ) -> LocalFuture<'a, Result<Option<Reply>, CapEnd>> {
        Box::pin(self.handle_message(id, payload))
    }

    fn label(&self) -> &'static str {
        if self.status_done {
            "Ethereum protocol breach"
        } else {
            "Ethereum handshake failed"
        }
    }
}
