//! Snappy compression of message payloads (devp2p rlpx.md "Message Snappy Compression").
//!
//! Once both Hellos advertise p2p version 5 or later, every message after Hello carries its
//! payload in the snappy *block* format (no stream framing): a varint of the decoded length
//! followed by literal and copy elements. The msg-id stays outside the compression.
//!
//! Decoding is bounded: the decoded length is read from the varint and checked against the
//! caller's limit before any buffer is allocated, so a 3-byte input cannot ask us for a gigabyte;
//! and against what the bytes after it could expand to (at most 64/3 per byte), so a 5-byte
//! input cannot ask for 16 MiB within the limit either.

use std::fmt;

/// The largest decoded payload rlpx.md allows: a message whose snappy length header exceeds
/// 16 MiB - 1 must be refused (go-ethereum: "message length >= 16MB").
pub const DECODED_SIZE_MAX: usize = (1 << 24) - 1;

/// The most bytes one byte of snappy block data can decode to, as a fraction: a 3-byte copy
/// element (tag and 2-byte offset) repeats up to 64 bytes, and no element does better (a 2-byte
/// copy makes at most 11, a 5-byte one 64, a literal less than its own length).
const EXPANSION_NUM: usize = 64;
const EXPANSION_DEN: usize = 3;

/// The most a snappy block whose elements take `body` bytes can decode to.
pub fn expansion_max(body: usize) -> usize {
    body.saturating_mul(EXPANSION_NUM) / EXPANSION_DEN
}

/// Why a payload could not be compressed or decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnappyError {
    /// The length header announces more than the caller allows.
    TooLarge { size: usize, max: usize },
    /// The length header announces more than the compressed bytes after it could expand to.
    Implausible { size: usize, most: usize },
    /// The input is not valid snappy block data.
    Corrupt(String),
    /// The input to compress is larger than the snappy block format can describe.
    InputTooLarge(usize),
}

impl fmt::Display for SnappyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnappyError::TooLarge { size, max } => {
                write!(
                    f,
                    "snappy payload decodes to {size} bytes, over the limit of {max}"
                )
            }
            SnappyError::Implausible { size, most } => write!(
                f,
                "snappy payload says it decodes to {size} bytes, its data can make at most {most}"
            ),
            SnappyError::Corrupt(why) => write!(f, "corrupt snappy payload: {why}"),
            SnappyError::InputTooLarge(n) => write!(f, "{n} bytes are too many to compress"),
        }
    }
}

impl std::error::Error for SnappyError {}

/// Appends the snappy block encoding of `src` to `out`.
pub fn compress_into(src: &[u8], out: &mut Vec<u8>) -> Result<(), SnappyError> {
    let bound = snap::raw::max_compress_len(src.len());
    if bound == 0 && !src.is_empty() {
        return Err(SnappyError::InputTooLarge(src.len()));
    }
    let start = out.len();
    out.resize(start + bound.max(1), 0);
    match snap::raw::Encoder::new().compress(src, &mut out[start..]) {
        Ok(n) => {
            out.truncate(start + n);
            Ok(())
        }
        Err(_) => {
            out.truncate(start);
            Err(SnappyError::InputTooLarge(src.len()))
        }
    }
}

/// The snappy block encoding of `src`.
pub fn compress(src: &[u8]) -> Result<Vec<u8>, SnappyError> {
    let mut out = Vec::new();
    compress_into(src, &mut out)?;
    Ok(out)
}

/// The decoded length announced by the varint at the start of `src`, refused if over `max_len`.
pub fn decoded_len(src: &[u8], max_len: usize) -> Result<usize, SnappyError> {
    let size = snap::raw::decompress_len(src).map_err(|e| match e {
        // snap itself refuses lengths over 2^32 - 1; that is the same refusal as ours.
        snap::Error::TooBig { given, .. } => SnappyError::TooLarge {
            size: usize::try_from(given).unwrap_or(usize::MAX),
            max: max_len,
        },
        other => SnappyError::Corrupt(other.to_string()),
    })?;
    if size > max_len {
        return Err(SnappyError::TooLarge { size, max: max_len });
    }
    Ok(size)
}

