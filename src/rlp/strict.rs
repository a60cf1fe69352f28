//! Strict RLP validation: the canonical-encoding rules of the Ethereum Yellow Paper, appendix B
//! ("Recursive Length Prefix"), checked over a whole item tree before anything reads it.
//!
//! The `rlp` crate decodes lazily: it looks at a header only when an element is asked for, and
//! some of its accessors tolerate trailing bytes or stop quietly at a malformed element. Input
//! from the network (ENR records, and any other top-level RLP a peer sends) is therefore passed
//! through [`validate`] first; once it has passed, navigating it with `rlp::Rlp` cannot meet a
//! malformed header. The rules enforced here are the ones the ethereum/tests `invalidRLPTest.json`
//! vectors exercise:
//!
//! - every declared length fits inside the enclosing item (and the buffer);
//! - a single byte below `0x80` is never wrapped in a one-byte string header;
//! - a long length (`0xb8..=0xbf`, `0xf8..=0xff`) has no leading zero byte and is at least 56, so
//!   the short form could not have been used;
//! - exactly one item, with no bytes after it (or, through [`validate_prefix`], one item at the
//!   start of the buffer, for formats that allow trailing padding such as EIP-8).

use std::fmt;

/// Deepest list nesting accepted. No devp2p, discv4, ENR or eth message nests lists more than a
/// handful of levels (a block body's transaction access lists are the deepest, at about 6); 64
/// leaves ample room while keeping the validator's stack of open lists small and bounded.
pub const RLP_DEPTH_MAX: usize = 64;

/// Why a byte string is not exactly one canonical RLP item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RlpError {
    /// No bytes at all.
    Empty,
    /// A header or payload runs past the end of its enclosing list or of the buffer.
    Truncated {
        /// Offset of the item's first header byte.
        offset: usize,
    },
    /// A single byte below 0x80 wrapped in a 0x81 header, which must be encoded as itself.
    NonCanonicalSingleByte { offset: usize },
    /// A long-form length starting with a zero byte.
    LeadingZeroLength { offset: usize },
    /// A long-form length below 56, which the short form should have carried.
    NonCanonicalLength { offset: usize },
    /// A length that does not fit in this machine's address space.
    LengthOverflow { offset: usize },
    /// Bytes after the single top-level item.
    TrailingBytes { offset: usize },
    /// Lists nested more than [`RLP_DEPTH_MAX`] deep.
    TooDeep { offset: usize },
}

impl fmt::Display for RlpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RlpError::Empty => write!(f, "empty RLP input"),
            RlpError::Truncated { offset } => {
                write!(
                    f,
                    "RLP item at offset {offset} runs past its enclosing data"
                )
            }
            RlpError::NonCanonicalSingleByte { offset } => write!(
                f,
                "non-canonical RLP at offset {offset}: single byte below 0x80 wrapped in a header"
            ),
            RlpError::LeadingZeroLength { offset } => {
                write!(
                    f,
                    "non-canonical RLP at offset {offset}: length has a leading zero"
                )
            }
            RlpError::NonCanonicalLength { offset } => write!(
                f,
                "non-canonical RLP at offset {offset}: long length form used for fewer than 56 bytes"
            ),
            RlpError::LengthOverflow { offset } => {
                write!(f, "RLP length at offset {offset} is too large")
            }
            RlpError::TrailingBytes { offset } => {
                write!(f, "unexpected bytes after the RLP item, at offset {offset}")
            }
            RlpError::TooDeep { offset } => write!(
                f,
                "RLP lists nested more than {RLP_DEPTH_MAX} deep, at offset {offset}"
            ),
        }
    }
}

impl std::error::Error for RlpError {}

/// One decoded header: whether the item is a list, and where its payload lies.
struct Header {
    is_list: bool,
    /// Offset of the first payload byte.
    start: usize,
    /// Offset one past the last payload byte.
    end: usize,
}

/// Reads the header of the item at `offset`, which must end at or before `limit`.
fn header(buf: &[u8], offset: usize, limit: usize) -> Result<Header, RlpError> {
    let truncated = RlpError::Truncated { offset };
    let first = *buf
        .get(offset)
        .filter(|_| offset < limit)
        .ok_or(truncated)?;
    let (is_list, start, len) = match first {
        0x00..=0x7f => {
            // The byte is its own encoding: a one-byte string with no header.
            return Ok(Header {
                is_list: false,
                start: offset,
                end: offset + 1,
            });
        }
        0x80..=0xb7 => (false, offset + 1, usize::from(first - 0x80)),
        0xc0..=0xf7 => (true, offset + 1, usize::from(first - 0xc0)),
        0xb8..=0xbf | 0xf8..=0xff => {
            let is_list = first >= 0xf8;
            let len_of_len = usize::from(first - if is_list { 0xf7 } else { 0xb7 });
            let len_end = offset + 1 + len_of_len;
            if len_end > limit {
                return Err(truncated);
            }
            let len_bytes = buf.get(offset + 1..len_end).ok_or(truncated)?;
            if len_bytes.first() == Some(&0) {
                return Err(RlpError::LeadingZeroLength { offset });
            }
            let mut len: usize = 0;
            for &b in len_bytes {
                len = len
                    .checked_mul(256)
                    .and_then(|l| l.checked_add(usize::from(b)))
                    .ok_or(RlpError::LengthOverflow { offset })?;
            }
            if len < 56 {
                return Err(RlpError::NonCanonicalLength { offset });
            }
            (is_list, len_end, len)
        }
    };
    let end = start
        .checked_add(len)
        .ok_or(RlpError::LengthOverflow { offset })?;
    if end > limit {
        return Err(truncated);
    }
    if first == 0x81 && buf.get(start).is_some_and(|&b| b < 0x80) {
        return Err(RlpError::NonCanonicalSingleByte { offset });
    }
    Ok(Header {
        is_list,
        start,
        end,
    })
}

