//! web3.py (pinned in tests/rpc/requirements.txt, installed by `make rpc-venv`) drives two node
//! processes: A serves the fixture chain, B syncs it from A. `tests/rpc/web3_check.py` checks
//! node_info, blocks, transactions and receipts against the fixture files, the gas price oracle
//! against a value it computes from the blocks, a newHeads subscription through B's sync,
//! add_peer and peers, and a raw transaction sent to A reaching B.

mod common;

use std::time::Duration;

use common::fixture_node::{genesis_arg, imported_datadir};
use common::fixture_path;
use common::node_proc::{NodeProc, temp_dir};
use common::rpc::{logged_endpoint, logged_field};

fn ws_url(node: &NodeProc) -> String {
    logged_field(node, "WebSocket enabled", "url=")
}

#[test]
fn web3_py_sees_the_fixture_chain_a_sync_and_a_transaction() {
    let py = std::env::var("ETHPEER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = std::process::Command::new(&py)
        .args(["-c", "import web3"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "SKIPPED: web3.py is not installed for {py} (make rpc-venv, then ETHPEER_TEST_PYTHON=tests/rpc/.venv/bin/python)"
        );
        return;
    }
    let g = genesis_arg();
    let rpc = [
        "--http",
        "--http.port",
        "0",
        "--http.api",
        "eth,net,web3,admin,txpool",
        "--ws",
        "--ws.port",
        "0",
        "--ws.api",
        "eth,net,web3,admin",
    ];
    let mut a_args = vec![
        "--genesis",
        g.as_str(),
        "--syncmode",
        "none",
        "--nodiscover",
    ];
    a_args.extend_from_slice(&rpc);
    let mut a = NodeProc::start(&imported_datadir("web3-a"), &a_args);
    let mut b_args = vec![
        "--genesis",
        g.as_str(),
        "--syncmode",
        "full",
        "--sync.minpeers",
        "1",
        "--nodiscover",
    ];
    b_args.extend_from_slice(&rpc);
    let mut b = NodeProc::start(&temp_dir("web3-b"), &b_args);
    let (a_http, b_http) = (logged_endpoint(&a), logged_endpoint(&b));
    let mut child = std::process::Command::new(&py)
        .arg(fixture_path("../tests/rpc/web3_check.py"))
        .args([
            format!("http://{a_http}"),
            ws_url(&a),
            a.enode.clone(),
            format!("http://{b_http}"),
            ws_url(&b),
            b.enode.clone(),
            fixture_path("").display().to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the script's own waits are bounded too; this is the backstop.
    let end = std::time::Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    a.terminate();
    b.terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "web3 checks failed:\n{text}"
    );
    assert!(text.contains("web3 checks passed"), "{text}");
}
