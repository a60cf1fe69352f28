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

/// The metrics server's address, from the node's "Starting metrics server" line.
fn logged_metrics(node: &common::node_proc::NodeProc) -> SocketAddr {
    let url = common::rpc::logged_field(node, "Starting metrics server", "addr=http://");
    url.split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {url}"))
}

/// The value of the one metric named `prefix…suffix` (the eth version between them).
fn one(m: &BTreeMap<String, f64>, prefix: &str, suffix: &str) -> f64 {
    let hits: Vec<_> = m
        .iter()
        .filter(|(k, _)| k.starts_with(prefix) && k.ends_with(suffix))
        .collect();
    assert_eq!(hits.len(), 1, "{prefix}…{suffix} in {m:?}");
    *hits[0].1
}

/// A sync between two nodes moves the per-message counters on both sides by the same frames:
/// what the syncing node wrote as GetBlockHeaders (0x03) the serving node read, byte for byte,
/// and the other way for BlockHeaders (0x04). A third node on another chain is refused at the
/// eth Status (cause `network`), and a dial to a port with nothing behind it counts as an
/// encryption-handshake failure.
#[test]
fn per_message_traffic_and_handshake_errors_by_cause() {
    use common::fixture_node::{genesis_arg, imported_datadir};
    use common::node_proc::{NodeProc, temp_dir};
    let g = genesis_arg();
    let metrics = ["--metrics", "--metrics.port", "0"];
    let mut a_args = vec![
        "--genesis",
        g.as_str(),
        "--syncmode",
        "none",
        "--nodiscover",
    ];
    a_args.extend_from_slice(&metrics);
    let a = NodeProc::start(&imported_datadir("metrics-traffic-a"), &a_args);
    let a_m = logged_metrics(&a);
    let mut b_args = vec![
        "--genesis",
        g.as_str(),
        "--nodiscover",
        "--sync.minpeers",
        "1",
        "--staticnodes",
        a.enode.as_str(),
    ];
    b_args.extend_from_slice(&metrics);
    let b = NodeProc::start(&temp_dir("metrics-traffic-b"), &b_args);
    let b_m = logged_metrics(&b);
    b.wait_log(&["Sync finished", "number=600"], Duration::from_secs(60));
    // Both sides settle: two scrapes a flush interval apart agree.
    let settled = |addr| {
        let mut last = scrape(addr);
        loop {
            std::thread::sleep(Duration::from_millis(1500));
            let m = scrape(addr);
            let key = |m: &BTreeMap<String, f64>| {
                m.iter()
                    .filter(|(k, _)| k.starts_with("p2p_"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
            };
            if key(&m) == key(&last) {
                return m;
            }
            last = m;
        }
    };
    let (ma, mb) = (settled(a_m), settled(b_m));
    for (dir_a, dir_b, code) in [
        ("p2p_ingress_eth_", "p2p_egress_eth_", "0x03"),
        ("p2p_egress_eth_", "p2p_ingress_eth_", "0x04"),
    ] {
        for unit in ["_packets", ""] {
            let suffix = format!("_{code}{unit}");
            let (x, y) = (one(&ma, dir_a, &suffix), one(&mb, dir_b, &suffix));
            assert!(x > 0.0, "{dir_a}{suffix}");
            assert_eq!(x, y, "{dir_a}…{suffix} on A, {dir_b}…{suffix} on B");
        }
    }
    // One Status each way.
    assert_eq!(one(&ma, "p2p_ingress_eth_", "_0x00_packets"), 1.0);
    assert_eq!(one(&ma, "p2p_egress_eth_", "_0x00_packets"), 1.0);
    // The totals hold every message's frames, and the base protocol's (Hello is before the
    // session; pings may come and go).
    let per_message: f64 = ma
        .iter()
        .filter(|(k, _)| k.starts_with("p2p_ingress_eth_") && !k.ends_with("_packets"))
        .map(|(_, v)| v)
        .sum();
    assert!(ma["p2p_ingress"] >= per_message && per_message > 0.0);
    assert_eq!(ma["p2p_ingress"], mb["p2p_egress"]);

    // A node of another chain (mainnet: network id 1, eth on, no sync) dials A: refused at
    // Status, cause network (the first rule its Status breaks).
    let c = NodeProc::start(
        &temp_dir("metrics-traffic-c"),
        &[
            "--nodiscover",
            "--syncmode",
            "none",
            "--staticnodes",
            a.enode.as_str(),
        ],
    );
    let m = wait_for(a_m, "a network handshake error", |m| {
        m.get("eth_protocols_eth_handshake_error_network") == Some(&1.0)
    });
    assert_eq!(m.get("eth_protocols_eth_handshake_error_genesis"), None);
    drop(c);
    // B dials a loopback port where nothing listens: an encryption-handshake failure.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let id = ethpeer::crypto::hex(&a.pubkey().to_bytes());
    let c2 = NodeProc::start(
        &temp_dir("metrics-traffic-d"),
        &[
            "--genesis",
            g.as_str(),
            "--nodiscover",
            "--metrics",
            "--metrics.port",
            "0",
            "--staticnodes",
            &format!("enode://{id}@127.0.0.1:{port}"),
        ],
    );
    let d_m = logged_metrics(&c2);
    wait_for(d_m, "a dial that failed before encryption", |m| {
        m.get("p2p_dials_error_rlpx_enc").is_some_and(|v| *v >= 1.0)
    });
}
