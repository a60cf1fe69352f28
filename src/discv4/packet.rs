//! The discv4 packet codec (devp2p `discv4.md` "Wire Protocol", EIP-8 "RLPx Discovery Protocol",
//! EIP-868 "Node Discovery v4 ENR Extension"): typed packets to signed datagrams and back.
//!
//! A datagram is `hash || signature || packet-type || packet-data`, where `packet-data` is an
//! RLP list, `signature` (65 bytes, `r || s || v`) signs `keccak256(packet-type || packet-data)`
//! and `hash = keccak256(signature || packet-type || packet-data)`. The six packets are Ping
//! (0x01), Pong (0x02), FindNode (0x03), Neighbors (0x04), ENRRequest (0x05) and ENRResponse
//! (0x06).
//!
//! Decoding is lenient where EIP-8 asks for it and strict elsewhere: extra list elements and
//! bytes after the RLP list are ignored, the Ping version is not checked, but the list itself
//! must be canonical RLP ([`strict::validate_prefix`]) and every field the packet needs
//! must be well formed. Two EIP-8 vectors predate EIP-868 and hold a list where Ping and Pong now
//! carry `enr-seq`; a non-integer in that position is read as "no enr-seq" rather than refused.
//!
//! Expiration is an absolute unix time in seconds. The codec has no clock: callers build
//! expirations with [`expiration_from`] and test them with [`is_expired`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rlp::{Rlp, RlpStream};

use crate::crypto::{NodeId, PublicKey, SecretKey, Signature, keccak256, keccak256_concat};
use crate::enr::{EnrError, Record};
use crate::rlp::strict::{self, RlpError};

/// Largest datagram sent or accepted (discv4.md "Wire Protocol": "The maximum size of any packet
/// is 1280 bytes"). Anything larger is refused before it is hashed or parsed.
pub const PACKET_SIZE_MAX: usize = 1280;

/// Bytes before `packet-data`: the 32-byte hash, the 65-byte signature and the type byte.
pub const HEAD_SIZE: usize = 32 + 65 + 1;

/// How long, in seconds, a packet we send stays valid (go-ethereum's discv4 `expiration`
/// constant, 20 s: long enough for any real round trip, short enough to limit replay).
pub const EXPIRATION: u64 = 20;

/// The Ping version we send (discv4.md "Ping Packet": `version = 4`). Received versions are not
/// checked (EIP-8).
pub const PING_VERSION: u64 = 4;

/// Encoded size of the largest node entry in a Neighbors list: an IPv6 address (1 + 16), two
/// 16-bit ports (1 + 2 each) and the 64-byte key (2 + 64), under a two-byte list header.
const NODE_SIZE_MAX: usize = 2 + (1 + 16) + (1 + 2) + (1 + 2) + (2 + 64);

/// Encoded size of the smallest node entry the decoder can accept as well formed: an empty IP,
/// two one-byte ports and the 64-byte key, under a two-byte list header.
const NODE_SIZE_MIN: usize = 2 + 1 + 1 + 1 + (2 + 64);

/// Encoded size of the largest expiration: an eight-byte integer behind its header.
const EXPIRATION_SIZE_MAX: usize = 1 + 8;

/// Most node entries a received Neighbors packet may list. A datagram of at most
/// [`PACKET_SIZE_MAX`] bytes cannot hold more well-formed entries than
/// `(1280 - 98) / 71 = 16`, so a longer list is refused before anything is allocated for it.
pub const NEIGHBORS_NODES_MAX: usize = (PACKET_SIZE_MAX - HEAD_SIZE) / NODE_SIZE_MIN;

/// Most nodes we put in one Neighbors packet: the largest count whose worst case (every node
/// IPv6 with two-byte ports, an eight-byte expiration) still fits in
/// [`PACKET_SIZE_MAX`]. It evaluates to 12, the number go-ethereum sends.
pub const NEIGHBORS_NODES_PER_PACKET: usize = neighbors_per_packet();

/// Size of an RLP list (or long string) header for a payload of `len` bytes.
const fn rlp_header_size(len: usize) -> usize {
    if len < 56 {
        1
    } else {
        let mut n = 1;
        let mut rest = len;
        while rest > 0 {
            n += 1;
            rest >>= 8;
        }
        n
    }
}

