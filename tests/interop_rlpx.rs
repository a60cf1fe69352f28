//! Interop with a third-party devp2p implementation (@ethereumjs/devp2p, pinned in
//! tests/interop/package-lock.json): RLPx handshake, Hello, Ping/Pong with snappy both ways (our
//! Pong's bytes on the wire are checked to be a snappy block the library decoded; its Ping goes
//! through our snappy decoder, as every message after a v5 Hello does), and the USELESS_PEER
//! disconnect it sends while we offer no capability it shares.

mod common;

use std::time::Duration;

use common::interop::{Harness, free_port};
use common::node_proc::{NodeProc, temp_dir};
use ethpeer::crypto::{SecretKey, hex};
use ethpeer::rlpx::snappy;
use serde_json::json;

const T: Duration = Duration::from_secs(15);

/// Waits for the library to decode a Pong from us and checks, on the bytes that crossed, that it
/// was snappy-compressed: the harness prints the frame's message bytes as they came off the wire
/// (decrypted, before the library's snappy step) and the RLP the library decoded from them. The
/// library's own `v5` flag only says that the negotiated version made it try snappy.
fn assert_compressed_pong(h: &Harness) {
    let pong = h.wait_event("p2p:recv", &[("msg", json!("PONG"))], T);
    let bytes = |field: &str| {
        let s = pong[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field}: {pong}"));
        ethpeer::crypto::unhex(s.trim_start_matches("0x")).unwrap()
    };
    let (wire, decoded) = (bytes("wire"), bytes("decoded"));
    assert_eq!(decoded, [0xc0], "the library decoded an empty list: {pong}");
    assert_ne!(wire, decoded, "the Pong crossed uncompressed: {pong}");
    assert_eq!(
        snappy::decompress(&wire, snappy::DECODED_SIZE_MAX),
        Ok(decoded),
        "the Pong's wire bytes are not a snappy block of what the library decoded: {pong}"
    );
}

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
    // Our Pong reached it compressed, and the library decoded it (see [`assert_compressed_pong`]);
    // its Ping reached us through our snappy decoder.
    assert_compressed_pong(&h);
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
    assert_compressed_pong(&h);
    node.wait_log(
        &["Adding p2p peer", &key.public_key().node_id().to_string()],
        T,
    );
    node.wait_log(&["Received ping"], T);
}
