//! `ethpeer test eth` against a third-party client: the pinned ethereumjs client (tests/clique)
//! sealing its Clique chain. Our node syncs it and `ethpeer export` writes the chain dir the
//! runner needs (chain.rlp beside the genesis.json both started from; no accounts, so the
//! transaction tests skip saying so). The client keeps sealing a block every 2 s, so its Status
//! soon names a head past the exported one: its failures are findings about it (or about a
//! moving head), not ours. The test checks that the runner ran every test to completion and that
//! its report is well formed; the README shows the table it printed.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::clique::{self, CliquePeer};
use common::node_proc::{NodeProc, temp_dir};
use common::suite_cli::run_suite;

#[test]
fn the_eth_suite_runs_to_completion_against_the_ethereumjs_client() {
    let peer = CliquePeer::start("suite");
    let target = peer.wait_head(3, Duration::from_secs(60))["number"]
        .as_u64()
        .unwrap();
    let mut node = NodeProc::start(
        &temp_dir("suite-clique-node"),
        &[
            "--genesis",
            &clique::genesis_arg(),
            "--nodiscover",
            "--sync.minpeers",
            "1",
            "--staticnodes",
            &peer.enode,
        ],
    );
    let imported = |node: &NodeProc| {
        node.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("Imported new chain segment"))
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("number="))
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .max()
    };
    // The client never answers GetReceipts, so each sync round waits out the receipt timeout.
    let end = Instant::now() + Duration::from_secs(120);
    while imported(&node).is_none_or(|n| n < target) {
        assert!(
            Instant::now() < end,
            "our node did not sync:\n{}",
            node.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(node.terminate().success(), "{}", node.log_text());

    // The chain dir: blocks 1..head as `ethpeer export` writes them, and the genesis.
    let chain = temp_dir("suite-clique-chain");
    let head = ethpeer::chain::store::ChainStore::open(&node.datadir)
        .unwrap()
        .head()
        .unwrap()
        .unwrap()
        .number;
    let out = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .arg("export")
        .arg(chain.join("chain.rlp"))
        .args(["1", &head.to_string()])
        .arg("--datadir")
        .arg(&node.datadir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(clique::genesis_path(), chain.join("genesis.json")).unwrap();

    let chain_arg = chain.display().to_string();
    let run = run_suite(
        &["eth", "--node", &peer.enode, "--chain", &chain_arg],
        Duration::from_secs(600),
    );
    // The client speaks eth/68 only: one run of every test.
    let names: Vec<String> = ethpeer::suite::eth::test_names()
        .map(|n| format!("{n}/eth68"))
        .collect();
    for n in &names {
        assert!(run.results.contains_key(n), "{n} missing:\n{}", run.stdout);
    }
    assert_eq!(run.results.len(), names.len(), "{}", run.stdout);
    for n in run.with("skip") {
        assert!(!run.message(n).is_empty());
    }
    eprintln!(
        "ethereumjs client 0.10.5: {}\n{}",
        run.summary["summary"], run.stdout
    );
}
