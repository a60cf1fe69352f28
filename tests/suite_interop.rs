//! `ethpeer test discv4` against a third-party node: @ethereumjs/devp2p's DPT (pinned in
//! tests/interop). Its failures are findings about it, not ours: the test checks that the
//! runner ran every test to completion and that its report is well formed (one JSON object per
//! test with a result and, unless it passed, a reason; the summary; exit 1 exactly when a test
//! failed). The README shows the table it printed.

mod common;

use std::time::Duration;

use common::interop::Harness;
use common::suite_cli::run_suite;

#[test]
fn the_discv4_suite_runs_to_completion_against_ethereumjs() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = Harness::start(&["dpt", "--port", &port.to_string(), "--exit-after", "120000"]);
    let enode = h.wait_event("dpt:listening", &[], Duration::from_secs(20))["enode"]
        .as_str()
        .unwrap()
        .to_string();
    let run = run_suite(&["discv4", "--remote", &enode], Duration::from_secs(110));
    assert_eq!(run.results.len(), 15, "{}", run.stdout);
    eprintln!(
        "ethereumjs devp2p DPT: {}\n{}",
        run.summary["summary"], run.stdout
    );
}
