//! JSON-RPC over HTTP for the tests: a node (in this process or as the binary) serving the
//! fixture chain, and a plain client on a `TcpStream` (requests written whole, or partly for the
//! slow-client tests), so every byte the server gets is the test's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{Value, json};

use super::fixture_node::{fixture_spec, imported_datadir};
use super::node_proc::NodeProc;
use ethpeer::eth::EthVersion;
use ethpeer::eth::manager::EthConfig;
use ethpeer::eth::sync::SyncConfig;
use ethpeer::rpc::HttpConfig;
use ethpeer::server::datadir::Datadir;
use ethpeer::server::{Config, EthPlan};
use ethpeer::tx::pool::PoolConfig;

/// An in-process node on loopback serving the fixture chain (no sync, no discovery) with `http`.
pub fn fixture_config(name: &str, http: HttpConfig) -> Config {
    let dir = imported_datadir(name);
    let dd = Datadir::open(&dir).unwrap();
    let key = dd.node_key().unwrap();
    Config {
        datadir: Some(dd),
        key,
        eth: Some(EthPlan {
            spec: fixture_spec(),
            versions: vec![EthVersion::Eth68, EthVersion::Eth69],
            config: EthConfig {
                sync: false,
                sync_config: SyncConfig::default(),
                pool: PoolConfig::default(),
                seed: 1,
            },
            local_txs: Vec::new(),
        }),
        http: Some(http),
        ..Config::ephemeral()
    }
}

/// geth's defaults on an ephemeral loopback port, with `apis`.
pub fn http_config(apis: &str) -> HttpConfig {
    let mut c = HttpConfig::new("127.0.0.1:0".parse().unwrap());
    c.apis = ethpeer::rpc::split_list(apis);
    c
}

/// The HTTP endpoint a node process logged (`HTTP server started endpoint=…`).
pub fn logged_endpoint(node: &NodeProc) -> SocketAddr {
    let a = logged_field(node, "HTTP server started", "endpoint=");
    a.parse().unwrap_or_else(|_| panic!("no endpoint in {a}"))
}

/// The value after `key` (e.g. `url=`) on the node's first log line containing `marker`,
/// waiting 10 s for it.
pub fn logged_field(node: &NodeProc, marker: &str, key: &str) -> String {
    node.wait_log(&[marker], Duration::from_secs(10));
    let log = node.log.lock().unwrap();
    let line = log.iter().find(|l| l.contains(marker)).unwrap();
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .to_string()
}

/// An HTTP response: status, header block (lower-cased names) and body.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl HttpReply {
    /// The value of header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            (n.trim().eq_ignore_ascii_case(name)).then(|| v.trim().to_string())
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// Sends `raw` (a whole request, `Connection: close`) and reads the reply to its end.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> HttpReply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse_reply(&out)
}

/// Splits a raw HTTP/1.1 response (with a Content-Length body).
pub fn parse_reply(out: &[u8]) -> HttpReply {
    let text = String::from_utf8_lossy(out);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    HttpReply {
        status,
        headers: headers.to_string(),
        body: body.to_string(),
    }
}

/// A POST of `body` with `extra` header lines (each ending in CRLF), Host localhost unless
/// `extra` names one.
pub fn post_with(addr: SocketAddr, body: &str, extra: &str) -> HttpReply {
    let host = if extra.to_ascii_lowercase().contains("host:") {
        String::new()
    } else {
        "Host: localhost\r\n".to_string()
    };
    let raw = format!(
        "POST / HTTP/1.1\r\n{host}{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, raw.as_bytes())
}

/// A POST of `body`.
pub fn post(addr: SocketAddr, body: &str) -> HttpReply {
    post_with(addr, body, "")
}

/// One call; the whole response object.
pub fn call(addr: SocketAddr, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r = post(addr, &body.to_string());
    assert_eq!(r.status, 200, "{method}: {r:?}");
    r.json()
}

/// One call that must succeed; its result.
pub fn result(addr: SocketAddr, method: &str, params: Value) -> Value {
    let r = call(addr, method, params);
    assert!(r.get("error").is_none(), "{method}: {r}");
    r["result"].clone()
}
