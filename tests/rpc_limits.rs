//! The HTTP-RPC server's limits and bad input, one test per limit (geth's defaults, constants in
//! `src/rpc/mod.rs`): request body ≤ 5 MiB, batch ≤ 1000 calls and ≤ 25 MB of answers, read and
//! write timeouts (a slow client cannot hold a slot), a bound on open connections, `Host` outside
//! `--http.vhosts` → 403, CORS only for `--http.corsdomain`; and bad requests answered with an
//! error, nothing logged above DEBUG, the node undisturbed.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::fixture_node::{genesis_arg, imported_datadir};
use common::node_proc::NodeProc;
use common::rpc::{
    exchange, fixture_config, http_config, logged_endpoint, parse_reply, post, post_with, result,
};
use ethpeer::rpc::{BATCH_ITEMS_MAX, BODY_SIZE_MAX, HttpConfig, Limits};
use ethpeer::server::{self, Config, NodeHandle};
use serde_json::json;

/// A p2p-only node serving web3/net over HTTP with `edit` applied to geth's defaults.
fn node(edit: impl FnOnce(&mut HttpConfig)) -> (NodeHandle, SocketAddr) {
    let mut http = http_config("web3,net");
    edit(&mut http);
    let n = server::start(Config {
        http: Some(http),
        ..Config::ephemeral()
    })
    .unwrap();
    let a = n.http_addr().unwrap();
    (n, a)
}

fn calls(n: usize, method: &str) -> String {
    let one = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}"}}"#);
    format!("[{}]", vec![one; n].join(","))
}

#[test]
fn a_body_over_5_mib_is_refused_413() {
    let (n, a) = node(|_| {});
    // Declared too large: refused from the header, before the body is sent.
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        BODY_SIZE_MAX + 1
    );
    let r = exchange(a, raw.as_bytes());
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(
        r.body,
        format!(
            "content length too large ({}>{BODY_SIZE_MAX})\n",
            BODY_SIZE_MAX + 1
        )
    );
    // Undeclared (chunked) and too large: cut at the limit.
    let mut s = TcpStream::connect(a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..=(BODY_SIZE_MAX / chunk.len()) {
        if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .is_err()
            || s.write_all(&chunk).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert_eq!(parse_reply(&out).status, 413);
    // Exactly at the limit: read and answered (spaces around a call are valid JSON).
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"net_listening"}"#;
    let body = format!("{call}{}", " ".repeat(BODY_SIZE_MAX - call.len()));
    let r = post(a, &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"], json!(true));
    n.shutdown();
}

#[test]
fn a_batch_over_1000_calls_is_refused_and_answers_stop_at_25_mb() {
    let (n, a) = node(|_| {});
    let r = post(a, &calls(BATCH_ITEMS_MAX, "net_listening")).json();
    assert_eq!(r.as_array().unwrap().len(), BATCH_ITEMS_MAX);
    let r = post(a, &calls(BATCH_ITEMS_MAX + 1, "net_listening")).json();
    assert_eq!(
        r,
        json!([{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"batch too large"}}])
    );
    n.shutdown();
    // The response bound, small here: the call that crosses it is answered, the rest refused.
    let (n, a) = node(|c| c.limits.batch_response_size_max = 300);
    let r = post(a, &calls(10, "web3_clientVersion")).json();
    let r = r.as_array().unwrap();
    assert_eq!(r.len(), 10);
    let answered = r.iter().take_while(|x| x.get("result").is_some()).count();
    let size: usize = r[..answered].iter().map(|x| x.to_string().len()).sum();
    assert!(
        size > 300 && size - r[answered - 1].to_string().len() <= 300,
        "{size}"
    );
    for x in &r[answered..] {
        assert_eq!(
            x["error"],
            json!({"code":-32003,"message":"response too large"})
        );
    }
    n.shutdown();
}

