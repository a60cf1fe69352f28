//! The discovery v5 packet codec (devp2p `discv5-wire.md` "Packet Encoding"): the masked header
//! and its three kinds of `authdata` (ordinary message, WHOAREYOU, handshake).
//!
//! `packet = masking-iv || masked-header || message`, where the header is
//! `"discv5" || version || flag || nonce || authdata-size || authdata`, masked with AES-128-CTR
//! keyed by the first 16 bytes of the destination's node id. The message is sealed with
//! AES-128-GCM by the session layer; this module only carries it.
//!
//! Decoding checks sizes first (63 to 1280 bytes), unmasks the 23-byte static header, checks the
//! protocol id and version, and only then unmasks an `authdata` whose size it has bounded by the
//! datagram. Nothing here allocates more than the datagram's size.

use std::fmt;

use aes::cipher::{KeyIvInit, StreamCipher};

use super::crypto::{self, EPHEMERAL_KEY_SIZE, ID_SIGNATURE_SIZE, Key, Nonce, TAG_SIZE};
use crate::crypto::NodeId;
use crate::enr::ENR_SIZE_MAX;

/// Largest datagram sent or read (discv5-wire.md "UDP Communication": 1280 bytes).
pub const PACKET_SIZE_MAX: usize = 1280;
/// Smallest datagram read (discv5-wire.md: 63 bytes, the size of a WHOAREYOU).
pub const PACKET_SIZE_MIN: usize = 63;
/// Bytes of the masking IV that opens every packet.
pub const MASKING_IV_SIZE: usize = 16;
/// Bytes of the static header: protocol id (6), version (2), flag (1), nonce (12), size (2).
pub const STATIC_HEADER_SIZE: usize = 23;
/// The protocol id every header starts with.
pub const PROTOCOL_ID: &[u8; 6] = b"discv5";
/// The protocol version of v5.1.
pub const VERSION: u16 = 1;

/// `authdata` size of an ordinary message packet: the source node id.
const MESSAGE_AUTHDATA_SIZE: usize = 32;
/// `authdata` size of a WHOAREYOU: id-nonce (16) and enr-seq (8).
const WHOAREYOU_AUTHDATA_SIZE: usize = 24;
/// The fixed part of a handshake's `authdata`: src-id, sig-size, eph-key-size.
const HANDSHAKE_AUTHDATA_HEAD_SIZE: usize = 34;

/// The `flag` of an ordinary message packet.
pub const FLAG_MESSAGE: u8 = 0;
/// The `flag` of a WHOAREYOU packet.
pub const FLAG_WHOAREYOU: u8 = 1;
/// The `flag` of a handshake message packet.
pub const FLAG_HANDSHAKE: u8 = 2;

/// The masking IV of a packet.
pub type MaskingIv = [u8; MASKING_IV_SIZE];

/// Why a datagram is not a discv5 packet, or a packet could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketError {
    /// Over [`PACKET_SIZE_MAX`] bytes (received, or as it would be sent).
    TooLarge { size: usize },
    /// Under [`PACKET_SIZE_MIN`] bytes.
    TooSmall { size: usize },
    /// The unmasked header does not start with "discv5" (not for us, or not discv5 at all).
    BadProtocolId,
    /// A protocol version other than 1.
    BadVersion(u16),
    /// A flag other than 0, 1 or 2.
    UnknownFlag(u8),
    /// `authdata-size` does not fit the flag or runs past the datagram.
    BadAuthDataSize(usize),
    /// A handshake whose signature or key sizes are not the "v4" scheme's (64 and 33).
    UnsupportedIdentityScheme { sig_size: u8, key_size: u8 },
    /// A handshake record over the ENR size limit.
    RecordTooLarge(usize),
    /// A WHOAREYOU followed by a message, or a message too short to hold a GCM tag.
    BadMessageSize(usize),
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
            PacketError::TooSmall { size } => {
                write!(
                    f,
                    "packet too small ({size} bytes, minimum {PACKET_SIZE_MIN})"
                )
            }
            PacketError::BadProtocolId => write!(f, "not a discv5 header"),
            PacketError::BadVersion(v) => write!(f, "unsupported discv5 version {v}"),
            PacketError::UnknownFlag(x) => write!(f, "unknown packet flag {x}"),
            PacketError::BadAuthDataSize(n) => write!(f, "bad authdata size {n}"),
            PacketError::UnsupportedIdentityScheme { sig_size, key_size } => write!(
                f,
                "unsupported identity scheme (signature {sig_size} bytes, key {key_size} bytes)"
            ),
            PacketError::RecordTooLarge(n) => {
                write!(f, "handshake record of {n} bytes, limit {ENR_SIZE_MAX}")
            }
            PacketError::BadMessageSize(n) => write!(f, "bad message size {n}"),
        }
    }
}

