//! Runs the live pre-merge peer (tests/clique/run.mjs: the pinned @ethereumjs/client sealing a
//! Clique chain from tests/clique/genesis.json on loopback), reads its JSON-lines events, and
//! asks it for blocks over JSON-RPC with a minimal HTTP/1.1 POST on a `TcpStream`.
//!
//! run.mjs starts the client as its own child, so the pair runs in a process group of its own
//! and is stopped as a group (SIGTERM, then SIGKILL): a test never leaves a client behind.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::interop::EventLog;
use serde_json::{Value, json};

use super::interop::free_port;
use super::node_proc::temp_dir;
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::spec::ChainSpec;
use ethpeer::crypto::{PublicKey, unhex};

/// How long the client may take from spawn to its `ready` event (about 5 s on an idle machine;
/// generous because `cargo test` runs other binaries beside it on two cores).
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// The largest JSON-RPC reply we read (a block without transactions is about 1 KB).
const RPC_REPLY_SIZE_MAX: u64 = 1 << 20;

/// The folder holding run.mjs, genesis.json and the pinned packages.
pub fn clique_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clique")
}

/// The genesis file both the client and our node start from.
pub fn genesis_path() -> PathBuf {
    clique_dir().join("genesis.json")
}

/// The genesis file argument for `ethpeer node --genesis`.
pub fn genesis_arg() -> String {
    genesis_path().display().to_string()
}

/// Our spec of the Clique chain, from the same genesis file.
pub fn spec() -> ChainSpec {
    let text = std::fs::read_to_string(genesis_path()).unwrap();
    ChainSpec::from_genesis(&Genesis::from_json(&text).unwrap(), None).unwrap()
}

/// A running client.
pub struct CliquePeer {
    child: Child,
    events: EventLog,
    /// Its enode URL (`enode://…@127.0.0.1:PORT`).
    pub enode: String,
    /// Its genesis hash, as its JSON-RPC reports it.
    pub genesis_hash: [u8; 32],
    /// Its JSON-RPC port on 127.0.0.1.
    pub rpc_port: u16,
    /// The client's datadir; its log is `client.log` beside it.
    pub dir: PathBuf,
}

impl CliquePeer {
    /// Starts the client on free loopback ports with a fresh datadir named after `name`, and
    /// waits for its `ready` event. Panics with a pointer to `make test` when the pinned packages
    /// are not installed.
    pub fn start(name: &str) -> CliquePeer {
        let here = clique_dir();
        assert!(
            here.join("node_modules/@ethereumjs/client").exists(),
            "the Clique peer is not installed: run `npm ci` in tests/clique (`make test` does)"
        );
        let dir = temp_dir(&format!("clique-{name}"));
        let (port, rpc_port) = (free_port(), free_port());
        // No bootnodes reach it: run.mjs turns discovery off (`--discV4=false --discDns=false`),
        // the custom genesis names none, and it listens on loopback only.
        let mut child = Command::new("node")
            .arg("run.mjs")
            .args(["--port", &port.to_string()])
            .args(["--rpc-port", &rpc_port.to_string()])
            .arg("--datadir")
            .arg(dir.join("data"))
            .arg("--log")
            .arg(dir.join("client.log"))
            .current_dir(&here)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning node (Node.js is needed for the interop tests)");
        let events = EventLog::collect(child.stdout.take().unwrap());
        let mut peer = CliquePeer {
            child,
            events,
            enode: String::new(),
            genesis_hash: [0; 32],
            rpc_port,
            dir,
        };
        let ready = peer.wait("ready", READY_TIMEOUT, |v| v["event"] == "ready");
        peer.enode = ready["enode"].as_str().unwrap().to_string();
        peer.genesis_hash = hash32(&ready["genesisHash"]);
        peer
    }

