//! Discovery v5 feeds the dial scheduler (issue 13): on loopback, a node that only v5 knows of
//! (its discovery v4 is off, and both reach it only through a bootnode's v5) is dialed and an eth
//! session forms; a record whose `eth` fork id our chain rejects is skipped, never dialed.
//! Every node gets `--bootnodes` of the test's own loopback bootnode, nothing else.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixture_node::genesis_arg;
use common::node_proc::{NodeProc, temp_dir};

/// `ethpeer bootnode` on loopback (v4 and v5 on one port), killed on drop; its record.
struct Bootnode {
    child: Child,
    enr: String,
}

impl Drop for Bootnode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bootnode() -> Bootnode {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(["bootnode", "--port", "0", "--verbosity", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut enode, mut enr) = (String::new(), String::new());
    out.read_line(&mut enode).unwrap();
    out.read_line(&mut enr).unwrap();
    assert!(
        enr.starts_with("enr:"),
        "bootnode printed {enode:?} {enr:?}"
    );
    Bootnode {
        child,
        enr: enr.trim().to_string(),
    }
}

/// A node on a chain of its own from `genesis`, bootstrapping from `boot` only.
fn node(name: &str, genesis: &str, boot: &Bootnode, extra: &[&str]) -> NodeProc {
    let mut args = vec![
        "--genesis",
        genesis,
        "--syncmode",
        "none",
        "--bootnodes",
        &boot.enr,
    ];
    args.extend_from_slice(extra);
    NodeProc::start(&temp_dir(name), &args)
}

/// The fixture genesis with another timestamp: another genesis hash, so another fork id.
fn other_genesis() -> PathBuf {
    let text = std::fs::read_to_string(genesis_arg()).unwrap();
    let mut g: serde_json::Value = serde_json::from_str(&text).unwrap();
    g["timestamp"] = serde_json::Value::String("0x1".into());
    let dir = temp_dir("v5dial-genesis");
    let p = dir.join("genesis.json");
    std::fs::write(&p, g.to_string()).unwrap();
    p
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool, logs: &[&NodeProc]) {
    let end = Instant::now() + limit;
    while !ok() {
        if Instant::now() > end {
            let text: Vec<String> = logs.iter().map(|n| n.log_text()).collect();
            panic!("{what} within {limit:?};\n{}", text.join("\n----\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_node_only_v5_knows_is_dialed_and_an_eth_session_forms() {
    let boot = bootnode();
    let genesis = genesis_arg();
    // B speaks v5 only; A runs both, but its v4 has no bootnode and B has no v4 at all.
    let b = node("v5dial-b", &genesis, &boot, &["--discovery.v4", "false"]);
    let a = node("v5dial-a", &genesis, &boot, &[]);
    let b_id = b.pubkey().node_id().to_string();
    let a_id = a.pubkey().node_id().to_string();
    wait_until(
        "no eth session between the node and the one only v5 knows",
        Duration::from_secs(40),
        || {
            (a.logged(&["Adding p2p peer", &b_id]) || b.logged(&["Adding p2p peer", &a_id]))
                && a.logged(&["Ethereum peer connected"])
                && b.logged(&["Ethereum peer connected"])
        },
        &[&a, &b],
    );
}

#[test]
fn a_v5_record_with_another_fork_id_is_not_dialed() {
    let boot = bootnode();
    let other = other_genesis();
    let b = node(
        "v5fork-b",
        other.to_str().unwrap(),
        &boot,
        &["--discovery.v4", "false"],
    );
    let a = node("v5fork-a", &genesis_arg(), &boot, &[]);
    let b_id = b.pubkey().node_id().to_string();
    let a_id = a.pubkey().node_id().to_string();
    let dialed = |n: &NodeProc, other: &str| {
        n.logged(&["Dialing", other]) || n.logged(&["Adding p2p peer", other])
    };
    // Each learns the other over v5 and judges it (or, were the filter broken, dials it).
    wait_until(
        "the record on another fork was not judged",
        Duration::from_secs(40),
        || {
            [(&a, &b_id), (&b, &a_id)].iter().all(|(n, other)| {
                n.logged(&["Skipping node on another fork", other]) || dialed(n, other)
            })
        },
        &[&a, &b],
    );
    // A few lookup rounds later there is still no dial and no session either way.
    std::thread::sleep(Duration::from_secs(6));
    for (n, other) in [(&a, &b_id), (&b, &a_id)] {
        assert!(
            !dialed(n, other),
            "a node on another fork was dialed:\n{}",
            n.log_text()
        );
        assert!(n.logged(&["Skipping node on another fork", other]));
    }
}
