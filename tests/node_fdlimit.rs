//! Out of file descriptors (issue 15's TCP flood: "no file-descriptor exhaustion; say the limit
//! and what happens at it"), on loopback, no namespace needed.
//!
//! The node runs under `prlimit --nofile=N:N` with a limit it cannot raise, serving the fixture
//! chain to one honest eth peer. Then more silent TCP connections than it has descriptors for
//! arrive (`--maxpendpeers` set high, so the pending-handshake limit does not refuse them first):
//! accept starts failing with EMFILE. What must happen at the limit: the node says so once at
//! warn, stops accepting for `ACCEPT_ERROR_PAUSE` at a time instead of spinning, keeps answering
//! the honest peer (every request, within the 1 s target), never holds more descriptors
//! than the limit, and accepts again once the silent connections are gone.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::fixture_node::{fixture_eth_peer, genesis_arg, imported_datadir};
use common::node_proc::NodeProc;
use common::raw_peer::{RawPeer, ask_headers};
use ethpeer::eth::EthVersion;
use ethpeer::server::connection::HANDSHAKE_TIMEOUT;

/// The node's descriptor limit: 128, soft and hard, so it cannot raise it. An idle node with the
/// fixture chain holds about 30; the flood below is larger than what is left.
const NOFILE: usize = 128;

/// Silent connections opened at once: 300, more than the limit, so accept must fail while they
/// are held (each is held until the node's handshake timeout drops it, and the kernel's backlog
/// keeps refilling what is dropped).
const FLOOD: usize = 300;

/// The window during which the honest peer keeps asking while descriptors are exhausted.
const EXHAUSTED_WINDOW: Duration = Duration::from_secs(3);

/// The target for an honest peer's requests under a flood.
const LATENCY_MAX: Duration = Duration::from_secs(1);

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Connects, exchanges Hello and Status (eth/69 at the fixture head).
fn honest_peer(node: &NodeProc, seed: u64) -> Result<RawPeer, String> {
    fixture_eth_peer(node.addr(), node.pubkey(), seed, EthVersion::Eth69)
}

fn ask(p: &mut RawPeer, id: u64) -> Duration {
    ask_headers(p, EthVersion::Eth69, id)
}

/// Whether `prlimit` (util-linux) is missing; says so, for a test that then passes unrun.
fn no_prlimit() -> bool {
    let missing = std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err();
    if missing {
        println!("SKIPPED: no prlimit (util-linux) to start the node under a descriptor limit");
    }
    missing
}

fn p(sorted: &[Duration], pct: usize) -> Duration {
    sorted[(sorted.len() * pct / 100).min(sorted.len() - 1)]
}