impl std::error::Error for PacketError {}

/// The `authdata` of a WHOAREYOU: the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhoAreYou {
    /// Random bytes the handshake's id signature covers.
    pub id_nonce: [u8; 16],
    /// The sequence number of the requester's record we hold; 0 when we hold none.
    pub enr_seq: u64,
}

/// The `authdata` of a handshake message packet ("v4" identity scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The initiator's node id.
    pub src_id: NodeId,
    /// Its id-nonce signature, `r || s`.
    pub id_signature: [u8; ID_SIGNATURE_SIZE],
    /// Its ephemeral public key, compressed.
    pub ephemeral_key: [u8; EPHEMERAL_KEY_SIZE],
    /// Its ENR in RLP, when the challenge's `enr_seq` was older than its own (not yet verified).
    pub record: Option<Vec<u8>>,
}

/// The three kinds of packet, by their `authdata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthData {
    /// An ordinary message packet (flag 0): the sender's node id.
    Message { src_id: NodeId },
    /// A WHOAREYOU (flag 1).
    WhoAreYou(WhoAreYou),
    /// A handshake message packet (flag 2).
    Handshake(Handshake),
}

impl AuthData {
    /// The packet flag for this kind.
    pub fn flag(&self) -> u8 {
        match self {
            AuthData::Message { .. } => FLAG_MESSAGE,
            AuthData::WhoAreYou(_) => FLAG_WHOAREYOU,
            AuthData::Handshake(_) => FLAG_HANDSHAKE,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            AuthData::Message { src_id } => out.extend_from_slice(&src_id.0),
            AuthData::WhoAreYou(w) => {
                out.extend_from_slice(&w.id_nonce);
                out.extend_from_slice(&w.enr_seq.to_be_bytes());
            }
            AuthData::Handshake(h) => {
                out.extend_from_slice(&h.src_id.0);
                out.push(ID_SIGNATURE_SIZE as u8);
                out.push(EPHEMERAL_KEY_SIZE as u8);
                out.extend_from_slice(&h.id_signature);
                out.extend_from_slice(&h.ephemeral_key);
                if let Some(r) = &h.record {
                    out.extend_from_slice(r);
                }
            }
        }
    }
}

/// A packet header: the nonce and the `authdata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The message nonce (for a WHOAREYOU: the nonce of the packet it answers).
    pub nonce: Nonce,
    /// The kind-specific part.
    pub auth: AuthData,
}

impl Header {
    /// The unmasked header: static header then `authdata`.
    pub fn encode(&self) -> Vec<u8> {
        let mut auth = Vec::with_capacity(HANDSHAKE_AUTHDATA_HEAD_SIZE + 97 + ENR_SIZE_MAX);
        self.auth.encode(&mut auth);
        let mut out = Vec::with_capacity(STATIC_HEADER_SIZE + auth.len());
        out.extend_from_slice(PROTOCOL_ID);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.push(self.auth.flag());
        out.extend_from_slice(&self.nonce);
        // A record is ≤ 300 bytes, so authdata always fits 16 bits.
        out.extend_from_slice(&(auth.len() as u16).to_be_bytes());
        out.extend_from_slice(&auth);
        out
    }
}

/// `masking-iv || header`: the GCM associated data of a message, and for a WHOAREYOU the
/// `challenge-data` the handshake's keys and signature are bound to.
pub fn authenticated_data(masking_iv: &MaskingIv, header: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(MASKING_IV_SIZE + header.len());
    ad.extend_from_slice(masking_iv);
    ad.extend_from_slice(header);
    ad
}

