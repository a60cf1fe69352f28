//! Interop of our eth/68 service with a third-party eth implementation (@ethereumjs/devp2p, pinned
//! in tests/interop/package-lock.json, driven by tests/interop/peer.mjs): the Status exchange on
//! the fixture chain (network id, genesis, EIP-2124 fork id), our replies to GetBlockHeaders,
//! GetBlockBodies and GetReceipts with every root recomputed by the harness, and the Disconnect
//! 0x10 (subprotocol error) a wrong genesis or fork hash earns, with us dialing and being dialed.
//! The harness's root checks are shown to fail on a body or receipt with one byte changed
//! (tests/interop/rootcheck.mjs), and its self-test (tests/interop/selftest.sh) runs here too.
//!
//! The node is loaded with `ethpeer import fixtures/chain/chain.rlp --receipts ... --genesis ...`
//! and runs with `--genesis fixtures/chain/genesis.json --nodiscover --syncmode none`, and with
//! `--bootnodes ""` (added by `NodeProc::start`), so it reaches no public address.

mod common;

use std::path::Path;
use std::time::Duration;

use common::fixture_node::imported_datadir;
use common::interop::{Harness, free_port};
use common::node_proc::NodeProc;
use common::{fixture_json, fixture_path};
use ethpeer::crypto::{SecretKey, hex};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);
/// The whole action script (six requests, 128 bodies among them) on a loaded 2-core machine.
const ACTIONS_T: Duration = Duration::from_secs(90);
/// EIP-2124 fork id of the fixture chain at its head (Prague active, no fork scheduled).
const FORK_HASH: &str = "0x377aaa78";
/// How long a session must stay up after its last exchange, and how often the harness pings
/// meanwhile to show it is alive.
const STAY_UP: Duration = Duration::from_secs(3);
const PING_EVERY: Duration = Duration::from_millis(500);
/// Disconnect reason 0x10: subprotocol error (devp2p rlpx.md "Disconnect").
const SUBPROTOCOL_ERROR: u64 = 0x10;

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A node whose store holds the whole fixture chain (600 blocks and their receipts).
fn loaded_node(name: &str, extra: &[&str]) -> NodeProc {
    let dir = imported_datadir(name);
    let genesis = fixture_path("chain/genesis.json");
    let mut args = vec![
        "--genesis",
        path_str(&genesis),
        "--nodiscover",
        "--syncmode",
        "none",
    ];
    args.extend_from_slice(extra);
    NodeProc::start(&dir, &args)
}

