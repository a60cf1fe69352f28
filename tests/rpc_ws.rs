//! JSON-RPC over WebSocket: the `Origin` check, calls and batches, and the subscriptions seen
//! doing their work: `newHeads` follows a real sync from a second node, `newPendingTransactions`
//! names a transaction sent on the same connection, `peerEvents` says add and drop; unsubscribe,
//! and the per-connection bound.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::HeaderValue;
use common::fixture_chain::fixture_chain;
use common::fixture_node::fixture_spec;
use common::node_proc::temp_dir;
use common::rpc::{fixture_config, http_config, post};
use ethpeer::crypto::hex;
use ethpeer::rpc::WsConfig;
use ethpeer::rpc::subscriptions::SUBSCRIPTIONS_PER_CONNECTION_MAX;
use ethpeer::server::{self, Config};
use futures_lite::StreamExt;
use serde_json::{Value, json};

type Ws = async_tungstenite::WebSocketStream<async_net::TcpStream>;

fn ws_config(apis: &str) -> WsConfig {
    let mut c = WsConfig::new("127.0.0.1:0".parse().unwrap());
    c.apis = ethpeer::rpc::split_list(apis);
    c
}

fn block_on<T>(what: &str, f: impl Future<Output = T>) -> T {
    let timeout = async {
        async_io::Timer::after(Duration::from_secs(60)).await;
        panic!("timed out: {what}");
    };
    futures_lite::future::block_on(futures_lite::future::or(f, timeout))
}

/// Opens a connection, with `origin` if given; the handshake's error status if refused.
fn connect(addr: SocketAddr, origin: Option<&str>) -> Result<Ws, u16> {
    block_on("connect", async {
        let stream = async_net::TcpStream::connect(addr).await.unwrap();
        let mut req = format!("ws://{addr}").into_client_request().unwrap();
        if let Some(o) = origin {
            req.headers_mut()
                .insert("Origin", HeaderValue::from_str(o).unwrap());
        }
        match async_tungstenite::client_async(req, stream).await {
            Ok((ws, _)) => Ok(ws),
            Err(async_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("handshake: {e}"),
        }
    })
}

fn send(ws: &mut Ws, v: &Value) {
    block_on("send", ws.send(Message::text(v.to_string()))).unwrap();
}

/// The next text message.
fn recv(ws: &mut Ws) -> Value {
    block_on("recv", async {
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                _ => continue,
            }
        }
    })
}

/// Calls `method`; notifications arriving first are kept in `seen`.
fn call(ws: &mut Ws, seen: &mut Vec<Value>, method: &str, params: Value) -> Value {
    send(
        ws,
        &json!({"jsonrpc":"2.0","id":77,"method":method,"params":params}),
    );
    loop {
        let v = recv(ws);
        if v["id"] == 77 {
            return v;
        }
        seen.push(v);
    }
}

/// Notifications of subscription `id` until `done` says enough (those already seen first);
/// others are kept in `seen`.
fn notifications(
    ws: &mut Ws,
    seen: &mut Vec<Value>,
    id: &Value,
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let (mine, others): (Vec<Value>, Vec<Value>) = seen
        .drain(..)
        .partition(|v| v["params"]["subscription"] == *id);
    *seen = others;
    let mut out: Vec<Value> = mine
        .into_iter()
        .map(|v| v["params"]["result"].clone())
        .collect();
    while !done(&out) {
        let v = recv(ws);
        if v["params"]["subscription"] == *id {
            out.push(v["params"]["result"].clone());
        } else {
            seen.push(v);
        }
    }
    out
}

#[test]
fn origins_are_checked_as_geth_does() {
    let start = |origins: &[&str]| {
        let mut ws = ws_config("web3");
        ws.origins = origins.iter().map(|s| s.to_string()).collect();
        server::start(Config {
            ws: Some(ws),
            ..Config::ephemeral()
        })
        .unwrap()
    };
    let n = start(&[]);
    let a = n.ws_addr().unwrap();
    assert!(connect(a, None).is_ok(), "no Origin header is allowed");
    assert!(connect(a, Some("http://localhost")).is_ok());
    assert_eq!(connect(a, Some("http://evil.example")).err(), Some(403));
    n.shutdown();
    let n = start(&["https://app.example"]);
    let a = n.ws_addr().unwrap();
    assert!(connect(a, Some("https://APP.example")).is_ok());
    assert_eq!(connect(a, Some("http://localhost")).err(), Some(403));
    let mut ws = connect(a, None).unwrap();
    let mut seen = Vec::new();
    let r = call(&mut ws, &mut seen, "web3_clientVersion", json!([]));
    assert!(r["result"].as_str().unwrap().starts_with("ethpeer/"));
    // A batch in one message; a namespace not enabled.
    send(
        &mut ws,
        &json!([{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["0x"]},{"jsonrpc":"2.0","id":2,"method":"net_version"}]),
    );
    let r = recv(&mut ws);
    assert_eq!(
        r[0]["result"],
        json!(format!("0x{}", hex(&ethpeer::crypto::keccak256(b""))))
    );
    assert_eq!(r[1]["error"]["code"], -32601);
    n.shutdown();
}

