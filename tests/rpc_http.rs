//! JSON-RPC over HTTP against nodes serving the fixture chain: the methods' answers are checked
//! against the fixture files read independently here (chain.rlp, receipts.rlp, the index), the
//! envelope against JSON-RPC 2.0 and geth's error codes, the admin methods by a second node
//! joining, and eth_sendRawTransaction by the transaction reaching that second node.

mod common;

use std::time::{Duration, Instant};

use common::fixture_chain::fixture_chain;
use common::rpc::{call, fixture_config, http_config, post, result};
use common::{fixture_json, h};
use ethpeer::crypto::{SecretKey, hex, keccak256};
use ethpeer::server;
use ethpeer::tx::transaction::{Transaction, TxType, decode_consensus};
use serde_json::{Value, json};

const CHAIN_ID: u64 = 3_503_995_874_084_926;

fn q(n: u64) -> Value {
    json!(format!("{n:#x}"))
}

fn d(b: &[u8]) -> Value {
    json!(format!("0x{}", hex(b)))
}

/// The consensus encodings of a fixture block's transactions, read from its body here.
fn body_txs(number: u64) -> Vec<Vec<u8>> {
    let body = &fixture_chain().bodies[number as usize];
    rlp::Rlp::new(body)
        .at(0)
        .unwrap()
        .iter()
        .map(|i| {
            if i.is_list() {
                i.as_raw().to_vec()
            } else {
                i.data().unwrap().to_vec()
            }
        })
        .collect()
}