/// Builds a packet for `dest`: the header masked under `masking_iv`, followed by `plaintext`
/// sealed under `key` (nothing for a WHOAREYOU: pass `None`). Refuses a packet over
/// [`PACKET_SIZE_MAX`].
pub fn encode(
    dest: &NodeId,
    masking_iv: &MaskingIv,
    header: &Header,
    message: Option<(&Key, &[u8])>,
) -> Result<Vec<u8>, PacketError> {
    let head = header.encode();
    let sealed = match message {
        Some((key, pt)) => {
            let ad = authenticated_data(masking_iv, &head);
            crypto::encrypt(key, &header.nonce, pt, &ad)
        }
        None => Vec::new(),
    };
    encode_sealed(dest, masking_iv, head, &sealed)
}

/// Builds a packet whose message is already sealed (or random bytes, for the ordinary packet
/// that opens a handshake).
pub fn encode_sealed(
    dest: &NodeId,
    masking_iv: &MaskingIv,
    mut head: Vec<u8>,
    sealed: &[u8],
) -> Result<Vec<u8>, PacketError> {
    let size = MASKING_IV_SIZE + head.len() + sealed.len();
    if size > PACKET_SIZE_MAX {
        return Err(PacketError::TooLarge { size });
    }
    crypto::mask(dest, masking_iv, &mut head);
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(masking_iv);
    out.extend_from_slice(&head);
    out.extend_from_slice(sealed);
    Ok(out)
}

/// A datagram read: the header unmasked and parsed, the message still sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The packet's masking IV.
    pub masking_iv: MaskingIv,
    /// The parsed header.
    pub header: Header,
    /// The unmasked header bytes, as the associated data and challenge-data need them.
    pub header_bytes: Vec<u8>,
    /// The sealed message (empty for a WHOAREYOU).
    pub message: Vec<u8>,
}

impl Decoded {
    /// `masking-iv || header` of this packet.
    pub fn authenticated_data(&self) -> Vec<u8> {
        authenticated_data(&self.masking_iv, &self.header_bytes)
    }
}

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Reads a datagram addressed to `local` (our node id: the masking key).
pub fn decode(local: &NodeId, datagram: &[u8]) -> Result<Decoded, PacketError> {
    let size = datagram.len();
    if size > PACKET_SIZE_MAX {
        return Err(PacketError::TooLarge { size });
    }
    if size < PACKET_SIZE_MIN {
        return Err(PacketError::TooSmall { size });
    }
    let mut masking_iv = [0u8; MASKING_IV_SIZE];
    masking_iv.copy_from_slice(&datagram[..MASKING_IV_SIZE]);
    let mut key = [0u8; 16];
    key.copy_from_slice(&local.0[..16]);
    let mut cipher = Aes128Ctr::new(&key.into(), &masking_iv.into());

    let rest = &datagram[MASKING_IV_SIZE..];
    let mut header = rest[..STATIC_HEADER_SIZE].to_vec();
    cipher.apply_keystream(&mut header);
    if &header[..6] != PROTOCOL_ID {
        return Err(PacketError::BadProtocolId);
    }
    let version = u16::from_be_bytes([header[6], header[7]]);
    if version != VERSION {
        return Err(PacketError::BadVersion(version));
    }
    let flag = header[8];
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&header[9..21]);
    let auth_size = usize::from(u16::from_be_bytes([header[21], header[22]]));
    let after_static = &rest[STATIC_HEADER_SIZE..];
    if auth_size > after_static.len() {
        return Err(PacketError::BadAuthDataSize(auth_size));
    }
    let mut auth = after_static[..auth_size].to_vec();
    cipher.apply_keystream(&mut auth);
    let message = &after_static[auth_size..];

    let auth_data = match flag {
        FLAG_MESSAGE => {
            if auth_size != MESSAGE_AUTHDATA_SIZE {
                return Err(PacketError::BadAuthDataSize(auth_size));
            }
            if message.len() < TAG_SIZE {
                return Err(PacketError::BadMessageSize(message.len()));
            }
            AuthData::Message {
                src_id: NodeId(auth[..32].try_into().expect("32 bytes checked")),
            }
        }
        FLAG_WHOAREYOU => {
            if auth_size != WHOAREYOU_AUTHDATA_SIZE {
                return Err(PacketError::BadAuthDataSize(auth_size));
            }
            if !message.is_empty() {
                return Err(PacketError::BadMessageSize(message.len()));
            }
            AuthData::WhoAreYou(WhoAreYou {
                id_nonce: auth[..16].try_into().expect("16 bytes checked"),
                enr_seq: u64::from_be_bytes(auth[16..24].try_into().expect("8 bytes checked")),
            })
        }
        FLAG_HANDSHAKE => {
            if message.len() < TAG_SIZE {
                return Err(PacketError::BadMessageSize(message.len()));
            }
            AuthData::Handshake(decode_handshake(&auth)?)
        }
        other => return Err(PacketError::UnknownFlag(other)),
    };
    header.extend_from_slice(&auth);
    Ok(Decoded {
        masking_iv,
        header: Header {
            nonce,
            auth: auth_data,
        },
        header_bytes: header,
        message: message.to_vec(),
    })
}

