//! A real Prometheus server (Debian's `prometheus`, installed by .ci/run) scrapes a node's
//! `/debug/metrics/prometheus` every second, and its query API answers `p2p_peers` = 1 once a
//! peer has joined. Loopback only; the server runs from a temporary directory and is killed at
//! the end. Skipped, saying so, when no `prometheus` binary is installed.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::node_proc::temp_dir;
use common::rpc::exchange;
use ethpeer::rpc::Limits;
use ethpeer::rpc::metrics::MetricsConfig;
use ethpeer::server::{self, Config};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_prometheus_server_scrapes_p2p_peers() {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED: no prometheus binary (Debian package `prometheus`; .ci/run installs it)"
        );
        return;
    }
    let a = server::start(Config {
        metrics: Some(MetricsConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            limits: Limits::default(),
        }),
        ..Config::ephemeral()
    })
    .unwrap();
    let target = a.metrics_addr().unwrap();
    let dir = temp_dir("prometheus");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: ethpeer\n    metrics_path: /debug/metrics/prometheus\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let _prom = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let api = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let query = |q: &str| -> Option<f64> {
        let raw = format!(
            "GET /api/v1/query?query={q} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        );
        let s = std::net::TcpStream::connect(api).ok()?;
        drop(s);
        let r = exchange(api, raw.as_bytes());
        let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let wait = |q: &str, want: f64| {
        let end = Instant::now() + Duration::from_secs(90);
        loop {
            if query(q) == Some(want) {
                return;
            }
            assert!(
                Instant::now() < end,
                "Prometheus never saw {q} = {want}: {:?}",
                query(q)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    wait("p2p_peers", 0.0);
    let b = server::start(Config::ephemeral()).unwrap();
    b.add_peer(a.enode()).unwrap();
    wait("p2p_peers", 1.0);
    wait("p2p_peers_inbound", 1.0);
    b.shutdown();
    a.shutdown();
}
