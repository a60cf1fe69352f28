//! `ethpeer test discv4` against our own node: all fifteen of go-ethereum's discovery v4 tests
//! pass (the second listen address, 127.0.0.2, works on Linux loopback).

mod common;

use std::time::Duration;

use common::node_proc::{NodeProc, temp_dir};
use common::suite_cli::run_suite;

#[test]
fn the_discv4_suite_against_our_node() {
    let dir = temp_dir("suite-discv4");
    let node = NodeProc::start(&dir, &[]);
    let run = run_suite(
        &[
            "discv4",
            "--remote",
            &node.enode,
            "--listen1",
            "127.0.0.1",
            "--listen2",
            "127.0.0.2",
        ],
        Duration::from_secs(300),
    );
    assert_eq!(run.results.len(), 15, "{}", run.stdout);
    assert_eq!(run.with("pass").len(), 15, "{}", run.stdout);
    assert_eq!(run.code, Some(0));
}
