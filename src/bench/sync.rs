//! Sync speed (issue: the eth protocol, "Benchmark"): two `ethpeer` processes on loopback, one
//! serving the imported fixture chain, the other syncing all 600 blocks and their receipts
//! (10.9 MB, every root verified) over eth/70. Printed as blocks per second, as a ratio to the
//! floor of the same work without a network (`ethpeer import` of the same files, verify and
//! write, in the same run and timed over the same window: spawn to the log line reporting block
//! 600 stored), and beside the fixed target. The syncing node's peak RSS is printed too.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The target: 5,000 blocks per second with roots verified.
const TARGET_BLOCKS_PER_S: f64 = 5000.0;
/// Blocks in the fixture chain.
const BLOCKS: f64 = 600.0;
/// A sync that has not finished by then has failed.
const SYNC_TIMEOUT: Duration = Duration::from_secs(120);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ethpeer")
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
        .display()
        .to_string()
}

/// Starts `ethpeer node ARGS` and returns it with a channel of its stderr lines, each with when
/// it was read, and when it was spawned.
fn start(args: &[&str]) -> (Child, mpsc::Receiver<(Instant, String)>, Instant) {
    spawn("node", args)
}

/// Starts `ethpeer SUBCOMMAND ARGS` as [`start`] does.
fn spawn(sub: &str, args: &[&str]) -> (Child, mpsc::Receiver<(Instant, String)>, Instant) {
    let spawned = Instant::now();
    let mut child = Command::new(bin())
        .arg(sub)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning ethpeer");
    let (tx, rx) = mpsc::channel();
    let Some(stderr) = child.stderr.take() else {
        panic!("no stderr");
    };
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    (child, rx, spawned)
}

/// Waits for a line containing every part; returns when it was read and the line.
fn wait_for(rx: &mpsc::Receiver<(Instant, String)>, parts: &[&str]) -> Option<(Instant, String)> {
    let end = Instant::now() + SYNC_TIMEOUT;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok((at, line)) if parts.iter().all(|p| line.contains(p)) => return Some((at, line)),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Peak resident set of a process, from /proc (Linux); 0 elsewhere.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

pub fn run() {
    let base: PathBuf =
        std::env::temp_dir().join(format!("ethpeer-bench-sync-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let server_dir = base.join("server");
    let client_dir = base.join("client");
    let genesis = fixture("chain/genesis.json");

    // The floor: the same verification and writes, read from files instead of a peer. Both
    // figures are timed over the same window: from spawning the process to the log line that
    // reports block 600 stored (the import's last segment, the client's "Sync finished"), so
    // both include process start and neither includes exit.
    let chain = fixture("chain/chain.rlp");
    let receipts = fixture("chain/receipts.rlp");
    let server_path = server_dir.display().to_string();
    let (mut import, import_log, t) = spawn(
        "import",
        &[
            &chain,
            "--receipts",
            &receipts,
            "--genesis",
            &genesis,
            "--datadir",
            &server_path,
        ],
    );
    let stored = wait_for(&import_log, &["Imported new chain segment", "number=600 "]);
    let status = import.wait().expect("waiting for ethpeer import");
    let Some((t_stored, _)) = stored.filter(|_| status.success()) else {
        crate::timing::no_figure(&format!("sync: import failed ({status})"));
        return;
    };
    let import_s = (t_stored - t).as_secs_f64();

    let (server, server_log, _) = start(&[
        "--datadir",
        &server_path,
        "--genesis",
        &genesis,
        "--syncmode",
        "none",
        "--nodiscover",
        "--bootnodes",
        "",
        "--port",
        "0",
        "--verbosity",
        "3",
    ]);
    let Some((_, line)) = wait_for(&server_log, &["self=enode://"]) else {
        crate::timing::no_figure("sync: the serving node did not start");
        stop(server);
        return;
    };
    let enode = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("self="))
        .unwrap_or_default()
        .to_string();
    let client_path = client_dir.display().to_string();
    let (client, client_log, t0) = start(&[
        "--datadir",
        &client_path,
        "--genesis",
        &genesis,
        "--nodiscover",
        "--bootnodes",
        "",
        "--port",
        "0",
        "--sync.minpeers",
        "1",
        "--eth.versions",
        "70",
        "--staticnodes",
        &enode,
        "--verbosity",
        "3",
    ]);
    let finished = wait_for(&client_log, &["Sync finished"]);
    let rss = peak_rss_kib(client.id());
    stop(client);
    stop(server);
    let _ = std::fs::remove_dir_all(&base);
    let Some((t1, line)) = finished else {
        crate::timing::no_figure(&format!(
            "sync: the client did not finish within {SYNC_TIMEOUT:?}"
        ));
        return;
    };
    // A sync that stopped short would time less work than the import: the figure would lie.
    assert!(
        line.contains("number=600 "),
        "sync: the client finished short of block 600: {line}"
    );
    let sync_s = (t1 - t0).as_secs_f64();
    let rate = BLOCKS / sync_s;
    let floor = BLOCKS / import_s;
    // The bytes that cross the wire: every block and every receipt (block 11 alone is 10.6 MB),
    // each sealed and opened by RLPx (AES-CTR and two keccak MACs per byte).
    let bytes: u64 = ["chain/chain.rlp", "chain/receipts.rlp"]
        .iter()
        .filter_map(|f| std::fs::metadata(fixture(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "sync 600 blocks + 10.9 MB receipts over eth/70: {rate:.0} blocks/s, {:.2} of import from files ({floor:.0} blocks/s; both from spawn to the line reporting block 600 stored); {:.1} MB/s of chain data; syncing node peak RSS {:.1} MiB   target {TARGET_BLOCKS_PER_S:.0} blocks/s (fixed)",
        rate / floor,
        bytes as f64 / sync_s / 1e6,
        rss as f64 / 1024.0,
    );
}
