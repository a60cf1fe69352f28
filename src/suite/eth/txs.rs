//! The transaction exchange tests (devp2p caps/eth.md "Transaction Exchange"; go-ethereum ethtest
//! `TestTransaction`, `TestInvalidTxs`, `TestNewPooledTxs`, `TestLargeTxRequest`): a valid
//! transaction sent on one session reaches another (whole or announced); invalid ones never do; an
//! announcement makes the node fetch; a node holding many transactions serves them by hash.
//! Transactions are signed with the chain dir's keys at the nonces its head state gives.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::Ctx;
use super::conn::{Conn, ConnError};
use crate::chain::header::U256;
use crate::crypto::hex;
use crate::eth::{
    EthMessage, GetBlockHeaders, Hash, HashesRequest, NewPooledTransactionHashes, RawList,
    RawResponse,
};
use crate::suite::runner::{Stop, TestResult};
use crate::tx::Address;
use crate::tx::transaction::{Transaction, TxType, decode_network};

/// How long a sent transaction may take to come back on the other session: go-ethereum's
/// suite waits 2 s; announcements are batched by some clients, and CI machines are slow.
pub const PROPAGATION_WAIT: Duration = Duration::from_secs(10);

/// How long the other session watches for an invalid transaction that must not come.
pub const INVALID_WATCH: Duration = Duration::from_secs(3);

/// A dynamic-fee transaction from sender `who` at `nonce`, tip 1 wei, fee cap the head's base
/// fee, signed for the chain.
pub fn dynamic_tx(
    ctx: &Ctx,
    who: usize,
    nonce: u64,
    gas: u64,
    to: Option<Address>,
    value: U256,
    input: Vec<u8>,
) -> Result<Transaction, Stop> {
    let chain = ctx.chain();
    let (sender, _) = chain
        .sender(who)
        .ok_or_else(|| Stop::Skip(format!("the chain dir has no sender {who} (accounts.json)")))?;
    let mut tx = Transaction {
        tx_type: TxType::DynamicFee,
        nonce,
        tip_cap: 1,
        fee_cap: chain.base_fee.max(1),
        gas_limit: gas,
        to,
        value: value.0,
        input,
        ..Transaction::default()
    };
    tx.sign(&sender.key, chain.spec.chain_id);
    Ok(tx)
}

/// The next nonce of sender `who`.
pub fn nonce_of(ctx: &Ctx, who: usize) -> Result<(Address, u64), Stop> {
    ctx.chain()
        .sender(who)
        .map(|(s, n)| (s.address, n))
        .ok_or_else(|| Stop::Skip(format!("the chain dir has no sender {who} (accounts.json)")))
}

/// The Transactions message of these transactions (network encoding).
pub fn transactions(txs: &[Transaction]) -> Result<EthMessage, Stop> {
    RawList::from_items(txs.iter().map(Transaction::encode_network))
        .map(EthMessage::Transactions)
        .map_err(|e| Stop::fail(format!("encoding our transactions: {e}")))
}

/// Answers a GetBlockHeaders the node sent us from the test chain (a node may sync from us).
fn serve_headers(ctx: &Ctx, conn: &mut Conn, q: &GetBlockHeaders) -> Result<(), Stop> {
    let items = ctx.chain().headers(q).unwrap_or_default();
    let items = RawList::from_items(items).unwrap_or_default();
    conn.send(&EthMessage::BlockHeaders(RawResponse {
        request_id: q.request_id,
        items,
    }))?;
    Ok(())
}

/// The hashes a message carries whole or announced.
fn hashes_in(msg: &EthMessage) -> Vec<Hash> {
    match msg {
        EthMessage::Transactions(list) => list
            .iter()
            .filter_map(|t| decode_network(t).ok())
            .map(|t| t.hash())
            .collect(),
        EthMessage::NewPooledTransactionHashes(a) => a.hashes.clone(),
        _ => Vec::new(),
    }
}