/// The datagram size of a Neighbors packet holding `n` worst-case nodes.
const fn neighbors_size_max(n: usize) -> usize {
    let nodes = n * NODE_SIZE_MAX;
    let nodes_list = rlp_header_size(nodes) + nodes;
    let body = nodes_list + EXPIRATION_SIZE_MAX;
    HEAD_SIZE + rlp_header_size(body) + body
}

const fn neighbors_per_packet() -> usize {
    let mut n = 0;
    while neighbors_size_max(n + 1) <= PACKET_SIZE_MAX {
        n += 1;
    }
    n
}

/// The expiration to put in a packet sent at `now_unix_secs`.
pub fn expiration_from(now_unix_secs: u64) -> u64 {
    now_unix_secs.saturating_add(EXPIRATION)
}

/// Whether a received expiration lies in the past (discv4.md "Ping Packet": such packets "may
/// not be processed").
pub fn is_expired(expiration: u64, now_unix_secs: u64) -> bool {
    expiration < now_unix_secs
}

/// Why a datagram was refused, or a packet could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketError {
    /// Longer than [`PACKET_SIZE_MAX`] (received, or as it would be sent).
    TooLarge { size: usize },
    /// Shorter than the header plus one byte of packet-data.
    TooSmall { size: usize },
    /// The leading hash does not match the rest of the datagram.
    BadHash,
    /// No public key can be recovered from the signature.
    BadSignature,
    /// A packet-type byte outside 0x01..=0x06.
    UnknownType(u8),
    /// `packet-data` does not start with one canonical RLP item.
    Rlp(RlpError),
    /// A field is missing or has the wrong form; the text names it.
    Malformed(&'static str),
    /// An endpoint whose IP is neither 0, 4 nor 16 bytes, or whose port exceeds 16 bits.
    BadEndpoint,
    /// A Neighbors list longer than [`NEIGHBORS_NODES_MAX`].
    TooManyNodes { count: usize },
    /// The ENRResponse record is malformed or its signature does not verify.
    BadRecord(EnrError),
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::TooLarge { size } => {
                write!(
                    f,
                    "packet too large ({size} bytes, limit {PACKET_SIZE_MAX})"
                )
            }
            PacketError::TooSmall { size } => write!(f, "packet too small ({size} bytes)"),
            PacketError::BadHash => write!(f, "packet hash mismatch"),
            PacketError::BadSignature => write!(f, "invalid packet signature"),
            PacketError::UnknownType(t) => write!(f, "unknown packet type {t:#04x}"),
            PacketError::Rlp(e) => write!(f, "malformed packet-data: {e}"),
            PacketError::Malformed(what) => write!(f, "malformed packet: bad {what}"),
            PacketError::BadEndpoint => write!(f, "malformed endpoint"),
            PacketError::TooManyNodes { count } => write!(
                f,
                "neighbors packet lists {count} nodes (limit {NEIGHBORS_NODES_MAX})"
            ),
            PacketError::BadRecord(e) => write!(f, "bad ENR in ENRResponse: {e}"),
        }
    }
}

impl std::error::Error for PacketError {}

impl From<RlpError> for PacketError {
    fn from(e: RlpError) -> Self {
        PacketError::Rlp(e)
    }
}

/// An address as Ping and Pong carry it: `[ip, udp-port, tcp-port]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// `None` when the sender sent an empty IP, as go-ethereum does when it does not know its
    /// own address. IPv4-mapped IPv6 addresses are read as IPv4.
    pub ip: Option<IpAddr>,
    pub udp: u16,
    pub tcp: u16,
}

/// One entry of a Neighbors list: `[ip, udp-port, tcp-port, node-id]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub ip: IpAddr,
    pub udp: u16,
    pub tcp: u16,
    /// The node's public key (discv4 calls the 64-byte key its `node-id`).
    pub id: PublicKey,
}

