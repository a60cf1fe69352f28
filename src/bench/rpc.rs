//! Figure group "rpc": JSON-RPC requests per second for `eth_blockNumber`,
//! `eth_getBlockByNumber` (block 1, full transactions) and `admin_peers`, against our node and
//! against the ethereumjs client (tests/clique: the pinned @ethereumjs/client sealing a Clique
//! chain on loopback) on the same chain (our node syncs it from the client), measured in the
//! same run with the same load generator, interleaved; and the memory an idle RPC server adds
//! (a node with `--http --ws --metrics` beside one without, same run).
//!
//! The load generator is hyper's HTTP/1 client: `CONNECTIONS` keep-alive connections on one
//! thread, each sending its next request when the last answer is read. Every answer must be 200
//! with a `result`; block 1 must have the same hash from both nodes.

use std::cell::Cell;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use super::node::rss_bytes;
use super::timing::{no_figure, smoke};

/// Keep-alive connections the generator keeps busy (each has one request in flight).
const CONNECTIONS: usize = 8;
/// One measuring window per (method, node); the best of `WINDOWS` interleaved windows counts.
const WINDOW: Duration = Duration::from_millis(1500);
const WINDOWS: usize = 3;
/// How long the client may take to start and seal block 1, and our node to sync it.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the idle nodes settle before their RSS is read.
const SETTLE: Duration = Duration::from_secs(2);

const METHODS: &[(&str, &str)] = &[
    ("eth_blockNumber", "[]"),
    ("eth_getBlockByNumber", r#"["0x1", true]"#),
    ("admin_peers", "[]"),
];

/// A child process (group) stopped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        // The child leads its own process group (run.mjs starts the client under it).
        // `--` so the group id is not read as an option.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.0.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn clique_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clique")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ethpeer-bench-rpc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Lines of a child's stream, as they come.
fn lines(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    rx
}

/// The first line for which `f` gives a value, within `timeout`.
fn first<T>(
    rx: &mpsc::Receiver<String>,
    timeout: Duration,
    f: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let end = Instant::now() + timeout;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        let l = rx.recv_timeout(left).ok()?;
        if let Some(v) = f(&l) {
            return Some(v);
        }
    }
    None
}

/// Starts the ethereumjs client; returns it, its enode and its RPC address.
fn start_client() -> Result<(Proc, String, SocketAddr), String> {
    let here = clique_dir();
    if !here.join("node_modules/@ethereumjs/client").exists() {
        return Err("the ethereumjs client is not installed (npm ci in tests/clique)".into());
    }
    let dir = temp("client");
    let (port, rpc_port) = (free_port(), free_port());
    let mut child = Command::new("node")
        .arg("run.mjs")
        .args(["--port", &port.to_string()])
        .args(["--rpc-port", &rpc_port.to_string()])
        .arg("--datadir")
        .arg(dir.join("data"))
        .arg("--log")
        .arg(dir.join("client.log"))
        .args(["--log-level", "info"])
        .current_dir(&here)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawning node: {e}"))?;
    let out = lines(child.stdout.take().ok_or("no stdout")?);
    let proc = Proc(child);
    let enode = first(&out, START_TIMEOUT, |l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["event"] == "ready").then(|| v["enode"].as_str().map(str::to_string))?
    })
    .ok_or("the ethereumjs client did not get ready")?;
    let rpc: SocketAddr = ([127, 0, 0, 1], rpc_port).into();
    // Keep the stream drained so the client never blocks on a full pipe.
    std::thread::spawn(move || for _ in out {});
    Ok((proc, enode, rpc))
}

