//! The metrics endpoint (go-ethereum `metrics/prometheus`, served at
//! `/debug/metrics/prometheus` by `--metrics`): on each request the loop is asked for its
//! counters ([`Control::Metrics`], plain integers it owns) and they are rendered with
//! prometheus-client under geth's names in Prometheus form (`p2p/peers` → `p2p_peers`). geth
//! exports counters as gauges; so do we. Process RSS and CPU time are read from `/proc` here.

use std::rc::Rc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::Limits;
use super::http::Deadline;
use crate::server::control::{Control, MetricsSnapshot};

/// The path geth serves the Prometheus exposition on.
pub const PATH: &str = "/debug/metrics/prometheus";

/// `--metrics …`: where the metrics server listens.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// `--metrics.addr`/`--metrics.port` (geth: 127.0.0.1:6060).
    pub addr: std::net::SocketAddr,
    pub limits: Limits,
}

/// What the metrics connections share.
pub struct MetricsContext {
    pub control: async_channel::Sender<Control>,
    pub config: MetricsConfig,
    pub open: std::cell::Cell<usize>,
}

/// Renders a snapshot (and this process's RSS and CPU time) as the exposition text.
pub fn render(m: &MetricsSnapshot) -> String {
    let mut r = Registry::default();
    let mut g = |name: &str, help: &str, v: u64| {
        r.register(name, help, ConstGauge::new(v as i64));
    };
    g("p2p_peers", "Admitted peers", m.peers);
    g(
        "p2p_peers_inbound",
        "Admitted peers that dialed us",
        m.peers_inbound,
    );
    g(
        "p2p_peers_outbound",
        "Admitted peers we dialed",
        m.peers_outbound,
    );
    g("p2p_dials", "Dials started", m.dials);
    g(
        "p2p_dials_success",
        "Dials that became peers",
        m.dials_success,
    );
    g("p2p_serves", "Inbound connections accepted", m.serves);
    g(
        "p2p_serves_success",
        "Inbound connections that became peers",
        m.serves_success,
    );
    for (cause, n) in &m.dial_errors {
        let name = format!("p2p_dials_error_{}", metric_word(cause));
        g(
            &name,
            "Dials that ended before the peer was admitted, by cause",
            *n,
        );
    }
    for (cause, n) in &m.serve_errors {
        let name = format!("p2p_serves_error_{}", metric_word(cause));
        g(
            &name,
            "Inbound connections that ended before the peer was admitted, by cause",
            *n,
        );
    }
    g(
        "p2p_ingress",
        "RLPx frame bytes read in sessions",
        m.ingress,
    );
    g(
        "p2p_egress",
        "RLPx frame bytes written in sessions",
        m.egress,
    );
    for t in &m.messages {
        let stem = format!("{}_{}_{:#04x}", metric_word(&t.name), t.version, t.code);
        g(
            &format!("p2p_ingress_{stem}"),
            "Frame bytes of this message read",
            t.in_bytes,
        );
        g(
            &format!("p2p_ingress_{stem}_packets"),
            "Frames of this message read",
            t.in_packets,
        );
        g(
            &format!("p2p_egress_{stem}"),
            "Frame bytes of this message written",
            t.out_bytes,
        );
        g(
            &format!("p2p_egress_{stem}_packets"),
            "Frames of this message written",
            t.out_packets,
        );
    }
    // Discovery's byte counts only where discovery runs (or ran).
    if m.discover_nodes.is_some() || m.discover_ingress > 0 || m.discover_egress > 0 {
        g(
            "discover_ingress",
            "Discovery datagram bytes received (v4 and v5)",
            m.discover_ingress,
        );
        g(
            "discover_egress",
            "Discovery datagram bytes sent (v4 and v5)",
            m.discover_egress,
        );
        g(
            "discover_throttled",
            "Discovery v4 datagrams dropped unread: over the sender's rate or the request budget",
            m.discover_throttled,
        );
    }
    for (reason, n) in &m.drops {
        let name = format!("p2p_drops_{}", metric_word(reason));
        g(&name, "Admitted sessions ended for this reason", *n);
    }
    if let Some(n) = m.discover_nodes {
        g("discover_table_nodes", "Nodes in the discovery table", n);
        for (i, n) in m.discover_buckets.iter().enumerate() {
            g(
                &format!("discover_bucket_{i}_count"),
                "Nodes in this bucket",
                *n,
            );
        }
    }
    if let Some(h) = m.head {
        g("chain_head_block", "Our head block number", h);
        g(
            "eth_downloader_highest",
            "While syncing, the highest head a peer told us of",
            m.sync_target.unwrap_or(h),
        );
        g(
            "txpool_pending",
            "Transactions in the pool",
            m.pool.unwrap_or(0),
        );
        g(
            "eth_fetcher_transaction_bodies_in",
            "Transaction bodies received",
            m.tx_received,
        );
        g(
            "txpool_known",
            "Bodies of transactions already pooled",
            m.tx_duplicates,
        );
        g(
            "txpool_invalid",
            "Bodies that failed validation",
            m.tx_invalid,
        );
        g("txpool_valid", "Transactions the pool took", m.tx_added);
        g(
            "eth_fetcher_transaction_bodies_out",
            "Transaction bodies sent",
            m.tx_sent,
        );
        g(
            "eth_fetcher_transaction_announces_out",
            "Transaction hashes announced",
            m.tx_announced,
        );
    }
    for (cause, n) in &m.eth_handshake_errors {
        g(
            &format!("eth_protocols_eth_handshake_error_{}", metric_word(cause)),
            "eth Status exchanges that failed, by cause",
            *n,
        );
    }
    if let Some((rss, cpu_ticks)) = process_stats() {
        g("process_resident_memory_bytes", "Resident set size", rss);
        r.register(
            "process_cpu_seconds",
            "User and system CPU time",
            ConstGauge::new(cpu_ticks as f64 / 100.0),
        );
    }
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &r);
    out
}