/// Reads until the server closes (EOF or reset); false if it is still open after `wait`.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn slow_clients_cannot_hold_a_connection() {
    let (n, a) = node(|c| {
        c.limits.read_timeout = Duration::from_secs(1);
        c.limits.write_timeout = Duration::from_secs(1);
    });
    // Silent: closed.
    let mut idle = TcpStream::connect(a).unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(20)),
        "an idle connection stays open"
    );
    // Headers trickled a byte at a time: closed although bytes keep coming.
    let mut s = TcpStream::connect(a).unwrap();
    let trickle = std::thread::spawn({
        let mut w = s.try_clone().unwrap();
        move || {
            for b in b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
                if w.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    assert!(
        closed_within(&mut s, Duration::from_secs(20)),
        "slow headers held the connection"
    );
    let _ = trickle.join();
    // A body trickled: the request times out.
    let mut s = TcpStream::connect(a).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{").unwrap();
    let trickle = std::thread::spawn({
        let mut w = s.try_clone().unwrap();
        move || {
            for _ in 0..100 {
                if w.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = trickle.join();
    assert!(
        out.is_empty() || parse_reply(&out).status == 408,
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    // And the node still answers.
    assert_eq!(result(a, "net_listening", json!([])), json!(true));
    n.shutdown();
}

#[test]
fn a_client_that_does_not_read_is_cut_off() {
    let mut http = http_config("eth");
    http.limits.write_timeout = Duration::from_secs(1);
    let n = server::start(fixture_config("rpc-write-timeout", http)).unwrap();
    let a = n.http_addr().unwrap();
    // 1000 copies of block 11 (56 transaction hashes): ~5 MB, more than the socket buffers of a
    // client that does not read hold.
    let one = r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0xb",false]}"#;
    let body = format!("[{}]", vec![one; 1000].join(","));
    let mut s = TcpStream::connect(a).unwrap();
    s.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    // The answer has started...
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut out = vec![0u8; 4096];
    s.read_exact(&mut out).unwrap();
    // ...then the client stops reading for well over the write timeout...
    std::thread::sleep(Duration::from_secs(4));
    let _ = s.read_to_end(&mut out);
    // ...and the server gave up: a prefix of the answer arrived, never the whole of it.
    let text = String::from_utf8_lossy(&out);
    let declared: usize = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("the response head arrived");
    let body_got = out.len() - text.find("\r\n\r\n").unwrap() - 4;
    assert!(
        body_got < declared,
        "the whole {declared}-byte answer was written to a client that did not read"
    );
    // A reading client gets all of it.
    let r = post(a, &body);
    assert_eq!(r.json().as_array().unwrap().len(), 1000);
    n.shutdown();
}

#[test]
fn open_connections_are_bounded() {
    let (n, a) = node(|c| c.limits.connections_max = 2);
    let mut held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(a).unwrap()).collect();
    // Let the server accept both before the third arrives.
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(a).unwrap();
    assert!(
        closed_within(&mut third, Duration::from_secs(10)),
        "a third connection was kept"
    );
    // The two held connections are served...
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"net_listening"}"#;
    let req = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    for s in &mut held {
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.read_to_end(&mut out);
        assert_eq!(parse_reply(&out).json()["result"], json!(true));
    }
    drop(held);
    // ...and once they are gone, a new one is too.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(result(a, "net_listening", json!([])), json!(true));
    n.shutdown();
}

#[test]
fn hosts_outside_vhosts_are_403_and_cors_only_for_corsdomain() {
    let (n, a) = node(|_| {});
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"net_listening"}"#;
    let r = post_with(a, body, "Host: evil.example:8545\r\n");
    assert_eq!(
        (r.status, r.body.as_str()),
        (403, "invalid host specified\n")
    );
    for ok in [
        "Host: localhost:8545\r\n",
        "Host: LOCALHOST\r\n",
        "Host: 127.0.0.1:8545\r\n",
        "Host: [::1]:8545\r\n",
    ] {
        assert_eq!(post_with(a, body, ok).status, 200, "{ok}");
    }
    // No --http.corsdomain: no CORS header for anyone.
    let r = post_with(a, body, "Origin: https://app.example\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
    // Other methods and content types, as geth answers them.
    let r = exchange(
        a,
        b"PUT / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 405);
    let r = exchange(a, b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    assert_eq!(r.status, 415);
    let r = exchange(
        a,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    n.shutdown();
    let (n, a) = node(|c| {
        c.vhosts = vec!["*".into()];
        c.cors = vec!["https://app.example".into()];
    });
    assert_eq!(post_with(a, body, "Host: evil.example\r\n").status, 200);
    let r = post_with(a, body, "Origin: https://app.example\r\n");
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    let r = post_with(a, body, "Origin: https://other.example\r\n");
    assert_eq!(r.header("access-control-allow-origin"), None);
    let pre = "OPTIONS / HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n";
    let r = exchange(a, pre.as_bytes());
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    assert!(
        r.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    let r = exchange(a, pre.replace("app.example", "other.example").as_bytes());
    assert_eq!(r.header("access-control-allow-methods"), None);
    n.shutdown();
}

#[test]
fn bad_requests_are_errors_logged_at_debug_and_the_node_goes_on() {
    let dir = imported_datadir("rpc-bad-input");
    let g = genesis_arg();
    let mut node = NodeProc::start(
        &dir,
        &[
            "--genesis",
            &g,
            "--syncmode",
            "none",
            "--nodiscover",
            "--http",
            "--http.port",
            "0",
            "--http.api",
            "eth,web3",
        ],
    );
    let a = logged_endpoint(&node);
    let bad = [
        "{",
        "null",
        "[1,2,3]",
        r#"{"jsonrpc":"2.0","id":{"a":1},"method":"eth_blockNumber"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":[99999999999999999999999999,false]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0xffffffffffffffffffffffff",true]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x7fffffffffffffff",true]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getTransactionByHash","params":["0x12"]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_feeHistory","params":["0x400","latest",[50,10]]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0xf8"]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","params":["enode://00@127.0.0.1:1"]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"net_version"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"_"}"#,
    ];
    for b in bad {
        let r = post(a, b);
        assert_eq!(r.status, 200, "{b}");
        let v = r.json();
        let errors: Vec<&serde_json::Value> = match v.as_array() {
            Some(a) => a.iter().collect(),
            None => vec![&v],
        };
        for e in errors {
            assert!(
                e.get("error").is_some() || e["result"].is_null(),
                "{b}: {v}"
            );
        }
    }
    assert_eq!(result(a, "eth_blockNumber", json!([])), json!("0x258"));
    node.terminate();
    let loud: Vec<String> = node
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("WARN") || l.starts_with("ERROR"))
        .cloned()
        .collect();
    assert!(loud.is_empty(), "logged above DEBUG:\n{}", loud.join("\n"));
    // A flag value geth would refuse is one line and exit 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args([
            "node",
            "--datadir",
            dir.to_str().unwrap(),
            "--bootnodes",
            "",
            "--noeth",
            "--http",
            "--http.api",
            "eth,debug",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--http.api"), "{err}");
    let _ = Limits::default();
}
