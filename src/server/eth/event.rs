//! What the eth halves tell each other (devp2p caps/eth.md "Status"): the session half posts
//! these to the loop half through its `CapLink`, and the block writer posts its results.

use async_channel::Sender;

use crate::chain::block::Head;
use crate::eth::{EthMessage, Status};

/// An event for the eth loop half. It travels boxed once, as the `CapEvent` the loop routes, so
/// its variants hold their payloads inline.
#[derive(Debug)]
pub enum EthEvent {
    /// Checkpoint 3: the remote Status; may the peer run eth? (`Err` says why not.)
    Status {
        status: Status,
        verdict: Sender<Result<(), String>>,
    },
    /// A decoded eth message (past Status) that is not a chain request the session serves.
    Message(EthMessage),
    /// The block writer stored (or failed to store) the oldest batch.
    Written(Result<Head, String>),
}
