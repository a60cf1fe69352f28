//! Interop of our transaction propagation with a third-party eth implementation
//! (@ethereumjs/devp2p and @ethereumjs/tx, pinned in tests/interop/package-lock.json, driven by
//! tests/interop/peer.mjs): one harness (A) pushes valid, badly signed and wrong-chain
//! transactions (Transactions, devp2p eth.md 0x02) and announces more (NewPooledTransactionHashes
//! 0x08, eth/68 form), another (B) only listens. Valid transactions must reach B in full (pushed,
//! or announced and fetched with GetPooledTransactions) with the type and size we announce, invalid
//! ones never, and A must not get its own back. A peer that connects later must be announced the
//! pending transactions.
//!
//! The node is loaded with the fixture chain like tests/interop_eth.rs and runs with
//! `--genesis fixtures/chain/genesis.json --nodiscover --syncmode none`. The transactions are
//! signed by fixtures/chain/accounts.json keys for the genesis file's chain id (the harness's
//! tx.mjs); their nonces start high (--tx-nonce), which a pool without state accepts as gaps.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::fixture_node::imported_datadir;
use common::fixture_path;
use common::interop::Harness;
use common::node_proc::NodeProc;
use serde_json::{Value, json};

/// Session set-up on a loaded 2-core machine.
const T: Duration = Duration::from_secs(20);
/// From A's last action until B holds every valid transaction: validation, the broadcast or
/// announcement, and B's fetch.
const PROPAGATION_T: Duration = Duration::from_secs(60);
/// How long B keeps listening after it holds the valid transactions, so that a late relay of an
/// invalid one (or a duplicate) would still be seen.
const GRACE: Duration = Duration::from_secs(3);
/// A's script: 6 valid transactions pushed, 2 with broken signatures, 2 signed for chain id 1,
/// and 3 valid ones announced by hash (served when the node asks).
const A_ACTIONS: &str = "txs:6:valid,txs:2:badsig,txs:2:wrongchain,announce:3";
const VALID_PUSHED: usize = 6;
const ANNOUNCED: usize = 3;
const INVALID: usize = 4;

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A node whose store holds the whole fixture chain, serving eth/68 on it.
fn loaded_node(name: &str) -> NodeProc {
    let dir = imported_datadir(name);
    let genesis = fixture_path("chain/genesis.json");
    NodeProc::start(
        &dir,
        &[
            "--genesis",
            path_str(&genesis),
            "--nodiscover",
            "--syncmode",
            "none",
        ],
    )
}

/// A harness dialing `node` with eth/68 on the fixture chain, plus `extra` flags.
fn dial(node: &NodeProc, extra: &[&str]) -> Harness {
    let genesis = fixture_path("chain/genesis.json");
    let mut args = vec![
        "dial",
        "--enode",
        &node.enode,
        "--caps",
        "eth/68",
        "--genesis-file",
        path_str(&genesis),
    ];
    args.extend_from_slice(extra);
    Harness::start(&args)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| {
            x.as_str()
                .unwrap_or_else(|| panic!("expected a string, got {x}"))
                .to_string()
        })
        .collect()
}

/// What A sent, by kind, as its `eth:send` events list it.
struct Sent {
    /// Pushed valid ones and announced ones: what B must end up with.
    valid: BTreeSet<String>,
    /// The announced ones alone.
    announced: BTreeSet<String>,
    /// Bad signatures and wrong chain id.
    invalid: BTreeSet<String>,
}

impl Sent {
    fn all(&self) -> impl Iterator<Item = &String> {
        self.valid.iter().chain(&self.invalid)
    }
}

fn sent_by(a: &Harness) -> Sent {
    let mut sent = Sent {
        valid: BTreeSet::new(),
        announced: BTreeSet::new(),
        invalid: BTreeSet::new(),
    };
    for e in a.events_named("eth:send") {
        let hashes = || strings(&e["hashes"]);
        match e["name"].as_str() {
            Some("TRANSACTIONS") if e["kind"] == json!("valid") => sent.valid.extend(hashes()),
            Some("TRANSACTIONS") => sent.invalid.extend(hashes()),
            Some("NEW_POOLED_TRANSACTION_HASHES") => {
                sent.valid.extend(hashes());
                sent.announced.extend(hashes());
            }
            _ => {}
        }
    }
    assert_eq!(
        sent.valid.len(),
        VALID_PUSHED + ANNOUNCED,
        "A's valid hashes are distinct:\n{}",
        a.dump()
    );
    assert_eq!(sent.invalid.len(), INVALID, "{}", a.dump());
    sent
}

/// The latest `txs:known` set of a harness (empty before the first).
fn known(h: &Harness) -> BTreeSet<String> {
    h.events_named("txs:known")
        .last()
        .map(|e| strings(&e["hashes"]).into_iter().collect())
        .unwrap_or_default()
}

/// Waits until `h` holds `want.len()` transactions in full, then for the grace period. On a
/// timeout the failure shows what `h` saw, what A did and the node's log.
fn wait_known(h: &Harness, who: &str, want: &BTreeSet<String>, a: &Harness, node: &NodeProc) {
    let n = want.len() as u64;
    let got = h.try_wait(PROPAGATION_T, |e| {
        e["event"] == "txs:known" && e["count"].as_u64().is_some_and(|c| c >= n)
    });
    assert!(
        got.is_some(),
        "{who} never held {n} transactions in full (has {:?});\n{who}'s events:\n{}\n\
         A's events:\n{}\nnode log:\n{}",
        known(h),
        h.dump(),
        a.dump(),
        node.log_text()
    );
    std::thread::sleep(GRACE);
}

