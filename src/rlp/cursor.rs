//! Reading validated RLP: a cursor over a payload that [`super::strict`] has already checked,
//! the canonical integer rules of the Yellow Paper appendix B, and [`RawList`], a list kept as
//! its RLP bytes (headers, bodies, transactions, receipt lists).
//!
//! Every decoder validates the whole payload first (`top`), so the header arithmetic here
//! cannot meet a malformed item; it still returns errors rather than trusting that, so a caller
//! that forgets to validate gets an error and never a panic. Size limits belong to the caller
//! (an eth message's 10 MiB, a transaction's own cap), checked before `top`.

use std::fmt;

use ::rlp::RlpStream;

use super::{RlpDecodeError, strict};

/// A 32-byte hash (block, transaction, storage key).
pub type Hash = [u8; 32];

/// One RLP item inside a validated payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    /// The item's whole encoding, header included.
    pub raw: &'a [u8],
    /// Whether the item is a list.
    pub is_list: bool,
    /// The item's payload: a string's bytes, or a list's concatenated items.
    pub payload: &'a [u8],
}

/// Splits the item at the start of `bytes` from what follows it.
fn split_item(bytes: &[u8]) -> Result<(Item<'_>, &[u8]), RlpDecodeError> {
    let short = RlpDecodeError::Malformed("RLP item runs past its list");
    let info = rlp::PayloadInfo::from(bytes).map_err(|_| short.clone())?;
    let total = info
        .header_len
        .checked_add(info.value_len)
        .ok_or(short.clone())?;
    let raw = bytes.get(..total).ok_or(short.clone())?;
    let payload = raw.get(info.header_len..).ok_or(short.clone())?;
    let rest = bytes.get(total..).ok_or(short)?;
    let is_list = raw.first().is_some_and(|&b| b >= 0xc0);
    Ok((
        Item {
            raw,
            is_list,
            payload,
        },
        rest,
    ))
}

/// Checks that a whole payload is one canonical RLP item, and returns that item. The caller has
/// checked the payload's size against its own limit first.
pub(crate) fn top(payload: &[u8]) -> Result<Item<'_>, RlpDecodeError> {
    strict::validate(payload)?;
    let (item, _) = split_item(payload)?;
    Ok(item)
}

