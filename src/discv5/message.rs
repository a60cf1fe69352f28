//! Discovery v5 messages (devp2p `discv5-wire.md` "Protocol Messages"): PING, PONG, FINDNODE,
//! NODES, TALKREQ and TALKRESP, as `message-type || rlp(message-data)`.
//!
//! The topic messages (0x07–0x0a) are not spoken here and decode as an unknown type. Every
//! decoder validates the RLP canonically first and bounds each list before allocating for it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rlp::RlpStream;

use crate::enr::{EnrError, Record};
use crate::rlp::RlpDecodeError;
use crate::rlp::cursor::{self, Item};

/// Longest request id (discv5-wire.md: "an RLP byte array of length <= 8 bytes").
pub const REQUEST_ID_SIZE_MAX: usize = 8;
/// Largest log distance a FINDNODE may ask for (ids are 256 bits).
pub const DISTANCE_MAX: u64 = 256;
/// Most distances one FINDNODE may list: every distance once. A longer list is refused before
/// allocating (a 1280-byte packet could otherwise carry ~400 items).
pub const DISTANCES_MAX: usize = 257;
/// Most records one NODES message may carry: a 1280-byte packet holds at most 1280 / 3 list
/// items, and no well-formed ENR is under 64 bytes (its signature alone), so 1280 / 64 = 20.
pub const NODES_RECORDS_MAX: usize = 20;

pub const TYPE_PING: u8 = 0x01;
pub const TYPE_PONG: u8 = 0x02;
pub const TYPE_FINDNODE: u8 = 0x03;
pub const TYPE_NODES: u8 = 0x04;
pub const TYPE_TALKREQ: u8 = 0x05;
pub const TYPE_TALKRESP: u8 = 0x06;

/// A request id: up to eight opaque bytes, mirrored by the response.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RequestId(Vec<u8>);

impl RequestId {
    /// A request id from bytes; `None` over [`REQUEST_ID_SIZE_MAX`].
    pub fn new(bytes: &[u8]) -> Option<RequestId> {
        (bytes.len() <= REQUEST_ID_SIZE_MAX).then(|| RequestId(bytes.to_vec()))
    }

    /// The big-endian bytes of `n` without leading zeros (our own ids are counters).
    /// @chainsafe/discv5 reads ids as integers and mirrors them minimally encoded, so an id with
    /// leading zeros would come back changed.
    pub fn from_u64(n: u64) -> RequestId {
        let b = n.to_be_bytes();
        let start = b.iter().position(|&x| x != 0).unwrap_or(8);
        RequestId(b[start..].to_vec())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", crate::crypto::hex(&self.0))
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// PING: are you alive, and here is my record's sequence number.
    Ping { id: RequestId, enr_seq: u64 },
    /// PONG: alive; my sequence number, and the address your PING came from.
    Pong {
        id: RequestId,
        enr_seq: u64,
        ip: IpAddr,
        port: u16,
    },
    /// FINDNODE: the records you hold at these log distances from you.
    FindNode { id: RequestId, distances: Vec<u16> },
    /// NODES: one of `total` responses carrying records.
    Nodes {
        id: RequestId,
        total: u64,
        records: Vec<Record>,
    },
    /// TALKREQ: an application request under `protocol`.
    TalkReq {
        id: RequestId,
        protocol: Vec<u8>,
        request: Vec<u8>,
    },
    /// TALKRESP: the answer (empty when the protocol is unknown).
    TalkResp { id: RequestId, response: Vec<u8> },
}

/// Why a message plaintext was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// No type byte.
    Empty,
    /// A message type we do not speak.
    UnknownType(u8),
    /// The RLP is not canonical or a field has the wrong shape.
    Rlp(RlpDecodeError),
    /// A request id over [`REQUEST_ID_SIZE_MAX`] bytes.
    RequestIdTooLong(usize),
    /// A PONG address that is neither 4 nor 16 bytes, or a port over 16 bits.
    BadEndpoint,
    /// A FINDNODE distance over [`DISTANCE_MAX`].
    BadDistance(u64),
    /// A NODES record that does not decode or verify.
    BadRecord(EnrError),
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Empty => write!(f, "empty message"),
            MessageError::UnknownType(t) => write!(f, "unknown message type {t:#04x}"),
            MessageError::Rlp(e) => write!(f, "malformed message: {e}"),
            MessageError::RequestIdTooLong(n) => {
                write!(f, "request id of {n} bytes, limit {REQUEST_ID_SIZE_MAX}")
            }
            MessageError::BadEndpoint => write!(f, "malformed PONG endpoint"),
            MessageError::BadDistance(d) => write!(f, "distance {d} over {DISTANCE_MAX}"),
            MessageError::BadRecord(e) => write!(f, "bad record in NODES: {e}"),
        }
    }
}

