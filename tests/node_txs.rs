//! Transactions across running nodes: three ethpeer nodes in a line (A — B — C) on the fixture
//! chain; transactions given to A (`--txs`) reach C and a raw peer behind it, and no node ever
//! received a transaction twice (each node's counters, logged at shutdown). Invalid ones are
//! refused at A and never leave it. The journal keeps A's local transactions across a restart.

mod common;

use std::time::Duration;

use common::fixture_node::{genesis_arg, imported_datadir};
use common::node_proc::{NodeProc, temp_dir};
use common::raw_peer::{RawPeer, Read_};
use common::{fixture_json, h};
use ethpeer::crypto::SecretKey;
use ethpeer::eth::{self, EthMessage, EthVersion, HashesRequest};
use ethpeer::tx::transaction::{Transaction, TxType};

const CHAIN_ID: u64 = 3_503_995_874_084_926;
const ETH: u64 = 0x10;

/// `n` valid transfers from the fixture accounts, plus (when `bad`) one for another chain.
fn txs(n: usize, nonce0: u64, bad: bool) -> (Vec<String>, Vec<[u8; 32]>) {
    let accounts = fixture_json("chain/accounts.json");
    let keys: Vec<SecretKey> = accounts
        .as_object()
        .unwrap()
        .values()
        .map(|a| SecretKey::from_bytes(&h(a["key"].as_str().unwrap())).unwrap())
        .collect();
    let mut lines = Vec::new();
    let mut hashes = Vec::new();
    for i in 0..n + usize::from(bad) {
        let mut tx = Transaction {
            tx_type: if i % 2 == 0 {
                TxType::DynamicFee
            } else {
                TxType::Legacy
            },
            nonce: nonce0 + i as u64,
            tip_cap: 1_000_000_000,
            fee_cap: 100_000_000_000,
            gas_limit: 21_000,
            to: Some([0x42; 20]),
            ..Transaction::default()
        };
        if tx.tx_type == TxType::Legacy {
            tx.tip_cap = tx.fee_cap;
        }
        let chain = if i == n { 1 } else { CHAIN_ID };
        tx.sign(&keys[i % keys.len()], chain);
        lines.push(format!("0x{}", ethpeer::crypto::hex(&tx.encode_network())));
        if i < n {
            hashes.push(tx.hash());
        }
    }
    (lines, hashes)
}

fn node(name: &str, extra: &[&str]) -> NodeProc {
    let dir = imported_datadir(name);
    let g = genesis_arg();
    let mut args = vec![
        "--genesis",
        g.as_str(),
        "--syncmode",
        "none",
        "--nodiscover",
    ];
    args.extend_from_slice(extra);
    NodeProc::start(&dir, &args)
}

/// The counter `name=N` from a node's shutdown line.
fn counter(node: &NodeProc, name: &str) -> u64 {
    let log = node.log.lock().unwrap();
    let line = log
        .iter()
        .find(|l| l.contains("Transaction propagation"))
        .unwrap_or_else(|| panic!("no stats line:\n{}", log.join("\n")));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

#[test]
fn transactions_cross_a_line_of_three_nodes_once_each() {
    let (lines, hashes) = txs(6, 0, true);
    let file = temp_dir("txs-file").join("txs.hex");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let mut c = node("txs-c", &[]);
    let mut b = node("txs-b", &["--staticnodes", &c.enode]);
    let mut a = node(
        "txs-a",
        &["--staticnodes", &b.enode, "--txs", file.to_str().unwrap()],
    );
    a.wait_log(
        &["Local transaction refused", "chain"],
        Duration::from_secs(5),
    );
    // A raw peer behind C hears of every transaction and fetches it.
    let mut p = RawPeer::connect(c.addr(), c.pubkey(), 7).unwrap();
    let v = EthVersion::Eth68;
    p.hello(&[("eth", 68)]).unwrap();
    p.send(ETH, &common::fixture_node::fixture_status(v, |_| {}));
    p.stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = std::collections::BTreeSet::new();
    while got.len() < hashes.len() {
        match p.recv() {
            Read_::Message(code, payload) if code > ETH => {
                match eth::decode(v, code - ETH, &payload).unwrap() {
                    EthMessage::NewPooledTransactionHashes(ann) => {
                        let (id, req) = eth::encode(
                            v,
                            &EthMessage::GetPooledTransactions(HashesRequest {
                                request_id: 1,
                                hashes: ann.hashes.clone(),
                            }),
                        )
                        .unwrap();
                        p.send(ETH + id, &req);
                    }
                    EthMessage::PooledTransactions(ethpeer::eth::RawResponse {
                        items: r, ..
                    })
                    | EthMessage::Transactions(r) => {
                        for item in r.iter() {
                            let tx = ethpeer::tx::transaction::decode_network(item).unwrap();
                            got.insert(tx.hash());
                        }
                    }
                    _ => {}
                }
            }
            Read_::Message(..) => {}
            other => panic!(
                "raw peer at C: {other:?}; got {} of {}",
                got.len(),
                hashes.len()
            ),
        }
    }
    let want: std::collections::BTreeSet<_> = hashes.iter().copied().collect();
    assert_eq!(
        got, want,
        "exactly the valid transactions reach the far end"
    );
    for n in [&mut a, &mut b, &mut c] {
        assert!(n.terminate().success());
    }
    assert_eq!(counter(&a, "added"), 6, "A pooled its six valid local txs");
    for (name, n) in [("B", &b), ("C", &c)] {
        assert_eq!(counter(n, "added"), 6, "{name} pooled every tx");
        assert_eq!(
            counter(n, "invalid"),
            0,
            "{name}: the invalid tx never left A"
        );
        assert_eq!(counter(n, "duplicates"), 0, "{name} received a tx twice");
    }
    assert_eq!(
        counter(&a, "received"),
        0,
        "A was never sent its own txs back"
    );
}

#[test]
fn local_transactions_survive_a_restart_in_the_journal() {
    let (lines, _) = txs(3, 100, false);
    let dir = imported_datadir("txs-journal");
    let file = temp_dir("txs-journal-file").join("txs.hex");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let g = genesis_arg();
    let mut first = NodeProc::start(
        &dir,
        &[
            "--genesis",
            &g,
            "--syncmode",
            "none",
            "--nodiscover",
            "--txs",
            file.to_str().unwrap(),
        ],
    );
    first.wait_log(
        &["Loaded local transaction journal", "live=3"],
        Duration::from_secs(5),
    );
    assert!(first.terminate().success());
    let second = NodeProc::start(
        &dir,
        &["--genesis", &g, "--syncmode", "none", "--nodiscover"],
    );
    second.wait_log(
        &[
            "Loaded local transaction journal",
            "transactions=3",
            "live=3",
        ],
        Duration::from_secs(5),
    );
}
