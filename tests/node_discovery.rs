//! Discovery v4 on loopback: nodes meet through a bootnode and connect over RLPx without static
//! configuration; the `discv4` and `bootnode` verbs; `--nodiscover`.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::node_proc::{NodeProc, temp_dir};

struct Bootnode {
    child: Child,
    enode: String,
}

impl Drop for Bootnode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bootnode() -> Bootnode {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(["bootnode", "--port", &port.to_string(), "--verbosity", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("enode://"), "bootnode printed {line:?}");
    Bootnode {
        child,
        enode: line.trim().to_string(),
    }
}

fn ethpeer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn two_nodes_meet_through_a_bootnode_and_connect() {
    let boot = bootnode();
    let a = NodeProc::start(&temp_dir("disc-a"), &["--bootnodes", &boot.enode]);
    let b = NodeProc::start(&temp_dir("disc-b"), &["--bootnodes", &boot.enode]);
    let (a_id, b_id) = (
        a.pubkey().node_id().to_string(),
        b.pubkey().node_id().to_string(),
    );
    let end = Instant::now() + Duration::from_secs(30);
    while !(a.logged(&["Adding p2p peer", &b_id]) && b.logged(&["Adding p2p peer", &a_id])) {
        assert!(
            Instant::now() < end,
            "no RLPx session between the two nodes;\nA:\n{}\nB:\n{}",
            a.log_text(),
            b.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn discv4_verbs_against_a_running_node() {
    let node = NodeProc::start(&temp_dir("disc-verbs"), &[]);
    let out = ethpeer(&["discv4", "ping", &node.enode]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("pong from {}", node.pubkey().node_id())),
        "{text}"
    );

    let out = ethpeer(&["discv4", "requestenr", &node.enode]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let enr = text.lines().next().unwrap();
    let rec: ethpeer::enr::Record = enr.parse().unwrap();
    assert_eq!(rec.public_key(), Some(node.pubkey()));
    assert_eq!(
        rec.tcp(),
        Some(node.addr().port()),
        "the record names our RLPx port"
    );

    let out = ethpeer(&["discv4", "resolve", &node.enode]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(node.enode.split('?').next().unwrap())
    );

    let file = temp_dir("disc-crawl").join("nodes.json");
    let out = ethpeer(&[
        "discv4",
        "crawl",
        "--bootnodes",
        &node.enode,
        "--timeout",
        "2s",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("crawl: done"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let entry = &v[node.pubkey().node_id().to_string()];
    assert!(entry["record"].as_str().unwrap().starts_with("enr:"), "{v}");
}

#[test]
fn nodiscover_answers_no_discovery_packets() {
    let node = NodeProc::start(&temp_dir("nodisc"), &["--nodiscover"]);
    let out = ethpeer(&["discv4", "ping", &node.enode, "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    // No UDP socket at all: the kernel answers for it.
    assert!(err.contains("port unreachable"), "{err}");
}

#[test]
fn discv4_verbs_refuse_bad_input_with_one_line() {
    for args in [
        &["discv4", "ping", "enode://zz@127.0.0.1:1"][..],
        &["discv4", "crawl", "--bootnodes", ""][..],
        &[
            "discv4",
            "ping",
            "enode://1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f70beaf8f588b541507fed6a642c5ab42dfdf8120a7f639de5122d47a69a8e8d1@127.0.0.1:1",
            "--timeout",
            "soon",
        ][..],
    ] {
        let out = ethpeer(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn the_node_database_seeds_the_table_after_a_restart() {
    let first = NodeProc::start(&temp_dir("db-first"), &[]);
    let dir = temp_dir("db-second");
    let mut second = NodeProc::start(&dir, &["--bootnodes", &first.enode]);
    let first_id = first.pubkey().node_id().to_string();
    second.wait_log(&["Adding p2p peer", &first_id], Duration::from_secs(15));
    // Let discovery bond (its Pong is what the database keeps), then stop cleanly.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(second.terminate().success());
    // Without any bootnode, the restarted node finds the first one again from its database.
    let again = NodeProc::start(&dir, &[]);
    again.wait_log(
        &["Seeded the node table", "nodes=1"],
        Duration::from_secs(5),
    );
    again.wait_log(&["Adding p2p peer", &first_id], Duration::from_secs(15));
}