/// Ping (0x01): `[version, from, to, expiration, enr-seq?, ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// [`PING_VERSION`] when we send; anything when received.
    pub version: u64,
    pub from: Endpoint,
    pub to: Endpoint,
    pub expiration: u64,
    /// The sender's ENR sequence number (EIP-868).
    pub enr_seq: Option<u64>,
}

/// Pong (0x02): `[to, ping-hash, expiration, enr-seq?, ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// The address the Ping came from, as the replier saw it.
    pub to: Endpoint,
    /// The hash of the Ping this answers.
    pub ping_hash: [u8; 32],
    pub expiration: u64,
    /// The replier's ENR sequence number (EIP-868).
    pub enr_seq: Option<u64>,
}

/// FindNode (0x03): `[target, expiration, ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindNode {
    /// 64 bytes in public-key form. Kept raw: go-ethereum's random lookups send targets that are
    /// not curve points, and only `keccak256(target)` ([`FindNode::target_id`]) matters.
    pub target: [u8; 64],
    pub expiration: u64,
}

impl FindNode {
    /// The point in id space the lookup aims at.
    pub fn target_id(&self) -> NodeId {
        NodeId(keccak256(&self.target))
    }
}

/// Neighbors (0x04): `[[node, ...], expiration, ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbors {
    /// On decode, entries whose IP is not 4 or 16 bytes or whose key is not a curve point are
    /// dropped, as go-ethereum drops them, without failing the packet.
    pub nodes: Vec<Node>,
    pub expiration: u64,
}

/// ENRRequest (0x05, EIP-868): `[expiration, ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrRequest {
    pub expiration: u64,
}

/// ENRResponse (0x06, EIP-868): `[request-hash, record, ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrResponse {
    /// The hash of the ENRRequest this answers.
    pub request_hash: [u8; 32],
    /// The responder's record, signature-checked on decode (at most 300 bytes, EIP-778). That
    /// its key is the packet's sender is for the caller to check.
    pub record: Record,
}

/// Any discv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Ping(Ping),
    Pong(Pong),
    FindNode(FindNode),
    Neighbors(Neighbors),
    EnrRequest(EnrRequest),
    EnrResponse(EnrResponse),
}

impl Packet {
    /// The packet-type byte.
    pub fn packet_type(&self) -> u8 {
        match self {
            Packet::Ping(_) => 0x01,
            Packet::Pong(_) => 0x02,
            Packet::FindNode(_) => 0x03,
            Packet::Neighbors(_) => 0x04,
            Packet::EnrRequest(_) => 0x05,
            Packet::EnrResponse(_) => 0x06,
        }
    }

    /// The spec name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Packet::Ping(_) => "Ping",
            Packet::Pong(_) => "Pong",
            Packet::FindNode(_) => "FindNode",
            Packet::Neighbors(_) => "Neighbors",
            Packet::EnrRequest(_) => "ENRRequest",
            Packet::EnrResponse(_) => "ENRResponse",
        }
    }

    /// The expiration, for every packet but ENRResponse (which has none).
    pub fn expiration(&self) -> Option<u64> {
        match self {
            Packet::Ping(p) => Some(p.expiration),
            Packet::Pong(p) => Some(p.expiration),
            Packet::FindNode(p) => Some(p.expiration),
            Packet::Neighbors(p) => Some(p.expiration),
            Packet::EnrRequest(p) => Some(p.expiration),
            Packet::EnrResponse(_) => None,
        }
    }

    /// The RLP `packet-data`.
    pub fn encode_data(&self) -> Vec<u8> {
        let mut s = RlpStream::new();
        match self {
            Packet::Ping(p) => {
                s.begin_list(if p.enr_seq.is_some() { 5 } else { 4 });
                s.append(&p.version);
                append_endpoint(&mut s, &p.from);
                append_endpoint(&mut s, &p.to);
                s.append(&p.expiration);
                if let Some(seq) = p.enr_seq {
                    s.append(&seq);
                }
            }
            Packet::Pong(p) => {
                s.begin_list(if p.enr_seq.is_some() { 4 } else { 3 });
                append_endpoint(&mut s, &p.to);
                s.append(&p.ping_hash.as_slice());
                s.append(&p.expiration);
                if let Some(seq) = p.enr_seq {
                    s.append(&seq);
                }
            }
            Packet::FindNode(p) => {
                s.begin_list(2);
                s.append(&p.target.as_slice());
                s.append(&p.expiration);
            }
            Packet::Neighbors(p) => {
                s.begin_list(2);
                s.begin_list(p.nodes.len());
                for n in &p.nodes {
                    s.begin_list(4);
                    append_ip(&mut s, Some(n.ip));
                    s.append(&n.udp);
                    s.append(&n.tcp);
                    s.append(&n.id.to_bytes().as_slice());
                }
                s.append(&p.expiration);
            }
            Packet::EnrRequest(p) => {
                s.begin_list(1);
                s.append(&p.expiration);
            }
            Packet::EnrResponse(p) => {
                s.begin_list(2);
                s.append(&p.request_hash.as_slice());
                s.append_raw(&p.record.to_rlp(), 1);
            }
        }
        s.out().to_vec()
    }
}

