//! Why we end a session, and the one table that turns it into a Disconnect reason (devp2p
//! rlpx.md "Disconnect (0x01)"; go-ethereum `p2p/peer_error.go` and the reasons its server, its
//! transport and its eth handler send).
//!
//! Every layer that finds a fault names it with a [`Fault`]: the RLPx transport, the session core
//! (`p2p::session`), admission (`node`), a capability (eth: a breach, a useless peer, no Status in
//! time) and the shell (quitting, a dead read). [`Fault::reason`] is the only place in the tree
//! that chooses which [`DisconnectReason`] goes on the wire; its table is unit-tested below.

use std::fmt;

use super::DisconnectReason;

/// A fault that ends a session, named by the layer that found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    // The RLPx transport.
    /// The ECIES auth or ack did not decrypt or decode.
    Handshake,
    /// A frame failed its MAC, was over the frame limit, or its header did not decode.
    Frame,
    // The base protocol, before and after Hello.
    /// The first message was not a readable Hello.
    BadHello,
    /// The Hello's node id is not the key the handshake proved.
    HelloIdentity,
    /// A second Hello in a running session.
    SecondHello,
    /// A payload that does not decompress (garbage, or a snappy bomb over the p2p limit).
    BadCompression,
    /// A message over its capability's size limit.
    MessageTooLarge,
    /// A message id no shared capability owns.
    CodeOutOfRange,
    /// No frame within the read deadline (our Pings go unanswered).
    ReadTimeout,
    // Admission (the node's checkpoints).
    /// A checkpoint for a connection the node does not know (or no longer wants).
    NotExpected,
    /// Hello before the handshake named the remote.
    NoIdentity,
    /// No capability in common, and the peer was not asked for by name.
    NothingShared,
    /// The node id already has a session.
    AlreadyConnected,
    /// The remote is this node.
    IsSelf,
    /// The peer limits are full.
    TooManyPeers,
    /// We no longer want this peer (removed, or a dial the user cancelled).
    Requested,
    // A capability (eth).
    /// A message that breaks the capability's rules (bad encoding, out of order, a lie).
    CapabilityBreach,
    /// The peer runs the capability but is no use to us (another network, a stalled sync).
    CapabilityUseless,
    /// The capability's handshake (eth Status) did not arrive in time.
    CapabilityHandshakeTimeout,
    // The node itself.
    /// The node is shutting down, or the peer's task lost the loop.
    Quitting,
    /// The peer does not read what we send: its queue is full.
    TooSlow,
}

impl Fault {
    /// The Disconnect reason this fault sends: the node's one table of reasons, as geth chooses
    /// them (a capability's errors are all "subprotocol error"; geth's read timeout is 0x0b).
    pub fn reason(self) -> DisconnectReason {
        use DisconnectReason as R;
        match self {
            Fault::Handshake
            | Fault::Frame
            | Fault::BadHello
            | Fault::SecondHello
            | Fault::BadCompression
            | Fault::NoIdentity => R::BreachOfProtocol,
            Fault::HelloIdentity => R::UnexpectedIdentity,
            Fault::MessageTooLarge | Fault::CodeOutOfRange | Fault::CapabilityBreach => {
                R::SubprotocolError
            }
            Fault::ReadTimeout | Fault::CapabilityHandshakeTimeout => R::PingTimeout,
            Fault::NotExpected | Fault::Requested => R::DisconnectRequested,
            Fault::NothingShared | Fault::CapabilityUseless => R::UselessPeer,
            Fault::AlreadyConnected => R::AlreadyConnected,
            Fault::IsSelf => R::ConnectedToSelf,
            Fault::TooManyPeers => R::TooManyPeers,
            Fault::Quitting | Fault::TooSlow => R::ClientQuitting,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Fault::Handshake => "encryption handshake failed",
            Fault::Frame => "bad frame",
            Fault::BadHello => "bad hello",
            Fault::HelloIdentity => "hello id differs from the handshake key",
            Fault::SecondHello => "second hello",
            Fault::BadCompression => "bad snappy payload",
            Fault::MessageTooLarge => "message too large",
            Fault::CodeOutOfRange => "message code out of range",
            Fault::ReadTimeout => "read timeout",
            Fault::NotExpected => "connection not expected",
            Fault::NoIdentity => "no identity",
            Fault::NothingShared => "no shared capability",
            Fault::AlreadyConnected => "already connected",
            Fault::IsSelf => "connected to self",
            Fault::TooManyPeers => "too many peers",
            Fault::Requested => "disconnect requested",
            Fault::CapabilityBreach => "capability protocol breach",
            Fault::CapabilityUseless => "useless capability peer",
            Fault::CapabilityHandshakeTimeout => "capability handshake timed out",
            Fault::Quitting => "client quitting",
            Fault::TooSlow => "peer too slow",
        };
        f.write_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DisconnectReason as R;

    /// The table, written out: each fault and the reason code a peer reads (geth's choices).
    #[test]
    fn each_fault_sends_its_reason() {
        let table = [
            (Fault::Handshake, R::BreachOfProtocol),
            (Fault::Frame, R::BreachOfProtocol),
            (Fault::BadHello, R::BreachOfProtocol),
            (Fault::HelloIdentity, R::UnexpectedIdentity),
            (Fault::SecondHello, R::BreachOfProtocol),
            (Fault::BadCompression, R::BreachOfProtocol),
            (Fault::MessageTooLarge, R::SubprotocolError),
            (Fault::CodeOutOfRange, R::SubprotocolError),
            (Fault::ReadTimeout, R::PingTimeout),
            (Fault::NotExpected, R::DisconnectRequested),
            (Fault::NoIdentity, R::BreachOfProtocol),
            (Fault::NothingShared, R::UselessPeer),
            (Fault::AlreadyConnected, R::AlreadyConnected),
            (Fault::IsSelf, R::ConnectedToSelf),
            (Fault::TooManyPeers, R::TooManyPeers),
            (Fault::Requested, R::DisconnectRequested),
            (Fault::CapabilityBreach, R::SubprotocolError),
            (Fault::CapabilityUseless, R::UselessPeer),
            (Fault::CapabilityHandshakeTimeout, R::PingTimeout),
            (Fault::Quitting, R::ClientQuitting),
            (Fault::TooSlow, R::ClientQuitting),
        ];
        for (fault, reason) in table {
            assert_eq!(fault.reason(), reason, "{fault}");
        }
        let codes: Vec<u8> = table.iter().map(|(f, _)| f.reason().code()).collect();
        assert_eq!(
            codes,
            [
                2, 2, 2, 9, 2, 2, 0x10, 0x10, 0x0b, 0, 2, 3, 5, 0x0a, 4, 0, 0x10, 3, 0x0b, 8, 8
            ]
        );
    }
}
