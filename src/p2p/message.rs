//! The four p2p messages as one type, keyed by message id (devp2p rlpx.md "p2p Capability").
//!
//! The connection reads a frame, decompresses its payload if snappy is on (bounded by
//! [`BASE_PROTOCOL_MESSAGE_SIZE_MAX`](super::BASE_PROTOCOL_MESSAGE_SIZE_MAX)), and hands ids
//! below [`BASE_PROTOCOL_LENGTH`](super::BASE_PROTOCOL_LENGTH) here.

use super::{
    DISCONNECT_ID, DisconnectReason, HELLO_ID, Hello, P2pError, PING_ID, PONG_ID, list_items,
};

/// A decoded p2p message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum P2pMessage {
    Hello(Hello),
    Disconnect(DisconnectReason),
    Ping,
    Pong,
}

/// The payload of Ping and Pong: the empty list.
const EMPTY_LIST: [u8; 1] = [0xc0];

impl P2pMessage {
    /// The message id.
    pub fn id(&self) -> u64 {
        match self {
            P2pMessage::Hello(_) => HELLO_ID,
            P2pMessage::Disconnect(_) => DISCONNECT_ID,
            P2pMessage::Ping => PING_ID,
            P2pMessage::Pong => PONG_ID,
        }
    }

    /// The RLP payload (before any snappy compression).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            P2pMessage::Hello(hello) => hello.encode(),
            P2pMessage::Disconnect(reason) => reason.encode(),
            P2pMessage::Ping | P2pMessage::Pong => EMPTY_LIST.to_vec(),
        }
    }

    /// Decodes the payload of message `id` (already decompressed).
    pub fn decode(id: u64, payload: &[u8]) -> Result<Self, P2pError> {
        match id {
            HELLO_ID => Hello::decode(payload).map(P2pMessage::Hello),
            DISCONNECT_ID => DisconnectReason::decode(payload).map(P2pMessage::Disconnect),
            PING_ID => decode_empty_list(payload).map(|()| P2pMessage::Ping),
            PONG_ID => decode_empty_list(payload).map(|()| P2pMessage::Pong),
            other => Err(P2pError::UnknownMessage(other)),
        }
    }
}

/// Ping and Pong carry `[]`; following EIP-8, any list is accepted and its content ignored.
fn decode_empty_list(payload: &[u8]) -> Result<(), P2pError> {
    for item in list_items(payload)? {
        item?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_pong_roundtrip_and_ids() {
        for msg in [P2pMessage::Ping, P2pMessage::Pong] {
            assert_eq!(msg.encode(), vec![0xc0]);
            assert_eq!(P2pMessage::decode(msg.id(), &msg.encode()), Ok(msg));
        }
        assert!(P2pMessage::decode(PING_ID, &[0x80]).is_err());
        assert!(P2pMessage::decode(PING_ID, &[]).is_err());
        assert_eq!(
            P2pMessage::decode(0x04, &[0xc0]),
            Err(P2pError::UnknownMessage(4))
        );
    }
}