/// A reason text as a metric name part: lower-case letters, digits and `_`.
fn metric_word(s: &str) -> String {
    let w: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    w.trim_matches('_').chars().take(48).collect()
}

/// RSS in bytes and user+system CPU time in clock ticks (100 per second on Linux), from
/// `/proc/self/stat`.
fn process_stats() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15, rss 24.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let rss_pages: u64 = f.get(21)?.parse().ok()?;
    Some((rss_pages * 4096, utime + stime))
}

struct Slot<'a>(&'a std::cell::Cell<usize>);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Serves one metrics connection.
pub async fn serve_connection(ctx: Rc<MetricsContext>, stream: async_net::TcpStream) {
    let limits = &ctx.config.limits;
    if ctx.open.get() >= limits.connections_max {
        return;
    }
    ctx.open.set(ctx.open.get() + 1);
    let _slot = Slot(&ctx.open);
    let io = smol_hyper::rt::FuturesIo::new(Deadline::new(
        stream,
        Some(limits.read_timeout),
        Some(limits.write_timeout),
    ));
    let c = ctx.clone();
    let service = hyper::service::service_fn(move |req| {
        let c = c.clone();
        async move { Ok::<_, std::convert::Infallible>(answer(&c, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(smol_hyper::rt::SmolTimer::new())
        .header_read_timeout(limits.read_timeout)
        .serve_connection(io, service)
        .await;
}

async fn answer(ctx: &MetricsContext, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, text: String, kind: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from(text)));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        r
    };
    if req.method() != Method::GET || req.uri().path() != PATH {
        return reply(
            StatusCode::NOT_FOUND,
            "404 page not found\n".into(),
            "text/plain",
        );
    }
    let (tx, rx) = async_channel::bounded(1);
    if ctx.control.try_send(Control::Metrics(tx)).is_err() {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "the node is busy\n".into(),
            "text/plain",
        );
    }
    match rx.recv().await {
        Ok(m) => reply(
            StatusCode::OK,
            render(&m),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        Err(_) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "the node has stopped\n".into(),
            "text/plain",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_uses_geths_names() {
        let m = MetricsSnapshot {
            peers: 3,
            peers_inbound: 1,
            peers_outbound: 2,
            drops: vec![("too many peers".into(), 4)],
            head: Some(600),
            dial_errors: vec![("rlpx/enc", 2), ("id/unexpected", 1)],
            messages: vec![crate::server::control::MessageTraffic {
                name: "eth".into(),
                version: 68,
                code: 3,
                in_packets: 2,
                in_bytes: 128,
                out_packets: 0,
                out_bytes: 0,
            }],
            eth_handshake_errors: vec![("forkid", 5)],
            ..MetricsSnapshot::default()
        };
        let text = render(&m);
        for line in [
            "# TYPE p2p_peers gauge",
            "p2p_peers 3",
            "p2p_peers_inbound 1",
            "p2p_peers_outbound 2",
            "p2p_drops_too_many_peers 4",
            "chain_head_block 600",
            "p2p_dials_error_rlpx_enc 2",
            "p2p_dials_error_id_unexpected 1",
            "p2p_ingress_eth_68_0x03 128",
            "p2p_ingress_eth_68_0x03_packets 2",
            "p2p_egress_eth_68_0x03_packets 0",
            "eth_protocols_eth_handshake_error_forkid 5",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
        assert!(
            !text.contains("discover_"),
            "no discovery, no discovery metrics"
        );
    }
}
