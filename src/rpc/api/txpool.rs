//! `txpool_*` (go-ethereum `internal/ethapi/api.go` TxPoolAPI): served only when `txpool` is
//! named in `--http.api`. The pool keeps no account state, so "pending" is each sender's run of
//! consecutive nonces from its lowest pooled one, and "queued" what follows a gap.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Backend;
use crate::rpc::format::{self, checksum_address, qty};
use crate::rpc::jsonrpc::RpcError;
use crate::rpc::params::Params;
use crate::server::control::PoolEntry;
use crate::server::eth::eth_request;
use crate::tx::transaction::{Transaction, decode_network};

pub async fn call(b: &Backend, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
    Params::new(params, 0)?;
    let entries = b
        .ask(|r| eth_request(r, |e, _| e.pool_entries(None)))
        .await?
        .unwrap_or_default();
    let (pending, queued) = split(entries)?;
    match method {
        "txpool_status" => Ok(json!({
            "pending": qty(count(&pending)),
            "queued": qty(count(&queued)),
        })),
        "txpool_content" => Ok(json!({
            "pending": content(&pending, |tx, from| format::transaction(tx, from, None)),
            "queued": content(&queued, |tx, from| format::transaction(tx, from, None)),
        })),
        "txpool_inspect" => Ok(json!({
            "pending": content(&pending, |tx, _| Value::String(inspect(tx))),
            "queued": content(&queued, |tx, _| Value::String(inspect(tx))),
        })),
        _ => Err(RpcError::method_not_found(method)),
    }
}

/// Transactions by sender, then nonce.
type BySender = BTreeMap<[u8; 20], Vec<(u64, Transaction)>>;

fn count(m: &BySender) -> u64 {
    m.values().map(|v| v.len() as u64).sum()
}

/// Splits the pool (by sender, then nonce) into pending and queued.
fn split(entries: Vec<PoolEntry>) -> Result<(BySender, BySender), RpcError> {
    let (mut pending, mut queued) = (BySender::new(), BySender::new());
    let mut last: Option<([u8; 20], u64, bool)> = None;
    for e in entries {
        let tx = decode_network(&e.network_rlp).map_err(|e| RpcError::internal(e.to_string()))?;
        let gapless = match last {
            Some((s, n, ok)) if s == e.sender => ok && e.nonce == n + 1,
            _ => true,
        };
        last = Some((e.sender, e.nonce, gapless));
        let side = if gapless { &mut pending } else { &mut queued };
        side.entry(e.sender).or_default().push((e.nonce, tx));
    }
    Ok((pending, queued))
}

/// `{checksummed sender: {nonce (decimal): item}}`.
fn content(m: &BySender, item: impl Fn(&Transaction, &[u8; 20]) -> Value) -> Value {
    let mut out = Map::new();
    for (sender, txs) in m {
        let mut by_nonce = Map::new();
        for (nonce, tx) in txs {
            by_nonce.insert(nonce.to_string(), item(tx, sender));
        }
        out.insert(checksum_address(sender), Value::Object(by_nonce));
    }
    Value::Object(out)
}

/// geth's one-line summary: `to: value wei + gas gas × price wei`.
fn inspect(tx: &Transaction) -> String {
    let value = format::qty256(&tx.value);
    let value = u128::from_str_radix(value.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)
        .map_or_else(|_| value.to_string(), |v| v.to_string());
    let to = tx
        .to
        .as_ref()
        .map_or_else(|| "contract creation".to_string(), checksum_address);
    format!(
        "{to}: {value} wei + {} gas × {} wei",
        tx.gas_limit, tx.fee_cap
    )
}
