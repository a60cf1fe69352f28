//! The JSON shapes geth answers with (go-ethereum `internal/ethapi/api.go`: `RPCMarshalHeader`,
//! `RPCMarshalBlock`, `RPCTransaction`, `marshalReceipt`): blocks, transactions and receipts from
//! the stored RLP. Quantities are `0x`-hex without leading zeros, data `0x`-hex.

use rlp::Rlp;
use serde_json::{Map, Value, json};

use crate::chain::header::{Header, U256};
use crate::crypto::{hex, keccak256};
use crate::eth::wire::receipts::Receipt;
use crate::tx::transaction::{self, Transaction, TxType};

/// `0x`-hex of a quantity.
pub fn qty(n: u64) -> Value {
    Value::String(format!("{n:#x}"))
}

/// `0x`-hex of a 128-bit quantity.
pub fn qty128(n: u128) -> Value {
    Value::String(format!("{n:#x}"))
}

/// `0x`-hex of a 256-bit big-endian quantity.
pub fn qty256(n: &[u8; 32]) -> Value {
    let h = hex(U256(*n).trimmed());
    let h = h.trim_start_matches('0');
    Value::String(format!("0x{}", if h.is_empty() { "0" } else { h }))
}

/// `0x`-hex data.
pub fn data(b: &[u8]) -> Value {
    Value::String(format!("0x{}", hex(b)))
}