/// Two sessions: `txs` go out on one and must all come back on the other within
/// [`PROPAGATION_WAIT`] (go-ethereum `sendTxs`).
pub fn send_txs(ctx: &Ctx, txs: &[Transaction]) -> TestResult {
    let mut send = ctx.dial_and_peer()?;
    let mut recv = ctx.dial_and_peer()?;
    send.send(&transactions(txs)?)?;
    let mut missing: BTreeSet<Hash> = txs.iter().map(Transaction::hash).collect();
    let end = Instant::now() + PROPAGATION_WAIT;
    while !missing.is_empty() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Stop::fail(format!(
                "{} of {} transactions did not come back on another session within {}s (first: 0x{})",
                missing.len(),
                txs.len(),
                PROPAGATION_WAIT.as_secs(),
                hex(missing.first().map(|h| &h[..]).unwrap_or_default())
            )));
        }
        recv.set_read_timeout(left.min(super::conn::READ_TIMEOUT));
        let msg = match recv.read_eth() {
            Ok(m) => m,
            Err(ConnError::Timeout) => continue,
            Err(e) => return Err(Stop::fail(format!("the receiving session: {e}"))),
        };
        if let EthMessage::GetBlockHeaders(q) = &msg {
            serve_headers(ctx, &mut recv, q)?;
        }
        for h in hashes_in(&msg) {
            missing.remove(&h);
        }
    }
    send.close();
    recv.close();
    Ok(())
}

/// One valid transaction propagates.
pub fn transaction(ctx: &Ctx) -> TestResult {
    ctx.name_head()?;
    let (from, nonce) = nonce_of(ctx, 0)?;
    let tx = dynamic_tx(
        ctx,
        0,
        nonce,
        30_000,
        Some([0xaa; 20]),
        U256::from_u64(1),
        Vec::new(),
    )?;
    send_txs(ctx, &[tx])?;
    ctx.chain().use_nonces(from, 1);
    Ok(())
}

