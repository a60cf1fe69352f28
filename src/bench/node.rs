//! Figure group "node": the memory of idle sessions and the accept rate under a flood of
//! handshakes.
//!
//! The node under test is the release `ethpeer` binary, started as a child process; this
//! program is the "second process" that connects to it over loopback. A session here is the
//! whole RLPx handshake plus the Hello exchange, as a real peer would do.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ethpeer::crypto::{PublicKey, SecretKey};
use ethpeer::enode::Enode;
use ethpeer::p2p::{self, Hello};
use ethpeer::rlpx::frame::{FrameCodec, HEADER_LEN};
use ethpeer::rlpx::handshake::{Handshake, Step};

/// Idle sessions held open for the memory figure (the number).
const IDLE_SESSIONS: usize = 200;
/// Target memory per idle peer (a fixed number: printed as the target, never as a verdict).
const BYTES_PER_PEER_TARGET: f64 = 50.0 * 1024.0;
/// How long the flood runs.
const FLOOD_TIME: Duration = Duration::from_secs(3);
/// How long the flood runs in a smoke run (enough for a few handshakes).
const FLOOD_TIME_SMOKE: Duration = Duration::from_millis(300);
/// Connecting threads in the flood: enough that the figure measures the node, not the round-trip
/// latency of a few sequential clients (4 threads gave a third of this rate).
const FLOOD_THREADS: usize = 16;

struct NodeChild {
    child: Child,
    addr: SocketAddr,
    key: PublicKey,
}

