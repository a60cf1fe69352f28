//! The UDP shell of discovery: one task reads datagrams and posts them to the event loop, one
//! task writes the datagrams the loop queues. Both channels are bounded and lossy by design:
//! UDP may drop a packet anyway, so a full queue drops the datagram rather than growing memory
//! or making the loop wait.

use std::net::SocketAddr;

use async_channel::{Receiver, Sender};
use async_executor::LocalExecutor;
use async_net::UdpSocket;

use crate::discv4::packet::PACKET_SIZE_MAX;
use crate::log;

/// Datagrams waiting for the loop, and datagrams waiting to be sent, at most.
pub const DATAGRAM_QUEUE_MAX: usize = 512;

/// A datagram and its peer address.
pub type Datagram = (SocketAddr, Vec<u8>);

/// Starts the reader and writer tasks for `socket`; returns (incoming, outgoing).
pub fn spawn(ex: &LocalExecutor<'_>, socket: UdpSocket) -> (Receiver<Datagram>, Sender<Datagram>) {
    let (in_tx, in_rx) = async_channel::bounded(DATAGRAM_QUEUE_MAX);
    let (out_tx, out_rx) = async_channel::bounded::<Datagram>(DATAGRAM_QUEUE_MAX);
    let reader = socket.clone();
    ex.spawn(async move {
        // One byte more than the limit tells an oversized datagram from a full-size one.
        let mut buf = vec![0u8; PACKET_SIZE_MAX + 1];
        loop {
            match reader.recv_from(&mut buf).await {
                Ok((n, from)) if n <= PACKET_SIZE_MAX => {
                    if in_tx.try_send((from, buf[..n].to_vec())).is_err() && in_tx.is_closed() {
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
