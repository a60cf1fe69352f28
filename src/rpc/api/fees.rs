//! `eth_gasPrice`, `eth_maxPriorityFeePerGas` and `eth_feeHistory` (go-ethereum
//! `internal/ethapi` and `eth/gasprice`): the blocks are read from the store here and judged by
//! [`crate::rpc::gasprice`]'s rules; the oracle's answer is cached per head in the backend.

use serde_json::{Value, json};

use super::eth::{RawBlock, block_by_number, head, resolve};
use super::{Backend, store_error};
use crate::chain::blob_fee;
use crate::chain::header::Header;
use crate::eth::wire::receipts::Receipt;
use crate::rpc::format::{self, qty, qty128};
use crate::rpc::gasprice::{
    CHECK_BLOCKS, FEE_HISTORY_BLOCKS_MAX, PERCENTILES_MAX, block_tips, effective_tip,
    next_base_fee, rewards, samples, suggest_tip,
};
use crate::rpc::jsonrpc::RpcError;
use crate::rpc::params::Params;

/// The methods this file answers.
pub const METHODS: &[&str] = &["eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_feeHistory"];

/// The suggested tip at the current head, computed once per head.
async fn tip_cap(b: &Backend) -> Result<(u128, Option<u128>), RpcError> {
    let top = head(b).await?;
    let Some(head_block) = block_by_number(b, top).await? else {
        return Err(RpcError::internal("the head block is missing"));
    };
    let head_view = head_block.view()?;
    let base = format::base_fee(&head_view.header);
    let last_price = {
        let o = b.oracle.borrow();
        if o.last_head == Some(head_block.hash) {
            return Ok((o.last_price, base));
        }
        o.last_price
    };
    let mut tips = Vec::new();
    let mut n = top;
    while n > 0 && tips.len() < 2 * CHECK_BLOCKS as usize {
        let view = match n == top {
            true => head_block.view()?,
            false => match block_by_number(b, n).await? {
                Some(block) => block.view()?,
                None => break,
            },
        };
        tips.push(block_tips(samples(&view)?, &view.header.coinbase));
        n -= 1;
    }
    let price = suggest_tip(&tips, last_price);
    let mut o = b.oracle.borrow_mut();
    o.last_head = Some(head_block.hash);
    o.last_price = price;
    Ok((price, base))
}

pub async fn call(b: &Backend, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
    match method {
        "eth_maxPriorityFeePerGas" => {
            Params::new(params, 0)?;
            Ok(qty128(tip_cap(b).await?.0))
        }
        "eth_gasPrice" => {
            Params::new(params, 0)?;
            let (tip, base) = tip_cap(b).await?;
            Ok(qty128(tip + base.unwrap_or(0)))
        }
        "eth_feeHistory" => {
            let p = Params::new(params, 3)?;
            let count = p.quantity(0)?;
            let percentiles = if p.has(2) { p.floats(2)? } else { Vec::new() };
            check_percentiles(&percentiles)?;
            let newest = resolve(b, p.block(1)?).await?;
            fee_history(b, count, newest, &percentiles).await
        }
        _ => Err(RpcError::method_not_found(method)),
    }
}

fn check_percentiles(p: &[f64]) -> Result<(), RpcError> {
    if p.len() > PERCENTILES_MAX {
        return Err(RpcError::invalid_params(format!(
            "too many reward percentiles: {} > {PERCENTILES_MAX}",
            p.len()
        )));
    }
    for (i, &x) in p.iter().enumerate() {
        if !(0.0..=100.0).contains(&x) {
            return Err(RpcError::server(format!("invalid reward percentile: {x}")));
        }
        if i > 0 && x < p[i - 1] {
            return Err(RpcError::server(format!(
                "invalid reward percentile: #{}:{} > #{i}:{x}",
                i - 1,
                p[i - 1]
            )));
        }
    }
    Ok(())
}

