//! `ethpeer test discv5`: go-ethereum's discovery v5 conformance suite (`devp2p discv5 test`,
//! `cmd/devp2p/internal/v5test`), our own code, run against any node over UDP. The tester is a
//! raw discv5 endpoint ([`conn`]) built on the library's sans-IO codec; each test gets fresh
//! sockets on `--listen1` (and `--listen2`) and a fresh key, so the node meets a stranger every
//! time. Groups: [`ping`] (Ping…, HandshakeResend, TalkRequest) and [`findnode`]
//! (FindnodeZeroDistance, FindnodeResults with its bystanders).

pub mod conn;
pub mod findnode;
pub mod ping;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::suite::runner::{Test, TestResult};
use conn::Remote;

/// A test's deadline: a few reads of at most [`conn::WAIT`] each.
pub const TEST_DEADLINE: Duration = Duration::from_secs(20);
/// FindnodeResults' deadline: the bystanders' handshakes, then up to
/// [`findnode::BYSTANDER_WAIT`] of FINDNODE polls, with room to spare.
pub const FINDNODE_RESULTS_DEADLINE: Duration = Duration::from_secs(60);

/// What every test is given: the node, and the addresses the tester may listen on.
#[derive(Debug, Clone)]
pub struct Env {
    pub remote: Remote,
    pub listen1: IpAddr,
    pub listen2: IpAddr,
}

type TestFn = fn(&Env) -> TestResult;

/// go-ethereum's tests, in its order, with their deadlines.
const TESTS: &[(&str, TestFn, Duration)] = &[
    ("Ping", ping::ping, TEST_DEADLINE),
    (
        "PingLargeRequestID",
        ping::ping_large_request_id,
        TEST_DEADLINE,
    ),
    ("PingMultiIP", ping::ping_multi_ip, TEST_DEADLINE),
    ("HandshakeResend", ping::handshake_resend, TEST_DEADLINE),
    ("TalkRequest", ping::talk_request, TEST_DEADLINE),
    (
        "FindnodeZeroDistance",
        findnode::zero_distance,
        TEST_DEADLINE,
    ),
    (
        "FindnodeResults",
        findnode::results,
        FINDNODE_RESULTS_DEADLINE,
    ),
];

/// The suite's tests against `remote`, with the tester on `listen1` and `listen2`.
pub fn tests(remote: Remote, listen1: IpAddr, listen2: IpAddr) -> Vec<Test> {
    let env = Arc::new(Env {
        remote,
        listen1,
        listen2,
    });
    TESTS
        .iter()
        .map(|&(name, f, deadline)| {
            let env = env.clone();
            Test {
                name: name.to_string(),
                deadline,
                run: Arc::new(move || f(&env)),
            }
        })
        .collect()
}