/// The length of the varint `decoded_len` has already read (at most 5 bytes, all continuation
/// bits but the last set).
fn varint_len(src: &[u8]) -> usize {
    src.iter()
        .position(|b| b & 0x80 == 0)
        .map_or(src.len(), |i| i + 1)
}

/// Decodes `src`, refusing (before allocating) a payload that would decode to over `max_len`
/// bytes. Callers pass the limit of the protocol the message belongs to, at most
/// [`DECODED_SIZE_MAX`].
pub fn decompress(src: &[u8], max_len: usize) -> Result<Vec<u8>, SnappyError> {
    let size = decoded_len(src, max_len.min(DECODED_SIZE_MAX))?;
    // A small input may still announce up to the limit: refuse what its elements cannot make.
    let body = src.len() - varint_len(src);
    let most = expansion_max(body);
    if size > most {
        return Err(SnappyError::Implausible { size, most });
    }
    let mut out = vec![0u8; size];
    let n = snap::raw::Decoder::new()
        .decompress(src, &mut out)
        .map_err(|e| SnappyError::Corrupt(e.to_string()))?;
    if n != size {
        return Err(SnappyError::Corrupt(format!(
            "decoded {n} bytes, header said {size}"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_including_empty() {
        for src in [
            &b""[..],
            b"\xc0",
            &[0u8; 1000][..],
            b"hello hello hello hello",
        ] {
            let c = compress(src).unwrap();
            assert_eq!(decompress(&c, DECODED_SIZE_MAX).unwrap(), src);
        }
    }

    #[test]
    fn length_header_over_limit_is_refused() {
        // varint 101 then junk: refused with limit 100, before looking at the junk.
        let src = [101u8, 0xff, 0xff];
        assert_eq!(
            decompress(&src, 100),
            Err(SnappyError::TooLarge {
                size: 101,
                max: 100
            })
        );
    }

    #[test]
    fn limit_is_capped_at_the_protocol_maximum() {
        // varint for 2^24 (0x80 0x80 0x80 0x08) is over DECODED_SIZE_MAX even with usize::MAX.
        let src = [0x80, 0x80, 0x80, 0x08, 0x00];
        assert!(matches!(
            decompress(&src, usize::MAX),
            Err(SnappyError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_five_byte_payload_declaring_16_mib_is_refused_before_allocating() {
        // varint 2^24 - 1 (four bytes) then one byte: at most 21 bytes could come out of it.
        let src = [0xff, 0xff, 0xff, 0x07, 0x00];
        assert_eq!(
            decompress(&src, DECODED_SIZE_MAX),
            Err(SnappyError::Implausible {
                size: DECODED_SIZE_MAX,
                most: 21
            })
        );
    }

    #[test]
    fn the_most_compressible_input_is_within_the_bound() {
        // 2^24 - 1 zeros compress to runs of 3-byte copies of 64: close to the bound, never over.
        let plain = vec![0u8; DECODED_SIZE_MAX];
        let c = compress(&plain).unwrap();
        let body = c.len() - varint_len(&c);
        assert!(expansion_max(body) >= plain.len());
        assert!(
            expansion_max(body) < plain.len() + plain.len() / 100,
            "bound is loose"
        );
        assert_eq!(decompress(&c, DECODED_SIZE_MAX).unwrap(), plain);
    }

    #[test]
    fn truncated_data_is_corrupt() {
        let mut c = compress(&[7u8; 100]).unwrap();
        c.pop();
        assert!(matches!(
            decompress(&c, DECODED_SIZE_MAX),
            Err(SnappyError::Corrupt(_))
        ));
    }
}
