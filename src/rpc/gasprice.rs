//! The gas price oracle (go-ethereum `eth/gasprice/gasprice.go` and `feehistory.go`) with geth's
//! full-node defaults: the lowest [`SAMPLES_PER_BLOCK`] effective tips of each of the last
//! [`CHECK_BLOCKS`] blocks (tips under [`IGNORE_PRICE`] and the block producer's own
//! transactions left out; a block with one sample or none makes the oracle look one block further,
//! up to twice as many, and an empty block counts as the last answer), the
//! [`PERCENTILE`]th percentile, capped at [`MAX_PRICE`]; cached per head. `eth_gasPrice` adds the
//! head's base fee; `eth_feeHistory` reports base fees, gas used ratios and tip percentiles
//! weighted by gas used. The rules are here; `api/fees.rs` reads the blocks and answers.

use std::collections::VecDeque;

use super::format;
use super::jsonrpc::RpcError;
use crate::chain::header::Header;

/// geth `Blocks` (full node): blocks sampled.
pub const CHECK_BLOCKS: u64 = 20;
/// geth `sampleNumber`: lowest tips taken from each block.
pub const SAMPLES_PER_BLOCK: usize = 3;
/// geth `Percentile`.
pub const PERCENTILE: usize = 60;
/// geth `DefaultIgnorePrice`: tips below 2 wei are not samples.
pub const IGNORE_PRICE: u128 = 2;
/// geth `DefaultMaxPrice`: 500 gwei.
pub const MAX_PRICE: u128 = 500_000_000_000;
/// The answer before any block has been sampled (geth's default miner gas price, 0.001 gwei).
pub const DEFAULT_PRICE: u128 = 1_000_000;
/// geth `MaxBlockHistory`/`MaxHeaderHistory`: blocks one eth_feeHistory covers at most.
pub const FEE_HISTORY_BLOCKS_MAX: u64 = 1024;
/// Reward percentiles one eth_feeHistory takes at most (geth `maxQueryLimit`).
pub const PERCENTILES_MAX: usize = 100;

/// The cached answer: the head it was computed at and the tip.
#[derive(Debug)]
pub struct Oracle {
    pub last_head: Option<[u8; 32]>,
    pub last_price: u128,
}

impl Default for Oracle {
    fn default() -> Oracle {
        Oracle {
            last_head: None,
            last_price: DEFAULT_PRICE,
        }
    }
}

/// One transaction as the oracle sees it: its effective tip and its sender.
#[derive(Debug, Clone, Copy)]
pub struct TipSample {
    pub tip: u128,
    pub sender: [u8; 20],
}

/// The lowest [`SAMPLES_PER_BLOCK`] effective tips of a block, ascending, without tips under
/// [`IGNORE_PRICE`] and without the producer's (`coinbase`) own transactions.
pub fn block_tips(mut txs: Vec<TipSample>, coinbase: &[u8; 20]) -> Vec<u128> {
    txs.sort_by_key(|t| t.tip);
    txs.iter()
        .filter(|t| t.tip >= IGNORE_PRICE && &t.sender != coinbase)
        .map(|t| t.tip)
        .take(SAMPLES_PER_BLOCK)
        .collect()
}

/// geth `SuggestTipCap` over `tips[k]`, the [`block_tips`] of block `head − k` (blocks from the
/// head down, genesis excluded), with `last_price` the previous answer.
pub fn suggest_tip(tips: &[Vec<u128>], last_price: u128) -> u128 {
    let check = CHECK_BLOCKS as usize;
    let mut asked: VecDeque<usize> = (0..check.min(tips.len())).collect();
    let mut next = asked.len();
    let mut results: Vec<u128> = Vec::new();
    while let Some(k) = asked.pop_front() {
        let mut values = tips[k].clone();
        if values.is_empty() {
            values.push(last_price);
        }
        // One sample or none: look one block further, while fewer than twice the blocks.
        if values.len() == 1 && results.len() + 1 + asked.len() < check * 2 && next < tips.len() {
            asked.push_back(next);
            next += 1;
        }
        results.extend(values);
    }
    let mut price = last_price;
    if !results.is_empty() {
        results.sort_unstable();
        price = results[(results.len() - 1) * PERCENTILE / 100];
    }
    price.min(MAX_PRICE)
}

