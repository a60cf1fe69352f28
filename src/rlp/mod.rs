//! RLP below every codec (Ethereum Yellow Paper, appendix B, "Recursive Length Prefix"): the
//! strict validator that refuses non-canonical or truncated encodings ([`strict`]), the cursor
//! the message and transaction decoders read validated payloads with, and [`RawList`], a list
//! kept as its encoding ([`cursor`]).
//!
//! The `rlp` crate still encodes everything and reads what has passed [`strict::validate`]; this
//! module holds only what the crate lacks. [`RlpDecodeError`] is the one error of reading a
//! validated payload: the eth message errors (`EthError`) and the transaction errors
//! (`tx::transaction::DecodeError`) wrap it and add what only they can refuse.

pub mod cursor;
pub mod strict;

pub use cursor::RawList;
pub use strict::RlpError;

use std::fmt;

/// Why a payload is not the RLP shape a decoder expects. The wrapping error names the layer
/// (eth message, transaction) in its own `Display`; this one names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RlpDecodeError {
    /// The bytes are not exactly one canonical RLP item.
    NonCanonical(RlpError),
    /// A field is missing, extra, or of the wrong type or size (the field is named).
    Malformed(&'static str),
    /// A payload or a count is over its named limit.
    TooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },
}

impl fmt::Display for RlpDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RlpDecodeError::NonCanonical(e) => write!(f, "not canonical RLP: {e}"),
            RlpDecodeError::Malformed(what) => write!(f, "malformed field: {what}"),
            RlpDecodeError::TooLarge { what, size, max } => {
                write!(f, "{what} has {size}, over the limit of {max}")
            }
        }
    }
}

impl std::error::Error for RlpDecodeError {}

impl From<RlpError> for RlpDecodeError {
    fn from(e: RlpError) -> Self {
        RlpDecodeError::NonCanonical(e)
    }
}