#[test]
fn blocks_transactions_and_receipts_equal_the_fixtures() {
    let node = server::start(fixture_config("rpc-chain", http_config("eth,net,web3"))).unwrap();
    let a = node.http_addr().unwrap();
    let chain = fixture_chain();
    assert_eq!(result(a, "eth_blockNumber", json!([])), q(600));
    assert_eq!(result(a, "eth_chainId", json!([])), q(CHAIN_ID));
    assert_eq!(
        result(a, "net_version", json!([])),
        json!(CHAIN_ID.to_string())
    );
    assert_eq!(result(a, "eth_syncing", json!([])), json!(false));
    assert_eq!(result(a, "net_peerCount", json!([])), q(0));
    assert_eq!(result(a, "net_listening", json!([])), json!(true));
    assert_eq!(
        result(a, "web3_sha3", json!(["0x68656c6c6f"])),
        d(&keccak256(b"hello"))
    );
    // Blocks by number and by hash, with hashes or full transactions, every tx type.
    for n in [0u64, 1, 7, 8, 9, 11, 12, 17, 600] {
        let hash = chain.hashes[n as usize];
        let txs = body_txs(n);
        let b = result(a, "eth_getBlockByNumber", json!([format!("{n:#x}"), false]));
        assert_eq!(b["hash"], d(&hash), "block {n}");
        assert_eq!(b["number"], q(n));
        let hashes: Vec<Value> = txs.iter().map(|t| d(&keccak256(t))).collect();
        assert_eq!(b["transactions"], Value::Array(hashes.clone()), "block {n}");
        let by_hash = result(a, "eth_getBlockByHash", json!([d(&hash), true]));
        assert_eq!(by_hash["hash"], d(&hash));
        assert_eq!(by_hash["parentHash"], b["parentHash"]);
        let size = rlp::Rlp::new(&chain.headers[n as usize]).as_raw().len()
            + chain.bodies[n as usize].len()
            - rlp::Rlp::new(&chain.bodies[n as usize])
                .payload_info()
                .unwrap()
                .header_len;
        let size = size
            + if size < 56 {
                1
            } else {
                1 + (usize::BITS - size.leading_zeros()).div_ceil(8) as usize
            };
        assert_eq!(b["size"], q(size as u64), "block {n} size");
        for (i, bytes) in txs.iter().enumerate() {
            let tx = decode_consensus(bytes).unwrap();
            let full = &by_hash["transactions"][i];
            assert_eq!(full["hash"], d(&keccak256(bytes)));
            assert_eq!(full["from"], d(&tx.sender().unwrap()));
            assert_eq!(full["nonce"], q(tx.nonce));
            assert_eq!(full["type"], q(u64::from(tx.tx_type.byte())));
            assert_eq!(full["blockNumber"], q(n));
            assert_eq!(full["transactionIndex"], q(i as u64));
        }
        assert_eq!(
            result(
                a,
                "eth_getBlockTransactionCountByNumber",
                json!([format!("{n:#x}")])
            ),
            q(txs.len() as u64)
        );
        assert_eq!(
            result(a, "eth_getBlockTransactionCountByHash", json!([d(&hash)])),
            q(txs.len() as u64)
        );
    }
    // Tags: earliest is the genesis, latest and pending the head; safe and finalized unknown.
    let earliest = result(a, "eth_getBlockByNumber", json!(["earliest", false]));
    assert_eq!(earliest["hash"], d(&chain.hashes[0]));
    for tag in ["latest", "pending"] {
        let b = result(a, "eth_getBlockByNumber", json!([tag, false]));
        assert_eq!(b["hash"], d(&chain.hashes[600]), "{tag}");
    }
    let r = call(a, "eth_getBlockByNumber", json!(["safe", false]));
    assert_eq!(r["error"]["message"], "safe block not found");
    assert_eq!(
        result(a, "eth_getBlockByNumber", json!(["0x259", false])),
        Value::Null
    );
    assert_eq!(
        result(a, "eth_getBlockByHash", json!([d(&[7; 32]), false])),
        Value::Null
    );
    // Transactions by hash and by position, and receipts from the stored receipts.
    for (n, i) in [(7u64, 0usize), (9, 0), (11, 55), (12, 1), (300, 0)] {
        let bytes = &body_txs(n)[i];
        let hash = keccak256(bytes);
        let tx = result(a, "eth_getTransactionByHash", json!([d(&hash)]));
        assert_eq!(tx["blockHash"], d(&chain.hashes[n as usize]), "tx {n}/{i}");
        assert_eq!(tx["transactionIndex"], q(i as u64));
        let again = result(
            a,
            "eth_getTransactionByBlockNumberAndIndex",
            json!([format!("{n:#x}"), format!("{i:#x}")]),
        );
        assert_eq!(again, tx);
        let again = result(
            a,
            "eth_getTransactionByBlockHashAndIndex",
            json!([d(&chain.hashes[n as usize]), format!("{i:#x}")]),
        );
        assert_eq!(again, tx);
        let receipt = result(a, "eth_getTransactionReceipt", json!([d(&hash)]));
        let want = &chain.decoded[n as usize];
        let before = if i == 0 {
            0
        } else {
            want[i - 1].cumulative_gas
        };
        assert_eq!(receipt["transactionHash"], d(&hash));
        assert_eq!(receipt["cumulativeGasUsed"], q(want[i].cumulative_gas));
        assert_eq!(receipt["gasUsed"], q(want[i].cumulative_gas - before));
        assert_eq!(
            receipt["status"],
            q(u64::from(want[i].post_state_or_status == [1]))
        );
        let logs_before: usize = want[..i].iter().map(|r| r.logs.len()).sum();
        let logs = receipt["logs"].as_array().unwrap();
        assert_eq!(logs.len(), want[i].logs.len());
        for (k, log) in logs.iter().enumerate() {
            assert_eq!(log["logIndex"], q((logs_before + k) as u64));
            assert_eq!(log["data"], d(&want[i].logs[k].data));
            assert_eq!(log["address"], d(&want[i].logs[k].address));
        }
        // The price paid: legacy pays its price; 1559 pays min(tip, cap − base) + base.
        let t = decode_consensus(bytes).unwrap();
        let header = ethpeer::chain::header::Header::decode(&chain.headers[n as usize]).unwrap();
        let base = header.base_fee_per_gas.unwrap().to_u64().unwrap() as u128;
        let paid = match t.tx_type {
            TxType::Legacy | TxType::AccessList => t.fee_cap,
            _ => t.tip_cap.min(t.fee_cap - base) + base,
        };
        assert_eq!(receipt["effectiveGasPrice"], json!(format!("{paid:#x}")));
        assert_eq!(tx["gasPrice"], json!(format!("{paid:#x}")));
    }
    let unknown = d(&[9; 32]);
    assert_eq!(
        result(a, "eth_getTransactionByHash", json!([unknown])),
        Value::Null
    );
    assert_eq!(
        result(a, "eth_getTransactionReceipt", json!([unknown])),
        Value::Null
    );
    node.shutdown();
}

