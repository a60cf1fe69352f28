//! Chain files: reading concatenated RLP blocks (the `geth export` / hivechain `chain.rlp`
//! format, each block `[header, txs, ommers]` or `[header, txs, ommers, withdrawals]`) and
//! receipts lists from a stream with bounded memory.
//!
//! [`RlpReader`] reads one top-level item at a time, checking its declared length against a
//! limit before allocating, and validates it as canonical RLP. Checking a block against its
//! header and linking it to the one before is [`super::verify`]'s; the import command runs
//! both.

use std::io::{self, Read};

// The limit belongs to the block; the reader applies it to a receipts file.
use super::verify::ImportError;
pub use super::verify::RECEIPTS_SIZE_MAX;
use crate::rlp::strict;

/// Largest block item accepted: the eth protocol's 10 MiB message limit
/// (`eth::MESSAGE_SIZE_MAX`, 10 MiB, which a block must fit in to be gossiped or served) plus
/// a 1 MiB margin for the header and list framing. A unit test in `eth` keeps the two in step;
/// chain sits below eth and does not import it.
pub const BLOCK_SIZE_MAX: usize = 10 * 1024 * 1024 + 1024 * 1024;

/// Reads one top-level RLP item at a time from a stream, refusing items over a limit before
/// allocating for them.
pub struct RlpReader<R> {
    inner: R,
    limit: usize,
    /// Items read so far (0-based index of the next one, for error messages).
    index: u64,
}

impl<R: Read> RlpReader<R> {
    /// A reader of items of at most `limit` bytes (header included).
    pub fn new(inner: R, limit: usize) -> Self {
        RlpReader {
            inner,
            limit,
            index: 0,
        }
    }

    /// The next item, validated as canonical RLP; `None` at a clean end of the stream.
    pub fn next_item(&mut self) -> Result<Option<Vec<u8>>, ImportError> {
        let index = self.index;
        let mut first = [0u8; 1];
        if read_full(&mut self.inner, &mut first)? == 0 {
            return Ok(None);
        }
        let mut item = vec![first[0]];
        // The length of the length, for the long forms; the payload length otherwise.
        let (len_of_len, short_len) = match first[0] {
            0x00..=0x7f => (0, 0),
            b @ 0x80..=0xb7 => (0, u64::from(b - 0x80)),
            b @ 0xb8..=0xbf => (usize::from(b - 0xb7), 0),
            b @ 0xc0..=0xf7 => (0, u64::from(b - 0xc0)),
            b @ 0xf8..=0xff => (usize::from(b - 0xf7), 0),
        };
        let payload_len = if len_of_len > 0 {
            let mut buf = [0u8; 8];
            let slot = buf
                .get_mut(8 - len_of_len..)
                .ok_or(ImportError::Truncated { index })?;
            if read_full(&mut self.inner, slot)? != len_of_len {
                return Err(ImportError::Truncated { index });
            }
            item.extend_from_slice(slot);
            u64::from_be_bytes(buf)
        } else {
            short_len
        };
        let total = (item.len() as u64).saturating_add(payload_len);
        if total > self.limit as u64 {
            return Err(ImportError::TooLarge {
                index,
                len: total,
                limit: self.limit,
            });
        }
        let header_len = item.len();
        // Bounded by the check above.
        item.resize(total as usize, 0);
        let payload = item
            .get_mut(header_len..)
            .ok_or(ImportError::Truncated { index })?;
        if read_full(&mut self.inner, payload)? != payload.len() {
            return Err(ImportError::Truncated { index });
        }
        strict::validate(&item).map_err(|e| ImportError::Malformed {
            number: None,
            index,
            what: e.to_string(),
        })?;
        self.index += 1;
        Ok(Some(item))
    }
}

/// Fills `buf` as far as the stream allows; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, ImportError> {
    let mut done = 0;
    while done < buf.len() {
        let Some(rest) = buf.get_mut(done..) else {
            break;
        };
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ImportError::Io(e)),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_splits_items_and_stops_cleanly() {
        let mut data = rlp::encode_list::<u64, u64>(&[1, 2, 3]).to_vec();
        data.extend_from_slice(&rlp::encode(&vec![0u8; 100]));
        data.push(0x05);
        let mut r = RlpReader::new(data.as_slice(), 1000);
        assert_eq!(r.next_item().unwrap().unwrap(), [0xc3, 1, 2, 3]);
        assert_eq!(r.next_item().unwrap().unwrap().len(), 102);
        assert_eq!(r.next_item().unwrap().unwrap(), [0x05]);
        assert!(r.next_item().unwrap().is_none());
    }

    #[test]
    fn reader_refuses_oversized_and_truncated_items_before_reading_them() {
        // A declared length of 2^40 bytes: refused from its header alone.
        let huge = [0xfd, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00];
        let mut r = RlpReader::new(&huge[..], 1 << 20);
        assert!(matches!(
            r.next_item(),
            Err(ImportError::TooLarge { index: 0, .. })
        ));
        let cut = [0xc3, 0x01];
        let mut r = RlpReader::new(&cut[..], 100);
        assert!(matches!(
            r.next_item(),
            Err(ImportError::Truncated { index: 0 })
        ));
        let cut_len = [0xf9, 0x01];
        let mut r = RlpReader::new(&cut_len[..], 1000);
        assert!(matches!(
            r.next_item(),
            Err(ImportError::Truncated { index: 0 })
        ));
        // Non-canonical: a single small byte wrapped in a string header.
        let bad = [0x81, 0x05];
        let mut r = RlpReader::new(&bad[..], 100);
        assert!(matches!(r.next_item(), Err(ImportError::Malformed { .. })));
    }
}
