//! The Disconnect message and its reasons (devp2p rlpx.md "Disconnect (0x01)").
//!
//! We send `[reason]`. On receipt we also accept what older clients send: the reason as a bare
//! integer (not inside a list), and an empty list or empty payload (the reason is optional),
//! which reads as "Disconnect requested". Unknown codes are kept, not refused, because a
//! Disconnect ends the connection whatever its reason says.

use std::fmt;

use super::{P2pError, decode_uint, list_items};

/// Why a peer ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// 0x00
    DisconnectRequested,
    /// 0x01
    TcpSubsystemError,
    /// 0x02
    BreachOfProtocol,
    /// 0x03
    UselessPeer,
    /// 0x04
    TooManyPeers,
    /// 0x05
    AlreadyConnected,
    /// 0x06
    IncompatibleP2pVersion,
    /// 0x07
    NullNodeIdentity,
    /// 0x08
    ClientQuitting,
    /// 0x09
    UnexpectedIdentity,
    /// 0x0a
    ConnectedToSelf,
    /// 0x0b
    PingTimeout,
    /// 0x10
    SubprotocolError,
    /// A code the spec does not define.
    Unknown(u8),
}

impl DisconnectReason {
    /// The reason's wire code.
    pub fn code(self) -> u8 {
        match self {
            DisconnectReason::DisconnectRequested => 0x00,
            DisconnectReason::TcpSubsystemError => 0x01,
            DisconnectReason::BreachOfProtocol => 0x02,
            DisconnectReason::UselessPeer => 0x03,
            DisconnectReason::TooManyPeers => 0x04,
            DisconnectReason::AlreadyConnected => 0x05,
            DisconnectReason::IncompatibleP2pVersion => 0x06,
            DisconnectReason::NullNodeIdentity => 0x07,
            DisconnectReason::ClientQuitting => 0x08,
            DisconnectReason::UnexpectedIdentity => 0x09,
            DisconnectReason::ConnectedToSelf => 0x0a,
            DisconnectReason::PingTimeout => 0x0b,
            DisconnectReason::SubprotocolError => 0x10,
            DisconnectReason::Unknown(code) => code,
        }
    }

    /// The reason for a wire code.
    pub fn from_code(code: u8) -> Self {
        match code {
            0x00 => DisconnectReason::DisconnectRequested,
            0x01 => DisconnectReason::TcpSubsystemError,
            0x02 => DisconnectReason::BreachOfProtocol,
            0x03 => DisconnectReason::UselessPeer,
            0x04 => DisconnectReason::TooManyPeers,
            0x05 => DisconnectReason::AlreadyConnected,
            0x06 => DisconnectReason::IncompatibleP2pVersion,
            0x07 => DisconnectReason::NullNodeIdentity,
            0x08 => DisconnectReason::ClientQuitting,
            0x09 => DisconnectReason::UnexpectedIdentity,
            0x0a => DisconnectReason::ConnectedToSelf,
            0x0b => DisconnectReason::PingTimeout,
            0x10 => DisconnectReason::SubprotocolError,
            other => DisconnectReason::Unknown(other),
        }
    }

    /// The payload `[reason]`.
    pub fn encode(self) -> Vec<u8> {
        let mut s = rlp::RlpStream::new_list(1);
        s.append(&self.code());
        s.out().to_vec()
    }

    /// Decodes a Disconnect payload (uncompressed): `[reason, ...]`, a bare integer, `[]` or
    /// nothing at all.
    pub fn decode(payload: &[u8]) -> Result<Self, P2pError> {
        let Some(&first) = payload.first() else {
            return Ok(DisconnectReason::DisconnectRequested);
        };
        let code = if first < 0xc0 {
            decode_whole_uint(payload)?
        } else {
            match list_items(payload)?.next() {
                None => return Ok(DisconnectReason::DisconnectRequested),
                Some(item) => decode_uint::<u8>(item?)?,
            }
        };
        Ok(DisconnectReason::from_code(code))
    }
}

/// A bare integer must be the whole payload, not the start of something longer.
fn decode_whole_uint(payload: &[u8]) -> Result<u8, P2pError> {
    crate::rlp::strict::validate(payload)?;
    decode_uint::<u8>(payload)
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            DisconnectReason::DisconnectRequested => "Disconnect requested",
            DisconnectReason::TcpSubsystemError => "TCP sub-system error",
            DisconnectReason::BreachOfProtocol => "Breach of protocol (bad message, bad RLP, ...)",
            DisconnectReason::UselessPeer => "Useless peer",
            DisconnectReason::TooManyPeers => "Too many peers",
            DisconnectReason::AlreadyConnected => "Already connected",
            DisconnectReason::IncompatibleP2pVersion => "Incompatible P2P protocol version",
            DisconnectReason::NullNodeIdentity => "Null node identity received",
            DisconnectReason::ClientQuitting => "Client quitting",
            DisconnectReason::UnexpectedIdentity => "Unexpected identity in handshake",
            DisconnectReason::ConnectedToSelf => {
                "Identity is the same as this node (connected to itself)"
            }
            DisconnectReason::PingTimeout => "Ping timeout",
            DisconnectReason::SubprotocolError => "Some other reason specific to a subprotocol",
            DisconnectReason::Unknown(code) => return write!(f, "Unknown reason {code:#04x}"),
        };
        f.write_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_roundtrips() {
        for code in 0..=u8::MAX {
            let reason = DisconnectReason::from_code(code);
            assert_eq!(reason.code(), code);
            assert_eq!(DisconnectReason::decode(&reason.encode()), Ok(reason));
        }
    }

    #[test]
    fn malformed_payloads_are_refused() {
        for bad in [
            &[0x08, 0x00][..],
            &[0xc1, 0xc0],
            &[0xc2, 0x81, 0x08],
            &[0x82, 0x01, 0x00],
            &[0xc1],
        ] {
            assert!(DisconnectReason::decode(bad).is_err(), "{bad:02x?}");
        }
    }
}