/// The items of a list, in order.
#[derive(Debug, Clone)]
pub(crate) struct Items<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Item<'a>, RlpDecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match split_item(self.rest) {
            Ok((item, rest)) => {
                self.rest = rest;
                Some(Ok(item))
            }
            Err(e) => {
                // Stop after an error so a caller that keeps iterating terminates.
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl<'a> Items<'a> {
    /// The next item, or `Malformed(what)` when the list has ended.
    pub fn field(&mut self, what: &'static str) -> Result<Item<'a>, RlpDecodeError> {
        self.next().unwrap_or(Err(RlpDecodeError::Malformed(what)))
    }

    /// Checks that the list has no items left: eth messages have fixed shapes, and go-ethereum
    /// refuses extra elements too.
    pub fn end(mut self, what: &'static str) -> Result<(), RlpDecodeError> {
        match self.next() {
            None => Ok(()),
            Some(_) => Err(RlpDecodeError::Malformed(what)),
        }
    }

    /// Counts the remaining items without allocating.
    pub fn count_items(&self) -> Result<usize, RlpDecodeError> {
        self.clone().try_fold(0usize, |n, item| item.map(|_| n + 1))
    }
}

impl<'a> Item<'a> {
    /// The items of this list; `Malformed(what)` if it is a string.
    pub fn list(&self, what: &'static str) -> Result<Items<'a>, RlpDecodeError> {
        if !self.is_list {
            return Err(RlpDecodeError::Malformed(what));
        }
        Ok(Items { rest: self.payload })
    }

    /// The bytes of this string; `Malformed(what)` if it is a list.
    pub fn bytes(&self, what: &'static str) -> Result<&'a [u8], RlpDecodeError> {
        if self.is_list {
            return Err(RlpDecodeError::Malformed(what));
        }
        Ok(self.payload)
    }

    /// A canonical unsigned integer of at most 64 bits: no leading zero byte (so zero is the
    /// empty string), as go-ethereum's decoder also insists.
    pub fn uint(&self, what: &'static str) -> Result<u64, RlpDecodeError> {
        let bytes = self.bytes(what)?;
        if bytes.len() > 8 || bytes.first() == Some(&0) {
            return Err(RlpDecodeError::Malformed(what));
        }
        Ok(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
    }

    /// A canonical unsigned integer of at most 256 bits, as 32 big-endian bytes.
    pub fn uint256(&self, what: &'static str) -> Result<[u8; 32], RlpDecodeError> {
        let bytes = self.bytes(what)?;
        if bytes.len() > 32 || bytes.first() == Some(&0) {
            return Err(RlpDecodeError::Malformed(what));
        }
        let mut out = [0u8; 32];
        out[32 - bytes.len()..].copy_from_slice(bytes);
        Ok(out)
    }

    /// A string of exactly `N` bytes.
    pub fn fixed<const N: usize>(&self, what: &'static str) -> Result<[u8; N], RlpDecodeError> {
        self.bytes(what)?
            .try_into()
            .map_err(|_| RlpDecodeError::Malformed(what))
    }

    /// A 32-byte hash.
    pub fn hash(&self, what: &'static str) -> Result<Hash, RlpDecodeError> {
        self.fixed::<32>(what)
    }

    /// A boolean as go-ethereum encodes it: `0x80` is false and `0x01` true; nothing else.
    pub fn boolean(&self, what: &'static str) -> Result<bool, RlpDecodeError> {
        match self.raw {
            [0x80] => Ok(false),
            [0x01] => Ok(true),
            _ => Err(RlpDecodeError::Malformed(what)),
        }
    }
}

/// A 256-bit integer's minimal big-endian bytes, which RLP encodes as a string.
pub(crate) fn trim_uint256(value: &[u8; 32]) -> &[u8] {
    let start = value.iter().position(|&b| b != 0).unwrap_or(32);
    &value[start..]
}

/// The items of a list and their count, refusing more than `max` items before anything is
/// allocated for them (`what` names the list in the error).
pub(crate) fn bounded_list<'a>(
    item: Item<'a>,
    what: &'static str,
    max: usize,
) -> Result<(Items<'a>, usize), RlpDecodeError> {
    let items = item.list(what)?;
    let count = items.count_items()?;
    if count > max {
        return Err(RlpDecodeError::TooLarge {
            what,
            size: count,
            max,
        });
    }
    Ok((items, count))
}

/// Reads a list of hashes, refusing more than `max` before allocating for them.
pub(crate) fn hashes(
    item: Item<'_>,
    what: &'static str,
    max: usize,
) -> Result<Vec<Hash>, RlpDecodeError> {
    let (items, count) = bounded_list(item, what, max)?;
    let mut out = Vec::with_capacity(count);
    for h in items {
        out.push(h?.hash(what)?);
    }
    Ok(out)
}

/// An RLP list kept as its encoding: the headers of BlockHeaders, the bodies of BlockBodies,
/// transactions, receipt lists. Reading it never copies items; [`RawList::iter`] yields each
/// item's exact RLP, so a message re-encodes byte for byte.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RawList {
    /// The list's whole encoding (`0xc0` when empty).
    encoded: Vec<u8>,
    /// The number of items, counted once.
    len: usize,
}

impl RawList {
    /// The empty list.
    pub fn new() -> Self {
        RawList {
            encoded: vec![0xc0],
            len: 0,
        }
    }

    /// A list of these items, each of which must be exactly one canonical RLP item.
    pub fn from_items<I, T>(items: I) -> Result<Self, RlpDecodeError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut body = Vec::new();
        let mut len = 0;
        for item in items {
            let item = item.as_ref();
            strict::validate(item)?;
            body.extend_from_slice(item);
            len += 1;
        }
        let mut s = RlpStream::new();
        s.begin_unbounded_list();
        s.append_raw(&body, len);
        s.finalize_unbounded_list();
        Ok(RawList {
            encoded: s.out().to_vec(),
            len,
        })
    }

    /// A list read from a validated payload.
    pub(crate) fn from_item(item: Item<'_>, what: &'static str) -> Result<Self, RlpDecodeError> {
        let len = item.list(what)?.count_items()?;
        Ok(RawList {
            encoded: item.raw.to_vec(),
            len,
        })
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no items.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each item's RLP encoding, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.items().map_while(Result::ok).map(|item| item.raw)
    }

    /// The list's whole RLP encoding.
    pub fn as_rlp(&self) -> &[u8] {
        &self.encoded
    }

    /// The items as cursors, for the decoders that check their shapes.
    pub(crate) fn items(&self) -> Items<'_> {
        match split_item(&self.encoded) {
            Ok((item, _)) => Items { rest: item.payload },
            Err(_) => Items { rest: &[] },
        }
    }
}

impl fmt::Debug for RawList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lists can be megabytes; their size says enough in logs and assertion messages.
        write!(
            f,
            "RawList({} items, {} bytes)",
            self.len,
            self.encoded.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_must_be_canonical() {
        let read = |bytes: &[u8]| top(bytes).and_then(|i| i.uint("n"));
        assert_eq!(read(&[0x80]), Ok(0));
        assert_eq!(read(&[0x7f]), Ok(127));
        assert_eq!(read(&[0x82, 0x04, 0x57]), Ok(1111));
        assert_eq!(read(&[0x00]), Err(RlpDecodeError::Malformed("n")));
        assert_eq!(
            read(&[0x82, 0x00, 0x01]),
            Err(RlpDecodeError::Malformed("n"))
        );
        assert_eq!(
            read(&[0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(RlpDecodeError::Malformed("n"))
        );
        assert_eq!(
            read(&[0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Ok(u64::MAX)
        );
        assert_eq!(read(&[0xc0]), Err(RlpDecodeError::Malformed("n")));
    }

    #[test]
    fn booleans_are_0x80_or_0x01() {
        let read = |bytes: &[u8]| top(bytes).and_then(|i| i.boolean("b"));
        assert_eq!(read(&[0x80]), Ok(false));
        assert_eq!(read(&[0x01]), Ok(true));
        assert!(read(&[0x02]).is_err());
        assert!(read(&[0x00]).is_err());
    }

    #[test]
    fn uint256_round_trips_through_trim() {
        let item = top(&[0x83, 0x01, 0x00, 0x00]).unwrap();
        let v = item.uint256("td").unwrap();
        assert_eq!(v[29..], [1, 0, 0]);
        assert_eq!(trim_uint256(&v), &[1, 0, 0]);
        assert_eq!(trim_uint256(&[0; 32]), &[] as &[u8]);
    }

    #[test]
    fn raw_list_keeps_items_exactly() {
        let items: [&[u8]; 3] = [&[0x01], &[0x82, 0xaa, 0xbb], &[0xc1, 0x80]];
        let list = RawList::from_items(items).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list.as_rlp(), &[0xc6, 0x01, 0x82, 0xaa, 0xbb, 0xc1, 0x80]);
        assert_eq!(list.iter().collect::<Vec<_>>(), items.to_vec());
        assert_eq!(RawList::new().as_rlp(), &[0xc0]);
        assert!(RawList::from_items([&[0x81, 0x01][..]]).is_err());
        assert!(RawList::from_items([&[0x80, 0x80][..]]).is_err());
    }
}
