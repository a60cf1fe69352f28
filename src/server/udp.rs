//! The UDP shell of discovery: one task reads datagrams and posts them to the event loop, one
//! task writes the datagrams the loop queues. Both channels are bounded and lossy by design:
//! UDP may drop a packet anyway, so a full queue drops the datagram rather than growing memory
//! or making the loop wait.
//!
//! Discovery v4 and v5 share the socket, as in go-ethereum: the loop owns both state machines
//! and hands a datagram whose leading keccak hash matches the rest ([`is_v4_packet`]) to v4 and
//! any other to v5. A v5 packet starts with a random masking IV, so it never passes v4's hash
//! check.

use std::net::SocketAddr;

use async_channel::{Receiver, Sender};
use async_executor::LocalExecutor;
use async_net::UdpSocket;

use crate::crypto::keccak256;
use crate::discv4::packet::{HEAD_SIZE, PACKET_SIZE_MAX};
use crate::discv5::discovery::Discovery as Discv5;
use crate::log;

/// Datagrams waiting for the loop, and datagrams waiting to be sent, at most.
pub const DATAGRAM_QUEUE_MAX: usize = 512;

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
