//! GetReceipts and Receipts in their three shapes, the receipt itself in its two encodings, and
//! the logs bloom (devp2p caps/eth.md "Receipt Encoding and Validity", "GetReceipts (0x0f)",
//! "Receipts (0x10)" at the eth/68, eth/69 and eth/70 revisions; EIP-2718, EIP-7642, EIP-7975;
//! the Yellow Paper's bloom function M3:2048).
//!
//! - eth/68: `GetReceipts [request-id, [blockhash, ...]]`,
//!   `Receipts [request-id, [[receipt, ...], ...]]` with receipts in the consensus encoding:
//!   a legacy receipt is the list `[post-state-or-status, cumulative-gas, bloom, logs]`, a typed
//!   one is a byte string holding `tx-type || rlp(that list)`.
//! - eth/69: the same messages, but every receipt is `[tx-type, post-state-or-status,
//!   cumulative-gas, logs]`: no bloom, no byte-string wrapping ([`ReceiptForm::Network`]).
//! - eth/70: `GetReceipts [request-id, firstBlockReceiptIndex, [blockhash, ...]]` and
//!   `Receipts [request-id, lastBlockIncomplete, [[receipt, ...], ...]]`, receipts as in eth/69.
//!   The first list of a reply starts at `firstBlockReceiptIndex`; `lastBlockIncomplete = 1`
//!   says the last list was cut to keep the reply under 10 MiB and the rest must be requested.
//!
//! A block's receipts are checked against its header's receipts root in the consensus
//! encoding, so a node that fetched eth/69 receipts converts them back, recomputing each bloom
//! ([`bloom`]); a node that stores consensus receipts converts the other way to serve eth/69.

use rlp::RlpStream;

use super::top;
use super::{EthError, EthVersion, Hash, LOG_TOPICS_COUNT_MAX, REQUEST_HASHES_COUNT_MAX, RawList};
use crate::crypto::keccak256;
use crate::rlp::cursor::{Item, hashes};

/// The 2048-bit logs bloom, as it appears in headers and consensus receipts.
pub type Bloom = [u8; 256];

/// The largest transaction type EIP-2718 allows; higher first bytes are RLP list headers.
const TX_TYPE_MAX: u64 = 0x7f;

/// One log entry: `[address: B_20, topics: [B_32, ...], data: B]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The emitting contract.
    pub address: [u8; 20],
    /// Up to four indexed topics.
    pub topics: Vec<Hash>,
    /// The unindexed data.
    pub data: Vec<u8>,
}

/// A transaction receipt, independent of its wire encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The EIP-2718 type of the transaction (0 for legacy).
    pub tx_type: u8,
    /// Since Byzantium the status: empty for failure, `[1]` for success; before it, the
    /// 32-byte post-transaction state root.
    pub post_state_or_status: Vec<u8>,
    /// Gas used by the block up to and including this transaction.
    pub cumulative_gas: u64,
    /// The logs the transaction emitted.
    pub logs: Vec<Log>,
}

/// Which receipt encoding a Receipts message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptForm {
    /// eth/68: the consensus encoding, with bloom, typed receipts wrapped in byte strings.
    Consensus,
    /// eth/69 and eth/70: `[tx-type, post-state-or-status, cumulative-gas, logs]`.
    Network,
}

impl ReceiptForm {
    /// The form a version's Receipts message uses.
    pub fn of(version: EthVersion) -> ReceiptForm {
        if version.has_block_range() {
            ReceiptForm::Network
        } else {
            ReceiptForm::Consensus
        }
    }
}

/// Sets the three bloom bits of one address or topic: the low 11 bits of each of the first
/// three big-endian 16-bit words of its keccak-256 hash, counted from the bloom's last byte.
fn bloom_add(bloom: &mut Bloom, value: &[u8]) {
    let h = keccak256(value);
    for pair in h.chunks_exact(2).take(3) {
        if let [hi, lo] = pair {
            let bit = ((usize::from(*hi) << 8) | usize::from(*lo)) & 2047;
            if let Some(byte) = bloom.get_mut(255 - bit / 8) {
                *byte |= 1 << (bit % 8);
            }
        }
    }
}

/// The logs bloom of these logs: every address and every topic added.
pub fn bloom(logs: &[Log]) -> Bloom {
    let mut b = [0u8; 256];
    for log in logs {
        bloom_add(&mut b, &log.address);
        for topic in &log.topics {
            bloom_add(&mut b, topic);
        }
    }
    b
}

