//! The per-frame policy of an admitted RLPx session (devp2p rlpx.md "Message IDs" and "Base
//! Protocol"; geth `p2p/peer.go` `readLoop`/`handle`): given one opened frame, decide whether the
//! remote said goodbye, whether to answer Pong, which capability gets the message, or which
//! [`Fault`] ends the session (its reason comes from `p2p::fault`'s one table). Sizes are checked
//! here before anything is allocated for a payload, snappy included. No I/O and no clock: the
//! connection task reads frames and acts on the [`Verdict`]; the verdict table is the tests.

use crate::p2p::{self, DisconnectReason, Fault};
use crate::rlpx::snappy;

/// The largest message accepted at the p2p layer: the RLPx frame limit. Capabilities set their
/// own, smaller limits (eth: 10 MiB) in their [`CapRange`].
pub const MESSAGE_SIZE_MAX: usize = crate::rlpx::frame::FRAME_SIZE_MAX;

/// One shared capability's message-id range and its message size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapRange {
    /// The first absolute message id of the capability.
    pub offset: u64,
    /// How many ids it owns.
    pub length: u64,
    /// Its largest decoded message.
    pub size_max: usize,
}

impl CapRange {
    fn owns(&self, code: u64) -> bool {
        code >= self.offset && code - self.offset < self.length
    }
}

/// What to do with one frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The remote sent Disconnect with this reason: the session is over.
    RemoteDisconnect(DisconnectReason),
    /// A Ping: answer Pong.
    Pong,
    /// The remote's Pong to our Ping: nothing to do but note it.
    PongReceived,
    /// Nothing to do (a base-protocol id we do not use).
    Ignore,
    /// Capability `cap` (an index into the session's ranges) gets this message, decompressed.
    Deliver {
        cap: usize,
        code: u64,
        payload: Vec<u8>,
    },
    /// End the session for this fault; `why` is for the log.
    Disconnect { fault: Fault, why: String },
}

/// The frame policy of one admitted session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whether both Hellos said version ≥ 5: every message but Hello is then snappy-compressed.
    snappy: bool,
    /// The shared capabilities' ranges, in offset order.
    caps: Vec<CapRange>,
}

impl Session {
    /// A session with these shared capability ranges.
    pub fn new(snappy: bool, caps: Vec<CapRange>) -> Session {
        Session { snappy, caps }
    }

    /// Decides what frame `code` with its raw (maybe compressed) payload `raw` means.
    pub fn handle_frame(&self, code: u64, raw: &[u8]) -> Verdict {
        if code == p2p::DISCONNECT_ID {
            return Verdict::RemoteDisconnect(decode_disconnect(raw, self.snappy));
        }
        let cap = self.caps.iter().position(|c| c.owns(code));
        // The payload is decoded first, as the transport does in geth: a snappy bomb or garbage
        // is a breach of protocol whatever id it carries.
        let size_max = cap.map_or(MESSAGE_SIZE_MAX, |i| self.caps[i].size_max);
        let payload = match self.payload(raw, size_max) {
            Ok(p) => p,
            Err(v) => return v,
        };
        if cap.is_none() && code >= p2p::BASE_PROTOCOL_LENGTH {
            // No capability of this session owns the id (geth: "msg code out of range").
            return disconnect(
                Fault::CodeOutOfRange,
                format!("Message code out of range: {code:#x}"),
            );
        }
        match (code, cap) {
            (p2p::PING_ID, _) => Verdict::Pong,
            (p2p::PONG_ID, _) => Verdict::PongReceived,
            (p2p::HELLO_ID, _) => disconnect(Fault::SecondHello, "Second Hello from peer".into()),
            (_, Some(cap)) => Verdict::Deliver { cap, code, payload },
            // Other base-protocol ids are reserved; geth ignores them too.
            (_, None) => Verdict::Ignore,
        }
    }

    /// The decoded payload, refused over `size_max` before it is allocated.
    fn payload(&self, raw: &[u8], size_max: usize) -> Result<Vec<u8>, Verdict> {
        let too_large = |size: usize| {
            disconnect(
                Fault::MessageTooLarge,
                format!("Message too large: {size} bytes, over the {size_max}-byte limit"),
            )
        };
        if !self.snappy {
            return if raw.len() > size_max {
                Err(too_large(raw.len()))
            } else {
                Ok(raw.to_vec())
            };
        }
        // Over a capability's limit but within the p2p one: that capability's breach. Over the
        // p2p limit (a snappy bomb) decompression refuses it as a breach of protocol.
        if let Ok(size) = snappy::decoded_len(raw, MESSAGE_SIZE_MAX)
            && size > size_max
        {
            return Err(too_large(size));
        }
        snappy::decompress(raw, size_max)
            .map_err(|e| disconnect(Fault::BadCompression, format!("Bad snappy payload: {e}")))
    }
}

