//! `ethpeer test eth`: go-ethereum's eth protocol conformance suite (`devp2p rlpx eth-test`,
//! `cmd/devp2p/internal/ethtest`), our own code, run against any node over RLPx. Each test is
//! registered once per eth version the node and the tester share (68, 69, 70) and named
//! `Name/ethNN`. One file per group: `status` (handshake, BlockRangeUpdate), `headers`
//! (GetBlockHeaders and request ids), `history` (bodies, receipts), `txs` (transaction exchange),
//! `blobs` (blob transaction announcements). The node is compared with the chain dir
//! ([`chain::TestChain`]).

pub mod blobs;
pub mod chain;
pub mod conn;
pub mod engine;
pub mod headers;
pub mod history;
pub mod status;
pub mod txs;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::crypto::{PublicKey, hex};
use crate::eth::{EthVersion, Status};
use crate::suite::runner::{Stop, Test, TestResult};
use chain::TestChain;
use conn::{Conn, ConnError};

/// A test's deadline, unless it says otherwise: every exchange is a few round trips, each read
/// waits at most [`conn::READ_TIMEOUT`].
pub const TEST_DEADLINE: Duration = Duration::from_secs(30);

/// The deadline of the tests that move thousands of transactions (LargeTxRequest).
pub const SLOW_TEST_DEADLINE: Duration = Duration::from_secs(90);

/// What every test of one run shares.
#[derive(Debug)]
pub struct EthSuite {
    /// The node's RLPx address and key.
    pub addr: SocketAddr,
    pub remote: PublicKey,
    pub chain: TestChain,
    /// The node's Engine API, when given (`--engineapi`): the transaction tests name the head
    /// through it first.
    pub engine: Option<engine::EngineClient>,
}

/// One test's view: the suite and the eth version it runs at.
#[derive(Clone)]
pub struct Ctx {
    pub suite: Arc<EthSuite>,
    pub version: EthVersion,
}

impl From<ConnError> for Stop {
    fn from(e: ConnError) -> Stop {
        Stop::Fail(e.to_string())
    }
}

impl Ctx {
    pub fn chain(&self) -> &TestChain {
        &self.suite.chain
    }

