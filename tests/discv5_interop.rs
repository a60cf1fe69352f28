//! Discovery v5 against a node nobody here wrote: @chainsafe/discv5 10.0.1 (Lodestar's), run by
//! tests/discv5_interop/peer.mjs on loopback, beside our `ethpeer bootnode` (v4 and v5 on one
//! UDP port) and `ethpeer discv5 listen|ping`. Every process is bounded in time and killed on
//! drop.
//!
//! It pings our bootnode and adds it, reads our record with FINDNODE [0] and gets an empty
//! TALKRESP; our `discv5 ping` gets its PONG; a lookup of its own, through our bootnode only,
//! finds a node only our bootnode knows; it fetches our newer record after our sequence number
//! changes; v4 (`ethpeer discv4 ping`) answers on the same port meanwhile; and an `ethpeer node`
//! serves ethereumjs (v4, tests/interop's harness) and chainsafe (v5) on one port at once.
//! `ethpeer test discv5` runs to completion against chainsafe with a well-formed report (its
//! failures are findings about chainsafe; README's "test your client" table shows them).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::interop::{EventLog, Harness, free_port};
use common::node_proc::{NodeProc, temp_dir};
use common::suite_cli::run_suite;
use ethpeer::enr::Record;
use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ethpeer")
}

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/discv5_interop")
}

/// A child killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The chainsafe harness with `actions`, staying `stay_ms` after them.
fn chainsafe(port: u16, actions: &[String], stay_ms: u64) -> (Proc, EventLog) {
    let dir = harness_dir();
    assert!(
        dir.join("node_modules/@chainsafe/discv5").exists(),
        "the discv5 harness is not installed: run `make test` (it runs `npm ci` in tests/discv5_interop)"
    );
    // Not wrapped in `timeout`: killing the wrapper would orphan the child. The harness exits by
    // itself after its actions and `stay_ms`.
    let mut child = Command::new("node")
        .arg("peer.mjs")
        .arg(port.to_string())
        .args(actions)
        .current_dir(&dir)
        .env("STAY_MS", stay_ms.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning node (Node.js is needed for the interop tests)");
    let log = EventLog::collect(child.stdout.take().unwrap());
    (Proc(child), log)
}

fn wait(log: &EventLog, what: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
    log.try_wait(Duration::from_secs(secs), pred)
        .unwrap_or_else(|| panic!("chainsafe: no {what}; events:\n{}", log.dump()))
}

fn event(log: &EventLog, name: &str, secs: u64) -> Value {
    wait(log, name, secs, |v| v["event"] == name)
}

/// Starts `ethpeer ARGS...` and reads its first `lines` stdout lines. The process is killed on
/// drop (a panicking test unwinds through it); `listen` also gets a `--timeout` of its own.
fn ethpeer(args: &[&str], lines: usize) -> (Proc, Vec<String>) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning ethpeer");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut got = Vec::new();
    for _ in 0..lines {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        got.push(l.trim().to_string());
    }
    (Proc(child), got)
}

fn run(args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("30")
        .arg(bin())
        .args(args)
        .output()
        .expect("running ethpeer")
}

fn node_id_hex(enr: &str) -> String {
    let r = Record::from_text(enr).unwrap();
    ethpeer::crypto::hex(r.node_id().unwrap().as_bytes())
}

/// Our bootnode on a free port: (process, enode, enr).
fn bootnode() -> (Proc, String, String) {
    let port = free_port().to_string();
    let (p, lines) = ethpeer(
        &["bootnode", "--port", &port, "--nat", "extip:127.0.0.1"],
        2,
    );
    assert!(lines[0].starts_with("enode://"), "{lines:?}");
    assert!(lines[1].starts_with("enr:"), "{lines:?}");
    (p, lines[0].clone(), lines[1].clone())
}

#[test]
fn chainsafe_pings_our_bootnode_reads_its_record_and_v4_answers_on_the_same_port() {
    let (_b, enode, enr) = bootnode();
    let port = free_port();
    let actions = [
        format!("ping={enr}"),
        format!("findnode={enr}@0"),
        format!("talk={enr}"),
    ];
    let (_c, log) = chainsafe(port, &actions, 300);
    // v4 on the same port while chainsafe talks v5 to it.
    let v4 = run(&["discv4", "ping", &enode, "--timeout", "5s"]);
    assert!(
        v4.status.success(),
        "discv4 ping: {}",
        String::from_utf8_lossy(&v4.stderr)
    );
    let ours = Record::from_text(&enr).unwrap();
    let pong = event(&log, "pong", 20);
    assert_eq!(pong["enrSeq"].as_u64(), Some(ours.seq()), "{pong}");
    assert_eq!(pong["ip"], "127.0.0.1");
    assert_eq!(pong["port"].as_u64(), Some(u64::from(port)));
    let nodes = event(&log, "nodes", 20);
    assert_eq!(
        nodes["enrs"],
        serde_json::json!([enr]),
        "FINDNODE [0] is our record"
    );
    let talk = event(&log, "talkresp", 20);
    assert_eq!(
        talk["hex"], "",
        "an unknown protocol gets an empty TALKRESP"
    );
    // It added us to its table.
    let id = node_id_hex(&enr);
    wait(&log, "our node in its table", 10, |v| {
        (v["event"] == "enrAdded" || v["event"] == "discovered") && v["nodeId"] == id.as_str()
    });
    assert!(log.named("error").is_empty(), "{}", log.dump());
}