fn append_ip(s: &mut RlpStream, ip: Option<IpAddr>) {
    match ip {
        Some(IpAddr::V4(v4)) => s.append(&v4.octets().as_slice()),
        Some(IpAddr::V6(v6)) => s.append(&v6.octets().as_slice()),
        None => s.append_empty_data(),
    };
}

fn append_endpoint(s: &mut RlpStream, e: &Endpoint) {
    s.begin_list(3);
    append_ip(s, e.ip);
    s.append(&e.udp);
    s.append(&e.tcp);
}

/// Signs `packet` with `key` and returns the datagram and its hash (the hash a Pong or
/// ENRResponse will echo). Refuses to build a datagram over [`PACKET_SIZE_MAX`].
pub fn encode(packet: &Packet, key: &SecretKey) -> Result<(Vec<u8>, [u8; 32]), PacketError> {
    encode_raw(packet.packet_type(), &packet.encode_data(), key)
}

/// Signs any packet-type byte and packet-data, as [`encode`] does: for the conformance tester,
/// which sends what no honest node sends (unknown types, extra list elements).
pub fn encode_raw(
    packet_type: u8,
    data: &[u8],
    key: &SecretKey,
) -> Result<(Vec<u8>, [u8; 32]), PacketError> {
    let size = HEAD_SIZE + data.len();
    if size > PACKET_SIZE_MAX {
        return Err(PacketError::TooLarge { size });
    }
    let ptype = [packet_type];
    let sig = key.sign_prehash(&keccak256_concat(&[&ptype, data]));
    let hash = keccak256_concat(&[&sig.0, &ptype, data]);
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&hash);
    out.extend_from_slice(&sig.0);
    out.extend_from_slice(&ptype);
    out.extend_from_slice(data);
    Ok((out, hash))
}

/// Splits `nodes` into Neighbors packets of at most [`NEIGHBORS_NODES_PER_PACKET`] nodes, each of
/// which encodes within [`PACKET_SIZE_MAX`] whatever the address families. An empty `nodes` still
/// gives one (empty) packet, so that a FindNode always gets an answer.
pub fn neighbors_packets(nodes: &[Node], expiration: u64) -> Vec<Neighbors> {
    let chunks = nodes.chunks(NEIGHBORS_NODES_PER_PACKET);
    let chunks = chunks.chain(nodes.is_empty().then_some(&[][..]));
    chunks
        .map(|chunk| Neighbors {
            nodes: chunk.to_vec(),
            expiration,
        })
        .collect()
}

/// A received packet with what its header proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub packet: Packet,
    /// The datagram's hash: what a Pong or ENRResponse to it must echo.
    pub hash: [u8; 32],
    /// The key recovered from the signature.
    pub sender: PublicKey,
    /// `keccak256(sender)`.
    pub sender_id: NodeId,
}

/// Whether the datagram's type byte (after the hash and the signature) says Pong, Neighbors or
/// ENRResponse: a look at one byte, nothing verified (the discovery machine uses it to decide,
/// before any work, whether the datagram may be a reply it awaits).
pub fn is_reply_type(datagram: &[u8]) -> bool {
    matches!(datagram.get(32 + 65), Some(0x02 | 0x04 | 0x06))
}