    /// Tells the node's consensus side, when the suite has its Engine API, that the chain dir's
    /// head is the head, so a post-merge client leaves syncing and takes transactions
    /// (go-ethereum's ethtest does this before each transaction test). Without `--engineapi`
    /// nothing is sent (our own node needs no nudge; a client that does fails those tests).
    pub fn name_head(&self) -> Result<(), Stop> {
        let Some(engine) = &self.suite.engine else {
            return Ok(());
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        engine.forkchoice_updated(now).map_err(Stop::Fail)
    }

    /// A new connection past the ECIES handshake.
    pub fn dial(&self) -> Result<Conn, Stop> {
        Conn::dial(self.suite.addr, self.suite.remote, self.version)
            .map_err(|e| Stop::fail(format!("dial failed: {e}")))
    }

    /// A new connection past Hello and the Status exchange (go-ethereum `dialAndPeer`).
    pub fn dial_and_peer(&self) -> Result<Conn, Stop> {
        let mut conn = self.dial()?;
        self.peer(&mut conn, None)?;
        Ok(conn)
    }

    /// Hello, then the node's Status checked against the chain, then ours (or `status`).
    pub fn peer(&self, conn: &mut Conn, status: Option<Status>) -> Result<(), Stop> {
        conn.hello()
            .map_err(|e| Stop::fail(format!("peering failed: Hello: {e}")))?;
        let theirs = conn
            .read_status()
            .map_err(|e| Stop::fail(format!("peering failed: Status: {e}")))?;
        self.check_status(&theirs)
            .map_err(|e| Stop::fail(format!("peering failed: {e}")))?;
        let ours = status.unwrap_or_else(|| self.chain().status(self.version));
        conn.send(&crate::eth::EthMessage::Status(ours))?;
        Ok(())
    }

    /// The node's Status must be of our version and name our chain at its head, with its fork id.
    fn check_status(&self, s: &Status) -> Result<(), String> {
        let chain = self.chain();
        let head = chain.head();
        if s.version() != self.version.number() {
            return Err(format!(
                "Status says eth/{}, the session runs eth/{}",
                s.version(),
                self.version.number()
            ));
        }
        if s.network_id() != chain.spec.network_id {
            return Err(format!(
                "wrong network id in Status: have {}, want {}",
                s.network_id(),
                chain.spec.network_id
            ));
        }
        if s.genesis() != chain.spec.genesis_hash {
            return Err(format!(
                "wrong genesis in Status: have 0x{}, want 0x{}",
                hex(&s.genesis()),
                hex(&chain.spec.genesis_hash)
            ));
        }
        let want = chain.spec.fork_id(head.number, head.time);
        if s.fork_id() != want {
            return Err(format!(
                "wrong fork ID in Status: have {}/{}, want {}/{}",
                hex(&s.fork_id().hash),
                s.fork_id().next,
                hex(&want.hash),
                want.next
            ));
        }
        let (number, hash) = match s {
            Status::Eth68(s) => (None, s.head),
            Status::Eth69(s) => (Some(s.latest), s.latest_hash),
        };
        if number.is_some_and(|n| n != head.number) || hash != head.hash {
            return Err(format!(
                "wrong head block in Status: have {}0x{}, want {} 0x{}",
                number.map(|n| format!("{n} ")).unwrap_or_default(),
                hex(&hash),
                head.number,
                hex(&head.hash)
            ));
        }
        Ok(())
    }
}

type TestFn = fn(&Ctx) -> TestResult;

/// The suite's tests in go-ethereum's order, with their deadlines.
const TESTS: &[(&str, TestFn, Duration)] = &[
    ("Status", status::status, TEST_DEADLINE),
    (
        "MaliciousHandshake",
        status::malicious_handshake,
        TEST_DEADLINE,
    ),
    (
        "BlockRangeUpdateExpired",
        status::block_range_update_expired,
        TEST_DEADLINE,
    ),
    (
        "BlockRangeUpdateFuture",
        status::block_range_update_future,
        TEST_DEADLINE,
    ),
    (
        "BlockRangeUpdateInvalid",
        status::block_range_update_invalid,
        TEST_DEADLINE,
    ),
    ("GetBlockHeaders", headers::get_block_headers, TEST_DEADLINE),
    (
        "GetNonexistentBlockHeaders",
        headers::get_nonexistent_block_headers,
        TEST_DEADLINE,
    ),
    (
        "SimultaneousRequests",
        headers::simultaneous_requests,
        TEST_DEADLINE,
    ),
    ("SameRequestID", headers::same_request_id, TEST_DEADLINE),
    ("ZeroRequestID", headers::zero_request_id, TEST_DEADLINE),
    ("GetBlockBodies", history::get_block_bodies, TEST_DEADLINE),
    ("GetReceipts", history::get_receipts, TEST_DEADLINE),
    (
        "GetLargeReceipts",
        history::get_large_receipts,
        TEST_DEADLINE,
    ),
    ("LargeTxRequest", txs::large_tx_request, SLOW_TEST_DEADLINE),
    ("Transaction", txs::transaction, TEST_DEADLINE),
    ("InvalidTxs", txs::invalid_txs, TEST_DEADLINE),
    ("NewPooledTxs", txs::new_pooled_txs, TEST_DEADLINE),
    ("BlobViolations", blobs::blob_violations, TEST_DEADLINE),
    (
        "BlobTxWithoutSidecar",
        blobs::blob_tx_without_sidecar,
        TEST_DEADLINE,
    ),
    (
        "BlobTxWithMismatchedSidecar",
        blobs::blob_tx_with_mismatched_sidecar,
        TEST_DEADLINE,
    ),
];

/// The names of the suite's tests, without versions.
pub fn test_names() -> impl Iterator<Item = &'static str> {
    TESTS.iter().map(|t| t.0)
}

/// Every test at every version in `versions`, named `Name/ethNN`, versions in ascending order
/// within each test.
pub fn tests(suite: Arc<EthSuite>, versions: &[EthVersion]) -> Vec<Test> {
    let mut out = Vec::new();
    for &(name, f, deadline) in TESTS {
        for &version in versions {
            let ctx = Ctx {
                suite: suite.clone(),
                version,
            };
            out.push(Test {
                name: format!("{name}/eth{}", version.number()),
                deadline,
                run: Arc::new(move || f(&ctx)),
            });
        }
    }
    out
}

/// Which of our eth versions the node offers, read from its Hello.
pub fn shared_versions(addr: SocketAddr, remote: PublicKey) -> Result<Vec<EthVersion>, String> {
    let mut conn = Conn::dial(addr, remote, EthVersion::Eth70).map_err(|e| e.to_string())?;
    let ours = conn.our_hello();
    conn.write_frame(crate::p2p::HELLO_ID, &ours.encode())
        .map_err(|e| e.to_string())?;
    let f = conn.read_frame().map_err(|e| e.to_string())?;
    if f.code != crate::p2p::HELLO_ID {
        return Err(format!("expected Hello, got message {:#x}", f.code));
    }
    let theirs = crate::p2p::Hello::decode(&f.payload).map_err(|e| format!("Hello: {e}"))?;
    conn.close();
    Ok(EthVersion::ALL
        .iter()
        .rev()
        .copied()
        .filter(|v| {
            theirs
                .capabilities
                .iter()
                .any(|c| c.name == "eth" && c.version == v.number())
        })
        .collect())
}