async fn fee_history(
    b: &Backend,
    count: u64,
    newest: u64,
    percentiles: &[f64],
) -> Result<Value, RpcError> {
    let top = head(b).await?;
    if newest > top {
        return Err(RpcError::server(format!(
            "request beyond head block: requested {newest}, head {top}"
        )));
    }
    let count = count.min(FEE_HISTORY_BLOCKS_MAX).min(newest + 1);
    if count == 0 {
        return Ok(json!({"oldestBlock": qty(0)}));
    }
    let oldest = newest + 1 - count;
    let (mut base_fees, mut ratios, mut reward_rows) = (Vec::new(), Vec::new(), Vec::new());
    let (mut blob_fees, mut blob_ratios) = (Vec::new(), Vec::new());
    let spec = b.facts.chain.as_ref();
    let mut last: Option<Header> = None;
    for n in oldest..=newest {
        let Some(block) = block_by_number(b, n).await? else {
            return Err(RpcError::internal(format!("block {n} is missing")));
        };
        let view = block.view()?;
        let h = &view.header;
        base_fees.push(qty128(format::base_fee(h).unwrap_or(0)));
        let ratio = if h.gas_limit == 0 {
            0.0
        } else {
            h.gas_used as f64 / h.gas_limit as f64
        };
        ratios.push(json!(ratio));
        // EIP-4844: the blob gas price and use; 0 before Cancun, as go-ethereum reports.
        match spec.and_then(|s| s.blob_params_at(h.timestamp)) {
            Some(p) => {
                blob_fees.push(qty128(blob_fee::blob_base_fee(
                    &p,
                    h.excess_blob_gas.unwrap_or(0),
                )));
                blob_ratios.push(json!(blob_fee::used_ratio(
                    &p,
                    h.blob_gas_used.unwrap_or(0)
                )));
            }
            None => {
                blob_fees.push(qty128(0));
                blob_ratios.push(json!(0.0));
            }
        }
        if !percentiles.is_empty() {
            let row = block_rewards(b, &block, &view, percentiles).await?;
            reward_rows.push(Value::Array(row.into_iter().map(qty128).collect()));
        }
        last = Some(view.header);
    }
    base_fees.push(qty128(last.as_ref().map_or(0, next_base_fee)));
    let mut out = json!({
        "oldestBlock": qty(oldest),
        "baseFeePerGas": base_fees,
        "gasUsedRatio": ratios,
    });
    if !percentiles.is_empty() {
        out["reward"] = Value::Array(reward_rows);
    }
    // The blob fields appear once the newest block has blobs (go-ethereum leaves them out
    // before Cancun); the last price is the next block's, from the newest block's excess and use.
    if let Some(h) = &last
        && let Some(p) = spec.and_then(|s| s.blob_params_at(h.timestamp))
    {
        let excess = blob_fee::next_excess(
            &p,
            h.excess_blob_gas.unwrap_or(0),
            h.blob_gas_used.unwrap_or(0),
        );
        blob_fees.push(qty128(blob_fee::blob_base_fee(&p, excess)));
        out["baseFeePerBlobGas"] = Value::Array(blob_fees);
        out["blobGasUsedRatio"] = Value::Array(blob_ratios);
    }
    Ok(out)
}

/// One block's reward row, from its transactions' tips and its stored receipts' gas used.
async fn block_rewards(
    b: &Backend,
    block: &RawBlock,
    view: &format::RawBlockView,
    percentiles: &[f64],
) -> Result<Vec<u128>, RpcError> {
    let chain = b.chain().ok_or_else(|| RpcError::server("no chain"))?;
    let hash = block.hash;
    let list = chain
        .read(move |r| r.receipts_rlp(&hash))
        .await
        .map_err(store_error)?
        .unwrap_or_default();
    let base = format::base_fee(&view.header);
    let mut txs = Vec::new();
    let mut before = 0;
    let receipts = rlp::Rlp::new(&list);
    for (bytes, item) in view.body.txs.iter().zip(receipts.iter()) {
        let tx = crate::tx::transaction::decode_consensus(bytes)
            .map_err(|e| RpcError::internal(e.to_string()))?;
        let r = Receipt::from_consensus(item.as_raw())
            .map_err(|e| RpcError::internal(e.to_string()))?;
        txs.push((
            effective_tip(&tx, base),
            r.cumulative_gas.saturating_sub(before),
        ));
        before = r.cumulative_gas;
    }
    Ok(rewards(txs, view.header.gas_used, percentiles))
}