impl Drop for NodeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(extra: &[&str]) -> NodeChild {
    let dir = std::env::temp_dir().join(format!("ethpeer-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .arg("node")
        .arg("--datadir")
        .arg(&dir)
        // p2p sessions without a capability: the node runs the p2p layer alone, as a relay
        // does (with eth, a peer sharing no capability would be refused as useless).
        // No bootnodes: the node under test never dials anything but what this program names.
        .args(["--port", "0", "--verbosity", "3", "--nodiscover", "--noeth"])
        .args(["--bootnodes", ""])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the ethpeer binary");
    let mut err = child.stderr.take().expect("piped stderr");
    let mut text = String::new();
    let mut buf = [0u8; 1024];
    let url = loop {
        let n = err.read(&mut buf).unwrap_or(0);
        assert!(n > 0, "node exited before logging its enode: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(i) = text.find("self=enode://")
            && let Some(end) = text[i..].find([' ', '\n'])
        {
            break text[i + 5..i + end].to_string();
        }
    };
    // Keep draining stderr so the node never blocks on a full pipe.
    std::thread::spawn(move || while err.read(&mut buf).unwrap_or(0) > 0 {});
    let enode: Enode = url.parse().expect("the node's enode parses");
    NodeChild {
        child,
        addr: enode.tcp_addr().expect("an IP enode"),
        key: enode.id,
    }
}

/// A process's resident set size from `/proc/<pid>/status` (0 when it cannot be read).
pub(crate) fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A tiny fast generator for keys and nonces (not for secrets that matter).
struct Rng(u64);
impl Rng {
    fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *x = (self.0 >> 33) as u8;
        }
    }
}

/// Connects, runs the handshake and the Hello exchange; returns the open socket.
fn session(addr: SocketAddr, remote: PublicKey, seed: u64) -> Result<TcpStream, String> {
    let mut rng = Rng(seed);
    let key = SecretKey::generate(|b| rng.fill(b));
    let eph = SecretKey::generate(|b| rng.fill(b));
    let mut nonce = [0u8; 32];
    rng.fill(&mut nonce);
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut hs = Handshake::initiator(key.clone(), remote, eph, nonce);
    let auth = hs
        .write_auth(&mut |b| rng.fill(b))
        .map_err(|e| e.to_string())?;
    s.write_all(&auth).map_err(|e| e.to_string())?;
    let secrets = loop {
        let mut buf = vec![0u8; hs.wanted()];
        s.read_exact(&mut buf).map_err(|e| e.to_string())?;
        match hs.handle_read(&buf, &mut |b| rng.fill(b)) {
            Ok(Step::NeedMore) => {}
            Ok(Step::Done(d)) => break d.secrets,
            Err(e) => return Err(e.to_string()),
        }
    };
    let mut codec = FrameCodec::new(secrets);
    let hello = Hello {
        protocol_version: p2p::P2P_VERSION,
        client_id: "ethpeer-bench".into(),
        capabilities: Vec::new(),
        listen_port: 0,
        id: key.public_key(),
    };
    let mut out = Vec::new();
    codec
        .seal(p2p::HELLO_ID, &hello.encode(), &mut out)
        .map_err(|e| e.to_string())?;
    s.write_all(&out).map_err(|e| e.to_string())?;
    let mut header = [0u8; HEADER_LEN];
    s.read_exact(&mut header).map_err(|e| e.to_string())?;
    let n = codec.open_header(&mut header).map_err(|e| e.to_string())?;
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).map_err(|e| e.to_string())?;
    match codec.open_body(&mut body) {
        Ok((p2p::HELLO_ID, _)) => Ok(s),
        Ok((code, _)) => Err(format!("expected Hello, got message {code}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the group and prints its lines.
pub fn run() {
    idle_sessions();
    // One side of a handshake does half the floor's elliptic-curve work.
    let mut rng = crate::timing::Rng::new(11);
    let floor = crate::timing::rates(vec![crate::timing::Op::new("floor", || {
        crate::timing::keep(crate::handshake::floor(&mut rng))
    })])[0];
    accept_flood(2.0 * floor);
}

/// RSS of a node holding `IDLE_SESSIONS` idle sessions, per peer, beside the fixed target.
fn idle_sessions() {
    let node = start_node(&["--maxpeers", "400", "--maxpendpeers", "400"]);
    std::thread::sleep(Duration::from_millis(300));
    let base = rss_bytes(node.child.id());
    let mut held = Vec::with_capacity(IDLE_SESSIONS);
    for i in 0..IDLE_SESSIONS {
        match session(node.addr, node.key, 1 + i as u64) {
            Ok(s) => held.push(s),
            Err(e) => {
                crate::timing::no_figure(&format!("idle sessions     session {i} failed: {e}"));
                return;
            }
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    // The sessions must still be open at the node: a refused session would look like a cheap one.
    let kept = held.iter_mut().map(still_open).filter(|open| *open).count();
    if kept < IDLE_SESSIONS {
        crate::timing::no_figure(&format!(
            "idle sessions     only {kept} of {IDLE_SESSIONS} sessions are still open: no figure"
        ));
        return;
    }
    let loaded = rss_bytes(node.child.id());
    let per_peer = loaded.saturating_sub(base) as f64 / IDLE_SESSIONS as f64;
    // The target is a fixed number: printed beside the figure, not divided into it nor judged.
    println!(
        "idle sessions     {IDLE_SESSIONS} peers: RSS {:.1} MiB (idle node {:.1} MiB), {:.1} KiB/peer   target {:.0} KiB/peer (fixed)",
        loaded as f64 / 1048576.0,
        base as f64 / 1048576.0,
        per_peer / 1024.0,
        BYTES_PER_PEER_TARGET / 1024.0,
    );
    drop(held);
}

/// Whether the node has neither closed the socket nor sent anything (a Disconnect) on it.
fn still_open(s: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let open = matches!(s.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    let _ = s.set_nonblocking(false);
    open
}

/// Handshakes (with Hello) the node completes per second under a flood from this process,
/// beside one side's secp256k1 floor (`side_floor_per_sec`, measured earlier in the run).
fn accept_flood(side_floor_per_sec: f64) {
    let node = start_node(&["--maxpeers", "100000", "--maxpendpeers", "64"]);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let flood_time = if crate::timing::smoke() {
        FLOOD_TIME_SMOKE
    } else {
        FLOOD_TIME
    };
    let start = Instant::now();
    let threads: Vec<_> = (0..FLOOD_THREADS)
        .map(|t| {
            let (done, failed) = (done.clone(), failed.clone());
            let (addr, key) = (node.addr, node.key);
            std::thread::spawn(move || {
                let mut seed = 1_000_000 * (t as u64 + 1);
                while start.elapsed() < flood_time {
                    seed += 1;
                    match session(addr, key, seed) {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let secs = start.elapsed().as_secs_f64();
    if done.load(Ordering::Relaxed) == 0 {
        crate::timing::no_figure("accept flood      no handshake completed: no figure");
        return;
    }
    let rate = done.load(Ordering::Relaxed) as f64 / secs;
    println!(
        "accept flood      {rate:.0} handshakes+Hello /s accepted ({} refused or failed) from {FLOOD_THREADS} connecting threads   one-side floor {side_floor_per_sec:.0} /s   ratio {:.2} (node and flood share 2 cores)",
        failed.load(Ordering::Relaxed),
        rate / side_floor_per_sec
    );
}
