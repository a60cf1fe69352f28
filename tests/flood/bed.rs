//! The namespace test bed of `tests/flood_namespaces.rs`: two network namespaces joined by a
//! veth pair, the node in one (its log, RSS, descriptors and CPU read from /proc), this test
//! binary's roles in the other, and the figures they print.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::fixture_node::{genesis_arg, imported_datadir};
use ethpeer::crypto::PublicKey;

pub const ROLE_ENV: &str = "ETHPEER_FLOOD_ROLE";
pub const NODE_KEY_ENV: &str = "ETHPEER_FLOOD_NODE_KEY";
/// A file the test creates when a flood has ended, for roles that outlast it.
pub const FLOOD_DONE_ENV: &str = "ETHPEER_FLOOD_DONE";

/// This test process's done file (removed first, so a stale one from a reused pid says nothing).
pub fn done_file() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ethpeer-flood-done-{}", std::process::id()))
}
pub const NODE_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
pub const PORT: u16 = 30303;
/// Attacker source addresses: 198.18.i.1 for the 256 /24s, then 198.18.i.2 for 44 of them.
pub const SOURCES: usize = 300;
pub const ETH: u64 = 0x10;
/// Eclipse attempts: this many nodes from one /24 (198.18.250.0/24), and as many from as many
/// /24s (198.18.100-199.1).
pub const ECLIPSE_NODES: usize = 100;

/// Honest discovery nodes that must keep their table places through the UDP flood, each in a
/// /24 of its own (198.18.200-215.3), and one more (the last) that never completes its bond.
pub const KEEPERS: usize = 16;

pub fn keeper(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 200 + i as u8, 3)
}

pub fn one_subnet(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 250, 10 + i as u8)
}

pub fn node_addr() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(NODE_IP, PORT))
}

pub fn source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, (i % 256) as u8, 1 + (i / 256) as u8)
}

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn seconds() -> u64 {
    env_u64("FLOOD_SECONDS", 8)
}

// ---- the test bed ------------------------------------------------------------------------------

pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair; deleted (with the pair) on drop.
pub struct Bed {
    pub node_ns: String,
    pub peer_ns: String,
}

impl Bed {
    pub fn new(tag: &str) -> Result<Bed, String> {
        let id = std::process::id() % 100_000;
        let bed = Bed {
            node_ns: format!("ethp-{tag}n{id}"),
            peer_ns: format!("ethp-{tag}a{id}"),
        };
        ip(&["netns", "add", &bed.node_ns])?;
        ip(&["netns", "add", &bed.peer_ns])?;
        let (vn, va) = (format!("e{tag}n{id}"), format!("e{tag}a{id}"));
        ip(&["link", "add", &vn, "type", "veth", "peer", "name", &va])?;
        ip(&["link", "set", &vn, "netns", &bed.node_ns])?;
        ip(&["link", "set", &va, "netns", &bed.peer_ns])?;
        let (n, a) = (bed.node_ns.as_str(), bed.peer_ns.as_str());
        ip(&["-n", n, "addr", "add", "198.19.0.1/15", "dev", &vn])?;
        // The honest peer's address first: it is the one the kernel picks by default.
        ip(&["-n", a, "addr", "add", "198.19.0.2/15", "dev", &va])?;
        let batch: String = (0..SOURCES)
            .map(source)
            .chain((0..ECLIPSE_NODES).map(one_subnet))
            .chain((0..=KEEPERS).map(keeper))
            .map(|a| format!("addr add {a}/15 dev {va}\n"))
            .collect();
        let mut child = Command::new("ip")
            .args(["-n", a, "-batch", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(batch.as_bytes())
            .unwrap();
        if !child.wait().unwrap().success() {
            return Err("ip -batch addr add failed".into());
        }
        for (ns, dev) in [(n, &vn), (a, &va)] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(bed)
    }

    pub fn exec(&self, ns: &str, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).arg(program);
        c
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.node_ns]);
        let _ = ip(&["netns", "del", &self.peer_ns]);
    }
}

/// The bed, or `None` with the reason printed where the machine forbids namespaces.
pub fn bed(tag: &str) -> Option<Bed> {
    match Bed::new(tag) {
        Ok(b) => Some(b),
        Err(why) => {
            println!("SKIPPED: network namespaces are not available here: {why}");
            None
        }
    }
}

/// The node, in its namespace, serving the fixture chain, with discovery on and no bootnodes.
pub struct Node {
    pub child: Child,
    pub log: Arc<Mutex<Vec<String>>>,
    pub key: PublicKey,
}

