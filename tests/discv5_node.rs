//! Discovery v5 in `ethpeer node`, on loopback: v4 and v5 answer on the one UDP port by default;
//! `--discovery.v4 false` and `--discovery.v5 false` each silence one; `--bootnodes` takes enr:
//! records, which the node's v5 contacts at start; a bad record is one line and exit 1.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::node_proc::{NodeProc, temp_dir};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ethpeer")
}

fn run(args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("30")
        .arg(bin())
        .args(args)
        .output()
        .expect("running ethpeer")
}

/// The node's record, from its "Node record enr=…" line.
fn record_of(n: &NodeProc) -> String {
    n.wait_log(&["Node record"], Duration::from_secs(10));
    let text = n.log_text();
    let line = text.lines().find(|l| l.contains("Node record")).unwrap();
    let i = line.find("enr=").unwrap();
    line[i + 4..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
        .to_string()
}

fn pings(n: &NodeProc) -> (bool, bool) {
    let enr = record_of(n);
    let v4 = run(&["discv4", "ping", &n.enode, "--timeout", "2s"]);
    let v5 = run(&["discv5", "ping", &enr, "--timeout", "2s"]);
    (v4.status.success(), v5.status.success())
}

#[test]
fn both_protocols_answer_on_one_port_by_default() {
    let n = NodeProc::start(&temp_dir("v5-both"), &[]);
    assert_eq!(pings(&n), (true, true), "log:\n{}", n.log_text());
}

#[test]
fn discovery_v5_false_leaves_v4_alone_on_the_port() {
    let n = NodeProc::start(&temp_dir("v5-off"), &["--discovery.v5", "false"]);
    assert_eq!(pings(&n), (true, false));
}

#[test]
fn discovery_v4_false_leaves_v5_alone_on_the_port() {
    let n = NodeProc::start(&temp_dir("v4-off"), &["--discovery.v4", "false"]);
    assert_eq!(pings(&n), (false, true));
}

#[test]
fn an_enr_bootnode_is_contacted_over_v5_at_start() {
    let mut l = Command::new(bin())
        .args(["discv5", "listen", "--timeout", "20s", "--verbosity", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut enr = String::new();
    BufReader::new(l.stdout.take().unwrap())
        .read_line(&mut enr)
        .unwrap();
    let enr = enr.trim().to_string();
    let n = NodeProc::start(&temp_dir("v5-boot"), &["--bootnodes", &enr]);
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = l.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Session established") {
                let _ = tx.send(line);
            }
        }
    });
    let got = rx.recv_timeout(Duration::from_secs(10));
    let _ = l.kill();
    let _ = l.wait();
    let line = got.expect("the listen node saw no session from the node");
    let id = ethpeer::crypto::hex(n.pubkey().node_id().as_bytes());
    assert!(line.contains(&id), "{line}");
}

#[test]
fn a_bad_enr_bootnode_is_one_line_and_exit_1() {
    let dir = temp_dir("v5-bad");
    let out = run(&[
        "node",
        "--datadir",
        dir.to_str().unwrap(),
        "--noeth",
        "--port",
        "0",
        "--bootnodes",
        "enr:-AAAA",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--bootnodes"), "{err}");
}
