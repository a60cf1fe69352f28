//! The UDP shell of discovery: one task reads datagrams and posts them to the event loop, one
//! task writes the datagrams the loop queues. Both channels are bounded and lossy by design:
//! UDP may drop a packet anyway, so a full queue drops the datagram rather than growing memory
//! or making the loop wait.
//!
//! Discovery v4 and v5 share the socket, as in go-ethereum: a datagram whose leading keccak hash
//! matches the rest is a v4 packet and goes to the loop; any other goes to the v5 task, which
//! owns the v5 state machine (`discv5::discovery`) and its timers, and writes through the same
//! writer. A v5 packet starts with a random masking IV, so it never passes v4's hash check.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use async_executor::LocalExecutor;
use async_io::Timer;
use async_net::UdpSocket;
use futures_lite::future;

use crate::crypto::keccak256;
use crate::discv4::packet::{HEAD_SIZE, PACKET_SIZE_MAX};
use crate::discv5::discovery::{Discovery as Discv5, Event as Discv5Event};
use crate::log;
use crate::server::clock::unix_now;

/// Datagrams waiting for the loop, and datagrams waiting to be sent, at most.
pub const DATAGRAM_QUEUE_MAX: usize = 512;

/// How often the v5 task starts a random lookup (when none runs) to keep its table filled; the
/// first, at start, is for our own id. geth refreshes every 30 min but also looks up whenever
/// the dial scheduler wants nodes; v5 does not feed the scheduler yet, so a fixed interval.
pub const V5_LOOKUP_INTERVAL: Duration = Duration::from_secs(30);

/// A datagram and its peer address.
pub type Datagram = (SocketAddr, Vec<u8>);

/// Discovery v5 for the shared socket: its state machine, and the socket itself when v4 is off
/// (v5 then reads it alone).
pub struct V5Setup {
    pub discovery: Discv5,
    pub socket: Option<UdpSocket>,
}

/// Whether a datagram is shaped as a discovery v4 packet: `keccak256(rest) || rest` with at least
/// the type byte after the signature (discv4.md "Wire Protocol"; v4's own first check).
pub fn is_v4_packet(datagram: &[u8]) -> bool {
    datagram.len() > HEAD_SIZE && keccak256(&datagram[32..]) == datagram[..32]
}

/// Starts the reader and writer tasks for `socket`; returns (incoming v4, outgoing). With `v5`,
/// datagrams that are not v4 packets go to a v5 task instead.
pub fn spawn(
    ex: &LocalExecutor<'_>,
    socket: UdpSocket,
    v5: Option<V5Setup>,
) -> (Receiver<Datagram>, Sender<Datagram>) {
    spawn_shared(ex, socket, true, v5.map(|s| s.discovery))
}

/// Starts discovery v5 alone on its own socket (discovery v4 off); nothing without one.
pub fn spawn_v5_alone(ex: &LocalExecutor<'_>, v5: Option<V5Setup>) {
    if let Some(V5Setup {
        discovery,
        socket: Some(socket),
    }) = v5
    {
        let _ = spawn_shared(ex, socket, false, Some(discovery));
    }
}

fn spawn_shared(
    ex: &LocalExecutor<'_>,
    socket: UdpSocket,
    v4: bool,
    v5: Option<Discv5>,
) -> (Receiver<Datagram>, Sender<Datagram>) {
    let (in_tx, in_rx) = async_channel::bounded(DATAGRAM_QUEUE_MAX);
    let (out_tx, out_rx) = async_channel::bounded::<Datagram>(DATAGRAM_QUEUE_MAX);
    let v5_tx = v5.map(|d| {
        let (tx, rx) = async_channel::bounded(DATAGRAM_QUEUE_MAX);
        ex.spawn(run_v5(d, rx, out_tx.clone())).detach();
        tx
    });
    let reader = socket.clone();
    ex.spawn(async move {
        // One byte more than the limit tells an oversized datagram from a full-size one.
        let mut buf = vec![0u8; PACKET_SIZE_MAX + 1];
        loop {
            match reader.recv_from(&mut buf).await {
                Ok((n, from)) if n <= PACKET_SIZE_MAX => {
                    let d = (from, buf[..n].to_vec());
                    let to = match &v5_tx {
                        Some(v5) if !(v4 && is_v4_packet(&d.1)) => v5,
                        _ if v4 => &in_tx,
                        _ => continue,
                    };
                    if to.try_send(d).is_err() && to.is_closed() {
                        return;
                    }
                }
                Ok((_, from)) => log::trace("Oversized datagram dropped", &[("from", &from)]),
                Err(e) => log::trace("UDP read failed", &[("err", &e)]),
            }
        }
    })
    .detach();
    ex.spawn(async move {
        while let Ok((to, bytes)) = out_rx.recv().await {
            if let Err(e) = socket.send_to(&bytes, to).await {
                log::trace("UDP write failed", &[("to", &to), ("err", &e)]);
            }
        }
    })
    .detach();
    (in_rx, out_tx)
}

/// The v5 task: feeds the state machine the datagrams and the time, sends what it sends, logs
/// what it reports. It ends when the reader does.
async fn run_v5(mut d: Discv5, rx: Receiver<Datagram>, out: Sender<Datagram>) {
    log::info("Discovery v5 started", &[("enr", &d.record().to_text())]);
    let self_id = d.self_id();
    d.start_lookup(unix_now(), self_id);
    let mut next_lookup = Instant::now() + V5_LOOKUP_INTERVAL;
    loop {
        if Instant::now() >= next_lookup {
            if !d.lookup_running() {
                d.start_random_lookup(unix_now());
            }
            next_lookup = Instant::now() + V5_LOOKUP_INTERVAL;
        }
        while let Some(t) = d.poll_transmit() {
            // A full queue drops the datagram: UDP is lossy anyway.
            let _ = out.try_send(t);
        }
        while let Some(ev) = d.poll_event() {
            match ev {
                Discv5Event::Session { node, addr, .. } => {
                    log::debug("Discv5 session", &[("id", &node), ("addr", &addr)]);
                }
                Discv5Event::LookupDone { records, .. } => {
                    log::debug(
                        "Discv5 lookup done",
                        &[("found", &records.len()), ("table", &d.table().len())],
                    );
                }
                other => log::trace("Discv5 event", &[("event", &format!("{other:?}"))]),
            }
        }
        let now = Instant::now();
        let wake = d.poll_timeout().map_or(next_lookup, |t| {
            (now + Duration::from_millis(t.since(unix_now()))).min(next_lookup)
        });
        let got = future::or(async { Some(rx.recv().await) }, async {
            Timer::at(wake).await;
            None
        })
        .await;
        match got {
            Some(Ok((from, bytes))) => {
                if let Err(why) = d.handle_packet(unix_now(), from, &bytes) {
                    log::trace("Discv5 packet dropped", &[("from", &from), ("why", &why)]);
                }
            }
            Some(Err(_)) => return,
            None => d.handle_timeout(unix_now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v4_packet_is_told_from_other_bytes() {
        let body = [7u8; 80];
        let mut p = keccak256(&body).to_vec();
        p.extend_from_slice(&body);
        assert!(is_v4_packet(&p));
        p[40] ^= 1;
        assert!(!is_v4_packet(&p));
        assert!(!is_v4_packet(&[0u8; 63]));
    }
}