/// An address in EIP-55 mixed-case hex (geth `Address.Hex`).
pub fn checksum_address(a: &[u8; 20]) -> String {
    let lower = hex(a);
    let h = keccak256(lower.as_bytes());
    let mut out = String::from("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (h[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        out.push(if nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

/// A stored body, split: transactions (consensus encodings), ommer hashes, withdrawals (raw).
pub struct Body {
    pub txs: Vec<Vec<u8>>,
    pub ommers: Vec<[u8; 32]>,
    pub withdrawals: Option<Vec<Value>>,
}

/// Splits `[txs, ommers, withdrawals?]`.
pub fn body(rlp_bytes: &[u8]) -> Result<Body, String> {
    let r = Rlp::new(rlp_bytes);
    let e = |e: rlp::DecoderError| format!("stored body: {e}");
    let mut txs = Vec::new();
    for item in r.at(0).map_err(e)?.iter() {
        // A typed transaction sits in the list as a byte string holding `type || rlp(fields)`.
        txs.push(if item.is_list() {
            item.as_raw().to_vec()
        } else {
            item.data().map_err(e)?.to_vec()
        });
    }
    let ommers = r
        .at(1)
        .map_err(e)?
        .iter()
        .map(|h| keccak256(h.as_raw()))
        .collect();
    let withdrawals = match r.item_count().map_err(e)? {
        3.. => {
            let mut out = Vec::new();
            for w in r.at(2).map_err(e)?.iter() {
                let index: u64 = w.val_at(0).map_err(e)?;
                let validator: u64 = w.val_at(1).map_err(e)?;
                let address: Vec<u8> = w.val_at(2).map_err(e)?;
                let amount: u64 = w.val_at(3).map_err(e)?;
                out.push(json!({
                    "index": qty(index),
                    "validatorIndex": qty(validator),
                    "address": data(&address),
                    "amount": qty(amount),
                }));
            }
            Some(out)
        }
        _ => None,
    };
    Ok(Body {
        txs,
        ommers,
        withdrawals,
    })
}

/// geth `RPCMarshalHeader`.
pub fn header(h: &Header, hash: &[u8; 32], size: usize) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("number".into(), qty(h.number));
    m.insert("hash".into(), data(hash));
    m.insert("parentHash".into(), data(&h.parent_hash));
    m.insert("nonce".into(), data(&h.nonce));
    m.insert("mixHash".into(), data(&h.mix_hash));
    m.insert("sha3Uncles".into(), data(&h.ommers_hash));
    m.insert("logsBloom".into(), data(&h.logs_bloom[..]));
    m.insert("stateRoot".into(), data(&h.state_root));
    m.insert("miner".into(), data(&h.coinbase));
    m.insert("difficulty".into(), qty256(&h.difficulty.0));
    m.insert("extraData".into(), data(&h.extra_data));
    m.insert("size".into(), qty(size as u64));
    m.insert("gasLimit".into(), qty(h.gas_limit));
    m.insert("gasUsed".into(), qty(h.gas_used));
    m.insert("timestamp".into(), qty(h.timestamp));
    m.insert("transactionsRoot".into(), data(&h.transactions_root));
    m.insert("receiptsRoot".into(), data(&h.receipts_root));
    if let Some(b) = &h.base_fee_per_gas {
        m.insert("baseFeePerGas".into(), qty256(&b.0));
    }
    if let Some(w) = &h.withdrawals_root {
        m.insert("withdrawalsRoot".into(), data(w));
    }
    if let Some(g) = h.blob_gas_used {
        m.insert("blobGasUsed".into(), qty(g));
    }
    if let Some(g) = h.excess_blob_gas {
        m.insert("excessBlobGas".into(), qty(g));
    }
    if let Some(r) = &h.parent_beacon_block_root {
        m.insert("parentBeaconBlockRoot".into(), data(r));
    }
    if let Some(r) = &h.requests_hash {
        m.insert("requestsHash".into(), data(r));
    }
    m
}

/// Where a transaction sits in a block, when it does.
#[derive(Debug, Clone, Copy)]
pub struct TxPlace {
    pub block_hash: [u8; 32],
    pub block_number: u64,
    pub index: u64,
    /// The block's base fee, for the effective gas price.
    pub base_fee: Option<u128>,
}

/// A stored block, decoded.
pub struct RawBlockView {
    pub hash: [u8; 32],
    pub header: Header,
    pub body: Body,
}

impl RawBlockView {
    /// Where transaction `index` of this block sits.
    pub fn place(&self, index: u64) -> TxPlace {
        TxPlace {
            block_hash: self.hash,
            block_number: self.header.number,
            index,
            base_fee: base_fee(&self.header),
        }
    }
}

/// The base fee of a header as a u128 (real base fees are far below it).
pub fn base_fee(h: &Header) -> Option<u128> {
    h.base_fee_per_gas
        .as_ref()
        .map(|b| u128::from_be_bytes(b.0[16..].try_into().unwrap_or([0xff; 16])))
}

/// The price per gas a transaction paid in a block with `base_fee` (EIP-1559): the fee cap for
/// legacy transactions, `min(tip, fee cap − base fee) + base fee` for the others.
pub fn effective_gas_price(tx: &Transaction, base_fee: Option<u128>) -> u128 {
    match (tx.tx_type, base_fee) {
        (TxType::Legacy | TxType::AccessList, _) | (_, None) => tx.fee_cap,
        (_, Some(b)) => tx.tip_cap.min(tx.fee_cap.saturating_sub(b)) + b,
    }
}

/// The address a creation by `sender` at `nonce` deploys to: `keccak(rlp([sender, nonce]))[12..]`.
pub fn create_address(sender: &[u8; 20], nonce: u64) -> [u8; 20] {
    let mut s = rlp::RlpStream::new_list(2);
    s.append(&&sender[..]);
    s.append(&nonce);
    let h = keccak256(&s.out());
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

/// geth `RPCTransaction`: a decoded transaction, its sender, and where it is (pending when not in
/// a block).
pub fn transaction(tx: &Transaction, from: &[u8; 20], place: Option<&TxPlace>) -> Value {
    let mut m = Map::new();
    let (bh, bn, ix) = match place {
        Some(p) => (data(&p.block_hash), qty(p.block_number), qty(p.index)),
        None => (Value::Null, Value::Null, Value::Null),
    };
    m.insert("blockHash".into(), bh);
    m.insert("blockNumber".into(), bn);
    m.insert("from".into(), data(from));
    m.insert("gas".into(), qty(tx.gas_limit));
    m.insert("hash".into(), data(&tx.hash()));
    m.insert("input".into(), data(&tx.input));
    m.insert("nonce".into(), qty(tx.nonce));
    m.insert("to".into(), tx.to.as_ref().map_or(Value::Null, |a| data(a)));
    m.insert("transactionIndex".into(), ix);
    m.insert("value".into(), qty256(&tx.value));
    m.insert("type".into(), qty(u64::from(tx.tx_type.byte())));
    // In a block the price paid; pending, the fee cap (geth).
    let price = match place {
        Some(p) => effective_gas_price(tx, p.base_fee),
        None => tx.fee_cap,
    };
    m.insert("gasPrice".into(), qty128(price));
    if tx.tx_type != TxType::Legacy {
        m.insert("chainId".into(), tx.chain_id.map_or(Value::Null, qty));
        let al: Vec<Value> = tx
            .access_list
            .iter()
            .map(|i| {
                json!({
                    "address": data(&i.address),
                    "storageKeys": i.storage_keys.iter().map(|k| data(k)).collect::<Vec<_>>(),
                })
            })
            .collect();
        m.insert("accessList".into(), Value::Array(al));
        m.insert("yParity".into(), qty(u64::from(tx.y_parity)));
        m.insert("v".into(), qty(u64::from(tx.y_parity)));
    } else {
        if let Some(id) = tx.chain_id {
            m.insert("chainId".into(), qty(id));
        }
        let v = match tx.chain_id {
            Some(id) => id * 2 + 35 + u64::from(tx.y_parity),
            None => 27 + u64::from(tx.y_parity),
        };
        m.insert("v".into(), qty(v));
    }
    if !matches!(tx.tx_type, TxType::Legacy | TxType::AccessList) {
        m.insert("maxFeePerGas".into(), qty128(tx.fee_cap));
        m.insert("maxPriorityFeePerGas".into(), qty128(tx.tip_cap));
    }
    if tx.tx_type == TxType::Blob {
        m.insert("maxFeePerBlobGas".into(), qty128(tx.blob_fee_cap));
        m.insert(
            "blobVersionedHashes".into(),
            Value::Array(tx.blob_versioned_hashes.iter().map(|h| data(h)).collect()),
        );
    }
    if tx.tx_type == TxType::SetCode {
        let list: Vec<Value> = tx
            .authorization_list
            .iter()
            .map(|a| {
                json!({
                    "chainId": qty256(&a.chain_id),
                    "address": data(&a.address),
                    "nonce": qty(a.nonce),
                    "yParity": qty(u64::from(a.y_parity)),
                    "r": qty256(&a.r),
                    "s": qty256(&a.s),
                })
            })
            .collect();
        m.insert("authorizationList".into(), Value::Array(list));
    }
    m.insert("r".into(), qty256(&tx.r));
    m.insert("s".into(), qty256(&tx.s));
    Value::Object(m)
}

/// Decodes a consensus-encoded transaction and recovers its sender.
pub fn decode_tx(bytes: &[u8]) -> Result<(Transaction, [u8; 20]), String> {
    let tx = transaction::decode_consensus(bytes).map_err(|e| e.to_string())?;
    let from = tx.sender().map_err(|e| e.to_string())?;
    Ok((tx, from))
}

/// What a receipt needs besides itself.
pub struct ReceiptContext<'a> {
    pub tx: &'a Transaction,
    pub from: [u8; 20],
    pub place: TxPlace,
    /// The previous receipt's cumulative gas (0 for the first).
    pub gas_before: u64,
    /// Logs of the block before this receipt's.
    pub log_index: u64,
    /// The block's blob gas price, when the transaction carries blobs.
    pub blob_gas_price: Option<u128>,
}

/// geth `marshalReceipt`.
pub fn receipt(r: &Receipt, c: &ReceiptContext<'_>) -> Value {
    let p = &c.place;
    let logs: Vec<Value> = r
        .logs
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "address": data(&l.address),
                "topics": l.topics.iter().map(|t| data(t)).collect::<Vec<_>>(),
                "data": data(&l.data),
                "blockNumber": qty(p.block_number),
                "transactionHash": data(&c.tx.hash()),
                "transactionIndex": qty(p.index),
                "blockHash": data(&p.block_hash),
                "logIndex": qty(c.log_index + i as u64),
                "removed": false,
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("blockHash".into(), data(&p.block_hash));
    m.insert("blockNumber".into(), qty(p.block_number));
    m.insert("transactionHash".into(), data(&c.tx.hash()));
    m.insert("transactionIndex".into(), qty(p.index));
    m.insert("from".into(), data(&c.from));
    m.insert(
        "to".into(),
        c.tx.to.as_ref().map_or(Value::Null, |a| data(a)),
    );
    m.insert("cumulativeGasUsed".into(), qty(r.cumulative_gas));
    m.insert(
        "gasUsed".into(),
        qty(r.cumulative_gas.saturating_sub(c.gas_before)),
    );
    m.insert(
        "effectiveGasPrice".into(),
        qty128(effective_gas_price(c.tx, p.base_fee)),
    );
    m.insert(
        "contractAddress".into(),
        if c.tx.is_create() {
            data(&create_address(&c.from, c.tx.nonce))
        } else {
            Value::Null
        },
    );
    m.insert("logs".into(), Value::Array(logs));
    m.insert("logsBloom".into(), data(&r.bloom()[..]));
    m.insert("type".into(), qty(u64::from(r.tx_type)));
    if r.post_state_or_status.len() == 32 {
        m.insert("root".into(), data(&r.post_state_or_status));
    } else {
        m.insert(
            "status".into(),
            qty(u64::from(r.post_state_or_status == [1])),
        );
    }
    if c.tx.tx_type == TxType::Blob {
        let blob_gas = c.tx.blob_versioned_hashes.len() as u64 * 131_072;
        m.insert("blobGasUsed".into(), qty(blob_gas));
        if let Some(price) = c.blob_gas_price {
            m.insert("blobGasPrice".into(), qty128(price));
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_have_no_leading_zeros() {
        assert_eq!(qty(0), "0x0");
        assert_eq!(qty(255), "0xff");
        let mut n = [0u8; 32];
        assert_eq!(qty256(&n), "0x0");
        n[31] = 0x0a;
        n[30] = 0x01;
        assert_eq!(qty256(&n), "0x10a");
        assert_eq!(data(&[0, 1]), "0x0001");
    }

    #[test]
    fn checksum_addresses_match_eip55() {
        let a =
            crate::rpc::params::parse_data("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap();
        assert_eq!(
            checksum_address(&a.try_into().unwrap()),
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        );
    }

    #[test]
    fn create_address_matches_the_yellow_paper_example() {
        // The well-known first contract of 0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0 at nonce 0.
        let sender =
            crate::rpc::params::parse_data("0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0").unwrap();
        let a = create_address(&sender.try_into().unwrap(), 0);
        assert_eq!(hex(&a), "cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d");
    }
}