#[test]
fn the_envelope_is_json_rpc_2_with_geths_errors() {
    let node = server::start(fixture_config("rpc-envelope", http_config("eth,net,web3"))).unwrap();
    let a = node.http_addr().unwrap();
    let r = post(
        a,
        r#"{"jsonrpc":"2.0","id":"x-1","method":"web3_clientVersion"}"#,
    )
    .json();
    assert_eq!(r["id"], "x-1");
    assert!(r["result"].as_str().unwrap().starts_with("ethpeer/"));
    // A batch keeps order, skips notifications and answers bad items in place.
    let r = post(
        a,
        r#"[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},
            {"jsonrpc":"2.0","method":"eth_blockNumber"},
            {"jsonrpc":"2.0","id":2,"method":"admin_peers"},
            {"jsonrpc":"2.0","id":3,"method":"eth_getBlockByNumber","params":["0x1"]},
            {"jsonrpc":"2.0","id":4,"method":"eth_getBlockByNumber","params":["1",false]},
            {"jsonrpc":"2.0","id":5,"method":"eth_getBlockByNumber","params":["0x10000000000000000",false]},
            {"jsonrpc":"2.0","id":6,"method":"eth_blockNumber","params":[1]},
            {"jsonrpc":"2.0","id":7,"method":"nope_nothing"},
            "garbage"]"#,
    )
    .json();
    let a_ = r.as_array().unwrap();
    assert_eq!(a_.len(), 8, "{r}");
    assert_eq!(a_[0]["result"], q(600));
    assert_eq!(a_[1]["id"], 2);
    assert_eq!(a_[1]["error"]["code"], -32601);
    assert_eq!(
        a_[1]["error"]["message"],
        "the method admin_peers does not exist/is not available"
    );
    assert_eq!(a_[2]["error"]["code"], -32602);
    assert_eq!(
        a_[2]["error"]["message"],
        "missing value for required argument 1"
    );
    assert_eq!(
        a_[3]["error"]["message"],
        "invalid argument 0: hex string without 0x prefix"
    );
    assert_eq!(
        a_[4]["error"]["message"],
        "invalid argument 0: hex number > 64 bits"
    );
    assert_eq!(
        a_[5]["error"]["message"],
        "too many arguments, want at most 0"
    );
    assert_eq!(a_[6]["error"]["code"], -32601);
    assert_eq!(a_[7]["error"]["code"], -32600);
    assert!(a_[7]["id"].is_null());
    // Malformed JSON; an empty batch; a notification alone gets an empty body.
    let r = post(a, r#"{"jsonrpc":"2.0","id":1,"method""#);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["error"],
        json!({"code": -32700, "message": "parse error"})
    );
    assert_eq!(post(a, "[]").json()["error"]["message"], "empty batch");
    let r = post(a, r#"{"jsonrpc":"2.0","method":"eth_blockNumber"}"#);
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    // The node is undisturbed.
    assert_eq!(result(a, "eth_blockNumber", json!([])), q(600));
    node.shutdown();
}

