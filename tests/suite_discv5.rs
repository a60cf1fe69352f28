//! `ethpeer test discv5` against our own node: all seven of go-ethereum's discovery v5 tests pass
//! (the second listen address, 127.0.0.2, works on Linux loopback; the bystanders of
//! FindnodeResults listen on 127.0.0.1 and the node has no bootnodes, so its table holds them
//! alone).

mod common;

use std::time::Duration;

use common::node_proc::{NodeProc, temp_dir};
use common::suite_cli::run_suite;

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

#[test]
fn the_discv5_suite_against_our_node() {
    let dir = temp_dir("suite-discv5");
    let node = NodeProc::start(&dir, &[]);
    let enr = record_of(&node);
    let run = run_suite(
        &[
            "discv5",
            &enr,
            "--listen1",
            "127.0.0.1",
            "--listen2",
            "127.0.0.2",
        ],
        Duration::from_secs(300),
    );
    let names = [
        "Ping",
        "PingLargeRequestID",
        "PingMultiIP",
        "HandshakeResend",
        "TalkRequest",
        "FindnodeZeroDistance",
        "FindnodeResults",
    ];
    assert_eq!(
        run.results
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .len(),
        names.len(),
        "{}",
        run.stdout
    );
    for name in names {
        assert_eq!(
            run.results.get(name).map(|(r, _)| r.as_str()),
            Some("pass"),
            "{name}:\n{}",
            run.stdout
        );
    }
    assert_eq!(run.code, Some(0));
}
