//! Dialing and address rules on loopback: bootnodes fill dynamic slots, `--netrestrict` keeps
//! outsiders out, `--nat extip:` sets the advertised address, and `rlpx ping` probes a node.

mod common;

use std::process::Command;
use std::time::Duration;

use common::node_proc::{NodeProc, temp_dir};
use common::raw_peer::closed_within;

#[test]
fn a_bootnode_is_dialed_to_fill_a_dynamic_slot() {
    let boot = NodeProc::start(&temp_dir("boot-b"), &[]);
    let node = NodeProc::start(&temp_dir("boot-a"), &["--bootnodes", &boot.enode]);
    let boot_id = boot.pubkey().node_id().to_string();
    node.wait_log(
        &["Dialing", &boot.addr().to_string()],
        Duration::from_secs(10),
    );
    node.wait_log(&["Adding p2p peer", &boot_id], Duration::from_secs(10));
    boot.wait_log(&["Adding p2p peer"], Duration::from_secs(10));
}

#[test]
fn netrestrict_refuses_inbound_connections_from_outside_and_skips_dials() {
    let other = NodeProc::start(&temp_dir("nr-other"), &[]);
    let node = NodeProc::start(
        &temp_dir("nr"),
        &["--netrestrict", "10.0.0.0/8", "--staticnodes", &other.enode],
    );
    let mut s = std::net::TcpStream::connect(node.addr()).unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(5)),
        "a loopback peer outside 10/8 is closed at once"
    );
    node.wait_log(&["Inbound connection refused"], Duration::from_secs(5));
    // The static node was handed to the dial scheduler and refused there for netrestrict (not
    // skipped because static dialing does nothing at all): the refusal names it and the reason.
    let other_id = other.pubkey().node_id().to_string();
    node.wait_log(
        &[
            "Static node not dialed",
            &other_id,
            "node is not in netrestrict list",
        ],
        Duration::from_secs(5),
    );
    // And no dial of it follows: a window of 500 ms after the refusal, with no Dialing line.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !node.logged(&["Dialing"]),
        "a static node outside netrestrict is not dialed (500 ms window):\n{}",
        node.log_text()
    );
}

#[test]
fn nat_extip_sets_the_advertised_address() {
    let node = NodeProc::start(&temp_dir("nat"), &["--nat", "extip:203.0.113.7"]);
    assert!(node.enode.contains("@203.0.113.7:"), "{}", node.enode);
}

#[test]
fn rlpx_ping_prints_the_remote_hello_and_disconnects() {
    let node = NodeProc::start(&temp_dir("ping"), &["--identity", "pingme"]);
    let out = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(["rlpx", "ping", &node.enode, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["protocolVersion"], 5);
    assert!(
        v["clientId"]
            .as_str()
            .unwrap()
            .starts_with("ethpeer/pingme/")
    );
    assert_eq!(
        v["id"].as_str().unwrap(),
        ethpeer::crypto::hex(&node.pubkey().to_bytes())
    );
    node.wait_log(
        &["disconnected by remote: Disconnect requested"],
        Duration::from_secs(5),
    );
}

#[test]
fn rlpx_ping_fails_with_one_line_when_nobody_listens() {
    let node = NodeProc::start(&temp_dir("ping-gone"), &[]);
    let url = node.enode.clone();
    drop(node);
    let out = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(["rlpx", "ping", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("ethpeer: ") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn rlpx_ping_refuses_a_malformed_enode() {
    let out = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(["rlpx", "ping", "enode://1234@127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = temp_dir("jsonlog");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args([
            "node",
            "--port",
            "0",
            "--nodiscover",
            "--noeth",
            "--log.format",
            "json",
        ])
        .arg("--datadir")
        .arg(&dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(v["lvl"], "info");
    assert!(
        v["self"].as_str().unwrap().starts_with("enode://"),
        "{line}"
    );
}

/// geth's `<datadir>/static-nodes.json` (a JSON array of enode URLs, spaced and escaped as a JSON
/// writer may write it) names a peer the node dials and keeps.
#[test]
fn static_nodes_json_in_the_datadir_is_dialed() {
    let other = NodeProc::start(&temp_dir("sn-other"), &[]);
    let dir = temp_dir("sn");
    let escaped = other.enode.replace('/', "\\/");
    std::fs::write(
        dir.join("static-nodes.json"),
        format!("[\n  \"{escaped}\"\n]\n"),
    )
    .unwrap();
    let node = NodeProc::start(&dir, &[]);
    let other_id = other.pubkey().node_id().to_string();
    node.wait_log(&["Adding p2p peer", &other_id], Duration::from_secs(10));
}
