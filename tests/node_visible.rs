//! A node a user can see: its version, its enode where a script can read it, a log file, typed
//! JSON logs, the lines geth users expect at the default verbosity, and sync lines that name the
//! peer. Each was missing or wrong before (issue "What a new user hits").

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::fixture_node::imported_datadir;
use common::fixture_path;
use common::node_proc::{NodeProc, temp_dir};

#[test]
fn version_names_the_build() {
    for args in [&["--version"][..], &["version"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with(&format!("ethpeer {}", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
        for field in ["commit: ", "target: ", "compiler: rustc "] {
            assert!(text.contains(field), "{args:?} lacks {field}: {text}");
        }
    }
}

#[test]
fn the_enode_is_on_stdout_and_in_the_datadir_while_the_node_runs() {
    let dir = temp_dir("enode-out");
    let log = dir.join("node.log");
    // Bounded: a node that never prints its enode is stopped after 30 s and the test fails.
    let mut child = Command::new("timeout")
        .args(["-s", "TERM", "30", env!("CARGO_BIN_EXE_ethpeer")])
        .args(["node", "--datadir"])
        .arg(dir.join("dd"))
        .args(["--port", "0", "--bootnodes", "", "--noeth", "--log.file"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let enode = first.trim().to_string();
    assert!(enode.starts_with("enode://"), "{first:?}");
    let file = std::fs::read_to_string(dir.join("dd/enode")).unwrap();
    assert_eq!(file.trim(), enode);
    // --log.file holds the same start line the terminal gets.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("Started P2P networking") && logged.contains(&enode),
        "{logged}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    assert!(
        !dir.join("dd/enode").exists(),
        "the enode file is removed at a clean stop"
    );
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("Node stopped")
    );
}

#[test]
fn json_logs_keep_numbers_and_booleans() {
    let node = NodeProc::start(
        &temp_dir("json-log"),
        &["--log.format", "json", "--maxpeers", "7"],
    );
    node.wait_log(&["Node configuration"], Duration::from_secs(5));
    let line = node
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("Node configuration"))
        .cloned()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON object a line");
    assert_eq!(v["maxpeers"], serde_json::json!(7), "{line}");
    assert_eq!(v["discovery"], serde_json::json!(true), "{line}");
    assert!(v["msg"].is_string());
}

#[test]
fn a_serving_node_reports_its_head_and_then_its_status() {
    let dd = imported_datadir("visible-serve");
    let genesis = fixture_path("chain/genesis.json");
    let node = NodeProc::start(
        &dd,
        &["--genesis", genesis.to_str().unwrap(), "--nodiscover"],
    );
    node.wait_log(
        &["Loaded most recent local block", "number=600"],
        Duration::from_secs(5),
    );
    // The status line comes every 8 s while below the peer limit.
    node.wait_log(
        &["Looking for peers", "peercount=0", "head=600", "txs=0"],
        Duration::from_secs(12),
    );
}

#[test]
fn sync_lines_name_the_peer_by_its_node_id() {
    let server_dir = imported_datadir("visible-sync-server");
    let genesis = fixture_path("chain/genesis.json");
    let g = genesis.to_str().unwrap();
    let server = NodeProc::start(
        &server_dir,
        &["--genesis", g, "--nodiscover", "--syncmode", "none"],
    );
    let server_id = server.pubkey().node_id().to_string();
    let client = NodeProc::start(
        &temp_dir("visible-sync-client"),
        &[
            "--genesis",
            g,
            "--nodiscover",
            "--staticnodes",
            &server.enode,
        ],
    );
    client.wait_log(
        &[
            "Block synchronisation started",
            &format!("peer={server_id}"),
        ],
        Duration::from_secs(30),
    );
}
