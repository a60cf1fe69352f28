//! `eth_*` chain and transaction methods (go-ethereum `internal/ethapi/api.go`: BlockChainAPI,
//! TransactionAPI; `eth/api.go`). Chain reads run on the storage thread through the RPC server's
//! own chain store handle, as eth serving does; the pool and the head go through the loop. There
//! is no transaction index: a transaction is looked up in the pool, then in the last
//! [`TX_LOOKUP_BLOCKS`] canonical blocks.

use serde_json::{Value, json};

use super::{Backend, store_error};
use crate::chain::header::Header;
use crate::crypto::keccak256;
use crate::eth::wire::receipts::Receipt;
use crate::rpc::format::{self, RawBlockView, data, qty};
use crate::rpc::jsonrpc::RpcError;
use crate::rpc::params::{BlockTag, Params};
use crate::server::eth::eth_request;

/// Canonical blocks searched back from the head for a transaction by hash: geth keeps a
/// transaction index; we have none yet, so the search is bounded (a few ms of storage-thread
/// time on small blocks).
pub const TX_LOOKUP_BLOCKS: u64 = 8192;

pub async fn call(b: &Backend, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
    match method {
        "eth_chainId" => {
            Params::new(params, 0)?;
            Ok(qty(b.facts.chain.as_ref().map_or(0, |c| c.chain_id)))
        }
        "eth_blockNumber" => {
            Params::new(params, 0)?;
            Ok(qty(head(b).await?))
        }
        "eth_syncing" => {
            Params::new(params, 0)?;
            match b
                .ask(|r| eth_request(r, |e, _| e.sync_target()))
                .await?
                .flatten()
            {
                None => Ok(json!(false)),
                Some(highest) => {
                    let current = head(b).await?;
                    Ok(json!({
                        "startingBlock": qty(current),
                        "currentBlock": qty(current),
                        "highestBlock": qty(highest),
                    }))
                }
            }
        }
        "eth_getBlockByNumber" | "eth_getBlockByHash" => {
            let p = Params::new(params, 2)?;
            let full = p.boolean(1)?;
            let Some(block) = block_arg(b, &p, method == "eth_getBlockByHash").await? else {
                return Ok(Value::Null);
            };
            block_json(&block, full)
        }
        "eth_getBlockTransactionCountByNumber" | "eth_getBlockTransactionCountByHash" => {
            let p = Params::new(params, 1)?;
            let by_hash = method.ends_with("ByHash");
            let Some(block) = block_arg(b, &p, by_hash).await? else {
                return Ok(Value::Null);
            };
            let body = format::body(&block.body).map_err(RpcError::internal)?;
            Ok(qty(body.txs.len() as u64))
        }
        "eth_getTransactionByBlockNumberAndIndex" | "eth_getTransactionByBlockHashAndIndex" => {
            let p = Params::new(params, 2)?;
            let index = p.quantity(1)?;
            let by_hash = method.contains("ByBlockHash");
            let Some(block) = block_arg(b, &p, by_hash).await? else {
                return Ok(Value::Null);
            };
            let view = block.view()?;
            let Some(bytes) = view.body.txs.get(index as usize) else {
                return Ok(Value::Null);
            };
            let (tx, from) = format::decode_tx(bytes).map_err(RpcError::internal)?;
            Ok(format::transaction(&tx, &from, Some(&view.place(index))))
        }
        "eth_getTransactionByHash" => {
            let p = Params::new(params, 1)?;
            let hash = p.hash(0)?;
            let pooled = b
                .ask(|r| eth_request(r, move |e, _| e.pool_entries(Some(hash))))
                .await?;
            if let Some(entry) = pooled.into_iter().flatten().next() {
                let tx = crate::tx::transaction::decode_network(&entry.network_rlp)
                    .map_err(|e| RpcError::internal(e.to_string()))?;
                return Ok(format::transaction(&tx, &entry.sender, None));
            }
            let Some((block, index)) = find_tx(b, hash).await? else {
                return Ok(Value::Null);
            };
            let view = block.view()?;
            let (tx, from) =
                format::decode_tx(&view.body.txs[index as usize]).map_err(RpcError::internal)?;
            Ok(format::transaction(&tx, &from, Some(&view.place(index))))
        }
        "eth_getTransactionReceipt" => {
            let p = Params::new(params, 1)?;
            let Some((block, index)) = find_tx(b, p.hash(0)?).await? else {
                return Ok(Value::Null);
            };
            receipt(b, &block, index).await
        }
        "eth_sendRawTransaction" => {
            let p = Params::new(params, 1)?;
            let bytes = p.data(0)?;
            // The binary form (typed: `type || rlp`) as the network list item the pool takes.
            let item = match bytes.first() {
                Some(&b) if b >= 0xc0 => bytes,
                _ => rlp::encode(&bytes.as_slice()).to_vec(),
            };
            let hash = b
                .ask(|r| eth_request(r, move |e, now| e.send_transaction(now, &item)))
                .await?
                .unwrap_or_else(|| Err("the node does not run eth".into()))
                .map_err(RpcError::server)?;
            Ok(data(&hash))
        }
        _ => Err(RpcError::method_not_found(method)),
    }
}