impl Node {
    pub fn start(bed: &Bed, name: &str) -> Node {
        Node::start_in(bed, &bed.node_ns, name, &["--bootnodes", ""])
    }

    /// A node in namespace `ns` with `extra` flags (which must name `--bootnodes`).
    pub fn start_in(bed: &Bed, ns: &str, name: &str, extra: &[&str]) -> Node {
        assert!(
            extra.contains(&"--bootnodes"),
            "a test node names its bootnodes"
        );
        let dir = imported_datadir(name);
        let mut child = bed
            .exec(ns, std::path::Path::new(env!("CARGO_BIN_EXE_ethpeer")))
            .arg("node")
            .arg("--datadir")
            .arg(&dir)
            .args(["--genesis", &genesis_arg(), "--syncmode", "none"])
            .args(["--port", &PORT.to_string(), "--verbosity", "5"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let (stderr, log2) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("self=enode://") {
                    let url = line[i + 5..].split_whitespace().next().unwrap().to_string();
                    let _ = tx.send(url);
                }
                log2.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("node did not start: {:?}", log.lock().unwrap()));
        let e: ethpeer::enode::Enode = url.parse().unwrap();
        Node {
            child,
            log,
            key: e.id,
        }
    }

    pub fn count(&self, parts: &[&str]) -> usize {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .count()
    }

    /// (RSS in KiB, open descriptors, CPU ticks) from /proc.
    pub fn sample(&self) -> (u64, u64, u64) {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks = f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        (rss, fds, ticks)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples the node's RSS and descriptors every 100 ms until dropped; keeps the peaks.
pub struct Sampler {
    pub stop: Arc<AtomicBool>,
    pub peak_rss: Arc<AtomicU64>,
    pub peak_fds: Arc<AtomicU64>,
    pub thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (peak_rss, peak_fds) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (s, r, f) = (stop.clone(), peak_rss.clone(), peak_fds.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Relaxed) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                if let Some(v) = status.lines().find_map(|l| l.strip_prefix("VmRSS:")) {
                    let kb = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    r.fetch_max(kb, Relaxed);
                }
                let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
                f.fetch_max(fds as u64, Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Sampler {
            stop,
            peak_rss,
            peak_fds,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Relaxed);
        self.thread.take().unwrap().join().unwrap();
        (self.peak_rss.load(Relaxed), self.peak_fds.load(Relaxed))
    }
}

/// A child running one of this binary's roles in the peers' namespace, its stdout lines on a
/// channel.
pub struct RoleProc {
    pub child: Child,
    pub lines: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<String>,
    pub what: &'static str,
}

impl RoleProc {
    pub fn spawn(bed: &Bed, role: &'static str, node: &Node) -> RoleProc {
        let mut child = bed
            .exec(&bed.peer_ns, &std::env::current_exe().unwrap())
            .args([role, "--exact", "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role)
            .env(NODE_KEY_ENV, ethpeer::crypto::hex(&node.key.to_bytes()))
            .env(FLOOD_DONE_ENV, done_file())
            .env("FLOOD_SECONDS", seconds().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        RoleProc {
            child,
            lines,
            seen: Vec::new(),
            what: role,
        }
    }

    /// Waits for a line containing `marker`; panics (killing the child) after `within`.
    pub fn wait_line(&mut self, marker: &str, within: Duration) -> String {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(marker) {
                        return l;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    panic!("{}: no {marker:?} line ({e}): {:?}", self.what, self.seen);
                }
            }
        }
    }

    /// The `key=value` figures on its `figures` line; the child must then exit successfully.
    pub fn figures(mut self, within: Duration) -> Vec<(String, u64)> {
        let line = self.wait_line("figures ", within);
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "{} failed ({status}): {:?}",
            self.what,
            self.seen
        );
        line.split("figures ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for RoleProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn get(figs: &[(String, u64)], key: &str) -> u64 {
    figs.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no figure {key} in {figs:?}"))
}

pub fn show(figs: &[(String, u64)]) -> String {
    figs.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn node_key() -> PublicKey {
    let hex = std::env::var(NODE_KEY_ENV).expect("the node's key");
    PublicKey::from_bytes(&ethpeer::crypto::unhex(&hex).unwrap()).unwrap()
}

pub fn role_is(role: &str) -> bool {
    std::env::var(ROLE_ENV).as_deref() == Ok(role)
}

pub fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}
