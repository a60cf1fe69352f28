//! The p2p base protocol (devp2p rlpx.md "p2p Capability"): Hello, Disconnect, Ping and Pong,
//! capability negotiation and the snappy switch.
//!
//! The p2p capability owns message ids 0x00..0x0f on every RLPx connection; the capabilities
//! both sides share are stacked above it (see [`capability::match_capabilities`]). Decoders here
//! take untrusted payloads: they are bounded by named limits and never panic.

pub mod capability;
pub mod conn_id;
pub mod disconnect;
pub mod fault;
pub mod hello;
pub mod message;
pub mod session;

pub use capability::{Capability, LocalCapability, SharedCapability, match_capabilities};
pub use conn_id::ConnId;
pub use disconnect::DisconnectReason;
pub use fault::Fault;
pub use hello::Hello;
pub use message::P2pMessage;

use std::fmt;

/// The p2p protocol version we speak and advertise in Hello: 5 adds snappy (rlpx.md).
pub const P2P_VERSION: u64 = 5;

/// The lowest p2p version that compresses messages with snappy (rlpx.md "Message Snappy
/// Compression"): snappy is on only if both Hellos advertise at least this.
pub const SNAPPY_VERSION_MIN: u64 = 5;

/// Message ids the p2p capability reserves: 0x00..0x0f (rlpx.md "Message ID Offsets").
pub const BASE_PROTOCOL_LENGTH: u64 = 16;

/// The largest p2p message we accept (decompressed): go-ethereum's `baseProtocolMaxMsgSize`
/// is 2 KiB, and a Hello, the largest p2p message, is a few hundred bytes in practice.
pub const BASE_PROTOCOL_MESSAGE_SIZE_MAX: usize = 2 * 1024;

/// Hello's message id.
pub const HELLO_ID: u64 = 0x00;
/// Disconnect's message id.
pub const DISCONNECT_ID: u64 = 0x01;
/// Ping's message id.
pub const PING_ID: u64 = 0x02;
/// Pong's message id.
pub const PONG_ID: u64 = 0x03;

/// Whether messages after Hello are snappy-compressed: both sides must advertise p2p version 5
/// or later (Hello itself is never compressed).
pub fn snappy_enabled(our_version: u64, their_version: u64) -> bool {
    our_version >= SNAPPY_VERSION_MIN && their_version >= SNAPPY_VERSION_MIN
}

/// Why a p2p message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum P2pError {
    /// The payload is not well-formed RLP of the expected shape.
    Rlp(rlp::DecoderError),
    /// The payload is not canonical RLP (checked by [`crate::rlp::strict`] before decoding).
    NonCanonical(crate::rlp::strict::RlpError),
    /// A field is missing or has the wrong type.
    Malformed(&'static str),
    /// A payload, string or list is over its named limit.
    TooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },
    /// A capability name is not 1..=8 printable ASCII characters.
    BadCapabilityName,
    /// The Hello node id is not a valid 64-byte secp256k1 public key.
    BadNodeId,
    /// The message id is not one of the p2p messages.
    UnknownMessage(u64),
}

impl fmt::Display for P2pError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            P2pError::Rlp(e) => write!(f, "bad RLP in p2p message: {e:?}"),
            P2pError::NonCanonical(e) => write!(f, "bad RLP in p2p message: {e}"),
            P2pError::Malformed(what) => write!(f, "malformed p2p message: {what}"),
            P2pError::TooLarge { what, size, max } => {
                write!(f, "{what} has {size}, over the limit of {max}")
            }
            P2pError::BadCapabilityName => write!(f, "capability name is not 1-8 ASCII chars"),
            P2pError::BadNodeId => write!(f, "Hello node id is not a valid public key"),
            P2pError::UnknownMessage(id) => write!(f, "unknown p2p message id {id:#x}"),
        }
    }
}

impl std::error::Error for P2pError {}

impl From<crate::rlp::strict::RlpError> for P2pError {
    fn from(e: crate::rlp::strict::RlpError) -> Self {
        P2pError::NonCanonical(e)
    }
}

impl From<rlp::DecoderError> for P2pError {
    fn from(e: rlp::DecoderError) -> Self {
        P2pError::Rlp(e)
    }
}

