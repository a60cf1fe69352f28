//! The metrics endpoint (`--metrics`, `/debug/metrics/prometheus`): geth's names, values the
//! loop's counters produce as a peer joins and leaves, and the exposition read back by a parser
//! of the format (the Python client's, when the test venv has it).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::rpc::exchange;
use ethpeer::rpc::Limits;
use ethpeer::rpc::metrics::MetricsConfig;
use ethpeer::server::{self, Config};

fn scrape_text(addr: SocketAddr, path: &str) -> (u16, String) {
    let r = exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    (r.status, r.body)
}

/// `name value` lines as a map (comments skipped).
fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let (status, text) = scrape_text(addr, "/debug/metrics/prometheus");
    assert_eq!(status, 200, "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn wait_for(
    addr: SocketAddr,
    what: &str,
    f: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let m = scrape(addr);
        if f(&m) {
            return m;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}: {m:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn peers_joining_and_leaving_move_geths_metrics() {
    let a = server::start(Config {
        metrics: Some(MetricsConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            limits: Limits::default(),
        }),
        ..Config::ephemeral()
    })
    .unwrap();
    let m_addr = a.metrics_addr().unwrap();
    let m = scrape(m_addr);
    for (k, v) in [("p2p_peers", 0.0), ("p2p_serves", 0.0), ("p2p_dials", 0.0)] {
        assert_eq!(m.get(k), Some(&v), "{k} in {m:?}");
    }
    assert!(m["process_resident_memory_bytes"] > 1e6);
    let b = server::start(Config::ephemeral()).unwrap();
    b.add_peer(a.enode()).unwrap();
    let m = wait_for(m_addr, "one inbound peer", |m| {
        m.get("p2p_peers") == Some(&1.0)
    });
    assert_eq!(m["p2p_peers_inbound"], 1.0);
    assert_eq!(m["p2p_peers_outbound"], 0.0);
    assert_eq!(m["p2p_serves"], 1.0);
    assert_eq!(m["p2p_serves_success"], 1.0);
    assert_eq!(m["p2p_dials_success"], 0.0);
    b.remove_peer(&a.enode().node_id()).unwrap();
    let m = wait_for(m_addr, "the peer gone", |m| {
        m.get("p2p_peers") == Some(&0.0)
    });
    let drops: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("p2p_drops_"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(drops, 1.0, "{m:?}");
    // Only geth's path.
    assert_eq!(scrape_text(m_addr, "/metrics").0, 404);
    // A parser of the format reads it back, when one is at hand.
    let (_, text) = scrape_text(m_addr, "/debug/metrics/prometheus");
    let py = std::env::var("ETHPEER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let check = std::process::Command::new(&py)
        .args(["-c", "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as p\nfams = {f.name: f for f in p(sys.stdin.read())}\nprint(int(fams['p2p_peers'].samples[0].value))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    match check {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            if out.status.success() {
                assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
            } else {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    err.contains("No module named"),
                    "the parser refused the exposition: {err}"
                );
                eprintln!(
                    "SKIPPED the Python parser check: prometheus_client is not installed for {py} (make rpc-venv)"
                );
            }
        }
        Err(e) => eprintln!("SKIPPED the Python parser check: cannot run {py}: {e}"),
    }
    a.shutdown();
    b.shutdown();
}
