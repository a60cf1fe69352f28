//! Figure group "tx": transactions validated per second (`tx::validate::validate`: size, strict
//! RLP decoding, fork, chain id, gas and fee rules, re-encoding for the hash, and the sender's
//! secp256k1 recovery) beside the recover floor measured in the same run, for a plain transfer
//! and for an EIP-1559 transaction carrying 1 KiB of calldata and an access list.
//!
//! Sender recovery dominates a transaction's validation as it does a discovery packet's; the
//! ratio says how little decoding, the rules and the keccak of the re-encoding add to it.

use ethpeer::crypto::{SecretKey, keccak256};
use ethpeer::tx::transaction::{AccessListItem, Transaction, TxType};
use ethpeer::tx::validate::{Fork, Rules, validate};

use crate::timing::{Op, Rng, keep, rates};

/// The chain id the transactions are signed for (the fixture chain's).
const CHAIN_ID: u64 = 3_503_995_874_084_926;

/// Runs the group and prints one line per transaction shape.
pub fn run() {
    let mut rng = Rng::new(11);
    let key = SecretKey::generate(|b: &mut [u8]| rng.fill(b));
    let rules = Rules::new(CHAIN_ID, Fork::Prague, 36_000_000);
    let mut transfer = Transaction {
        tx_type: TxType::DynamicFee,
        nonce: 7,
        tip_cap: 1_000_000_000,
        fee_cap: 30_000_000_000,
        gas_limit: 21_000,
        to: Some([0x42; 20]),
        ..Transaction::default()
    };
    transfer.value[31] = 1;
    let mut call = transfer.clone();
    call.input = vec![0u8; 1024];
    rng.fill(&mut call.input[..512]);
    call.access_list = vec![AccessListItem {
        address: [0x43; 20],
        storage_keys: vec![[1; 32], [2; 32], [3; 32]],
    }];
    call.gas_limit = 200_000;
    let digest = keccak256(b"floor");
    let sig = key.sign_prehash(&digest);
    for (label, mut tx) in [("transfer", transfer), ("1 KiB call", call)] {
        tx.sign(&key, CHAIN_ID);
        let bytes = tx.encode_network();
        // Check the transaction validates before timing: a rejection would time nonsense.
        let pooled = validate(&rules, &bytes).expect("the bench transaction is valid");
        assert_eq!(pooled.hash, tx.hash(), "{label}: hash");
        let found = rates(vec![
            Op::new("validate", || keep(validate(&rules, &bytes))),
            Op::new("recover", || keep(sig.recover(&digest))),
        ]);
        let (rate, floor) = (found[0], found[1]);
        println!(
            "tx {label:<11} {rate:>9.0} validated/s   recover floor {floor:>9.0} /s   ratio {:.2}",
            rate / floor
        );
    }
}