impl std::error::Error for MessageError {}

impl From<RlpDecodeError> for MessageError {
    fn from(e: RlpDecodeError) -> Self {
        MessageError::Rlp(e)
    }
}

impl Message {
    /// The request id.
    pub fn id(&self) -> &RequestId {
        match self {
            Message::Ping { id, .. }
            | Message::Pong { id, .. }
            | Message::FindNode { id, .. }
            | Message::Nodes { id, .. }
            | Message::TalkReq { id, .. }
            | Message::TalkResp { id, .. } => id,
        }
    }

    /// The message type byte.
    pub fn message_type(&self) -> u8 {
        match self {
            Message::Ping { .. } => TYPE_PING,
            Message::Pong { .. } => TYPE_PONG,
            Message::FindNode { .. } => TYPE_FINDNODE,
            Message::Nodes { .. } => TYPE_NODES,
            Message::TalkReq { .. } => TYPE_TALKREQ,
            Message::TalkResp { .. } => TYPE_TALKRESP,
        }
    }

    /// Whether this is a request (answered by the recipient).
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Message::Ping { .. } | Message::FindNode { .. } | Message::TalkReq { .. }
        )
    }

    /// `message-type || rlp(message-data)`: the plaintext a packet seals.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = RlpStream::new();
        match self {
            Message::Ping { id, enr_seq } => {
                s.begin_list(2);
                s.append(&id.0.as_slice());
                s.append(enr_seq);
            }
            Message::Pong {
                id,
                enr_seq,
                ip,
                port,
            } => {
                s.begin_list(4);
                s.append(&id.0.as_slice());
                s.append(enr_seq);
                match ip {
                    IpAddr::V4(v4) => s.append(&v4.octets().as_slice()),
                    IpAddr::V6(v6) => s.append(&v6.octets().as_slice()),
                };
                s.append(port);
            }
            Message::FindNode { id, distances } => {
                s.begin_list(2);
                s.append(&id.0.as_slice());
                s.begin_list(distances.len());
                for d in distances {
                    s.append(d);
                }
            }
            Message::Nodes { id, total, records } => {
                s.begin_list(3);
                s.append(&id.0.as_slice());
                s.append(total);
                s.begin_list(records.len());
                for r in records {
                    s.append_raw(&r.to_rlp(), 1);
                }
            }
            Message::TalkReq {
                id,
                protocol,
                request,
            } => {
                s.begin_list(3);
                s.append(&id.0.as_slice());
                s.append(&protocol.as_slice());
                s.append(&request.as_slice());
            }
            Message::TalkResp { id, response } => {
                s.begin_list(2);
                s.append(&id.0.as_slice());
                s.append(&response.as_slice());
            }
        }
        let body = s.out();
        let mut out = Vec::with_capacity(1 + body.len());
        out.push(self.message_type());
        out.extend_from_slice(&body);
        out
    }

    /// Reads a plaintext. NODES records are decoded and their signatures verified.
    pub fn decode(plaintext: &[u8]) -> Result<Message, MessageError> {
        let (&kind, body) = plaintext.split_first().ok_or(MessageError::Empty)?;
        if !(TYPE_PING..=TYPE_TALKRESP).contains(&kind) {
            return Err(MessageError::UnknownType(kind));
        }
        let top = cursor::top(body)?;
        let mut f = top.list("message-data")?;
        let id = request_id(f.field("request-id")?)?;
        let m = match kind {
            TYPE_PING => Message::Ping {
                id,
                enr_seq: f.field("enr-seq")?.uint("enr-seq")?,
            },
            TYPE_PONG => {
                let enr_seq = f.field("enr-seq")?.uint("enr-seq")?;
                let ip = match f.field("recipient-ip")?.bytes("recipient-ip")? {
                    b if b.len() == 4 => {
                        IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).expect("4 bytes")))
                    }
                    b if b.len() == 16 => {
                        IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).expect("16 bytes")))
                    }
                    _ => return Err(MessageError::BadEndpoint),
                };
                let port = f.field("recipient-port")?.uint("recipient-port")?;
                let port = u16::try_from(port).map_err(|_| MessageError::BadEndpoint)?;
                Message::Pong {
                    id,
                    enr_seq,
                    ip,
                    port,
                }
            }
            TYPE_FINDNODE => {
                let (items, count) =
                    cursor::bounded_list(f.field("distances")?, "distances", DISTANCES_MAX)?;
                let mut distances = Vec::with_capacity(count);
                for d in items {
                    let d = d?.uint("distance")?;
                    if d > DISTANCE_MAX {
                        return Err(MessageError::BadDistance(d));
                    }
                    distances.push(d as u16);
                }
                Message::FindNode { id, distances }
            }
            TYPE_NODES => {
                let total = f.field("total")?.uint("total")?;
                let (items, count) =
                    cursor::bounded_list(f.field("nodes")?, "nodes", NODES_RECORDS_MAX)?;
                let mut records = Vec::with_capacity(count);
                for r in items {
                    let r = r?;
                    if !r.is_list {
                        return Err(RlpDecodeError::Malformed("record").into());
                    }
                    records.push(Record::decode_verified(r.raw).map_err(MessageError::BadRecord)?);
                }
                Message::Nodes { id, total, records }
            }
            TYPE_TALKREQ => Message::TalkReq {
                id,
                protocol: f.field("protocol")?.bytes("protocol")?.to_vec(),
                request: f.field("request")?.bytes("request")?.to_vec(),
            },
            _ => Message::TalkResp {
                id,
                response: f.field("response")?.bytes("response")?.to_vec(),
            },
        };
        // Extra trailing fields are tolerated, as go-ethereum's decoder (rlp "tail") does for
        // forward compatibility; they are never read.
        Ok(m)
    }
}