fn decode_log(item: Item<'_>) -> Result<Log, EthError> {
    let mut f = item.list("log is not a list")?;
    let address = f.field("log address")?.fixed::<20>("log address")?;
    let topic_items = f.field("log topics")?.list("log topics")?;
    let count = topic_items.count_items()?;
    if count > LOG_TOPICS_COUNT_MAX {
        return Err(EthError::too_large(
            "log topics",
            count,
            LOG_TOPICS_COUNT_MAX,
        ));
    }
    let mut topics = Vec::with_capacity(count);
    for t in topic_items {
        topics.push(t?.hash("log topic")?);
    }
    let data = f.field("log data")?.bytes("log data")?.to_vec();
    f.end("extra log fields")?;
    Ok(Log {
        address,
        topics,
        data,
    })
}

fn decode_logs(item: Item<'_>) -> Result<Vec<Log>, EthError> {
    // Each log is at least 24 bytes of RLP, so the count is bounded by the payload size.
    item.list("receipt logs")?.map(|l| decode_log(l?)).collect()
}

fn decode_status(item: Item<'_>) -> Result<Vec<u8>, EthError> {
    let status = item.bytes("receipt post-state-or-status")?;
    // A status is 0 or 1 byte, a pre-Byzantium post-state root 32 (go-ethereum checks the same).
    if status.len() > 1 && status.len() != 32 {
        return Err(EthError::malformed("receipt post-state-or-status"));
    }
    Ok(status.to_vec())
}

impl Receipt {
    /// Decodes one receipt in the eth/69 encoding.
    pub fn from_network(rlp: &[u8]) -> Result<Receipt, EthError> {
        Self::decode_network(top(rlp)?)
    }

    /// Decodes one receipt in the consensus encoding (an eth/68 Receipts item, or a
    /// receipts-trie value), refusing it if its bloom does not match its logs.
    pub fn from_consensus(rlp: &[u8]) -> Result<Receipt, EthError> {
        let (receipt, received) = Self::decode_consensus(top(rlp)?)?;
        if received != receipt.bloom() {
            return Err(EthError::malformed("receipt bloom does not match its logs"));
        }
        Ok(receipt)
    }

    pub(crate) fn decode_network(item: Item<'_>) -> Result<Receipt, EthError> {
        let mut f = item.list("receipt is not a list")?;
        let tx_type = f.field("receipt tx-type")?.uint("receipt tx-type")?;
        let tx_type = u8::try_from(tx_type)
            .ok()
            .filter(|&t| u64::from(t) <= TX_TYPE_MAX)
            .ok_or(EthError::malformed("receipt tx-type"))?;
        let post_state_or_status = decode_status(f.field("receipt post-state-or-status")?)?;
        let cumulative_gas = f
            .field("receipt cumulative-gas")?
            .uint("receipt cumulative-gas")?;
        let logs = decode_logs(f.field("receipt logs")?)?;
        f.end("extra receipt fields")?;
        Ok(Receipt {
            tx_type,
            post_state_or_status,
            cumulative_gas,
            logs,
        })
    }

    /// Decodes a consensus receipt item and returns the bloom it carried.
    pub(crate) fn decode_consensus(item: Item<'_>) -> Result<(Receipt, Bloom), EthError> {
        if item.is_list {
            return Self::decode_consensus_list(0, item);
        }
        // A typed receipt: the string holds the type byte and then one RLP list.
        let bytes = item.payload;
        let (&tx_type, inner) = bytes
            .split_first()
            .ok_or(EthError::malformed("empty typed receipt"))?;
        if tx_type == 0 || u64::from(tx_type) > TX_TYPE_MAX {
            return Err(EthError::malformed("typed receipt type"));
        }
        let inner = top(inner)?;
        if !inner.is_list {
            return Err(EthError::malformed("typed receipt payload is not a list"));
        }
        Self::decode_consensus_list(tx_type, inner)
    }

    fn decode_consensus_list(tx_type: u8, item: Item<'_>) -> Result<(Receipt, Bloom), EthError> {
        let mut f = item.list("receipt is not a list")?;
        let post_state_or_status = decode_status(f.field("receipt post-state-or-status")?)?;
        let cumulative_gas = f
            .field("receipt cumulative-gas")?
            .uint("receipt cumulative-gas")?;
        let bloom = f.field("receipt bloom")?.fixed::<256>("receipt bloom")?;
        let logs = decode_logs(f.field("receipt logs")?)?;
        f.end("extra receipt fields")?;
        let receipt = Receipt {
            tx_type,
            post_state_or_status,
            cumulative_gas,
            logs,
        };
        Ok((receipt, bloom))
    }

    /// The logs bloom of this receipt.
    pub fn bloom(&self) -> Bloom {
        bloom(&self.logs)
    }