/// Starts our node with `extra`; returns it and, with `--http`, its HTTP address.
fn start_node(name: &str, extra: &[&str]) -> Result<(Proc, Option<SocketAddr>), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .arg("node")
        .arg("--datadir")
        .arg(temp(name))
        // Loopback only: no discovery, no bootnodes but what the run names.
        .args([
            "--port",
            "0",
            "--nodiscover",
            "--bootnodes",
            "",
            "--verbosity",
            "3",
        ])
        .args(extra)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning ethpeer: {e}"))?;
    let err = lines(child.stderr.take().ok_or("no stderr")?);
    let proc = Proc(child);
    let http = if extra.contains(&"--http") {
        Some(
            first(&err, Duration::from_secs(20), |l| {
                l.contains("HTTP server started").then(|| {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix("endpoint="))
                        .and_then(|a| a.parse().ok())
                })?
            })
            .ok_or("our node did not start its HTTP server")?,
        )
    } else {
        first(&err, Duration::from_secs(20), |l| {
            l.contains("self=enode://").then_some(())
        })
        .ok_or("our node did not start")?;
        None
    };
    std::thread::spawn(move || for _ in err {});
    Ok((proc, http))
}

/// One JSON-RPC call on a fresh connection; the `result`.
fn call(addr: SocketAddr, method: &str, params: &str) -> Result<serde_json::Value, String> {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    let done = Rc::new(Cell::new(0));
    let answers = async_io::block_on(generate(addr, Bytes::from(body), 1, None, done))?;
    let v: serde_json::Value =
        serde_json::from_slice(&answers).map_err(|e| format!("{method}: {e}"))?;
    match v.get("result") {
        Some(r) => Ok(r.clone()),
        None => Err(format!("{method}: {v}")),
    }
}

/// Drives `conns` connections sending `body` until `until` (or one request with `None`),
/// counting answers in `done`; returns the first answer's body.
async fn generate(
    addr: SocketAddr,
    body: Bytes,
    conns: usize,
    until: Option<Instant>,
    done: Rc<Cell<u64>>,
) -> Result<Vec<u8>, String> {
    let ex = async_executor::LocalExecutor::new();
    let first: Rc<std::cell::RefCell<Option<Vec<u8>>>> = Rc::default();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (body, done, first) = (body.clone(), done.clone(), first.clone());
        tasks.push(ex.spawn(async move {
            let stream = async_net::TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect {addr}: {e}"))?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(smol_hyper::rt::FuturesIo::new(stream))
                    .await
                    .map_err(|e| format!("{addr}: {e}"))?;
            let work = async {
                loop {
                    let req = hyper::Request::post("/")
                        .header(hyper::header::HOST, "localhost")
                        .header(hyper::header::CONTENT_TYPE, "application/json")
                        .body(Full::new(body.clone()))
                        .map_err(|e| e.to_string())?;
                    let resp = sender
                        .send_request(req)
                        .await
                        .map_err(|e| format!("{addr}: {e}"))?;
                    let status = resp.status();
                    let bytes = resp
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| format!("{addr}: {e}"))?
                        .to_bytes();
                    if status != 200 || !bytes.windows(8).any(|w| w == b"\"result\"") {
                        return Err(format!(
                            "{addr}: HTTP {status}: {}",
                            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                        ));
                    }
                    first.borrow_mut().get_or_insert_with(|| bytes.to_vec());
                    done.set(done.get() + 1);
                    match until {
                        Some(t) if Instant::now() < t => continue,
                        _ => return Ok::<(), String>(()),
                    }
                }
            };
            futures_lite::future::or(work, async {
                conn.await.map_err(|e| format!("{addr}: {e}"))?;
                Err(format!("{addr}: the connection closed"))
            })
            .await
        }));
    }
    ex.run(async {
        for t in tasks {
            t.await?;
        }
        Ok::<(), String>(())
    })
    .await?;
    let out = first.borrow_mut().take().unwrap_or_default();
    Ok(out)
}

/// Requests per second of `method` at `addr` over one window.
fn rate(addr: SocketAddr, method: &str, params: &str) -> Result<f64, String> {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    let window = if smoke() {
        Duration::from_millis(100)
    } else {
        WINDOW
    };
    let done = Rc::new(Cell::new(0));
    let start = Instant::now();
    async_io::block_on(generate(
        addr,
        Bytes::from(body),
        CONNECTIONS,
        Some(start + window),
        done.clone(),
    ))?;
    Ok(done.get() as f64 / start.elapsed().as_secs_f64())
}