/// The harness flags for an eth/68 session on the fixture chain.
fn eth_args(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "--caps".into(),
        "eth/68".into(),
        "--genesis-file".into(),
        path_str(&fixture_path("chain/genesis.json")).into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn start(args: &[String]) -> Harness {
    Harness::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Block hashes by number, 0 (genesis) to 600, from chain_index.json.
fn fixture_hashes() -> Vec<String> {
    let index = fixture_json("chain/chain_index.json");
    let mut v = vec![index["genesis"]["hash"].as_str().unwrap().to_string()];
    for (i, b) in index["blocks"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            b["number"],
            json!(i + 1),
            "chain_index.json rows are in order"
        );
        v.push(b["hash"].as_str().unwrap().to_string());
    }
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn numbers(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// Asserts the Status the harness received from us describes the fixture chain at its head.
fn assert_our_status(st: &Value, hashes: &[String]) {
    let index = fixture_json("chain/chain_index.json");
    assert_eq!(st["protocolVersion"], json!(68), "{st}");
    assert_eq!(
        st["networkId"],
        json!(index["network_id"].to_string()),
        "{st}"
    );
    assert_eq!(st["genesisHash"], json!(hashes[0]), "{st}");
    assert_eq!(
        st["bestHash"], index["head"],
        "our best block is the imported head: {st}"
    );
    // The chain is proof-of-stake from genesis, so its total difficulty is the genesis difficulty.
    assert_eq!(st["td"], json!("131072"), "{st}");
    assert_eq!(st["forkId"]["hash"], json!(FORK_HASH), "{st}");
    assert_eq!(st["forkId"]["next"], json!("0"), "{st}");
}

/// A log line of the node naming a failed eth handshake whose error mentions `word`.
fn handshake_failure_logged(node: &NodeProc, word: &str) -> bool {
    node.log.lock().unwrap().iter().any(|l| {
        l.contains("Ethereum handshake failed") && l.to_lowercase().contains(&word.to_lowercase())
    })
}

fn wait_handshake_failure(node: &NodeProc, word: &str) {
    let end = std::time::Instant::now() + T;
    while std::time::Instant::now() < end {
        if handshake_failure_logged(node, word) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "no \"Ethereum handshake failed\" line naming {word:?}; log:\n{}",
        node.log_text()
    );
}

#[test]
fn ethereumjs_dials_us_and_fetches_headers_bodies_and_receipts() {
    let node = loaded_node("ejs-eth-serve", &[]);
    let hashes = fixture_hashes();
    let actions = format!(
        "getheaders:0:128,getheaders:{}:10:1:1,getheaders:0:128,getbodies,getheaders:1:10,getreceipts",
        hashes[100]
    );
    let h = start(&eth_args(&[
        "dial",
        "--enode",
        &node.enode,
        "--actions",
        &actions,
    ]));

    assert_our_status(&h.wait_event("eth:status", &[], T), &hashes);
    h.wait_event("eth:status:ok", &[("version", json!(68))], T);
    let done = h.wait_event("actions:done", &[], ACTIONS_T);
    assert_eq!(done["unanswered"], json!([]), "every request got its reply");

    let recv = h.events_named("eth:recv");
    let dump = || h.dump();
    assert_eq!(recv.len(), 6, "one reply per request:\n{}", dump());
    for r in &recv {
        assert_eq!(r["unsolicited"], json!(false), "{r}");
    }

    // Headers 0..127 in order, chained by parent hash, with the fixture's hashes.
    for r in [&recv[0], &recv[2]] {
        assert_eq!(r["name"], json!("BLOCK_HEADERS"), "{r}");
        assert_eq!(r["count"], json!(128), "{r}");
        assert_eq!(r["linked"], json!(true), "{r}");
        assert_eq!(numbers(&r["numbers"]), (0..128).collect::<Vec<u64>>());
        assert_eq!(strings(&r["hashes"]), hashes[..128].to_vec());
    }

    // By hash of block 100, every other block, going down.
    let r = &recv[1];
    assert_eq!(r["name"], json!("BLOCK_HEADERS"), "{r}");
    let want: Vec<u64> = (0..10).map(|i| 100 - 2 * i).collect();
    assert_eq!(numbers(&r["numbers"]), want, "{r}");
    let want_hashes: Vec<String> = want.iter().map(|&n| hashes[n as usize].clone()).collect();
    assert_eq!(strings(&r["hashes"]), want_hashes, "{r}");

    // Bodies of blocks 0..127: every transactions root, uncle hash and withdrawals root
    // recomputed by the harness matches the header we served.
    let r = &recv[3];
    assert_eq!(r["name"], json!("BLOCK_BODIES"), "{r}");
    assert_eq!(r["count"], json!(128), "{r}");
    for (i, b) in r["bodies"].as_array().unwrap().iter().enumerate() {
        assert_eq!(b["number"], json!(i), "body {i} answers hash {i}: {b}");
        for check in ["txRootOk", "uncleHashOk", "withdrawalsRootOk"] {
            assert_eq!(b[check], json!(true), "block {i} {check}: {b}");
        }
    }
    assert_eq!(r["allRootsOk"], json!(true), "{r}");

    // Receipts of blocks 1..10: each list's trie root matches the header's receipts root.
    let r = &recv[4];
    assert_eq!(
        numbers(&r["numbers"]),
        (1..=10).collect::<Vec<u64>>(),
        "{r}"
    );
    let r = &recv[5];
    assert_eq!(r["name"], json!("RECEIPTS"), "{r}");
    assert_eq!(r["count"], json!(10), "{r}");
    for (i, b) in r["blocks"].as_array().unwrap().iter().enumerate() {
        assert_eq!(b["number"], json!(i + 1), "{b}");
        assert_eq!(
            b["receiptsRootOk"],
            json!(true),
            "block {} receipts: {b}",
            i + 1
        );
    }
}

#[test]
fn a_wrong_genesis_hash_ends_the_session_with_a_subprotocol_error() {
    let node = loaded_node("ejs-eth-genesis", &[]);
    let wrong = format!("0x{}", "ab".repeat(32));
    let h = start(&eth_args(&[
        "dial",
        "--enode",
        &node.enode,
        "--genesis-hash",
        &wrong,
    ]));
    // Both sides check the genesis, so either may send the Disconnect first: the library refuses
    // our Status because it carries the real genesis, and we refuse its wrong one. The reason is
    // 0x10 either way, and our log names the genesis because its Status reached us before any
    // Disconnect it sent.
    let d = h.wait_event("disconnect", &[], T);
    assert_eq!(d["reason"], json!(SUBPROTOCOL_ERROR), "{d}");
    wait_handshake_failure(&node, "genesis");
}

#[test]
fn a_wrong_fork_hash_ends_the_session_with_a_subprotocol_error() {
    let node = loaded_node("ejs-eth-fork", &[]);
    let h = start(&eth_args(&[
        "dial",
        "--enode",
        &node.enode,
        "--fork-hash",
        "0xdeadbeef",
    ]));
    let d = h.wait_event("disconnect", &[], T);
    assert_eq!(d["reason"], json!(SUBPROTOCOL_ERROR), "{d}\n{}", h.dump());
    // Our node refused the fork id itself, whoever's Disconnect arrived first: the harness sends
    // its Status before it could refuse ours, so that Status always reaches our node, and our
    // log names the fork id check as the reason. (With the pinned library the Disconnect is ours,
    // byUs false: --fork-hash only changes what the harness announces, the library still accepts
    // our correct fork id.)
    wait_handshake_failure(&node, "fork id");
    if d["byUs"] == json!(true) {
        h.wait_event("peer:error", &[], T);
    }
}

#[test]
fn we_dial_ethereumjs_and_the_status_exchange_succeeds() {
    let port = free_port();
    let key = SecretKey::from_bytes(&[0x45; 32]).unwrap();
    let h = start(&eth_args(&[
        "listen",
        "--port",
        &port.to_string(),
        "--key",
        &hex(&key.to_bytes()),
        "--actions",
        "getheaders:600:1",
        "--ping-every",
        &PING_EVERY.as_millis().to_string(),
    ]));
    let listening = h.wait_event("listening", &[], T);
    let enode = listening["enode"].as_str().unwrap().to_string();
    let node = loaded_node("ejs-eth-dial", &["--staticnodes", &enode]);
    let hashes = fixture_hashes();

    let st = h.wait_event("eth:status", &[], T);
    assert_our_status(&st, &hashes);
    assert_eq!(
        st["remote"].as_str().unwrap().trim_start_matches("0x"),
        hex(&node.pubkey().to_bytes()),
        "the Status came from our node"
    );
    h.wait_event("eth:status:ok", &[("version", json!(68))], T);
    // The session we opened also serves: the harness fetches our head header over it.
    let r = h.wait_event("eth:recv", &[("name", json!("BLOCK_HEADERS"))], T);
    assert_eq!(r["numbers"], json!([600]), "{r}");
    assert_eq!(strings(&r["hashes"]), vec![hashes[600].clone()], "{r}");
    // The session stays up for STAY_UP after that reply, and is alive throughout, not merely
    // unclosed: the harness pings every PING_EVERY and our node answers each Ping.
    let from = r["t"].as_u64().unwrap();
    std::thread::sleep(STAY_UP);
    let until = from + STAY_UP.as_millis() as u64;
    let in_window = |e: &Value| e["t"].as_u64().is_some_and(|t| t > from && t <= until);
    let pongs = h
        .events_named("p2p:recv")
        .into_iter()
        .filter(|e| e["msg"] == json!("PONG") && in_window(e))
        .count();
    let expected = (STAY_UP.as_millis() / PING_EVERY.as_millis()) as usize;
    assert!(
        pongs + 1 >= expected,
        "our node answered {pongs} Pings in the {STAY_UP:?} after the reply (the harness sent \
         one every {PING_EVERY:?}): {}",
        h.dump()
    );
    assert!(
        h.events_named("disconnect").is_empty(),
        "the session stays up for {STAY_UP:?}: {}",
        h.dump()
    );
    assert!(
        !node.logged(&["Removing p2p peer"]),
        "our node kept the session for {STAY_UP:?}:\n{}",
        node.log_text()
    );
}

/// The harness's root checks (chain.mjs, used for every bodies and receipts reply above) shown
/// to fail: tests/interop/rootcheck.mjs runs them on fixture bodies and receipts as they are and
/// with one byte changed, and this test judges each case from the lines it prints.
#[test]
fn the_harness_root_checks_fail_on_one_changed_byte() {
    let out = common::interop::run_script("node", &["rootcheck.mjs"], &std::env::temp_dir());
    let text = String::from_utf8_lossy(&out.stdout);
    let cases: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = cases.iter().map(|c| c["case"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "intact bodies",
            "intact receipts",
            "legacy tx byte",
            "typed tx byte",
            "withdrawal byte",
            "receipt byte"
        ],
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flags = |c: &Value| -> &'static [&'static str] {
        if c["what"] == json!("bodies") {
            &["txRootOk", "uncleHashOk", "withdrawalsRootOk"]
        } else {
            &["receiptsRootOk"]
        }
    };
    for c in &cases {
        let changed = c["changed"]["block"].as_u64();
        // The flag the changed byte must turn false.
        let broken = match c["changed"]["item"].as_str() {
            None => None,
            Some(i) if i.starts_with("tx") => Some("txRootOk"),
            Some(i) if i.starts_with("withdrawal") => Some("withdrawalsRootOk"),
            Some(_) => Some("receiptsRootOk"),
        };
        for r in c["results"].as_array().unwrap() {
            let number = r["number"].as_u64().unwrap();
            for flag in flags(c) {
                let want = !(Some(number) == changed && Some(*flag) == broken);
                assert_eq!(
                    r[*flag],
                    json!(want),
                    "{}: block {number} {flag}: {c}",
                    c["case"]
                );
            }
        }
        if changed.is_some() {
            assert!(
                c["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["number"].as_u64() == changed),
                "{}: the changed block was checked: {c}",
                c["case"]
            );
        }
        assert_eq!(
            c["allRootsOk"],
            json!(changed.is_none()),
            "{}: {c}",
            c["case"]
        );
    }
    assert!(out.status.success(), "rootcheck.mjs: {}", out.status);
}

/// tests/interop/selftest.sh: copies of the harness against each other (serving and fetching
/// the fixture chain with every reply checked, transactions judged), then rootcheck.mjs.
#[test]
fn the_harness_self_test_passes() {
    let tmp = common::node_proc::temp_dir("ejs-selftest");
    std::fs::create_dir_all(&tmp).unwrap();
    let port = free_port().to_string();
    let out = common::interop::run_script("sh", &["selftest.sh", &port], &tmp);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("FAIL"),
        "selftest.sh: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "ok   bodies roots",
        "ok   receipts roots",
        "ok   root checks fail on a changed byte",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?}:\n{text}");
    }
}
