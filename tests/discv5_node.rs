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

/// Starts `ethpeer ARGS...` and returns it with its first stdout line; killed by the caller.
fn first_line(args: &[&str]) -> (std::process::Child, String) {
    let mut c = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut l = String::new();
    BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut l)
        .unwrap();
    (c, l.trim().to_string())
}

#[test]
fn resolve_finds_the_newer_record_of_a_moved_node_through_a_bootnode() {
    let key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let bp = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut boot = Command::new(bin())
        .args([
            "bootnode",
            "--port",
            &bp.to_string(),
            "--nat",
            "extip:127.0.0.1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(boot.stdout.take().unwrap()).lines();
    let _enode = lines.next().unwrap().unwrap();
    let boot_enr = lines.next().unwrap().unwrap();
    // The node under one key, first at one port (then gone), then at another, known to the
    // bootnode.
    let (mut old_proc, old) =
        first_line(&["discv5", "listen", "--nodekeyhex", key, "--timeout", "20s"]);
    let _ = old_proc.kill();
    let _ = old_proc.wait();
    std::thread::sleep(Duration::from_millis(20));
    let mut new_proc = Command::new(bin())
        .args([
            "discv5",
            "listen",
            "--nodekeyhex",
            key,
            "--bootnodes",
            &boot_enr,
            "--timeout",
            "20s",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut new = String::new();
    BufReader::new(new_proc.stdout.take().unwrap())
        .read_line(&mut new)
        .unwrap();
    let new = new.trim().to_string();
    // Wait until its session with the bootnode is up: the bootnode then holds its new record.
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = new_proc.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Session established") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the moved node reached no session with the bootnode");
    let out = run(&[
        "discv5",
        "resolve",
        &old,
        "--bootnodes",
        &boot_enr,
        "--timeout",
        "5s",
    ]);
    let _ = new_proc.kill();
    let _ = new_proc.wait();
    let _ = boot.kill();
    let _ = boot.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().next(),
        Some(new.as_str()),
        "old record was {old}"
    );
}

/// One node database for both: a node that met another only over v5 remembers it, and after a
/// restart with no bootnodes its v5 table starts from the database and reaches the node again.
#[test]
fn the_node_database_seeds_the_v5_table_after_a_restart() {
    let first = NodeProc::start(&temp_dir("v5db-first"), &["--discovery.v4", "false"]);
    let first_enr = record_of(&first);
    let first_id = first.pubkey().node_id().to_string();
    let dir = temp_dir("v5db-second");
    let v5_only = ["--discovery.v4", "false"];
    let mut second = NodeProc::start(&dir, &[&v5_only[..], &["--bootnodes", &first_enr]].concat());
    second.wait_log(&["Discv5 session", &first_id], Duration::from_secs(10));
    // Let the answer reach the database, then stop cleanly.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(second.terminate().success());
    let again = NodeProc::start(&dir, &v5_only);
    again.wait_log(
        &["Seeded the v5 node table", "nodes=1"],
        Duration::from_secs(5),
    );
    again.wait_log(&["Discv5 session", &first_id], Duration::from_secs(10));
}