/// The items of an RLP list, yielded as the exact byte slices of each item. Iterating checks
/// that every item fits inside the list; nothing is allocated.
pub(crate) struct ListItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ListItems<'a> {
    type Item = Result<&'a [u8], P2pError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match item_len(self.rest) {
            Ok(n) => {
                let (item, rest) = self.rest.split_at(n);
                self.rest = rest;
                Some(Ok(item))
            }
            Err(e) => {
                // Stop after the first error so a caller that keeps iterating terminates.
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// The length of the RLP item at the start of `bytes`, checked to fit.
fn item_len(bytes: &[u8]) -> Result<usize, P2pError> {
    let info = rlp::PayloadInfo::from(bytes)?;
    let total = info
        .header_len
        .checked_add(info.value_len)
        .ok_or(P2pError::Rlp(rlp::DecoderError::RlpIsTooShort))?;
    if total > bytes.len() {
        return Err(P2pError::Rlp(rlp::DecoderError::RlpIsTooShort));
    }
    Ok(total)
}

/// Checks that `bytes` is exactly one canonical RLP list (no trailing bytes, every nested
/// length consistent) and returns its items.
pub(crate) fn list_items(bytes: &[u8]) -> Result<ListItems<'_>, P2pError> {
    let first = *bytes.first().ok_or(P2pError::Malformed("empty payload"))?;
    crate::rlp::strict::validate(bytes)?;
    if first < 0xc0 {
        return Err(P2pError::Rlp(rlp::DecoderError::RlpExpectedToBeList));
    }
    // `validate` above proved the list spans the whole buffer, so the sum cannot overflow.
    let info = rlp::PayloadInfo::from(bytes)?;
    let rest = bytes
        .get(info.header_len..)
        .ok_or(P2pError::Rlp(rlp::DecoderError::RlpIsTooShort))?;
    Ok(ListItems { rest })
}

/// The next list item, or `Malformed(what)` if the list ended early.
pub(crate) fn next_item<'a>(
    items: &mut ListItems<'a>,
    what: &'static str,
) -> Result<&'a [u8], P2pError> {
    items.next().unwrap_or(Err(P2pError::Malformed(what)))
}

/// Decodes a canonical RLP unsigned integer that fills `bytes` exactly.
pub(crate) fn decode_uint<T: rlp::Decodable>(bytes: &[u8]) -> Result<T, P2pError> {
    if bytes.first().is_some_and(|&b| b >= 0xc0) {
        return Err(P2pError::Rlp(rlp::DecoderError::RlpExpectedToBeData));
    }
    Ok(rlp::Rlp::new(bytes).as_val::<T>()?)
}

/// The payload of an RLP byte string that fills `bytes` exactly.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Result<&[u8], P2pError> {
    if bytes.first().is_some_and(|&b| b >= 0xc0) {
        return Err(P2pError::Rlp(rlp::DecoderError::RlpExpectedToBeData));
    }
    Ok(rlp::Rlp::new(bytes).data()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snappy_needs_both_versions_at_least_five() {
        assert!(snappy_enabled(5, 5));
        assert!(snappy_enabled(5, 55));
        assert!(!snappy_enabled(5, 4));
        assert!(!snappy_enabled(4, 5));
        assert!(!snappy_enabled(5, 3));
    }

    #[test]
    fn list_items_rejects_trailing_bytes_and_overruns() {
        assert!(list_items(&[0xc0, 0x00]).is_err());
        assert!(list_items(&[0x80]).is_err());
        assert!(list_items(&[]).is_err());
        // The list claims 2 bytes of payload but its only item claims 3.
        assert!(list_items(&[0xc2, 0x83, 0x01]).is_err());
        // Non-canonical: a single byte below 0x80 wrapped in a header.
        assert!(list_items(&[0xc2, 0x81, 0x01]).is_err());
        // The iterator itself stops at an overrunning item rather than reading past it.
        let mut items = ListItems {
            rest: &[0x83, 0x01],
        };
        assert!(matches!(items.next(), Some(Err(_))));
        assert!(items.next().is_none());
        let items: Vec<_> = list_items(&[0xc4, 0x01, 0x82, 0x02, 0x03])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(items, vec![&[0x01][..], &[0x82, 0x02, 0x03][..]]);
    }
}