/// Asserts no event of `h` ever names one of `hashes`.
fn assert_never_seen<'a>(h: &Harness, who: &str, hashes: impl Iterator<Item = &'a String>) {
    let dump = h.dump();
    for hash in hashes {
        assert!(
            !dump.contains(hash.as_str()),
            "{who} saw {hash}, which it must never be sent:\n{dump}"
        );
    }
}

/// Asserts every POOLED_TRANSACTIONS reply `h` got matches the announcements it got (type and
/// size, eth/68), answers only what it asked for, and every transaction it received verifies.
fn assert_deliveries_consistent(h: &Harness, who: &str) {
    for e in h.events_named("eth:recv") {
        match e["name"].as_str() {
            Some("POOLED_TRANSACTIONS") => {
                let ok = e["announcedOk"].as_array().expect("announcedOk list");
                assert!(
                    ok.iter().all(|v| v == &json!(true)),
                    "{who}: a delivered transaction differs from its announcement: {e}"
                );
                assert_eq!(e["unsolicited"], json!(false), "{who}: {e}");
                assert_eq!(e["unrequested"], json!([]), "{who}: {e}");
            }
            Some("NEW_POOLED_TRANSACTION_HASHES") => {
                assert_eq!(e["lengthsConsistent"], json!(true), "{who}: {e}");
            }
            _ => continue,
        }
    }
    for e in h.events_named("eth:recv") {
        if matches!(
            e["name"].as_str(),
            Some("TRANSACTIONS" | "POOLED_TRANSACTIONS")
        ) {
            let verified = e["verified"].as_array().expect("verified list");
            assert!(
                verified.iter().all(|v| v == &json!(true)),
                "{who} was sent a transaction the library rejects: {e}"
            );
        }
    }
}

/// The node, B connected and listening, and A connected after it having run its script; returns
/// once B holds the valid transactions (or fails).
fn propagate(name: &str, nonce: &str) -> (NodeProc, Harness, Harness, Sent) {
    let node = loaded_node(name);
    let b = dial(&node, &["--stay"]);
    b.wait_event("eth:status:ok", &[("version", json!(68))], T);
    let a = dial(
        &node,
        &["--stay", "--tx-nonce", nonce, "--actions", A_ACTIONS],
    );
    a.wait_event("eth:status:ok", &[("version", json!(68))], T);
    a.wait_event("actions:done", &[], T);
    let sent = sent_by(&a);

    wait_known(&b, "B", &sent.valid, &a, &node);
    // The announced ones could only come from A: the node fetched them, and A served each.
    let served: BTreeSet<String> = a
        .events_named("eth:request")
        .iter()
        .filter(|e| e["name"] == "GET_POOLED_TRANSACTIONS")
        .flat_map(|e| strings(&e["servedHashes"]))
        .collect();
    assert!(
        sent.announced.is_subset(&served),
        "the node fetched every hash A announced; A served {served:?}:\n{}",
        a.dump()
    );
    (node, a, b, sent)
}

#[test]
fn valid_transactions_reach_another_peer_and_invalid_ones_never_do() {
    let (_node, a, b, sent) = propagate("ejs-tx-propagate", "1000");

    assert_eq!(
        known(&b),
        sent.valid,
        "B holds exactly A's 6 pushed and 3 announced valid transactions:\n{}",
        b.dump()
    );
    assert_never_seen(&b, "B", sent.invalid.iter());
    assert_deliveries_consistent(&b, "B");
    // A is the source of every transaction: nothing it sent comes back to it, in any form.
    for e in a.events_named("eth:recv") {
        let text = e.to_string();
        for hash in sent.all() {
            assert!(
                !text.contains(hash.as_str()),
                "A was sent its own transaction {hash}: {e}"
            );
        }
    }
}

#[test]
fn a_peer_that_connects_later_is_announced_the_pending_transactions() {
    let (node, a, _b, sent) = propagate("ejs-tx-newpeer", "3000");

    // C arrives once the transactions are in the pool (B holds them all) and does nothing itself.
    let c = dial(&node, &["--stay"]);
    c.wait_event("eth:status:ok", &[("version", json!(68))], T);
    wait_known(&c, "C", &sent.valid, &a, &node);

    let announced: BTreeSet<String> = c
        .events_named("eth:recv")
        .iter()
        .filter(|e| e["name"] == "NEW_POOLED_TRANSACTION_HASHES")
        .flat_map(|e| strings(&e["hashes"]))
        .collect();
    assert!(
        sent.valid.is_subset(&announced),
        "a new peer is announced every pending transaction (eth/68 NewPooledTransactionHashes); \
         announced {announced:?}:\n{}",
        c.dump()
    );
    assert_eq!(
        known(&c),
        sent.valid,
        "C fetched exactly the valid transactions:\n{}",
        c.dump()
    );
    assert_never_seen(&c, "C", sent.invalid.iter());
    assert_deliveries_consistent(&c, "C");
}