fn disconnect(fault: Fault, why: String) -> Verdict {
    Verdict::Disconnect { fault, why }
}

/// A Disconnect's reason, read compressed or not (ethereumjs sends it uncompressed); one we
/// cannot read counts as "disconnect requested".
pub fn decode_disconnect(payload: &[u8], snappy: bool) -> DisconnectReason {
    if snappy
        && let Ok(plain) = snappy::decompress(payload, 64)
        && let Ok(r) = DisconnectReason::decode(&plain)
    {
        return r;
    }
    DisconnectReason::decode(payload).unwrap_or(DisconnectReason::DisconnectRequested)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETH: CapRange = CapRange {
        offset: 0x10,
        length: 17,
        size_max: 100,
    };

    fn session(snappy: bool) -> Session {
        Session::new(snappy, vec![ETH])
    }

    fn reason(v: Verdict) -> Option<DisconnectReason> {
        match v {
            Verdict::Disconnect { fault, .. } => Some(fault.reason()),
            _ => None,
        }
    }

    fn compressed(bytes: &[u8]) -> Vec<u8> {
        snappy::compress(bytes).unwrap()
    }

    /// The reason table: each frame a peer can send and what the session does with it.
    #[test]
    fn every_frame_gets_its_verdict() {
        for snappy in [false, true] {
            let s = session(snappy);
            let enc = |b: &[u8]| if snappy { compressed(b) } else { b.to_vec() };
            let empty_list = enc(&[0xc0]);
            assert_eq!(s.handle_frame(p2p::PING_ID, &empty_list), Verdict::Pong);
            assert_eq!(
                s.handle_frame(p2p::PONG_ID, &empty_list),
                Verdict::PongReceived
            );
            assert_eq!(
                reason(s.handle_frame(p2p::HELLO_ID, &empty_list)),
                Some(DisconnectReason::BreachOfProtocol),
                "a second Hello"
            );
            assert_eq!(
                s.handle_frame(p2p::DISCONNECT_ID, &enc(&[0xc1, 0x04])),
                Verdict::RemoteDisconnect(DisconnectReason::TooManyPeers)
            );
            // A reserved base-protocol id is ignored.
            assert_eq!(s.handle_frame(0x05, &empty_list), Verdict::Ignore);
            // The capability's ids are delivered, decompressed.
            assert_eq!(
                s.handle_frame(0x10, &enc(b"status")),
                Verdict::Deliver {
                    cap: 0,
                    code: 0x10,
                    payload: b"status".to_vec()
                }
            );
            assert!(matches!(
                s.handle_frame(0x20, &enc(b"x")),
                Verdict::Deliver { code: 0x20, .. }
            ));
            // Past every capability's range.
            assert_eq!(
                reason(s.handle_frame(0x21, &enc(b"x"))),
                Some(DisconnectReason::SubprotocolError)
            );
            // Over the capability's own limit.
            assert_eq!(
                reason(s.handle_frame(0x10, &enc(&[7u8; 101]))),
                Some(DisconnectReason::SubprotocolError)
            );
            assert!(matches!(
                s.handle_frame(0x10, &enc(&[7u8; 100])),
                Verdict::Deliver { .. }
            ));
        }
    }

    #[test]
    fn snappy_garbage_and_bombs_are_a_breach_of_protocol() {
        let s = session(true);
        // Decoded before the id is judged, as geth's transport does: even past every range.
        assert_eq!(
            reason(s.handle_frame(0x30, &[0x80, 0x80, 0x80, 0x80, 0x04, 0x00])),
            Some(DisconnectReason::BreachOfProtocol)
        );
        assert_eq!(
            reason(s.handle_frame(p2p::PING_ID, &[0xff, 0xff, 0xff])),
            Some(DisconnectReason::BreachOfProtocol)
        );
        // Five bytes declaring 2^32 decoded bytes: refused from the header, nothing allocated.
        assert_eq!(
            reason(s.handle_frame(p2p::PING_ID, &[0x80, 0x80, 0x80, 0x80, 0x10])),
            Some(DisconnectReason::BreachOfProtocol)
        );
    }

    #[test]
    fn an_unreadable_disconnect_counts_as_requested() {
        assert_eq!(
            decode_disconnect(&[0xff], true),
            DisconnectReason::DisconnectRequested
        );
        // Uncompressed in a snappy session (ethereumjs does this).
        assert_eq!(
            decode_disconnect(&[0xc1, 0x03], true),
            DisconnectReason::UselessPeer
        );
    }
}