    fn append_logs(&self, s: &mut RlpStream) {
        s.begin_list(self.logs.len());
        for log in &self.logs {
            s.begin_list(3);
            s.append(&log.address.as_slice());
            s.begin_list(log.topics.len());
            for t in &log.topics {
                s.append(&t.as_slice());
            }
            s.append(&log.data.as_slice());
        }
    }

    /// The eth/69 encoding: `[tx-type, post-state-or-status, cumulative-gas, logs]`.
    pub fn to_network(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(4);
        s.append(&self.tx_type);
        s.append(&self.post_state_or_status.as_slice());
        s.append(&self.cumulative_gas);
        self.append_logs(&mut s);
        s.out().to_vec()
    }

    /// The value stored in the receipts trie (EIP-2718): `rlp([status, gas, bloom, logs])` for
    /// a legacy receipt, `tx-type || rlp([...])` for a typed one. The bloom is recomputed.
    pub fn trie_value(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(4);
        s.append(&self.post_state_or_status.as_slice());
        s.append(&self.cumulative_gas);
        s.append(&self.bloom().as_slice());
        self.append_logs(&mut s);
        let list = s.out();
        if self.tx_type == 0 {
            return list.to_vec();
        }
        let mut out = Vec::with_capacity(1 + list.len());
        out.push(self.tx_type);
        out.extend_from_slice(&list);
        out
    }

    /// The eth/68 encoding: the trie value itself for a legacy receipt, and for a typed one
    /// that value wrapped in an RLP byte string.
    pub fn to_consensus(&self) -> Vec<u8> {
        let value = self.trie_value();
        if self.tx_type == 0 {
            return value;
        }
        let mut s = RlpStream::new();
        s.append(&value.as_slice());
        s.out().to_vec()
    }
}

/// Re-encodes one block's receipt list (its RLP) from one form into the other. Going to the
/// consensus form recomputes every bloom; going to the network form drops them unchecked (the
/// receipts root, computed over the consensus bytes, is what vouches for stored receipts).
pub fn convert_block_receipts(
    list: &[u8],
    from: ReceiptForm,
    to: ReceiptForm,
) -> Result<Vec<u8>, EthError> {
    let item = top(list)?;
    let mut items = Vec::new();
    for r in item.list("block receipts is not a list")? {
        let r = r?;
        if from == to {
            items.push(r.raw.to_vec());
            continue;
        }
        let receipt = match from {
            ReceiptForm::Network => Receipt::decode_network(r)?,
            ReceiptForm::Consensus => Receipt::decode_consensus(r)?.0,
        };
        items.push(match to {
            ReceiptForm::Network => receipt.to_network(),
            ReceiptForm::Consensus => receipt.to_consensus(),
        });
    }
    Ok(RawList::from_items(items)?.as_rlp().to_vec())
}

/// GetReceipts: the receipt lists of these blocks. `first_block_receipt_index` is eth/70's
/// offset into the first block's list; it must be 0 in earlier versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetReceipts {
    /// Mirrored in the reply.
    pub request_id: u64,
    /// eth/70: receipts of the first block before this index are omitted.
    pub first_block_receipt_index: u64,
    /// The blocks whose receipts are wanted.
    pub hashes: Vec<Hash>,
}

impl GetReceipts {
    pub(crate) fn decode(version: EthVersion, item: Item<'_>) -> Result<Self, EthError> {
        let mut f = item.list("GetReceipts is not a list")?;
        let request_id = f
            .field("GetReceipts request-id")?
            .uint("GetReceipts request-id")?;
        let first_block_receipt_index = if version.has_partial_receipts() {
            f.field("GetReceipts firstBlockReceiptIndex")?
                .uint("GetReceipts firstBlockReceiptIndex")?
        } else {
            0
        };
        let hashes = hashes(
            f.field("GetReceipts hashes")?,
            "GetReceipts hashes",
            REQUEST_HASHES_COUNT_MAX,
        )?;
        f.end("extra GetReceipts fields")?;
        Ok(GetReceipts {
            request_id,
            first_block_receipt_index,
            hashes,
        })
    }

    pub(crate) fn encode(&self, version: EthVersion) -> Result<Vec<u8>, EthError> {
        let partial = version.has_partial_receipts();
        if !partial && self.first_block_receipt_index != 0 {
            return Err(EthError::WrongForm {
                what: "GetReceipts with a firstBlockReceiptIndex",
                version,
            });
        }
        let mut s = RlpStream::new_list(if partial { 3 } else { 2 });
        s.append(&self.request_id);
        if partial {
            s.append(&self.first_block_receipt_index);
        }
        s.begin_list(self.hashes.len());
        for h in &self.hashes {
            s.append(&h.as_slice());
        }
        Ok(s.out().to_vec())
    }
}

