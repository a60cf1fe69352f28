//! The blob transaction tests (EIP-4844 "Networking", devp2p caps/eth.md
//! "NewPooledTransactionHashes"; go-ethereum ethtest `TestBlobViolations`,
//! `TestBlobTxWithoutSidecar`, `TestBlobTxWithMismatchedSidecar`): a peer whose delivered blob
//! transaction contradicts its announcement (size or type) or its own hashes (no sidecar, a
//! sidecar that does not match) is disconnected, and the transaction is fetched from an honest
//! peer instead.
//!
//! The sidecars here carry commitments and proofs that are not real KZG values (there is no KZG
//! library in ethpeer): each commitment is a repeated byte and the versioned hashes are computed
//! from it, so the transaction is self-consistent but a node that verifies proofs refuses it for
//! that too.

use std::sync::mpsc;
use std::time::Duration;

use super::Ctx;
use super::conn::{ConnError, READ_TIMEOUT};
use super::txs::{announced_size, announcement, nonce_of};
use crate::eth::{EthMessage, RawList, RawResponse};
use crate::suite::runner::{Stop, TestResult};
use crate::tx::transaction::{
    BLOB_SIZE, BlobSidecar, CELLS_PER_EXT_BLOB, KZG_SIZE, Transaction, TxType, versioned_hash,
};

/// The blob fee cap of our blob transactions: 100 gwei, far above a test chain's blob base fee.
pub const BLOB_FEE_CAP: u128 = 100_000_000_000;

/// The sidecar form the chain's head takes: cell proofs (version 1) from Osaka on.
fn sidecar_version(ctx: &Ctx) -> u8 {
    let head = ctx.chain().head();
    match ctx.chain().spec.time_fork_at(head.time) {
        Some(f) if f == "osaka" || f.starts_with("bpo") => 1,
        _ => 0,
    }
}

fn sidecar(ctx: &Ctx, data: &[u8]) -> BlobSidecar {
    let version = sidecar_version(ctx);
    let proofs_per_blob = if version == 1 { CELLS_PER_EXT_BLOB } else { 1 };
    let mut sc = BlobSidecar {
        version,
        ..BlobSidecar::default()
    };
    for &d in data {
        let mut blob = vec![0u8; BLOB_SIZE];
        blob[0] = d;
        sc.blobs.push(blob);
        sc.commitments.push([d; KZG_SIZE]);
        for _ in 0..proofs_per_blob {
            sc.proofs.push([d; KZG_SIZE]);
        }
    }
    sc
}

/// `count` blob transactions from sender 5 with `blobs` blobs in all (at most two each), every
/// blob marked with `mark` (go-ethereum `makeBlobTxs`).
fn blob_txs(ctx: &Ctx, count: u64, mut blobs: usize, mark: u8) -> Result<Vec<Transaction>, Stop> {
    let (from, nonce) = nonce_of(ctx, 5)?;
    let chain = ctx.chain();
    let (sender, _) = chain
        .sender(5)
        .ok_or_else(|| Stop::Skip("the chain dir has no sender 5".into()))?;
    let mut out = Vec::new();
    for i in 0..count {
        let n = blobs.min(2);
        blobs -= n;
        let sc = sidecar(ctx, &vec![mark; n]);
        let mut tx = Transaction {
            tx_type: TxType::Blob,
            nonce: nonce + i,
            tip_cap: 1,
            fee_cap: chain.base_fee.max(1),
            gas_limit: 100_000,
            to: Some([0xbb; 20]),
            blob_fee_cap: BLOB_FEE_CAP,
            blob_versioned_hashes: sc.commitments.iter().map(versioned_hash).collect(),
            sidecar: Some(sc),
            ..Transaction::default()
        };
        tx.sign(&sender.key, chain.spec.chain_id);
        out.push(tx);
    }
    chain.use_nonces(from, count);
    Ok(out)
}