#[test]
fn new_heads_follow_a_sync_and_peer_events_say_add_and_drop() {
    // A: the fixture chain. B: the genesis only, syncing, serving WebSocket.
    let a = server::start(fixture_config("ws-sync-a", http_config("eth"))).unwrap();
    let dir = temp_dir("ws-sync-b");
    let dd = ethpeer::server::datadir::Datadir::open(&dir).unwrap();
    let key = dd.node_key().unwrap();
    let mut b_config = fixture_config("ws-sync-b-unused", http_config("eth"));
    b_config.datadir = Some(dd);
    b_config.key = key;
    b_config.http = None;
    b_config.ws = Some(ws_config("eth,admin"));
    if let Some(plan) = b_config.eth.as_mut() {
        plan.config.sync = true;
        plan.spec = fixture_spec();
    }
    let b = server::start(b_config).unwrap();
    let mut ws = connect(b.ws_addr().unwrap(), None).unwrap();
    let mut seen = Vec::new();
    let heads = call(&mut ws, &mut seen, "eth_subscribe", json!(["newHeads"]))["result"].clone();
    let peers =
        call(&mut ws, &mut seen, "admin_subscribe", json!(["peerEvents"]))["result"].clone();
    assert!(heads.as_str().unwrap().starts_with("0x") && heads != peers);
    // A subscription name the namespace lacks.
    let r = call(&mut ws, &mut seen, "eth_subscribe", json!(["peerEvents"]));
    assert_eq!(r["error"]["code"], -32601);
    b.add_peer(a.enode()).unwrap();
    let got = notifications(&mut ws, &mut seen, &heads, |h| {
        h.last().is_some_and(|x| x["number"] == json!("0x258"))
    });
    // Every head from the first announced one to 600, in order, each the fixture's block.
    let chain = fixture_chain();
    let first = u64::from_str_radix(
        got[0]["number"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert!(first >= 1);
    for (i, h) in got.iter().enumerate() {
        let n = first + i as u64;
        assert_eq!(h["number"], json!(format!("{n:#x}")));
        assert_eq!(
            h["hash"],
            json!(format!("0x{}", hex(&chain.hashes[n as usize])))
        );
    }
    let a_id = hex(&a.enode().node_id().0);
    let ev = notifications(&mut ws, &mut seen, &peers, |e| !e.is_empty());
    assert_eq!(ev[0]["type"], "add");
    assert_eq!(ev[0]["peer"], json!(a_id));
    b.remove_peer(&a.enode().node_id()).unwrap();
    let ev = notifications(&mut ws, &mut seen, &peers, |e| {
        e.iter().any(|x| x["type"] == "drop")
    });
    let drop = ev.iter().find(|x| x["type"] == "drop").unwrap();
    assert_eq!(drop["peer"], json!(a_id));
    assert!(drop["error"].is_string());
    // Unsubscribe: true once, then not found.
    let r = call(&mut ws, &mut seen, "eth_unsubscribe", json!([heads]));
    assert_eq!(r["result"], json!(true));
    let r = call(&mut ws, &mut seen, "eth_unsubscribe", json!([heads]));
    assert_eq!(r["error"]["message"], "subscription not found");
    b.shutdown();
    a.shutdown();
}

#[test]
fn pending_transactions_are_announced_and_subscriptions_are_bounded() {
    let mut config = fixture_config("ws-pending", http_config("eth"));
    config.ws = Some(ws_config("eth"));
    let n = server::start(config).unwrap();
    let mut ws = connect(n.ws_addr().unwrap(), None).unwrap();
    let mut seen = Vec::new();
    let sub = call(
        &mut ws,
        &mut seen,
        "eth_subscribe",
        json!(["newPendingTransactions"]),
    )["result"]
        .clone();
    // Let the feed take its first look at the (empty) pool.
    std::thread::sleep(Duration::from_millis(600));
    let accounts = common::fixture_json("chain/accounts.json");
    let key = accounts.as_object().unwrap().values().next().unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let key = ethpeer::crypto::SecretKey::from_bytes(&common::h(&key)).unwrap();
    let mut tx = ethpeer::tx::transaction::Transaction {
        tx_type: ethpeer::tx::transaction::TxType::DynamicFee,
        tip_cap: 1_000_000_000,
        fee_cap: 100_000_000_000,
        gas_limit: 21_000,
        to: Some([0x42; 20]),
        ..Default::default()
    };
    tx.sign(&key, 3_503_995_874_084_926);
    let raw = format!("0x{}", hex(&tx.encode_consensus()));
    let r = call(&mut ws, &mut seen, "eth_sendRawTransaction", json!([raw]));
    let hash = r["result"].clone();
    assert_eq!(hash, json!(format!("0x{}", hex(&tx.hash()))));
    let got = notifications(&mut ws, &mut seen, &sub, |x| !x.is_empty());
    assert_eq!(got, vec![hash]);
    // The bound: one subscription is held; fill up to the limit, then one more is refused.
    for _ in 1..SUBSCRIPTIONS_PER_CONNECTION_MAX {
        let r = call(&mut ws, &mut seen, "eth_subscribe", json!(["newHeads"]));
        assert!(r["result"].is_string(), "{r}");
    }
    let r = call(&mut ws, &mut seen, "eth_subscribe", json!(["newHeads"]));
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too many subscriptions"),
        "{r}"
    );
    // Another connection has its own allowance.
    let mut other = connect(n.ws_addr().unwrap(), None).unwrap();
    let r = call(
        &mut other,
        &mut Vec::new(),
        "eth_subscribe",
        json!(["newHeads"]),
    );
    assert!(r["result"].is_string());
    // Over HTTP there are no subscriptions.
    let r = post(
        n.http_addr().unwrap(),
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"#,
    )
    .json();
    assert_eq!(r["error"]["code"], -32601);
    n.shutdown();
}
