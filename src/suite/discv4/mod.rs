//! `ethpeer test discv4`: go-ethereum's discovery v4 conformance suite (`devp2p discv4 test`,
//! `cmd/devp2p/internal/v4test`), our own code, run against any node over UDP. Each test gets
//! fresh sockets on `--listen1` and `--listen2` and a fresh key, so the node meets a stranger
//! every time. Groups: `ping` (Ping/…), `findnode` (ENRRequest, Findnode/…, Amplification/…).

pub mod env;
pub mod findnode;
pub mod ping;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::suite::runner::{Test, TestResult};
use env::{Env, Remote};

/// A test's deadline: a few reads of at most [`env::WAIT`] each.
pub const TEST_DEADLINE: Duration = Duration::from_secs(20);

type TestFn = fn(&Env) -> TestResult;

/// go-ethereum's tests, in its order.
const TESTS: &[(&str, TestFn)] = &[
    ("Ping/Basic", ping::basic),
    ("Ping/WrongTo", ping::wrong_to),
    ("Ping/WrongFrom", ping::wrong_from),
    ("Ping/ExtraData", ping::extra_data),
    ("Ping/ExtraDataWrongFrom", ping::extra_data_wrong_from),
    ("Ping/PastExpiration", ping::past_expiration),
    ("Ping/WrongPacketType", ping::wrong_packet_type),
    (
        "Ping/BondThenPingWithWrongFrom",
        ping::bond_then_ping_with_wrong_from,
    ),
    ("ENRRequest", findnode::enr_request),
    (
        "Findnode/WithoutEndpointProof",
        findnode::without_endpoint_proof,
    ),
    ("Findnode/BasicFindnode", findnode::basic_findnode),
    (
        "Findnode/UnsolicitedNeighbors",
        findnode::unsolicited_neighbors,
    ),
    ("Findnode/PastExpiration", findnode::past_expiration),
    ("Amplification/InvalidPongHash", findnode::invalid_pong_hash),
    ("Amplification/WrongIP", findnode::wrong_ip),
];

/// The suite's tests against `remote`, with the tester on `listen1` and `listen2`.
pub fn tests(remote: Remote, listen1: IpAddr, listen2: IpAddr) -> Vec<Test> {
    TESTS
        .iter()
        .map(|&(name, f)| Test {
            name: name.to_string(),
            deadline: TEST_DEADLINE,
            run: Arc::new(move || f(&Env::new(remote, listen1, listen2)?)),
        })
        .collect()
}