/// Two announcements that the delivery contradicts (a size 10 bytes off; a blob transaction
/// announced as type 2): each time the node must fetch and then disconnect.
pub fn blob_violations(ctx: &Ctx) -> TestResult {
    ctx.name_head()?;
    let t1 = blob_txs(ctx, 2, 3, 1)?;
    let t2 = blob_txs(ctx, 2, 3, 2)?;
    let mut wrong_size = super::txs::announcement(&t1);
    wrong_size.sizes[1] = (announced_size(&t1[1]) + 10) as u32;
    let mut wrong_type = super::txs::announcement(&t2);
    wrong_type.types[0] = TxType::DynamicFee.byte();
    for (what, ann, txs) in [
        ("a size 10 bytes off", wrong_size, t1),
        ("the wrong type", wrong_type, t2),
    ] {
        let mut conn = ctx.dial_and_peer()?;
        conn.send(&EthMessage::NewPooledTransactionHashes(ann))?;
        let req = conn
            .read_until(super::conn::READ_TIMEOUT, |m| match m {
                EthMessage::GetPooledTransactions(r) => Some(r),
                _ => None,
            })
            .map_err(|e| {
                Stop::fail(format!(
                    "announced with {what}: waiting for GetPooledTransactions: {e}"
                ))
            })?;
        let items = RawList::from_items(txs.iter().map(Transaction::encode_network))
            .map_err(|e| Stop::fail(format!("encoding our transactions: {e}")))?;
        conn.send(&EthMessage::PooledTransactions(RawResponse {
            request_id: req.request_id,
            items,
        }))?;
        loop {
            match conn.read_eth_raw() {
                Ok(_) => continue,
                Err(ConnError::Disconnected(_)) | Err(ConnError::Closed) => break,
                Err(e) => {
                    return Err(Stop::fail(format!(
                        "expected a disconnect after delivering blob txs announced with {what}, got: {e}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// How long the honest peer waits for the node to fetch the transaction from it (go-ethereum:
/// 12 s; the node first has to give up on the bad peer).
pub const REFETCH_WAIT: Duration = Duration::from_secs(12);

/// How long the honest peer watches for a disconnect that must not come.
pub const STAY_WATCH: Duration = Duration::from_secs(1);

/// A peer announces `tx` and delivers `bad` (same hash, broken sidecar) only after an honest
/// peer has announced `tx` too: the node must disconnect the first and fetch `tx` from the
/// second without disconnecting it (go-ethereum `testBadBlobTx`).
fn bad_blob_tx(ctx: &Ctx, tx: &Transaction, bad: &Transaction) -> TestResult {
    ctx.name_head()?;
    let (stage1_tx, stage1) = mpsc::channel::<()>();
    let (stage2_tx, stage2) = mpsc::channel::<()>();
    let (stage3_tx, stage3) = mpsc::channel::<()>();
    let wait = |rx: &mpsc::Receiver<()>, what: &str| {
        rx.recv_timeout(REFETCH_WAIT + READ_TIMEOUT)
            .map_err(|_| Stop::fail(format!("the other peer failed before {what}")))
    };
    std::thread::scope(|scope| {
        let bad_peer = scope.spawn(move || -> TestResult {
            let mut conn = ctx.dial_and_peer()?;
            conn.send(&EthMessage::NewPooledTransactionHashes(announcement(
                std::slice::from_ref(bad),
            )))?;
            let req = conn
                .read_until(READ_TIMEOUT, |m| match m {
                    EthMessage::GetPooledTransactions(r) => Some(r),
                    _ => None,
                })
                .map_err(|e| {
                    Stop::fail(format!("bad peer: waiting for GetPooledTransactions: {e}"))
                })?;
            let _ = stage1_tx.send(());
            wait(&stage2, "announcing")?;
            conn.send(&EthMessage::PooledTransactions(RawResponse {
                request_id: req.request_id,
                items: raw(std::slice::from_ref(bad))?,
            }))?;
            loop {
                match conn.read_eth_raw() {
                    Ok(_) => continue,
                    Err(ConnError::Disconnected(_)) | Err(ConnError::Closed) => break,
                    Err(e) => {
                        return Err(Stop::fail(format!(
                            "expected the bad peer to be disconnected, got: {e}"
                        )));
                    }
                }
            }
            let _ = stage3_tx.send(());
            Ok(())
        });
        let good_peer = scope.spawn(move || -> TestResult {
            wait(&stage1, "the node asked the bad peer")?;
            let mut conn = ctx.dial_and_peer()?;
            conn.send(&EthMessage::NewPooledTransactionHashes(announcement(
                std::slice::from_ref(tx),
            )))?;
            let _ = stage2_tx.send(());
            wait(&stage3, "the bad peer was disconnected")?;
            let req = conn
                .read_until(REFETCH_WAIT, |m| match m {
                    EthMessage::GetPooledTransactions(r) => Some(r),
                    _ => None,
                })
                .map_err(|e| {
                    Stop::fail(format!("good peer: waiting for GetPooledTransactions: {e}"))
                })?;
            if req.hashes.first() != Some(&tx.hash()) {
                return Err(Stop::fail(
                    "good peer: the node requested an unknown tx hash",
                ));
            }
            conn.send(&EthMessage::PooledTransactions(RawResponse {
                request_id: req.request_id,
                items: raw(std::slice::from_ref(tx))?,
            }))?;
            conn.set_read_timeout(STAY_WATCH);
            loop {
                match conn.read_eth_raw() {
                    Ok(_) => continue,
                    Err(ConnError::Timeout) => break,
                    Err(e) => {
                        return Err(Stop::fail(format!(
                            "good peer: disconnected after delivering the right tx: {e}"
                        )));
                    }
                }
            }
            conn.close();
            Ok(())
        });
        let bad = bad_peer
            .join()
            .unwrap_or_else(|_| Err(Stop::fail("bad peer ended abnormally")));
        let good = good_peer
            .join()
            .unwrap_or_else(|_| Err(Stop::fail("good peer ended abnormally")));
        // The first failure in time is the cause; a stage the other peer never reached follows.
        match (bad, good) {
            (Err(e), _) => Err(e),
            (_, r) => r,
        }
    })
}

fn raw(txs: &[Transaction]) -> Result<RawList, Stop> {
    RawList::from_items(txs.iter().map(Transaction::encode_network))
        .map_err(|e| Stop::fail(format!("encoding our transactions: {e}")))
}

/// The transaction delivered without its sidecar by the first peer.
pub fn blob_tx_without_sidecar(ctx: &Ctx) -> TestResult {
    let tx = blob_txs(ctx, 1, 2, 42)?.remove(0);
    let mut bad = tx.clone();
    bad.sidecar = None;
    bad_blob_tx(ctx, &tx, &bad)
}

/// The transaction delivered by the first peer with its first commitment zeroed.
pub fn blob_tx_with_mismatched_sidecar(ctx: &Ctx) -> TestResult {
    let tx = blob_txs(ctx, 1, 2, 43)?.remove(0);
    let mut bad = tx.clone();
    if let Some(sc) = bad.sidecar.as_mut() {
        sc.commitments[0] = [0; KZG_SIZE];
    }
    bad_blob_tx(ctx, &tx, &bad)
}