/// Checks and decodes one datagram: size, hash, type, packet-data, then the signature. The
/// expiration is not checked here (see [`is_expired`]): the caller decides with its own clock.
pub fn decode(datagram: &[u8]) -> Result<Decoded, PacketError> {
    let size = datagram.len();
    if size > PACKET_SIZE_MAX {
        return Err(PacketError::TooLarge { size });
    }
    let too_small = PacketError::TooSmall { size };
    let (hash, rest) = datagram
        .split_first_chunk::<32>()
        .ok_or(too_small.clone())?;
    let (sig, signed) = rest.split_first_chunk::<65>().ok_or(too_small.clone())?;
    let (&ptype, data) = signed.split_first().ok_or(too_small.clone())?;
    if data.is_empty() {
        return Err(too_small);
    }
    if keccak256(rest) != *hash {
        return Err(PacketError::BadHash);
    }
    // The cheap checks come first, so that junk with a valid (unkeyed) hash costs no signature
    // recovery.
    if !(0x01..=0x06).contains(&ptype) {
        return Err(PacketError::UnknownType(ptype));
    }
    // EIP-8: whatever follows the list is padding to ignore, but the list itself must be sound.
    let len = strict::validate_prefix(data)?;
    let list = Rlp::new(data.get(..len).unwrap_or(data));
    if !list.is_list() {
        return Err(PacketError::Malformed("packet-data (not a list)"));
    }
    let packet = match ptype {
        0x01 => Packet::Ping(decode_ping(&list)?),
        0x02 => Packet::Pong(decode_pong(&list)?),
        0x03 => Packet::FindNode(decode_findnode(&list)?),
        0x04 => Packet::Neighbors(decode_neighbors(&list)?),
        0x05 => Packet::EnrRequest(EnrRequest {
            expiration: uint(&field(&list, 0, "expiration")?, "expiration")?,
        }),
        _ => Packet::EnrResponse(decode_enr_response(&list)?),
    };
    let sender = Signature(*sig)
        .recover(&keccak256(signed))
        .map_err(|_| PacketError::BadSignature)?;
    Ok(Decoded {
        packet,
        hash: *hash,
        sender,
        sender_id: sender.node_id(),
    })
}

// The helpers below run only on RLP that `validate_prefix` has accepted, so navigating it with
// `rlp::Rlp` cannot meet a malformed header.

/// Element `index` of `list`, or an error naming the missing field.
fn field<'a>(list: &Rlp<'a>, index: usize, what: &'static str) -> Result<Rlp<'a>, PacketError> {
    list.at(index).map_err(|_| PacketError::Malformed(what))
}

/// The payload of a byte string, or `None` for a list.
fn bytes<'a>(item: &Rlp<'a>) -> Option<&'a [u8]> {
    if item.is_data() {
        item.data().ok()
    } else {
        None
    }
}

/// A canonical unsigned integer of at most eight bytes. Expirations written in four bytes (the
/// 32-bit timestamps of older clients) and in eight both read.
fn uint(item: &Rlp<'_>, what: &'static str) -> Result<u64, PacketError> {
    if !item.is_data() {
        return Err(PacketError::Malformed(what));
    }
    item.as_val::<u64>()
        .map_err(|_| PacketError::Malformed(what))
}

/// Exactly `N` bytes.
fn fixed<const N: usize>(item: &Rlp<'_>, what: &'static str) -> Result<[u8; N], PacketError> {
    bytes(item)
        .and_then(|b| b.try_into().ok())
        .ok_or(PacketError::Malformed(what))
}

/// The EIP-868 `enr-seq` at `index`, if any. Lenient: an element there that is not a canonical
/// 64-bit integer (the EIP-8 vectors put a list there) means "no enr-seq", not a bad packet.
fn enr_seq(list: &Rlp<'_>, index: usize) -> Option<u64> {
    let item = list.at(index).ok()?;
    uint(&item, "enr-seq").ok()
}