#[test]
fn our_ping_gets_chainsafe_pong() {
    let port = free_port();
    let (_c, log) = chainsafe(port, &[], 15_000);
    let ready = event(&log, "ready", 20);
    let enr = ready["enr"].as_str().unwrap();
    let out = run(&["discv5", "ping", enr, "--timeout", "5s"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = ready["nodeId"].as_str().unwrap();
    assert!(text.starts_with(&format!("pong from {id}")), "{text}");
}

#[test]
fn a_chainsafe_lookup_through_our_bootnode_finds_a_node_only_it_knows() {
    let (_b, _, boot_enr) = bootnode();
    // A node of ours that only the bootnode knows: it pings the bootnode at start.
    let (_m, lines) = ethpeer(
        &[
            "discv5",
            "listen",
            "--bootnodes",
            &boot_enr,
            "--timeout",
            "40s",
        ],
        1,
    );
    let m_enr = lines[0].clone();
    let m_id = node_id_hex(&m_enr);
    std::thread::sleep(Duration::from_millis(500));
    let actions = [format!("add={boot_enr}"), format!("lookup={m_id}")];
    let (_c, log) = chainsafe(free_port(), &actions, 300);
    let lookup = event(&log, "lookup", 30);
    let ids: Vec<&str> = lookup["nodeIds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        ids.contains(&m_id.as_str()),
        "lookup found {ids:?}; events:\n{}",
        log.dump()
    );
}

#[test]
fn chainsafe_fetches_our_newer_record_after_our_seq_changes() {
    let key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let port = free_port().to_string();
    let listen = |t: &str| {
        ethpeer(
            &[
                "discv5",
                "listen",
                "--nodekeyhex",
                key,
                "--port",
                &port,
                "--timeout",
                t,
            ],
            1,
        )
    };
    let (first, lines) = listen("6s");
    let old = lines[0].clone();
    let id = node_id_hex(&old);
    let actions = [
        format!("add={old}"),
        format!("ping={old}"),
        "wait=3000".to_string(),
        format!("ping={old}"),
        "wait=1500".to_string(),
        format!("show={id}"),
    ];
    let (_c, log) = chainsafe(free_port(), &actions, 300);
    let p1 = event(&log, "pong", 20);
    // Restart on the same key and port: the new record's seq (unix ms) is higher.
    drop(first);
    std::thread::sleep(Duration::from_millis(300));
    let (_second, lines) = listen("20s");
    let new = Record::from_text(&lines[0]).unwrap();
    assert!(new.seq() > p1["enrSeq"].as_u64().unwrap());
    let show = event(&log, "show", 30);
    assert_eq!(
        show["seq"].as_u64(),
        Some(new.seq()),
        "chainsafe still holds the old record; events:\n{}",
        log.dump()
    );
}

#[test]
fn our_crawl_from_a_chainsafe_node_finds_the_nodes_it_knows() {
    // A node of ours that only chainsafe's table holds (added by hand there; it knows no one).
    let (_m, lines) = ethpeer(&["discv5", "listen", "--timeout", "40s"], 1);
    let m_enr = lines[0].clone();
    let (_c, log) = chainsafe(free_port(), &[format!("add={m_enr}")], 20_000);
    let ready = event(&log, "ready", 20);
    event(&log, "added", 20);
    let c_enr = ready["enr"].as_str().unwrap();
    let out = run(&["discv5", "crawl", "--bootnodes", c_enr, "--timeout", "3s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Value = serde_json::from_slice(&out.stdout).expect("crawl prints JSON");
    let m_id = node_id_hex(&m_enr);
    assert_eq!(
        found[&m_id]["record"].as_str(),
        Some(m_enr.as_str()),
        "crawl output: {found}"
    );
    assert!(found[ready["nodeId"].as_str().unwrap()].is_object());
}

#[test]
fn one_node_serves_ethereumjs_over_v4_and_chainsafe_over_v5_at_once() {
    let node = NodeProc::start(&temp_dir("v4v5-both"), &[]);
    node.wait_log(&["Node record"], Duration::from_secs(10));
    let text = node.log_text();
    let line = text.lines().find(|l| l.contains("Node record")).unwrap();
    let enr = line[line.find("enr=").unwrap() + 4..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
        .to_string();
    let udp = free_port();
    let ejs = Harness::start(&[
        "dpt",
        "--port",
        &udp.to_string(),
        "--enode",
        &node.enode,
        "--exit-after",
        "6000",
    ]);
    let (_c, log) = chainsafe(free_port(), &[format!("ping={enr}")], 300);
    ejs.wait_event(
        "dpt:pong",
        &[("idMatches", serde_json::json!(true))],
        Duration::from_secs(20),
    );
    let pong = event(&log, "pong", 20);
    assert_eq!(
        pong["enrSeq"].as_u64(),
        Record::from_text(&enr).ok().map(|r| r.seq())
    );
}

#[test]
fn the_discv5_suite_runs_to_completion_against_chainsafe() {
    let (_c, log) = chainsafe(free_port(), &[], 240_000);
    let ready = event(&log, "ready", 20);
    let enr = ready["enr"].as_str().expect("its record").to_string();
    // run_suite checks the report: one JSON line per test, a reason for each failure, the
    // summary's counts, and exit status 1 exactly when a test failed.
    let run = run_suite(&["discv5", &enr], Duration::from_secs(200));
    let names = [
        "Ping",
        "PingLargeRequestID",
        "PingMultiIP",
        "HandshakeResend",
        "TalkRequest",
        "FindnodeZeroDistance",
        "FindnodeResults",
    ];
    for name in names {
        assert!(run.results.contains_key(name), "{name}:\n{}", run.stdout);
    }
    assert_eq!(run.results.len(), names.len(), "{}", run.stdout);
    // The findings, for the README's table.
    eprintln!("{}", run.stdout);
}