/// The total length (header and payload) of the item at the start of `buf`, checked to fit in
/// `buf` without overflow. Only the outer header is read; use this where a format frames an item
/// whose contents are checked elsewhere or ignored (RLPx header-data, the frame's msg-id). Sums of
/// `rlp::PayloadInfo` fields are never used for this: an 8-byte length overflows them.
pub fn item_len(buf: &[u8]) -> Result<usize, RlpError> {
    if buf.is_empty() {
        return Err(RlpError::Empty);
    }
    Ok(header(buf, 0, buf.len())?.end)
}

/// Checks that `buf` starts with one canonical RLP item and returns that item's total length.
/// Bytes after it are not examined; formats with trailing padding (EIP-8 handshake bodies) use
/// this, everything else uses [`validate`].
pub fn validate_prefix(buf: &[u8]) -> Result<usize, RlpError> {
    if buf.is_empty() {
        return Err(RlpError::Empty);
    }
    // The ends of the lists we are inside, innermost last. The walk is iterative so hostile
    // nesting cannot exhaust the call stack; the depth limit bounds this vector.
    let top = header(buf, 0, buf.len())?;
    let item_end = top.end;
    if !top.is_list {
        return Ok(item_end);
    }
    let mut open: Vec<usize> = vec![top.end];
    let mut pos = top.start;
    while let Some(&limit) = open.last() {
        if pos == limit {
            open.pop();
            continue;
        }
        let h = header(buf, pos, limit)?;
        if h.is_list {
            if open.len() >= RLP_DEPTH_MAX {
                return Err(RlpError::TooDeep { offset: pos });
            }
            open.push(h.end);
            pos = h.start;
        } else {
            pos = h.end;
        }
    }
    Ok(item_end)
}

/// Checks that `buf` is exactly one canonical RLP item, with nothing after it.
pub fn validate(buf: &[u8]) -> Result<(), RlpError> {
    let len = validate_prefix(buf)?;
    if len != buf.len() {
        return Err(RlpError::TrailingBytes { offset: len });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_items() {
        for ok in [
            &[0x00][..],
            &[0x7f],
            &[0x80],
            &[0x81, 0x80],
            &[0xc0],
            &[0xc2, 0x80, 0xc0],
            &[0xc7, 0xc0, 0xc1, 0xc0, 0xc3, 0xc0, 0xc1, 0xc0],
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok:02x?}");
        }
        let mut long = vec![0xb8, 56];
        long.extend([7u8; 56]);
        assert_eq!(validate(&long), Ok(()));
    }

    #[test]
    fn refuses_non_canonical_and_truncated_items() {
        assert_eq!(validate(&[]), Err(RlpError::Empty));
        assert_eq!(
            validate(&[0x81, 0x05]),
            Err(RlpError::NonCanonicalSingleByte { offset: 0 })
        );
        assert_eq!(
            validate(&[0xb8, 0x01, 0xff]),
            Err(RlpError::NonCanonicalLength { offset: 0 })
        );
        assert_eq!(
            validate(&[0xb9, 0x00, 0x40]),
            Err(RlpError::LeadingZeroLength { offset: 0 })
        );
        assert_eq!(
            validate(&[0xc2, 0x83, 0x01]),
            Err(RlpError::Truncated { offset: 1 })
        );
        assert_eq!(
            validate(&[0x80, 0x80]),
            Err(RlpError::TrailingBytes { offset: 1 })
        );
        // An inner item may not borrow bytes that lie after its enclosing list.
        assert_eq!(
            validate(&[0xc1, 0x82, 0x01, 0x02]),
            Err(RlpError::Truncated { offset: 1 })
        );
    }

    #[test]
    fn prefix_ignores_trailing_padding() {
        assert_eq!(validate_prefix(&[0xc1, 0x80, 0, 0, 0]), Ok(2));
    }

    /// `depth` lists, each holding the next, the innermost empty.
    fn nested(depth: usize) -> Vec<u8> {
        let mut item = vec![0xc0u8];
        for _ in 1..depth {
            let mut outer = if item.len() <= 55 {
                vec![0xc0 + item.len() as u8]
            } else {
                vec![0xf8, item.len() as u8]
            };
            outer.extend(&item);
            item = outer;
        }
        item
    }

    #[test]
    fn depth_is_bounded() {
        assert_eq!(validate(&nested(RLP_DEPTH_MAX)), Ok(()));
        assert!(matches!(
            validate(&nested(RLP_DEPTH_MAX + 1)),
            Err(RlpError::TooDeep { .. })
        ));
    }
}