/// Receipts: one receipt list per requested block, each kept as its RLP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipts {
    /// The request id of the GetReceipts this answers.
    pub request_id: u64,
    /// eth/70: the last list stops short of the block's full list; always false before.
    pub last_block_incomplete: bool,
    /// The encoding of every receipt in `blocks`; fixed by the version.
    pub form: ReceiptForm,
    /// Each item is one block's list of receipts.
    pub blocks: RawList,
}

impl Receipts {
    /// A reply carrying these per-block receipts in the form `version` uses.
    pub fn from_receipts(
        version: EthVersion,
        request_id: u64,
        last_block_incomplete: bool,
        blocks: &[Vec<Receipt>],
    ) -> Result<Receipts, EthError> {
        let form = ReceiptForm::of(version);
        let mut lists = Vec::with_capacity(blocks.len());
        for block in blocks {
            let encoded = block.iter().map(|r| match form {
                ReceiptForm::Network => r.to_network(),
                ReceiptForm::Consensus => r.to_consensus(),
            });
            lists.push(RawList::from_items(encoded)?.as_rlp().to_vec());
        }
        Ok(Receipts {
            request_id,
            last_block_incomplete,
            form,
            blocks: RawList::from_items(lists)?,
        })
    }

    /// Every block's receipts, decoded. Consensus receipts whose bloom does not match their
    /// logs are refused.
    pub fn receipts(&self) -> Result<Vec<Vec<Receipt>>, EthError> {
        let mut out = Vec::with_capacity(self.blocks.len());
        for block in self.blocks.items() {
            let mut list = Vec::new();
            for r in block?.list("block receipts is not a list")? {
                list.push(match self.form {
                    ReceiptForm::Network => Receipt::decode_network(r?)?,
                    ReceiptForm::Consensus => {
                        let (receipt, received) = Receipt::decode_consensus(r?)?;
                        if received != receipt.bloom() {
                            return Err(EthError::malformed(
                                "receipt bloom does not match its logs",
                            ));
                        }
                        receipt
                    }
                });
            }
            out.push(list);
        }
        Ok(out)
    }

    /// The same reply with its receipts re-encoded in another form (to serve eth/69 from
    /// consensus receipts, or to check eth/69 receipts against a receipts root).
    pub fn to_form(&self, form: ReceiptForm) -> Result<Receipts, EthError> {
        let mut lists = Vec::with_capacity(self.blocks.len());
        for block in self.blocks.iter() {
            lists.push(convert_block_receipts(block, self.form, form)?);
        }
        Ok(Receipts {
            form,
            blocks: RawList::from_items(lists)?,
            ..*self
        })
    }

    pub(crate) fn decode(version: EthVersion, item: Item<'_>) -> Result<Self, EthError> {
        let mut f = item.list("Receipts is not a list")?;
        let request_id = f
            .field("Receipts request-id")?
            .uint("Receipts request-id")?;
        let last_block_incomplete = if version.has_partial_receipts() {
            f.field("Receipts lastBlockIncomplete")?
                .boolean("Receipts lastBlockIncomplete")?
        } else {
            false
        };
        let lists = f.field("Receipts lists")?;
        f.end("extra Receipts fields")?;
        let form = ReceiptForm::of(version);
        // Check every receipt's shape now, so a malformed reply is refused as a whole; blooms
        // are left to the receipts-root check.
        for block in lists.list("Receipts lists")? {
            for r in block?.list("block receipts is not a list")? {
                match form {
                    ReceiptForm::Network => drop(Receipt::decode_network(r?)?),
                    ReceiptForm::Consensus => drop(Receipt::decode_consensus(r?)?),
                }
            }
        }
        Ok(Receipts {
            request_id,
            last_block_incomplete,
            form,
            blocks: RawList::from_item(lists, "Receipts lists")?,
        })
    }