/// The effective tips of a block's transactions, with their senders.
pub fn samples(view: &format::RawBlockView) -> Result<Vec<TipSample>, RpcError> {
    let base = format::base_fee(&view.header);
    view.body
        .txs
        .iter()
        .map(|bytes| {
            let (tx, sender) = format::decode_tx(bytes).map_err(RpcError::internal)?;
            Ok(TipSample {
                tip: effective_tip(&tx, base),
                sender,
            })
        })
        .collect()
}

/// `min(tip cap, fee cap − base fee)` (0 when the fee cap is under the base fee).
pub fn effective_tip(tx: &crate::tx::transaction::Transaction, base: Option<u128>) -> u128 {
    match base {
        Some(b) => tx.tip_cap.min(tx.fee_cap.saturating_sub(b)),
        None => tx.tip_cap,
    }
}

/// EIP-1559's next base fee after `h` (elasticity 2, change denominator 8).
pub fn next_base_fee(h: &Header) -> u128 {
    let Some(base) = format::base_fee(h) else {
        return 0;
    };
    let target = u128::from(h.gas_limit / 2);
    let used = u128::from(h.gas_used);
    if target == 0 || used == target {
        return base;
    }
    if used > target {
        base + (base * (used - target) / target / 8).max(1)
    } else {
        base.saturating_sub(base * (target - used) / target / 8)
    }
}

/// The reward row of one block: for each percentile, the tip of the transaction at which the
/// block's gas used, summed in tip order, reaches that share (geth `processBlock`).
pub fn rewards(mut txs: Vec<(u128, u64)>, block_gas_used: u64, percentiles: &[f64]) -> Vec<u128> {
    if txs.is_empty() {
        return vec![0; percentiles.len()];
    }
    txs.sort_by_key(|t| t.0);
    let mut out = Vec::with_capacity(percentiles.len());
    let (mut i, mut sum) = (0, txs[0].1);
    for p in percentiles {
        let threshold = (block_gas_used as f64 * p / 100.0) as u64;
        while sum < threshold && i < txs.len() - 1 {
            i += 1;
            sum += txs[i].1;
        }
        out.push(txs[i].0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(tip: u128, sender: u8) -> TipSample {
        TipSample {
            tip,
            sender: [sender; 20],
        }
    }

    #[test]
    fn block_tips_skip_dust_and_the_producer() {
        let tips = block_tips(
            vec![s(9, 1), s(1, 1), s(5, 7), s(4, 1), s(8, 1), s(6, 1)],
            &[7; 20],
        );
        assert_eq!(tips, vec![4, 6, 8]);
    }

    #[test]
    fn sparse_blocks_make_the_oracle_look_further() {
        // 20 blocks of one sample each: every one asks for another, up to 40 blocks in all.
        let tips: Vec<Vec<u128>> = (0..60).map(|k| vec![100 + k as u128]).collect();
        // 40 results: 100..=139; index 39*60/100 = 23 → 123.
        assert_eq!(suggest_tip(&tips, 1), 123);
        // Full blocks: 20 blocks × 3, no extension.
        let tips: Vec<Vec<u128>> = (0..60).map(|k| vec![k, k + 100, k + 200]).collect();
        let mut all: Vec<u128> = (0..20).flat_map(|k| [k, k + 100, k + 200]).collect();
        all.sort();
        assert_eq!(suggest_tip(&tips, 1), all[59 * 60 / 100]);
        // Nothing at all: the last answer; and the cap.
        assert_eq!(suggest_tip(&[], 77), 77);
        assert_eq!(suggest_tip(&[vec![MAX_PRICE * 2]], 1), MAX_PRICE);
    }

    #[test]
    fn rewards_follow_gas_used() {
        // tips 1 (gas 10), 2 (gas 80), 3 (gas 10)
        let r = rewards(
            vec![(3, 10), (1, 10), (2, 80)],
            100,
            &[0.0, 10.0, 50.0, 95.0, 100.0],
        );
        assert_eq!(r, vec![1, 1, 2, 3, 3]);
        assert_eq!(rewards(vec![], 0, &[50.0]), vec![0]);
    }
}