/// A 4-byte IPv4 or 16-byte IPv6 address; IPv4-mapped IPv6 reads as IPv4.
fn ip_from(b: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

fn port(item: &Rlp<'_>) -> Result<u16, PacketError> {
    let p = uint(item, "port")?;
    u16::try_from(p).map_err(|_| PacketError::BadEndpoint)
}

fn endpoint(item: &Rlp<'_>) -> Result<Endpoint, PacketError> {
    if !item.is_list() {
        return Err(PacketError::BadEndpoint);
    }
    let ip = bytes(&field(item, 0, "endpoint ip")?).ok_or(PacketError::BadEndpoint)?;
    let ip = match ip.len() {
        0 => None,
        _ => Some(ip_from(ip).ok_or(PacketError::BadEndpoint)?),
    };
    Ok(Endpoint {
        ip,
        udp: port(&field(item, 1, "endpoint udp-port")?)?,
        tcp: port(&field(item, 2, "endpoint tcp-port")?)?,
    })
}

fn decode_ping(list: &Rlp<'_>) -> Result<Ping, PacketError> {
    Ok(Ping {
        version: uint(&field(list, 0, "ping version")?, "ping version")?,
        from: endpoint(&field(list, 1, "ping from")?)?,
        to: endpoint(&field(list, 2, "ping to")?)?,
        expiration: uint(&field(list, 3, "expiration")?, "expiration")?,
        enr_seq: enr_seq(list, 4),
    })
}

fn decode_pong(list: &Rlp<'_>) -> Result<Pong, PacketError> {
    Ok(Pong {
        to: endpoint(&field(list, 0, "pong to")?)?,
        ping_hash: fixed(&field(list, 1, "ping-hash")?, "ping-hash")?,
        expiration: uint(&field(list, 2, "expiration")?, "expiration")?,
        enr_seq: enr_seq(list, 3),
    })
}

fn decode_findnode(list: &Rlp<'_>) -> Result<FindNode, PacketError> {
    Ok(FindNode {
        target: fixed(&field(list, 0, "findnode target")?, "findnode target")?,
        expiration: uint(&field(list, 1, "expiration")?, "expiration")?,
    })
}

/// One Neighbors entry: `Ok(None)` for an entry that is well formed but names no usable node.
fn neighbor(item: &Rlp<'_>) -> Result<Option<Node>, PacketError> {
    if !item.is_list() {
        return Err(PacketError::Malformed("neighbors node"));
    }
    let ip = bytes(&field(item, 0, "node ip")?).ok_or(PacketError::Malformed("node ip"))?;
    let udp = port(&field(item, 1, "node udp-port")?)?;
    let tcp = port(&field(item, 2, "node tcp-port")?)?;
    let key: [u8; 64] = fixed(&field(item, 3, "node-id")?, "node-id")?;
    let (Some(ip), Ok(id)) = (ip_from(ip), PublicKey::from_bytes(&key)) else {
        return Ok(None);
    };
    Ok(Some(Node { ip, udp, tcp, id }))
}

fn decode_neighbors(list: &Rlp<'_>) -> Result<Neighbors, PacketError> {
    let nodes_item = field(list, 0, "neighbors nodes")?;
    if !nodes_item.is_list() {
        return Err(PacketError::Malformed("neighbors nodes"));
    }
    let count = nodes_item.iter().count();
    if count > NEIGHBORS_NODES_MAX {
        return Err(PacketError::TooManyNodes { count });
    }
    let mut nodes = Vec::with_capacity(count);
    for item in nodes_item.iter() {
        if let Some(n) = neighbor(&item)? {
            nodes.push(n);
        }
    }
    Ok(Neighbors {
        nodes,
        expiration: uint(&field(list, 1, "expiration")?, "expiration")?,
    })
}

fn decode_enr_response(list: &Rlp<'_>) -> Result<EnrResponse, PacketError> {
    let request_hash = fixed(&field(list, 0, "request-hash")?, "request-hash")?;
    let record = field(list, 1, "enr record")?;
    let record = Record::decode_verified(record.as_raw()).map_err(PacketError::BadRecord)?;
    Ok(EnrResponse {
        request_hash,
        record,
    })
}

#[cfg(test)]
mod tests;