/// A valid transfer on the fixture chain from its first account, or (`chain` 1) one for
/// another chain.
fn transfer(nonce: u64, chain: u64) -> Transaction {
    let accounts = fixture_json("chain/accounts.json");
    let key = accounts.as_object().unwrap().values().next().unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let key = SecretKey::from_bytes(&h(&key)).unwrap();
    let mut tx = Transaction {
        tx_type: TxType::DynamicFee,
        nonce,
        tip_cap: 1_000_000_000,
        fee_cap: 100_000_000_000,
        gas_limit: 21_000,
        to: Some([0x42; 20]),
        ..Transaction::default()
    };
    tx.sign(&key, chain);
    tx
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn admin_adds_a_peer_and_a_raw_transaction_reaches_it() {
    let apis = "eth,net,web3,admin,txpool";
    let a_node = server::start(fixture_config("rpc-admin-a", http_config(apis))).unwrap();
    let b_node = server::start(fixture_config("rpc-admin-b", http_config(apis))).unwrap();
    let (a, b) = (a_node.http_addr().unwrap(), b_node.http_addr().unwrap());
    let info = result(b, "admin_nodeInfo", json!([]));
    assert_eq!(info["enode"], json!(b_node.enode().to_string()));
    assert_eq!(info["id"], json!(hex(&b_node.enode().node_id().0)));
    assert_eq!(
        info["ports"]["listener"],
        json!(b_node.listen_addr().unwrap().port())
    );
    assert_eq!(info["protocols"]["eth"]["network"], json!(CHAIN_ID));
    assert_eq!(
        info["protocols"]["eth"]["head"],
        d(&fixture_chain().hashes[600])
    );
    let dir = result(a, "admin_datadir", json!([]));
    assert!(dir.as_str().unwrap().contains("rpc-admin-a"), "{dir}");
    let r = call(a, "admin_addPeer", json!(["enode://nonsense"]));
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid enode"),
        "{r}"
    );
    assert_eq!(
        result(a, "admin_addPeer", json!([b_node.enode().to_string()])),
        json!(true)
    );
    wait_for("b among a's eth peers", || {
        let peers = result(a, "admin_peers", json!([]));
        peers.as_array().unwrap().iter().any(|p| {
            p["id"] == json!(hex(&b_node.enode().node_id().0))
                && p["network"]["static"] == json!(true)
                && p["protocols"]["eth"]["version"].is_number()
        })
    });
    // a admits b on b's Hello; b admits a on a's, in its own loop, perhaps a moment later.
    wait_for("a among b's peers", || {
        result(b, "net_peerCount", json!([])) == q(1)
    });
    let peers = result(b, "admin_peers", json!([]));
    assert_eq!(peers[0]["network"]["inbound"], json!(true));
    assert_eq!(peers[0]["id"], json!(hex(&a_node.enode().node_id().0)));
    // A raw transaction: its hash back, then in both pools.
    let tx = transfer(0, CHAIN_ID);
    let hash = result(
        a,
        "eth_sendRawTransaction",
        json!([d(&tx.encode_consensus())]),
    );
    assert_eq!(hash, d(&tx.hash()));
    let pooled = result(a, "eth_getTransactionByHash", json!([hash]));
    assert_eq!(pooled["blockHash"], Value::Null);
    assert_eq!(pooled["from"], d(&tx.sender().unwrap()));
    wait_for("the transaction in b's pool", || {
        result(b, "eth_getTransactionByHash", json!([hash])) != Value::Null
    });
    let status = result(b, "txpool_status", json!([]));
    assert_eq!(status, json!({"pending": "0x1", "queued": "0x0"}));
    let content = result(b, "txpool_content", json!([]));
    let sender = ethpeer::rpc::format::checksum_address(&tx.sender().unwrap());
    assert_eq!(content["pending"][&sender]["0"]["hash"], hash);
    let inspect = result(b, "txpool_inspect", json!([]));
    let line = inspect["pending"][&sender]["0"].as_str().unwrap();
    assert!(
        line.ends_with(": 0 wei + 21000 gas × 100000000000 wei"),
        "{line}"
    );
    // A nonce gap is queued.
    let later = transfer(5, CHAIN_ID);
    result(
        a,
        "eth_sendRawTransaction",
        json!([d(&later.encode_consensus())]),
    );
    let status = result(a, "txpool_status", json!([]));
    assert_eq!(status, json!({"pending": "0x1", "queued": "0x1"}));
    // Refusals carry the pool's reason; garbage is refused too.
    let r = call(
        a,
        "eth_sendRawTransaction",
        json!([d(&transfer(1, 1).encode_consensus())]),
    );
    assert_eq!(r["error"]["code"], -32000);
    assert!(
        r["error"]["message"].as_str().unwrap().contains("chain"),
        "{r}"
    );
    let r = call(a, "eth_sendRawTransaction", json!(["0x02c0"]));
    assert_eq!(r["error"]["code"], -32000, "{r}");
    // Removing the peer drops it.
    let enode = b_node.enode().to_string();
    assert_eq!(result(a, "admin_removePeer", json!([enode])), json!(true));
    wait_for("b gone", || result(a, "net_peerCount", json!([])) == q(0));
    assert_eq!(
        result(a, "admin_addTrustedPeer", json!([enode])),
        json!(true)
    );
    assert_eq!(
        result(a, "admin_removeTrustedPeer", json!([enode])),
        json!(true)
    );
    a_node.shutdown();
    b_node.shutdown();
}