/// The stored head's number.
pub async fn head(b: &Backend) -> Result<u64, RpcError> {
    let chain = b.chain().ok_or_else(|| RpcError::server("no chain"))?;
    let h = chain.head().await.map_err(store_error)?;
    Ok(h.map_or(0, |h| h.number))
}

/// A block number from a tag: pending and latest are the head (no block is being built here);
/// safe and finalized are unknown without a consensus client, as geth says.
pub async fn resolve(b: &Backend, tag: BlockTag) -> Result<u64, RpcError> {
    match tag {
        BlockTag::Number(n) => Ok(n),
        BlockTag::Earliest => Ok(0),
        BlockTag::Latest | BlockTag::Pending => head(b).await,
        BlockTag::Safe => Err(RpcError::server("safe block not found")),
        BlockTag::Finalized => Err(RpcError::server("finalized block not found")),
    }
}

/// A block as stored.
pub struct RawBlock {
    pub hash: [u8; 32],
    pub header: Vec<u8>,
    pub body: Vec<u8>,
}

impl RawBlock {
    /// The header and body decoded.
    pub fn view(&self) -> Result<RawBlockView, RpcError> {
        let header = Header::decode(&self.header).map_err(|e| RpcError::internal(e.to_string()))?;
        let body = format::body(&self.body).map_err(RpcError::internal)?;
        Ok(RawBlockView {
            hash: self.hash,
            header,
            body,
        })
    }
}

/// Argument 0 as a block hash or a block number/tag.
async fn block_arg(b: &Backend, p: &Params, by_hash: bool) -> Result<Option<RawBlock>, RpcError> {
    if by_hash {
        block_by_hash(b, p.hash(0)?).await
    } else {
        let n = resolve(b, p.block(0)?).await?;
        block_by_number(b, n).await
    }
}

/// Canonical block `number`.
pub async fn block_by_number(b: &Backend, number: u64) -> Result<Option<RawBlock>, RpcError> {
    let chain = b.chain().ok_or_else(|| RpcError::server("no chain"))?;
    chain
        .read(move |r| {
            let Some(hash) = r.canonical_hash(number)? else {
                return Ok(None);
            };
            read_block(r, hash)
        })
        .await
        .map_err(store_error)
}

/// Block `hash`, canonical or not.
pub async fn block_by_hash(b: &Backend, hash: [u8; 32]) -> Result<Option<RawBlock>, RpcError> {
    let chain = b.chain().ok_or_else(|| RpcError::server("no chain"))?;
    chain
        .read(move |r| read_block(r, hash))
        .await
        .map_err(store_error)
}

type Reader<'a> =
    &'a dyn crate::chain::reader::ChainReader<Error = crate::chain::store::StoreError>;

fn read_block(
    r: Reader<'_>,
    hash: [u8; 32],
) -> Result<Option<RawBlock>, crate::chain::store::StoreError> {
    let (Some(header), Some(body)) = (r.header_rlp_by_hash(&hash)?, r.body_rlp(&hash)?) else {
        return Ok(None);
    };
    Ok(Some(RawBlock { hash, header, body }))
}