fn decode_handshake(auth: &[u8]) -> Result<Handshake, PacketError> {
    if auth.len() < HANDSHAKE_AUTHDATA_HEAD_SIZE {
        return Err(PacketError::BadAuthDataSize(auth.len()));
    }
    let (sig_size, key_size) = (auth[32], auth[33]);
    if usize::from(sig_size) != ID_SIGNATURE_SIZE || usize::from(key_size) != EPHEMERAL_KEY_SIZE {
        return Err(PacketError::UnsupportedIdentityScheme { sig_size, key_size });
    }
    let fixed = HANDSHAKE_AUTHDATA_HEAD_SIZE + ID_SIGNATURE_SIZE + EPHEMERAL_KEY_SIZE;
    if auth.len() < fixed {
        return Err(PacketError::BadAuthDataSize(auth.len()));
    }
    let sig_at = HANDSHAKE_AUTHDATA_HEAD_SIZE;
    let key_at = sig_at + ID_SIGNATURE_SIZE;
    let record = &auth[fixed..];
    if record.len() > ENR_SIZE_MAX {
        return Err(PacketError::RecordTooLarge(record.len()));
    }
    Ok(Handshake {
        src_id: NodeId(auth[..32].try_into().expect("32 bytes checked")),
        id_signature: auth[sig_at..key_at].try_into().expect("64 bytes checked"),
        ephemeral_key: auth[key_at..fixed].try_into().expect("33 bytes checked"),
        record: (!record.is_empty()).then(|| record.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(b: u8) -> NodeId {
        NodeId([b; 32])
    }

    #[test]
    fn whoareyou_round_trips_and_is_the_minimum_size() {
        let h = Header {
            nonce: [7; 12],
            auth: AuthData::WhoAreYou(WhoAreYou {
                id_nonce: [9; 16],
                enr_seq: 5,
            }),
        };
        let p = encode(&id(1), &[3; 16], &h, None).unwrap();
        assert_eq!(p.len(), PACKET_SIZE_MIN);
        let d = decode(&id(1), &p).unwrap();
        assert_eq!(d.header, h);
        // Masked with someone else's id, the protocol id does not come out.
        assert_eq!(decode(&id(2), &p), Err(PacketError::BadProtocolId));
    }

    #[test]
    fn oversized_messages_are_refused_on_both_sides() {
        let h = Header {
            nonce: [0; 12],
            auth: AuthData::Message { src_id: id(4) },
        };
        let pt = vec![0u8; PACKET_SIZE_MAX];
        assert!(matches!(
            encode(&id(1), &[0; 16], &h, Some((&[0; 16], &pt))),
            Err(PacketError::TooLarge { .. })
        ));
        let big = vec![0u8; PACKET_SIZE_MAX + 1];
        assert!(matches!(
            decode(&id(1), &big),
            Err(PacketError::TooLarge { .. })
        ));
    }
}