pub fn run() {
    if let Err(e) = idle_rss() {
        no_figure(&format!("rpc idle RSS: no figure: {e}"));
    }
    if let Err(e) = throughput() {
        no_figure(&format!("rpc requests/s: no figure: {e}"));
    }
}

/// RSS of a node with every RPC server on and idle, beside one without, started together.
fn idle_rss() -> Result<(), String> {
    let rpc = [
        "--http",
        "--http.port",
        "0",
        "--ws",
        "--ws.port",
        "0",
        "--metrics",
        "--metrics.port",
        "0",
    ];
    let (plain, _) = start_node("idle-plain", &["--noeth"])?;
    let mut args = vec!["--noeth"];
    args.extend_from_slice(&rpc);
    let (with, addr) = start_node("idle-rpc", &args)?;
    // One answered call proves the server is up, then both idle.
    let addr = addr.ok_or("no HTTP address")?;
    call(addr, "web3_clientVersion", "[]")?;
    std::thread::sleep(SETTLE);
    let (a, b) = (rss_bytes(plain.0.id()), rss_bytes(with.0.id()));
    if a == 0 || b == 0 {
        return Err("cannot read VmRSS".into());
    }
    println!(
        "rpc idle: RSS {:.0} KiB with --http --ws --metrics, {:.0} KiB without (same run): the idle RPC servers add {:.0} KiB",
        b as f64 / 1024.0,
        a as f64 / 1024.0,
        (b as f64 - a as f64) / 1024.0
    );
    Ok(())
}

fn throughput() -> Result<(), String> {
    let (client, enode, theirs) = start_client()?;
    let genesis = clique_dir().join("genesis.json").display().to_string();
    let (node, ours) = start_node(
        "sync",
        &[
            "--genesis",
            &genesis,
            "--staticnodes",
            &enode,
            "--sync.minpeers",
            "1",
            "--http",
            "--http.port",
            "0",
            "--http.api",
            "eth,net,web3,admin",
        ],
    )?;
    let ours = ours.ok_or("no HTTP address")?;
    // Both must have block 1: the client seals it, our node syncs it.
    let end = Instant::now() + START_TIMEOUT;
    let block1 = |addr| call(addr, "eth_getBlockByNumber", r#"["0x1", true]"#);
    let (a, b) = loop {
        if let (Ok(a), Ok(b)) = (block1(ours), block1(theirs))
            && !a.is_null()
            && !b.is_null()
        {
            break (a, b);
        }
        if Instant::now() > end {
            return Err("block 1 never reached both nodes".into());
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    if a["hash"] != b["hash"] {
        return Err(format!(
            "block 1 differs: ours {}, the client's {}",
            a["hash"], b["hash"]
        ));
    }
    let peers = call(ours, "admin_peers", "[]")?;
    if peers.as_array().map(Vec::len) != Some(1) {
        return Err(format!("our admin_peers should list the client: {peers}"));
    }
    println!(
        "rpc load: {CONNECTIONS} keep-alive connections on one thread (hyper's client), best of {WINDOWS} interleaved windows of {:.1} s; block 1 hash {} on both nodes",
        WINDOW.as_secs_f64(),
        a["hash"].as_str().unwrap_or("?")
    );
    let windows = if smoke() { 1 } else { WINDOWS };
    for (method, params) in METHODS {
        let theirs_ok = call(theirs, method, params).is_ok();
        let (mut best_ours, mut best_theirs) = (0f64, 0f64);
        for _ in 0..windows {
            best_ours = best_ours.max(rate(ours, method, params)?);
            if theirs_ok {
                best_theirs = best_theirs.max(rate(theirs, method, params)?);
            }
        }
        if theirs_ok {
            println!(
                "rpc {method}: ethpeer {best_ours:.0} req/s, ethereumjs {best_theirs:.0} req/s: {:.2}x the ethereumjs client",
                best_ours / best_theirs.max(1e-9)
            );
        } else {
            println!(
                "rpc {method}: ethpeer {best_ours:.0} req/s (reference: the ethereumjs client does not answer {method})"
            );
        }
    }
    drop(node);
    drop(client);
    Ok(())
}