/// The canonical block holding transaction `hash` and its index, searched back from the head.
async fn find_tx(b: &Backend, hash: [u8; 32]) -> Result<Option<(RawBlock, u64)>, RpcError> {
    let top = head(b).await?;
    let chain = b.chain().ok_or_else(|| RpcError::server("no chain"))?;
    chain
        .read(move |r| {
            let low = top.saturating_sub(TX_LOOKUP_BLOCKS - 1);
            for n in (low..=top).rev() {
                let Some(block_hash) = r.canonical_hash(n)? else {
                    continue;
                };
                let Some(body) = r.body_rlp(&block_hash)? else {
                    continue;
                };
                let Ok(parts) = format::body(&body) else {
                    continue;
                };
                if let Some(i) = parts.txs.iter().position(|t| keccak256(t) == hash) {
                    let header = r.header_rlp_by_hash(&block_hash)?.unwrap_or_default();
                    let block = RawBlock {
                        hash: block_hash,
                        header,
                        body,
                    };
                    return Ok(Some((block, i as u64)));
                }
            }
            Ok(None)
        })
        .await
        .map_err(store_error)
}

/// geth `RPCMarshalBlock`: the header's fields, size, transactions (hashes or objects), uncles
/// and withdrawals.
fn block_json(block: &RawBlock, full: bool) -> Result<Value, RpcError> {
    let view = block.view()?;
    let size = crate::chain::block::join_block(&block.header, &block.body)
        .map_err(|e| RpcError::internal(e.to_string()))?
        .len();
    let mut m = format::header(&view.header, &block.hash, size);
    let mut txs = Vec::with_capacity(view.body.txs.len());
    for (i, bytes) in view.body.txs.iter().enumerate() {
        if full {
            let (tx, from) = format::decode_tx(bytes).map_err(RpcError::internal)?;
            txs.push(format::transaction(&tx, &from, Some(&view.place(i as u64))));
        } else {
            txs.push(data(&keccak256(bytes)));
        }
    }
    m.insert("transactions".into(), Value::Array(txs));
    m.insert(
        "uncles".into(),
        Value::Array(view.body.ommers.iter().map(|h| data(h)).collect()),
    );
    if let Some(w) = view.body.withdrawals {
        m.insert("withdrawals".into(), Value::Array(w));
    }
    Ok(Value::Object(m))
}

/// The blob gas price of a block (EIP-4844), when its fork has blobs.
pub fn blob_price(b: &Backend, h: &crate::chain::header::Header) -> Option<u128> {
    let params = b.facts.chain.as_ref()?.blob_params_at(h.timestamp)?;
    Some(crate::chain::blob_fee::blob_base_fee(
        &params,
        h.excess_blob_gas.unwrap_or(0),
    ))
}

/// The receipt of transaction `index` of `block`, from the stored receipts.
async fn receipt(b: &Backend, block: &RawBlock, index: u64) -> Result<Value, RpcError> {
    let chain = b.chain().ok_or_else(|| RpcError::server("no chain"))?;
    let hash = block.hash;
    let list = chain
        .read(move |r| r.receipts_rlp(&hash))
        .await
        .map_err(store_error)?;
    let Some(list) = list else {
        return Ok(Value::Null);
    };
    let view = block.view()?;
    let (tx, from) =
        format::decode_tx(&view.body.txs[index as usize]).map_err(RpcError::internal)?;
    let (mut gas_before, mut log_index) = (0, 0);
    let items = rlp::Rlp::new(&list);
    for (i, item) in items.iter().enumerate() {
        let r = Receipt::from_consensus(item.as_raw())
            .map_err(|e| RpcError::internal(e.to_string()))?;
        if i as u64 == index {
            let ctx = format::ReceiptContext {
                tx: &tx,
                from,
                place: view.place(index),
                gas_before,
                log_index,
                blob_gas_price: blob_price(b, &view.header),
            };
            return Ok(format::receipt(&r, &ctx));
        }
        gas_before = r.cumulative_gas;
        log_index += r.logs.len() as u64;
    }
    Ok(Value::Null)
}
