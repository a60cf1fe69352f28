//! Interop with a third-party devp2p implementation (@ethereumjs/devp2p, pinned in
//! tests/interop/package-lock.json): RLPx handshake, Hello, snappy both ways, Ping/Pong, and the
//! USELESS_PEER disconnect it sends while we offer no capability it shares.

mod common;

use std::time::Duration;

use common::interop::{Harness, free_port};
use common::node_proc::{NodeProc, temp_dir};
use ethpeer::crypto::{SecretKey, hex};
use serde_json::json;

const T: Duration = Duration::from_secs(15);

#[test]
fn ethereumjs_dials_us_completes_hello_and_leaves_as_useless_peer() {
    let node = NodeProc::start(&temp_dir("ejs-useless"), &[]);
    let h = Harness::start(&["dial", "--enode", &node.enode, "--exit-after", "4000"]);
    let hello = h.wait_event("hello", &[], T);
    assert_eq!(hello["protocolVersion"], json!(5), "our Hello says p2p v5");
    assert!(hello["clientId"].as_str().unwrap().starts_with("ethpeer/"));
    assert_eq!(hello["eip8"], json!(true), "our ack is EIP-8");
    // It shares no capability with us, so it leaves. (As an initiator it may send Disconnect
    // before its own Hello: a quirk of the library.)
    h.wait_event(
        "p2p:send",
        &[("msg", json!("DISCONNECT")), ("reason", json!(3))],
        T,
    );
    node.wait_log(&["disconnected by remote: Useless peer"], T);
}

#[test]
fn ethereumjs_dials_us_and_ping_pong_round_trips_with_snappy() {
    let node = NodeProc::start(&temp_dir("ejs-dial"), &[]);
    let h = Harness::start(&[
        "dial",
        "--enode",
        &node.enode,
        "--keep-without-caps",
        "--ping-after",
        "300",
        "--exit-after",
        "5000",
    ]);
    // Its Ping reached us compressed and our Pong reached it compressed.
    h.wait_event(
        "p2p:recv",
        &[("msg", json!("PONG")), ("snappy", json!(true))],
        T,
    );
    node.wait_log(&["Received ping"], T);
    // When it leaves, it says so.
    node.wait_log(&["Removing p2p peer", "Client quitting"], T);
}

#[test]
fn we_dial_ethereumjs_as_a_static_node() {
    let port = free_port();
    let key = SecretKey::from_bytes(&[0x44; 32]).unwrap();
    let h = Harness::start(&[
        "listen",
        "--port",
        &port.to_string(),
        "--key",
        &hex(&key.to_bytes()),
        "--keep-without-caps",
        "--ping-after",
        "300",
        "--exit-after",
        "8000",
    ]);
    let listening = h.wait_event("listening", &[], T);
    let enode = listening["enode"].as_str().unwrap().to_string();
    let node = NodeProc::start(&temp_dir("ejs-listen"), &["--staticnodes", &enode]);
    let hello = h.wait_event("hello", &[], T);
    assert_eq!(hello["protocolVersion"], json!(5));
    assert_eq!(
        hello["id"].as_str().unwrap().trim_start_matches("0x"),
        hex(&node.pubkey().to_bytes()),
        "the Hello it received carries our id"
    );
    h.wait_event(
        "p2p:recv",
        &[("msg", json!("PONG")), ("snappy", json!(true))],
        T,
    );
    node.wait_log(
        &["Adding p2p peer", &key.public_key().node_id().to_string()],
        T,
    );
    node.wait_log(&["Received ping"], T);
}