    /// The first event for which `pred` holds, waiting up to `timeout`; panics with every event
    /// and the client's log otherwise.
    pub fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        self.events.try_wait(timeout, pred).unwrap_or_else(|| {
            panic!(
                "clique peer: no {what} event; events:\n{}\nclient log tail:\n{}",
                self.dump(),
                self.log_tail(40)
            )
        })
    }

    /// Waits until the client's head is at block `number` or beyond; returns that head event.
    pub fn wait_head(&self, number: u64, timeout: Duration) -> Value {
        self.wait(&format!("head >= {number}"), timeout, |v| {
            v["event"] == "head" && v["number"].as_u64().is_some_and(|n| n >= number)
        })
    }

    /// Every event named `name` so far, in order.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events.named(name)
    }

    /// Every event so far, one per line.
    pub fn dump(&self) -> String {
        self.events.dump()
    }

    /// The last `n` lines of the client's own log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("client.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The TCP address from the enode URL.
    pub fn addr(&self) -> SocketAddr {
        let e: ethpeer::enode::Enode = self.enode.parse().unwrap();
        e.tcp_addr().unwrap()
    }

    /// The client's public key from the enode URL.
    pub fn pubkey(&self) -> PublicKey {
        let e: ethpeer::enode::Enode = self.enode.parse().unwrap();
        e.id
    }

    /// One JSON-RPC call; the `result` member, or the error as text.
    pub fn rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        rpc_call(self.rpc_port, method, params)
    }

    /// The hash of the client's block `number`, or `None` when it has no such block.
    pub fn block_hash(&self, number: u64) -> Option<[u8; 32]> {
        let block = self
            .rpc(
                "eth_getBlockByNumber",
                json!([format!("{number:#x}"), false]),
            )
            .unwrap_or_else(|e| panic!("eth_getBlockByNumber {number}: {e}"));
        (!block.is_null()).then(|| hash32(&block["hash"]))
    }

    /// The client's head: `(number, hash)`.
    pub fn head(&self) -> (u64, [u8; 32]) {
        let block = self
            .rpc("eth_getBlockByNumber", json!(["latest", false]))
            .unwrap_or_else(|e| panic!("eth_getBlockByNumber latest: {e}"));
        let number = block["number"].as_str().unwrap().trim_start_matches("0x");
        (
            u64::from_str_radix(number, 16).unwrap(),
            hash32(&block["hash"]),
        )
    }

    /// Stops the client and run.mjs (SIGTERM to the group, then SIGKILL after 5 s).
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        signal_group(self.child.id(), "TERM");
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                // run.mjs is gone; its client may linger for its 2 s grace: end it too.
                signal_group(self.child.id(), "KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_group(self.child.id(), "KILL");
        let _ = self.child.wait();
    }
}

impl Drop for CliquePeer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends `kill -SIG -- -PGID`: the process group that `process_group(0)` made for run.mjs.
fn signal_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn hash32(v: &Value) -> [u8; 32] {
    let s = v.as_str().unwrap_or_else(|| panic!("not a hash: {v}"));
    unhex(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("not a 32-byte hash: {s}"))
}

/// A JSON-RPC call over a fresh HTTP/1.1 connection to 127.0.0.1:`port`
/// (`Connection: close`, so the reply ends at end of stream).
pub fn rpc_call(port: u16, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut reply = Vec::new();
    stream
        .take(RPC_REPLY_SIZE_MAX)
        .read_to_end(&mut reply)
        .map_err(|e| format!("read: {e}"))?;
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of HTTP headers")?;
    let head = String::from_utf8_lossy(&reply[..split]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(format!(
            "HTTP status: {}",
            head.lines().next().unwrap_or("")
        ));
    }
    let raw = &reply[split + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(raw)?
    } else {
        raw.to_vec()
    };
    let v: Value = serde_json::from_slice(&body).map_err(|e| format!("reply JSON: {e}"))?;
    if !v["error"].is_null() {
        return Err(format!("{method}: {}", v["error"]));
    }
    Ok(v["result"].clone())
}

/// The body of a `Transfer-Encoding: chunked` reply (RFC 9112 section 7.1), trailers ignored.
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line")?;
        let line = String::from_utf8_lossy(&raw[..eol]);
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| "chunk size")?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = raw.get(..size).ok_or("short chunk")?;
        out.extend_from_slice(chunk);
        raw = raw.get(size + 2..).ok_or("chunk end")?;
    }
}
