//! Discovery v4 interop with @ethereumjs/devp2p's DPT (pinned in tests/interop): it pings us
//! and puts us in its table; our `discv4 ping` gets its pong; our node bootstraps from it and
//! dials its RLPx side. (Its quirks: no ENR packets, 4-byte expirations it never checks.)

mod common;

use std::process::Command;
use std::time::Duration;

use common::interop::{Harness, free_port};
use common::node_proc::{NodeProc, temp_dir};
use ethpeer::crypto::{SecretKey, hex};
use serde_json::json;

const T: Duration = Duration::from_secs(20);

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn ethereumjs_pings_us_and_adds_us_to_its_table() {
    let node = NodeProc::start(&temp_dir("ejs-dpt"), &[]);
    let port = free_udp_port();
    let h = Harness::start(&[
        "dpt",
        "--port",
        &port.to_string(),
        "--enode",
        &node.enode,
        "--exit-after",
        "6000",
    ]);
    h.wait_event("dpt:pong", &[("idMatches", json!(true))], T);
    let ours = format!("0x{}", hex(&node.pubkey().to_bytes()));
    h.wait_event("dpt:peer:added", &[("id", json!(ours))], T);
}

#[test]
fn our_discv4_ping_gets_a_pong_from_ethereumjs() {
    let port = free_udp_port();
    let h = Harness::start(&["dpt", "--port", &port.to_string(), "--exit-after", "8000"]);
    let enode = h.wait_event("dpt:listening", &[], T)["enode"]
        .as_str()
        .unwrap()
        .to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(["discv4", "ping", &enode])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("pong from "));
}

#[test]
fn our_node_bootstraps_from_ethereumjs_and_dials_it() {
    let (tcp, udp) = (free_port(), free_udp_port());
    let key = SecretKey::from_bytes(&[0x55; 32]).unwrap();
    let h = Harness::start(&[
        "listen",
        "--port",
        &tcp.to_string(),
        "--udp-port",
        &udp.to_string(),
        "--key",
        &hex(&key.to_bytes()),
        "--keep-without-caps",
        "--exit-after",
        "15000",
    ]);
    let enode = h.wait_event("dpt:listening", &[], T)["enode"]
        .as_str()
        .unwrap()
        .to_string();
    let node = NodeProc::start(&temp_dir("ejs-boot"), &["--bootnodes", &enode]);
    // Discovery: it learns of us from our Ping.
    let ours = format!("0x{}", hex(&node.pubkey().to_bytes()));
    h.wait_event("dpt:peer:added", &[("id", json!(ours))], T);
    // RLPx: we dial it; its Hello handler sees ours.
    let hello = h.wait_event("hello", &[], T);
    assert_eq!(hello["id"], json!(ours));
    node.wait_log(
        &["Adding p2p peer", &key.public_key().node_id().to_string()],
        T,
    );
}