fn request_id(item: Item<'_>) -> Result<RequestId, MessageError> {
    let b = item.bytes("request-id")?;
    RequestId::new(b).ok_or(MessageError::RequestIdTooLong(b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips() {
        let id = RequestId::new(&[1, 2, 3]).unwrap();
        let msgs = [
            Message::Ping {
                id: id.clone(),
                enr_seq: 9,
            },
            Message::Pong {
                id: id.clone(),
                enr_seq: 0,
                ip: "::1".parse().unwrap(),
                port: 30303,
            },
            Message::FindNode {
                id: id.clone(),
                distances: vec![0, 255, 256],
            },
            Message::Nodes {
                id: id.clone(),
                total: 2,
                records: vec![],
            },
            Message::TalkReq {
                id: id.clone(),
                protocol: b"x".to_vec(),
                request: vec![],
            },
            Message::TalkResp {
                id,
                response: vec![1; 100],
            },
        ];
        for m in msgs {
            assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn a_request_id_over_eight_bytes_is_refused() {
        // PING [0x09 bytes of id, 1]
        let mut pt = vec![TYPE_PING, 0xcb, 0x89];
        pt.extend_from_slice(&[1; 9]);
        pt.push(0x01);
        assert_eq!(Message::decode(&pt), Err(MessageError::RequestIdTooLong(9)));
        assert!(RequestId::new(&[0; 9]).is_none());
    }

    #[test]
    fn distances_over_256_and_topic_messages_are_refused() {
        let m = Message::FindNode {
            id: RequestId::default(),
            distances: vec![257],
        };
        assert_eq!(
            Message::decode(&m.encode()),
            Err(MessageError::BadDistance(257))
        );
        assert_eq!(
            Message::decode(&[0x07, 0xc0]),
            Err(MessageError::UnknownType(7))
        );
    }
}
