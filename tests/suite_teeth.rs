//! The suites can fail: against a peer built to misbehave in one way, the test that covers the
//! fault fails and names it, while the same peer without the fault passes that test.

mod common;

use std::time::Duration;

use common::bad_discv5::{Discv5Fault, start_discv5};
use common::bad_node::{Fault, start_discv4_without_bond_check, start_eth};
use common::fixture_path;
use common::suite_cli::{SuiteRun, run_suite};

fn eth(fault: Fault, test: &str) -> SuiteRun {
    let node = start_eth(fault);
    let chain = fixture_path("chain").display().to_string();
    let filter = format!("^{test}/eth69$");
    run_suite(
        &["eth", "--node", &node, "--chain", &chain, "--run", &filter],
        Duration::from_secs(120),
    )
}

fn failed_with(run: &SuiteRun, test: &str, says: &str) {
    let name = format!("{test}/eth69");
    assert_eq!(run.with("fail"), [name.as_str()], "{}", run.stdout);
    let m = run.message(&name);
    assert!(
        m.contains(says),
        "{name} failed, but not naming the fault: {m}"
    );
}

#[test]
fn the_control_peer_passes() {
    for test in ["Status", "GetBlockHeaders"] {
        let run = eth(Fault::None, test);
        assert_eq!(
            run.with("pass"),
            [format!("{test}/eth69").as_str()],
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_wrong_fork_id_fails_status() {
    failed_with(
        &eth(Fault::WrongForkId, "Status"),
        "Status",
        "wrong fork ID",
    );
}

#[test]
fn a_wrong_request_id_fails_get_block_headers() {
    let run = eth(Fault::WrongRequestId, "GetBlockHeaders");
    failed_with(
        &run,
        "GetBlockHeaders",
        "unexpected request id in BlockHeaders: got 34, want 33",
    );
}

#[test]
fn an_oversized_reply_fails_get_block_headers() {
    let run = eth(Fault::OversizedReply, "GetBlockHeaders");
    failed_with(&run, "GetBlockHeaders", "Message too large");
}

#[test]
fn relaying_an_invalid_tx_fails_invalid_txs() {
    let run = eth(Fault::RelaysInvalidTx, "InvalidTxs");
    failed_with(&run, "InvalidTxs", "the node relayed invalid transactions");
    let m = run.message("InvalidTxs/eth69");
    for case in [
        "gas limit too low",
        "code size too large",
        "data too large",
        "value exceeds balance",
    ] {
        assert!(m.contains(case), "{case} not named: {m}");
    }
}

#[test]
fn findnode_answered_without_a_bond_fails_without_endpoint_proof() {
    let node = start_discv4_without_bond_check();
    let run = run_suite(
        &[
            "discv4",
            "--remote",
            &node,
            "--run",
            "Findnode/WithoutEndpointProof",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(
        run.with("fail"),
        ["Findnode/WithoutEndpointProof"],
        "{}",
        run.stdout
    );
    assert!(
        run.message("Findnode/WithoutEndpointProof")
            .contains("got Neighbors")
    );
}

fn discv5(fault: Discv5Fault, filter: &str) -> SuiteRun {
    let enr = start_discv5(fault);
    run_suite(&["discv5", &enr, "--run", filter], Duration::from_secs(120))
}

/// Against the faulty discv5 responder, `test` alone fails, naming the fault in `says`.
fn discv5_failed_with(fault: Discv5Fault, test: &str, says: &str) {
    let run = discv5(fault, &format!("^{test}$"));
    assert_eq!(run.with("fail"), [test], "{}", run.stdout);
    let m = run.message(test);
    assert!(
        m.contains(says),
        "{test} failed, but not naming the fault: {m}"
    );
}

#[test]
fn the_control_discv5_responder_passes() {
    // FindnodeResults needs a node with a table; the responder has none.
    let run = discv5(
        Discv5Fault::None,
        "^(Ping|PingLargeRequestID|PingMultiIP|HandshakeResend|TalkRequest|FindnodeZeroDistance)$",
    );
    assert_eq!(run.with("pass").len(), 6, "{}", run.stdout);
}

#[test]
fn a_wrong_request_id_in_pong_fails_discv5_ping() {
    discv5_failed_with(
        Discv5Fault::WrongRequestId,
        "Ping",
        "wrong request ID 00000000 in PONG, want 00000001",
    );
}

#[test]
fn no_talkresp_fails_talk_request() {
    discv5_failed_with(Discv5Fault::SilentTalk, "TalkRequest", "no TALKRESP within");
}

#[test]
fn a_session_that_ignores_the_address_fails_ping_multi_ip() {
    discv5_failed_with(
        Discv5Fault::SessionPerNode,
        "PingMultiIP",
        "the node answered PING from 127.0.0.2 in the session made from 127.0.0.1",
    );
}

#[test]
fn a_fresh_challenge_each_time_fails_handshake_resend() {
    discv5_failed_with(
        Discv5Fault::FreshChallenge,
        "HandshakeResend",
        // A new challenge answers the second packet: it names that packet's nonce.
        "in the resent WHOAREYOU, want",
    );
}

#[test]
fn no_own_record_at_distance_zero_fails_findnode_zero_distance() {
    discv5_failed_with(
        Discv5Fault::EmptyZeroDistance,
        "FindnodeZeroDistance",
        "returned 0 records for FINDNODE [0]",
    );
}