/// A valid transaction propagates; then transactions each with one fault (a nonce already
/// used, a value over the balance, gas under the intrinsic cost, initcode over EIP-3860's
/// limit, a transaction over 128 KiB) must not reach the other session.
pub fn invalid_txs(ctx: &Ctx) -> TestResult {
    ctx.name_head()?;
    let (from, nonce) = nonce_of(ctx, 0)?;
    let to = Some([0xaa; 20]);
    let valid = dynamic_tx(ctx, 0, nonce, 30_000, to, U256::default(), Vec::new())?;
    send_txs(ctx, &[valid])?;
    ctx.chain().use_nonces(from, 1);
    let next = nonce + 1;
    let zero = U256::default();
    let mut bad: Vec<(&str, Transaction)> = Vec::new();
    if nonce > 0 {
        bad.push((
            "nonce already used",
            dynamic_tx(ctx, 0, nonce - 1, 100_000, to, zero, vec![])?,
        ));
    }
    if let Some(balance) = ctx.chain().balances.get(&from) {
        bad.push((
            "value exceeds balance",
            dynamic_tx(ctx, 0, next, 100_000, to, *balance, vec![])?,
        ));
    }
    bad.push((
        "gas limit too low",
        dynamic_tx(ctx, 0, next, 1337, to, zero, vec![])?,
    ));
    bad.push((
        "code size too large",
        dynamic_tx(ctx, 0, next, 1_000_000, None, zero, noise(50 * 1024))?,
    ));
    bad.push((
        "data too large",
        dynamic_tx(ctx, 0, next, 5_000_000, to, zero, noise(128 * 1024))?,
    ));
    let names: HashMap<Hash, &str> = bad.iter().map(|(n, t)| (t.hash(), *n)).collect();
    let txs: Vec<Transaction> = bad.into_iter().map(|(_, t)| t).collect();
    // The invalid ones leave the nonce where it is: skipping one would leave a gap that a later
    // version's "nonce already used" (nonce - 1) would fill with a valid transaction.
    let mut send = ctx.dial_and_peer()?;
    let mut recv = ctx.dial_and_peer()?;
    send.send(&transactions(&txs)?)?;
    let end = Instant::now() + INVALID_WATCH;
    let mut relayed = BTreeSet::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        recv.set_read_timeout(left);
        let msg = match recv.read_eth() {
            Ok(m) => m,
            Err(ConnError::Timeout) => break,
            Err(e) => return Err(Stop::fail(format!("the receiving session: {e}"))),
        };
        if let EthMessage::GetBlockHeaders(q) = &msg {
            serve_headers(ctx, &mut recv, q)?;
        }
        for h in hashes_in(&msg) {
            if let Some(name) = names.get(&h) {
                relayed.insert(*name);
            }
        }
    }
    if !relayed.is_empty() {
        return Err(Stop::fail(format!(
            "the node relayed invalid transactions: {}",
            relayed.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    send.close();
    recv.close();
    Ok(())
}

fn noise(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    crate::crypto::os_random(&mut b);
    b
}

/// `count` transfers from sender `who`, 75 000 gas each, from its next nonce.
fn batch(ctx: &Ctx, who: usize, count: u64) -> Result<Vec<Transaction>, Stop> {
    let (_, nonce) = nonce_of(ctx, who)?;
    (0..count)
        .map(|i| {
            dynamic_tx(
                ctx,
                who,
                nonce + i,
                75_000,
                None,
                U256::default(),
                Vec::new(),
            )
        })
        .collect()
}

/// 2000 transactions sent on one session; a later session asks for all of them by hash and
/// must get only those.
pub fn large_tx_request(ctx: &Ctx) -> TestResult {
    ctx.name_head()?;
    let (from, _) = nonce_of(ctx, 1)?;
    let txs = batch(ctx, 1, 2000)?;
    ctx.chain().use_nonces(from, 2000);
    send_txs(ctx, &txs)?;
    let mut conn = ctx.dial_and_peer()?;
    let hashes: Vec<Hash> = txs.iter().map(Transaction::hash).collect();
    let set: BTreeSet<Hash> = hashes.iter().copied().collect();
    conn.send(&EthMessage::GetPooledTransactions(HashesRequest {
        request_id: 1234,
        hashes,
    }))?;
    let resp = conn
        .read_until(super::conn::READ_TIMEOUT, |m| match m {
            EthMessage::PooledTransactions(r) => Some(r),
            _ => None,
        })
        .map_err(|e| Stop::fail(format!("reading PooledTransactions: {e}")))?;
    if resp.request_id != 1234 {
        return Err(Stop::fail(format!(
            "unexpected request id in response: got {}, want 1234",
            resp.request_id
        )));
    }
    for item in resp.items.iter() {
        let tx = decode_network(item)
            .map_err(|e| Stop::fail(format!("invalid transaction in response: {e}")))?;
        if !set.contains(&tx.hash()) {
            return Err(Stop::fail(format!(
                "unexpected tx received: 0x{}",
                hex(&tx.hash())
            )));
        }
    }
    conn.close();
    Ok(())
}

/// Fifty announced hashes: the node asks for all fifty with GetPooledTransactions.
pub fn new_pooled_txs(ctx: &Ctx) -> TestResult {
    ctx.name_head()?;
    let (from, _) = nonce_of(ctx, 1)?;
    let txs = batch(ctx, 1, 50)?;
    ctx.chain().use_nonces(from, 50);
    let mut conn = ctx.dial_and_peer()?;
    conn.send(&EthMessage::NewPooledTransactionHashes(announcement(&txs)))?;
    let asked = conn
        .read_until(super::conn::READ_TIMEOUT, |m| match m {
            EthMessage::GetPooledTransactions(r) => Some(r),
            _ => None,
        })
        .map_err(|e| Stop::fail(format!("waiting for GetPooledTransactions: {e}")))?;
    if asked.hashes.len() != txs.len() {
        return Err(Stop::fail(format!(
            "unexpected number of txs requested: wanted {}, got {}",
            txs.len(),
            asked.hashes.len()
        )));
    }
    conn.close();
    Ok(())
}

/// The announcement of `txs`: type, size of the consensus encoding (with a blob transaction's
/// sidecar, as the node will receive it), hash.
pub fn announcement(txs: &[Transaction]) -> NewPooledTransactionHashes {
    NewPooledTransactionHashes {
        types: txs.iter().map(|t| t.tx_type.byte()).collect(),
        sizes: txs.iter().map(|t| announced_size(t) as u32).collect(),
        hashes: txs.iter().map(Transaction::hash).collect(),
    }
}

/// The size an announcement states: the network encoding's payload for a blob transaction (it
/// includes the sidecar), the consensus encoding otherwise.
pub fn announced_size(tx: &Transaction) -> usize {
    if tx.sidecar.is_some() {
        let net = tx.encode_network();
        rlp::Rlp::new(&net)
            .data()
            .map(|d| d.len())
            .unwrap_or(net.len())
    } else {
        tx.encode_consensus().len()
    }
}