    pub(crate) fn encode(&self, version: EthVersion) -> Result<Vec<u8>, EthError> {
        if self.form != ReceiptForm::of(version) {
            return Err(EthError::WrongForm {
                what: match self.form {
                    ReceiptForm::Consensus => "Receipts in the consensus (eth/68) encoding",
                    ReceiptForm::Network => "Receipts in the eth/69 encoding",
                },
                version,
            });
        }
        let partial = version.has_partial_receipts();
        if !partial && self.last_block_incomplete {
            return Err(EthError::WrongForm {
                what: "Receipts with lastBlockIncomplete",
                version,
            });
        }
        let mut s = RlpStream::new_list(if partial { 3 } else { 2 });
        s.append(&self.request_id);
        if partial {
            s.append(&self.last_block_incomplete);
        }
        s.append_raw(self.blocks.as_rlp(), 1);
        Ok(s.out().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rlp::RlpDecodeError;

    fn sample(tx_type: u8) -> Receipt {
        Receipt {
            tx_type,
            post_state_or_status: vec![1],
            cumulative_gas: 21_000,
            logs: vec![Log {
                address: [0x11; 20],
                topics: vec![[0x22; 32], [0x33; 32]],
                data: vec![1, 2, 3],
            }],
        }
    }

    #[test]
    fn bloom_sets_three_bits_per_value() {
        let logs = vec![Log {
            address: [0xab; 20],
            topics: vec![],
            data: vec![],
        }];
        let b = bloom(&logs);
        let ones: u32 = b.iter().map(|x| x.count_ones()).sum();
        assert!((1..=3).contains(&ones), "{ones} bits set");
        assert_eq!(bloom(&[]), [0u8; 256]);
    }

    #[test]
    fn both_encodings_round_trip() {
        for t in [0u8, 1, 2, 3, 4] {
            let r = sample(t);
            assert_eq!(
                Receipt::from_network(&r.to_network()),
                Ok(r.clone()),
                "type {t}"
            );
            assert_eq!(
                Receipt::from_consensus(&r.to_consensus()),
                Ok(r.clone()),
                "type {t}"
            );
            let value = r.trie_value();
            assert_eq!(value.first() == Some(&t), t != 0, "type {t}");
        }
    }

    #[test]
    fn wrong_bloom_is_refused() {
        let r = sample(2);
        let mut forged = r.clone();
        forged.logs[0].address = [0x12; 20];
        // The consensus encoding of `forged` with the bloom of `r`.
        let mut s = RlpStream::new_list(4);
        s.append(&forged.post_state_or_status.as_slice());
        s.append(&forged.cumulative_gas);
        s.append(&r.bloom().as_slice());
        forged.append_logs(&mut s);
        let mut value = vec![2u8];
        value.extend_from_slice(&s.out());
        let mut wrapped = RlpStream::new();
        wrapped.append(&value.as_slice());
        assert_eq!(
            Receipt::from_consensus(&wrapped.out()),
            Err(EthError::malformed("receipt bloom does not match its logs"))
        );
    }

    #[test]
    fn too_many_topics_are_refused() {
        let mut r = sample(0);
        r.logs[0].topics = vec![[0; 32]; LOG_TOPICS_COUNT_MAX + 1];
        assert!(matches!(
            Receipt::from_network(&r.to_network()),
            Err(EthError::Rlp(RlpDecodeError::TooLarge { .. }))
        ));
    }

    #[test]
    fn partial_fields_need_eth70() {
        let req = GetReceipts {
            request_id: 1,
            first_block_receipt_index: 3,
            hashes: vec![[7; 32]],
        };
        assert!(req.encode(EthVersion::Eth69).is_err());
        let bytes = req.encode(EthVersion::Eth70).unwrap();
        assert_eq!(
            GetReceipts::decode(EthVersion::Eth70, top(&bytes).unwrap()),
            Ok(req)
        );
        let reply =
            Receipts::from_receipts(EthVersion::Eth70, 1, true, &[vec![sample(0)]]).unwrap();
        assert!(reply.encode(EthVersion::Eth69).is_err());
        let bytes = reply.encode(EthVersion::Eth70).unwrap();
        assert_eq!(
            Receipts::decode(EthVersion::Eth70, top(&bytes).unwrap()),
            Ok(reply)
        );
    }

    #[test]
    fn forms_convert_both_ways() {
        let blocks = vec![vec![sample(0), sample(2)], vec![], vec![sample(1)]];
        let r68 = Receipts::from_receipts(EthVersion::Eth68, 9, false, &blocks).unwrap();
        let r69 = Receipts::from_receipts(EthVersion::Eth69, 9, false, &blocks).unwrap();
        assert_eq!(r68.to_form(ReceiptForm::Network), Ok(r69.clone()));
        assert_eq!(r69.to_form(ReceiptForm::Consensus), Ok(r68.clone()));
        assert_eq!(r68.receipts(), Ok(blocks.clone()));
        assert_eq!(r69.receipts(), Ok(blocks));
        assert!(r68.encode(EthVersion::Eth69).is_err());
        assert!(r69.encode(EthVersion::Eth68).is_err());
    }
}
