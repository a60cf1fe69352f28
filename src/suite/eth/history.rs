//! The block history tests (devp2p caps/eth.md "GetBlockBodies", "GetReceipts", EIP-7975 partial
//! receipt lists in eth/70; go-ethereum ethtest `TestGetBlockBodies`, `TestGetReceipts`,
//! `TestGetLargeReceipts`): replies carry the request id and one item per requested block. Ours
//! also checks what go-ethereum only counts: each body's transaction count and each block's
//! receipts root, recomputed from the receipts served.

use super::Ctx;
use crate::chain::trie::ordered_trie_root;
use crate::crypto::hex;
use crate::eth::{EthMessage, GetReceipts, HashesRequest, Receipts};
use crate::suite::runner::{Stop, TestResult};

/// Bodies of blocks 54 and 75: two bodies, the right transaction counts.
pub fn get_block_bodies(ctx: &Ctx) -> TestResult {
    let chain = ctx.chain();
    let (Some(a), Some(b)) = (chain.blocks.get(54), chain.blocks.get(75)) else {
        return Err(Stop::Skip("the chain is shorter than 76 blocks".into()));
    };
    let mut conn = ctx.dial_and_peer()?;
    let req = HashesRequest {
        request_id: 55,
        hashes: vec![a.hash, b.hash],
    };
    conn.send(&EthMessage::GetBlockBodies(req.clone()))?;
    let resp = conn
        .read_until(super::conn::READ_TIMEOUT, |m| match m {
            EthMessage::BlockBodies(r) => Some(r),
            _ => None,
        })
        .map_err(|e| Stop::fail(format!("reading BlockBodies: {e}")))?;
    if resp.request_id != req.request_id {
        return Err(Stop::fail(format!(
            "unexpected request id in response: got {}, want {}",
            resp.request_id, req.request_id
        )));
    }
    if resp.items.len() != req.hashes.len() {
        return Err(Stop::fail(format!(
            "wrong bodies in response: expected {} bodies, got {}",
            req.hashes.len(),
            resp.items.len()
        )));
    }
    for (body, block) in resp.items.iter().zip([a, b]) {
        let txs = rlp::Rlp::new(body).at(0).and_then(|t| t.item_count());
        if txs != Ok(block.tx_count) {
            return Err(Stop::fail(format!(
                "the body of block {} has {txs:?} transactions, the chain {}",
                block.number, block.tx_count
            )));
        }
    }
    conn.close();
    Ok(())
}

/// Sends GetReceipts and reads the reply with its id checked.
fn ask_receipts(conn: &mut super::conn::Conn, req: GetReceipts) -> Result<Receipts, Stop> {
    let id = req.request_id;
    conn.send(&EthMessage::GetReceipts(req))?;
    let resp = conn
        .read_until(super::conn::READ_TIMEOUT, |m| match m {
            EthMessage::Receipts(r) => Some(r),
            _ => None,
        })
        .map_err(|e| Stop::fail(format!("reading Receipts: {e}")))?;
    if resp.request_id != id {
        return Err(Stop::fail(format!(
            "unexpected request id in response: got {}, want {id}",
            resp.request_id
        )));
    }
    Ok(resp)
}

/// Receipts of the first three blocks with transactions (the large-receipts block apart): one
/// list per block, each matching its header's receipts root.
pub fn get_receipts(ctx: &Ctx) -> TestResult {
    let chain = ctx.chain();
    let blocks: Vec<_> = chain
        .blocks
        .iter()
        .filter(|b| b.tx_count > 0 && Some(b.number) != chain.large_receipt_block)
        .take(3)
        .collect();
    if blocks.is_empty() {
        return Err(Stop::Skip(
            "the chain has no block with transactions".into(),
        ));
    }
    let mut conn = ctx.dial_and_peer()?;
    let resp = ask_receipts(
        &mut conn,
        GetReceipts {
            request_id: 66,
            first_block_receipt_index: 0,
            hashes: blocks.iter().map(|b| b.hash).collect(),
        },
    )?;
    if resp.blocks.len() != blocks.len() {
        return Err(Stop::fail(format!(
            "wrong receipts in response: expected {} receipts, got {}",
            blocks.len(),
            resp.blocks.len()
        )));
    }
    let lists = resp
        .receipts()
        .map_err(|e| Stop::fail(format!("undecodable receipts: {e}")))?;
    for (list, block) in lists.iter().zip(&blocks) {
        let values: Vec<Vec<u8>> = list.iter().map(|r| r.trie_value()).collect();
        let root = ordered_trie_root(&values);
        if root != block.receipts_root {
            return Err(Stop::fail(format!(
                "the receipts of block {} hash to 0x{}, the header says 0x{}",
                block.number,
                hex(&root),
                hex(&block.receipts_root)
            )));
        }
    }
    conn.close();
    Ok(())
}

/// eth/70: the receipts of the blocks around the one too large for a message, fetched page by
/// page (`firstBlockReceiptIndex`, `lastBlockIncomplete`), each block's root checked.
pub fn get_large_receipts(ctx: &Ctx) -> TestResult {
    let chain = ctx.chain();
    if !ctx.version.has_partial_receipts() {
        return Err(Stop::Skip(format!(
            "partial receipt lists are eth/70; this is eth/{}",
            ctx.version.number()
        )));
    }
    let Some(large) = chain.large_receipt_block else {
        return Err(Stop::Skip(
            "the chain dir names no large-receipts block (txinfo.json tx-largereceipt)".into(),
        ));
    };
    let start = large.saturating_sub(2) as usize;
    let end = ((large + 2) as usize).min(chain.blocks.len());
    let blocks = chain.blocks.get(start..end).unwrap_or_default();
    let mut conn = ctx.dial_and_peer()?;
    let mut lists: Vec<Vec<crate::eth::Receipt>> = vec![Vec::new(); blocks.len()];
    let mut at = 0usize;
    let mut pages = 0;
    loop {
        pages += 1;
        if pages > 1000 {
            return Err(Stop::fail("more than 1000 pages for 4 blocks of receipts"));
        }
        let resp = ask_receipts(
            &mut conn,
            GetReceipts {
                request_id: 66,
                first_block_receipt_index: lists[at].len() as u64,
                hashes: blocks[at..].iter().map(|b| b.hash).collect(),
            },
        )?;
        let got = resp
            .receipts()
            .map_err(|e| Stop::fail(format!("undecodable receipts: {e}")))?;
        if got.is_empty() {
            return Err(Stop::fail(format!(
                "an empty reply for the receipts of block {} from index {}",
                blocks[at].number,
                lists[at].len()
            )));
        }
        let n = got.len();
        if at + n > blocks.len() {
            return Err(Stop::fail("more receipt lists than blocks asked for"));
        }
        for (i, list) in got.into_iter().enumerate() {
            lists[at + i].extend(list);
        }
        at += n - 1;
        if !resp.last_block_incomplete {
            if at == blocks.len() - 1 {
                break;
            }
            at += 1;
        }
    }
    for (list, block) in lists.iter().zip(blocks) {
        let values: Vec<Vec<u8>> = list.iter().map(|r| r.trie_value()).collect();
        let root = ordered_trie_root(&values);
        if root != block.receipts_root {
            return Err(Stop::fail(format!(
                "wrong receipt root of block {}: want 0x{}, got 0x{}",
                block.number,
                hex(&block.receipts_root),
                hex(&root)
            )));
        }
    }
    conn.close();
    Ok(())
}