#[test]
fn out_of_descriptors_the_node_pauses_accept_serves_its_peers_and_recovers() {
    if no_prlimit() {
        return;
    }
    let dir = imported_datadir("fdlimit");
    let nofile = format!("--nofile={NOFILE}:{NOFILE}");
    let node = NodeProc::start_under(
        &["prlimit", &nofile],
        &dir,
        &[
            "--genesis",
            &genesis_arg(),
            "--nodiscover",
            "--maxpeers",
            "10",
            "--maxpendpeers",
            "1000",
        ],
    );
    let pid = node.child.id();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert!(
        line.split_whitespace().filter(|w| *w == "128").count() == 2,
        "the node is not under the limit: {line}"
    );

    // 10 + 10 dials + 1000 pending + 128 store files + 64: far over 128.
    assert!(
        node.logged(&[
            "WARN",
            "File descriptor limit is below",
            "limit=128",
            "budget=1212"
        ]),
        "no warning at start about the low limit"
    );
    let mut honest = honest_peer(&node, 7).expect("honest peer");
    let mut before: Vec<Duration> = (1..=20).map(|i| ask(&mut honest, i)).collect();
    let idle_fds = open_fds(pid);

    // The flood: silent connections, held. Connecting to a full backlog can block; a short
    // timeout leaves those out.
    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..FLOOD {
        if let Ok(s) = TcpStream::connect_timeout(&node.addr(), Duration::from_millis(200)) {
            held.push(s);
        }
    }
    node.wait_log(&["Accept failed"], Duration::from_secs(10));
    let exhausted_after = started.elapsed();

    // Descriptors exhausted: the honest peer keeps asking.
    let mut during = Vec::new();
    let mut peak_fds = open_fds(pid);
    let end = Instant::now() + EXHAUSTED_WINDOW;
    let mut id = 100;
    while Instant::now() < end {
        id += 1;
        during.push(ask(&mut honest, id));
        peak_fds = peak_fds.max(open_fds(pid));
        std::thread::sleep(Duration::from_millis(20));
    }
    let errors_in_window = node.count_logged(&["Accept failed"]);
    let warned = node.count_logged(&["WARN", "Accept failed; not accepting for a moment"]);
    let emfile = node.logged(&["Accept failed", "os error 24"]);

    // The flood goes; every accepted silent connection times out within HANDSHAKE_TIMEOUT, and
    // the backlog drains. A new peer must then get in.
    let connected = held.len();
    drop(held);
    let recover_by = Instant::now() + 3 * HANDSHAKE_TIMEOUT;
    let newcomer = loop {
        match honest_peer(&node, 8) {
            Ok(p) => break Ok(p),
            Err(e) if Instant::now() > recover_by => break Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    let after = ask(&mut honest, id + 1);

    before.sort_unstable();
    during.sort_unstable();
    println!(
        "fdlimit: limit {NOFILE}; idle {idle_fds} descriptors, peak {peak_fds}; {connected} silent connections held; accept failed after {exhausted_after:?}, {errors_in_window} failed accepts logged in the window, {warned} warn line(s)"
    );
    println!(
        "fdlimit: honest peer before: {} requests, p50 {:?}, max {:?}; exhausted: {} requests, p50 {:?}, p99 {:?}, max {:?} (target: within {LATENCY_MAX:?}); after: {after:?}",
        before.len(),
        p(&before, 50),
        before.last().unwrap(),
        during.len(),
        p(&during, 50),
        p(&during, 99),
        during.last().unwrap()
    );
    assert!(
        emfile,
        "accept never failed with EMFILE: the limit was not reached"
    );
    assert_eq!(warned, 1, "one warn line per minute, not one per failure");
    assert!(
        errors_in_window >= 2,
        "accept was tried only once while exhausted: it must be retried after the pause"
    );
    assert!(
        during.len() >= 10,
        "only {} requests answered in the window",
        during.len()
    );
    assert!(
        *during.last().unwrap() < LATENCY_MAX,
        "an honest request took {:?} while descriptors were exhausted",
        during.last().unwrap()
    );
    newcomer.expect("no new peer got in after the flood ended");
}

/// The soft limit is raised at start to what the limits may hold, as far as the hard limit
/// allows (here the default configuration, whose budget is 342 without RPC servers).
#[test]
fn a_low_soft_limit_is_raised_to_the_budget() {
    if no_prlimit() {
        return;
    }
    let soft_limit = |node: &NodeProc| {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", node.child.id())).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap()
            .to_string();
        line.split_whitespace()
            .nth(3)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let dir = imported_datadir("fdlimit-raise");
    let node = NodeProc::start_under(
        &["prlimit", "--nofile=100:4096"],
        &dir,
        &["--genesis", &genesis_arg(), "--nodiscover"],
    );
    let raised = soft_limit(&node);
    println!("fdlimit: soft limit 100 raised to {raised} (hard 4096)");
    assert_eq!(
        raised,
        50 + 50 + 50 + 128 + 64,
        "the soft limit after start"
    );
    assert!(node.logged(&["Raised the file descriptor limit", "from=100", "to=342"]));
    assert!(!node.logged(&["File descriptor limit is below"]));
    drop(node);
    // The hard limit caps the raise, and the node says it is short.
    let dir = imported_datadir("fdlimit-capped");
    let node = NodeProc::start_under(
        &["prlimit", "--nofile=100:200"],
        &dir,
        &["--genesis", &genesis_arg(), "--nodiscover"],
    );
    assert_eq!(soft_limit(&node), 200, "the soft limit after start");
    assert!(node.logged(&[
        "WARN",
        "File descriptor limit is below",
        "limit=200",
        "budget=342"
    ]));
}
