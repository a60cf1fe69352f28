//! `ethpeer test eth` against our own node serving fixtures/chain (geth's ethtest chain, imported
//! with its head state, `headstate.json`, so the pool knows nonces and balances): every test at
//! eth/68, 69 and 70 passes, or is skipped saying why. No failure is expected.
//!
//! Each version runs against a fresh node. The head never moves here (nothing mines), so every
//! transaction a run sends stays pending: LargeTxRequest sends 2000 from one sender per version, and
//! three versions on one node would need 6000 pending transactions of one sender, more than a
//! pool of go-ethereum's size (5120 in all, `TXS_COUNT_MAX`) holds (geth's own pool refuses them
//! the same way once full).

mod common;

use std::time::Duration;

use common::fixture_node::{genesis_arg, imported_datadir_with_state};
use common::fixture_path;
use common::node_proc::NodeProc;
use common::suite_cli::run_suite;

const VERSIONS: [&str; 3] = ["eth68", "eth69", "eth70"];

#[test]
fn the_eth_suite_against_our_node() {
    let genesis = genesis_arg();
    let chain = fixture_path("chain").display().to_string();
    let names: Vec<&str> = ethpeer::suite::eth::test_names().collect();
    for v in VERSIONS {
        let dir = imported_datadir_with_state(&format!("suite-eth-{v}"));
        let node = NodeProc::start(&dir, &["--genesis", &genesis, "--nodiscover"]);
        let only = format!("/{v}$");
        let run = run_suite(
            &[
                "eth",
                "--node",
                &node.enode,
                "--chain",
                &chain,
                "--run",
                &only,
            ],
            Duration::from_secs(600),
        );
        drop(node);
        let _ = std::fs::remove_dir_all(&dir);
        // Every test of the suite at this version, and nothing else.
        for name in &names {
            let full = format!("{name}/{v}");
            assert!(
                run.results.contains_key(&full),
                "{full} missing:\n{}",
                run.stdout
            );
        }
        assert_eq!(run.results.len(), names.len(), "{}", run.stdout);
        assert!(run.with("fail").is_empty(), "{}", run.stdout);
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        for name in ["InvalidTxs", "LargeTxRequest", "BlobTxWithoutSidecar"] {
            assert_eq!(run.results[&format!("{name}/{v}")].0, "pass");
        }
        // Skips are only the ones with a reason that holds for this node and chain.
        for name in run.with("skip") {
            let m = run.message(name);
            let ok = (name.starts_with("BlockRange")
                && name.ends_with("eth68")
                && m.contains("eth/69 and later"))
                || (name.starts_with("GetLargeReceipts/")
                    && !name.ends_with("eth70")
                    && m.contains("eth/70"));
            assert!(ok, "unexpected skip {name}: {m}");
        }
        // The large-receipts test really ran at eth/70 (txinfo.json names block 11).
        if v == "eth70" {
            assert_eq!(run.results["GetLargeReceipts/eth70"].0, "pass");
        }
    }
}

/// The command line refuses what it cannot do with one line and exit 1, before any dial.
#[test]
fn bad_arguments_are_one_line_errors() {
    let chain = fixture_path("chain").display().to_string();
    let key = ethpeer::crypto::SecretKey::from_bytes(&[7; 32]).unwrap();
    let id = ethpeer::crypto::hex(&key.public_key().to_bytes());
    let node = format!("enode://{id}@127.0.0.1:1");
    for (args, says) in [
        (
            vec!["eth", "--node", &node, "--chain", &chain, "--tap", "--json"],
            "exclude",
        ),
        (
            vec!["eth", "--node", &node, "--chain", &chain, "--run", "("],
            "--run",
        ),
        (
            vec!["eth", "--node", "enode://zz", "--chain", &chain],
            "enode://zz",
        ),
        (
            vec!["eth", "--node", &node, "--chain", "/nonexistent"],
            "/nonexistent",
        ),
        (
            vec!["discv4", "--remote", &node, "--run", "NoSuchTest"],
            "no test matches",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ethpeer"))
            .arg("test")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
