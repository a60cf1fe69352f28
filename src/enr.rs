//! Ethereum Node Records: EIP-778 (devp2p `enr.md`), with the "v4" identity scheme and the
//! `eth` entry of devp2p `enr-entries/eth.md` (an EIP-2124 fork id).
//!
//! A record is the RLP list `[signature, seq, k1, v1, k2, v2, ...]`: keys are byte strings in
//! strictly increasing order, values are arbitrary RLP items kept here in their raw encoded form.
//! Under "v4" the signature is the 64-byte `r || s` secp256k1 signature of
//! `keccak256(rlp([seq, k1, v1, ...]))` by the key stored, compressed, under `secp256k1`. The text
//! form is `enr:` followed by the record's RLP in unpadded URL-safe base64.
//!
//! Decoding ([`Record::decode`], [`Record::from_text`]) checks structure only; [`Record::verify`]
//! checks the signature, and [`Record::decode_verified`] does both, which is what any record that
//! arrives from the network needs.

pub mod base64;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use rlp::{Rlp, RlpStream};

use crate::crypto::{NodeId, PublicKey, SecretKey, keccak256};
use crate::enode::{Enode, Host};
use crate::rlp::strict::{self, RlpError};

/// The fork id an ENR `eth` entry carries; defined with the fork schedule it comes from.
pub use crate::chain::forkid::ForkId;
pub use base64::Base64Error;

/// Largest encoded record, in bytes (EIP-778 "RLP Encoding": "The maximum encoded size of a node
/// record is 300 bytes").
pub const ENR_SIZE_MAX: usize = 300;

/// The text form's prefix (EIP-778 "Text Encoding").
pub const ENR_TEXT_PREFIX: &str = "enr:";

/// Longest text form of a record: the prefix plus the unpadded base64 of [`ENR_SIZE_MAX`] bytes
/// (four characters per three bytes, rounded up). Text is refused above this before decoding.
pub const ENR_TEXT_LEN_MAX: usize = ENR_TEXT_PREFIX.len() + (ENR_SIZE_MAX * 4).div_ceil(3);

/// The only identity scheme defined (EIP-778 "v4 Identity Scheme").
pub const ID_SCHEME_V4: &[u8] = b"v4";

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrError {
    /// The encoding is longer than [`ENR_SIZE_MAX`] (or its text than [`ENR_TEXT_LEN_MAX`]).
    TooBig { size: usize },
    /// Text that does not start with `enr:`.
    MissingPrefix,
    /// The text after `enr:` is not unpadded base64url.
    Base64(Base64Error),
    /// The bytes are not one canonical RLP item.
    Rlp(RlpError),
    /// The record is an RLP string rather than a list.
    NotAList,
    /// The list ends before the signature or the sequence number.
    Incomplete,
    /// A key without a value.
    IncompletePair,
    /// The signature is a list.
    BadSignatureField,
    /// The sequence number is not a canonical integer of at most 64 bits.
    BadSeq,
    /// A key that is a list rather than a byte string.
    BadKey,
    /// A key equal to or lower than the one before it.
    KeysNotSorted,
    /// An identity scheme other than "v4", or none.
    UnknownScheme,
    /// No `secp256k1` entry, or one that is not a 33-byte compressed point on the curve.
    BadPublicKey,
    /// The signature does not verify against the record's key.
    InvalidSignature,
}

impl fmt::Display for EnrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnrError::TooBig { size } => {
                write!(f, "record too big ({size} bytes, limit {ENR_SIZE_MAX})")
            }
            EnrError::MissingPrefix => write!(f, "missing '{ENR_TEXT_PREFIX}' prefix"),
            EnrError::Base64(e) => write!(f, "{e}"),
            EnrError::Rlp(RlpError::Empty) => write!(f, "empty record"),
            EnrError::Rlp(e) => write!(f, "malformed record: {e}"),
            EnrError::NotAList => write!(f, "malformed record: not an RLP list"),
            EnrError::Incomplete => write!(f, "incomplete record (missing signature or seq)"),
            EnrError::IncompletePair => write!(f, "incomplete key/value pair"),
            EnrError::BadSignatureField => write!(f, "malformed record: signature is a list"),
            EnrError::BadSeq => write!(f, "malformed record: bad sequence number"),
            EnrError::BadKey => write!(f, "malformed record: key is a list"),
            EnrError::KeysNotSorted => write!(f, "record keys are not sorted and unique"),
            EnrError::UnknownScheme => write!(f, "unknown identity scheme (only v4 is known)"),
            EnrError::BadPublicKey => write!(f, "missing or invalid secp256k1 public key"),
            EnrError::InvalidSignature => write!(f, "invalid signature"),
        }
    }
}

impl std::error::Error for EnrError {}

impl From<RlpError> for EnrError {
    fn from(e: RlpError) -> Self {
        EnrError::Rlp(e)
    }
}

/// A node record. Its fields are private so that a record in hand always satisfies the
/// structural rules (size, sorted unique keys); whether it is signed correctly is
/// [`Record::verify`]'s question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    seq: u64,
    /// Key → raw RLP of the value, in key order.
    pairs: BTreeMap<Vec<u8>, Vec<u8>>,
    signature: Vec<u8>,
}

/// The RLP `[seq, k1, v1, ...]` the signature covers.
fn signed_content(seq: u64, pairs: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<u8> {
    let mut s = RlpStream::new_list(1 + 2 * pairs.len());
    s.append(&seq);
    for (k, v) in pairs {
        s.append(&k.as_slice());
        s.append_raw(v, 1);
    }
    s.out().to_vec()
}

/// The payload of an RLP byte string, or `None` for a list. Only called on validated RLP.
fn bytes_of<'a>(item: &Rlp<'a>) -> Option<&'a [u8]> {
    if item.is_data() {
        item.data().ok()
    } else {
        None
    }
}

impl Record {
    /// Starts a new record for signing with [`Builder::sign`].
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Decodes the RLP form, checking size and structure but not the signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnrError> {
        if bytes.len() > ENR_SIZE_MAX {
            return Err(EnrError::TooBig { size: bytes.len() });
        }
        strict::validate(bytes)?;
        let list = Rlp::new(bytes);
        if !list.is_list() {
            return Err(EnrError::NotAList);
        }
        let mut items = list.iter();
        let (Some(sig), Some(seq)) = (items.next(), items.next()) else {
            return Err(EnrError::Incomplete);
        };
        let signature = bytes_of(&sig).ok_or(EnrError::BadSignatureField)?.to_vec();
        let seq: u64 = seq.as_val().map_err(|_| EnrError::BadSeq)?;
        let mut pairs = BTreeMap::new();
        let mut last: Option<&[u8]> = None;
        while let Some(k) = items.next() {
            let v = items.next().ok_or(EnrError::IncompletePair)?;
            let key = bytes_of(&k).ok_or(EnrError::BadKey)?;
            if last.is_some_and(|prev| prev >= key) {
                return Err(EnrError::KeysNotSorted);
            }
            last = Some(key);
            pairs.insert(key.to_vec(), v.as_raw().to_vec());
        }
        Ok(Record {
            seq,
            pairs,
            signature,
        })
    }

    /// Decodes the RLP form and checks the signature.
    pub fn decode_verified(bytes: &[u8]) -> Result<Self, EnrError> {
        let r = Record::decode(bytes)?;
        r.verify()?;
        Ok(r)
    }

    /// Decodes the text form `enr:<base64url>`, checking structure but not the signature.
    pub fn from_text(text: &str) -> Result<Self, EnrError> {
        if text.len() > ENR_TEXT_LEN_MAX {
            return Err(EnrError::TooBig { size: text.len() });
        }
        let b64 = text
            .strip_prefix(ENR_TEXT_PREFIX)
            .ok_or(EnrError::MissingPrefix)?;
        let bytes = base64::decode(b64).map_err(EnrError::Base64)?;
        Record::decode(&bytes)
    }

    /// The RLP form.
    pub fn to_rlp(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(2 + 2 * self.pairs.len());
        s.append(&self.signature.as_slice());
        s.append(&self.seq);
        for (k, v) in &self.pairs {
            s.append(&k.as_slice());
            s.append_raw(v, 1);
        }
        s.out().to_vec()
    }

    /// The text form `enr:<base64url>`.
    pub fn to_text(&self) -> String {
        format!("{ENR_TEXT_PREFIX}{}", base64::encode(&self.to_rlp()))
    }

    /// The RLP that the signature covers: `[seq, k1, v1, ...]`.
    pub fn signed_content(&self) -> Vec<u8> {
        signed_content(self.seq, &self.pairs)
    }

    /// Checks the signature under the record's identity scheme and returns the signer's key.
    pub fn verify(&self) -> Result<PublicKey, EnrError> {
        if self.id_scheme() != Some(ID_SCHEME_V4) {
            return Err(EnrError::UnknownScheme);
        }
        let key = self.public_key().ok_or(EnrError::BadPublicKey)?;
        let digest = keccak256(&self.signed_content());
        if self.signature.len() == 64 && key.verify_prehash(&digest, &self.signature) {
            Ok(key)
        } else {
            Err(EnrError::InvalidSignature)
        }
    }

    /// The sequence number; a node raises it whenever it changes its record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The signature bytes as stored (64 bytes under "v4" when valid).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The raw RLP of the value under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.pairs.get(key).map(Vec::as_slice)
    }

    /// All entries in key order, values as raw RLP.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// The payload of the byte-string value under `key`.
    fn get_bytes(&self, key: &[u8]) -> Option<&[u8]> {
        bytes_of(&Rlp::new(self.get(key)?))
    }

    /// A canonical 16-bit integer value (a port).
    fn get_u16(&self, key: &[u8]) -> Option<u16> {
        Rlp::new(self.get(key)?).as_val().ok()
    }

    /// The identity scheme name (`id`), e.g. `b"v4"`.
    pub fn id_scheme(&self) -> Option<&[u8]> {
        self.get_bytes(b"id")
    }

    /// The `secp256k1` public key, when present and a valid 33-byte compressed point. Entries of
    /// the wrong shape read as absent here; [`Record::verify`] reports them.
    pub fn public_key(&self) -> Option<PublicKey> {
        let b = self.get_bytes(b"secp256k1").filter(|b| b.len() == 33)?;
        PublicKey::from_sec1(b).ok()
    }

    /// The node id: keccak-256 of the public key.
    pub fn node_id(&self) -> Option<NodeId> {
        self.public_key().map(|k| k.node_id())
    }

    /// The IPv4 address (`ip`, 4 bytes).
    pub fn ip(&self) -> Option<Ipv4Addr> {
        let b: [u8; 4] = self.get_bytes(b"ip")?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// The IPv6 address (`ip6`, 16 bytes).
    pub fn ip6(&self) -> Option<Ipv6Addr> {
        let b: [u8; 16] = self.get_bytes(b"ip6")?.try_into().ok()?;
        Some(Ipv6Addr::from(b))
    }

    /// The IPv4 RLPx port.
    pub fn tcp(&self) -> Option<u16> {
        self.get_u16(b"tcp")
    }

    /// The IPv4 discovery port.
    pub fn udp(&self) -> Option<u16> {
        self.get_u16(b"udp")
    }

    /// The IPv6 RLPx port; EIP-778 says to fall back to `tcp` when absent.
    pub fn tcp6(&self) -> Option<u16> {
        self.get_u16(b"tcp6")
    }

    /// The IPv6 discovery port; EIP-778 says to fall back to `udp` when absent.
    pub fn udp6(&self) -> Option<u16> {
        self.get_u16(b"udp6")
    }

    /// The fork id in the `eth` entry, `[[fork-hash, fork-next], ...]`. Further elements, of the
    /// outer list or of the fork id, are ignored as enr-entries/eth.md asks, for forward
    /// compatibility.
    pub fn eth(&self) -> Option<ForkId> {
        let entry = Rlp::new(self.get(b"eth")?);
        let fork_id = entry.at(0).ok().filter(Rlp::is_list)?;
        let hash: [u8; 4] = bytes_of(&fork_id.at(0).ok()?)?.try_into().ok()?;
        let next: u64 = fork_id.at(1).ok()?.as_val().ok()?;
        Some(ForkId { hash, next })
    }

    /// The enode URL for this record's IPv4 address (or its IPv6 one when it has no IPv4), using
    /// the matching ports. `None` when the record has no valid public key.
    pub fn to_enode(&self) -> Option<Enode> {
        let id = self.public_key()?;
        let (host, tcp, udp) = match (self.ip(), self.ip6()) {
            (Some(ip), _) => (Host::Ip(IpAddr::V4(ip)), self.tcp(), self.udp()),
            (None, Some(ip6)) => (
                Host::Ip(IpAddr::V6(ip6)),
                self.tcp6().or(self.tcp()),
                self.udp6().or(self.udp()),
            ),
            (None, None) => (Host::Unknown, None, None),
        };
        Some(Enode {
            id,
            host,
            tcp: tcp.unwrap_or(0),
            udp: udp.unwrap_or(0),
        })
    }
}

impl FromStr for Record {
    type Err = EnrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Record::from_text(s)
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Collects the entries of our own record, then signs it under "v4".
#[derive(Debug, Clone, Default)]
pub struct Builder {
    seq: u64,
    pairs: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Builder {
    /// Starts from an existing record's sequence number and entries, to change some and sign
    /// again (remember to raise the sequence number).
    pub fn from_record(r: &Record) -> Self {
        Builder {
            seq: r.seq,
            pairs: r.pairs.clone(),
        }
    }

    /// Sets the sequence number.
    pub fn seq(mut self, seq: u64) -> Self {
        self.seq = seq;
        self
    }

    /// Sets `key` to an already RLP-encoded value. The caller vouches that `rlp_value` is exactly
    /// one RLP item; [`Builder::sign`] checks it.
    pub fn raw(mut self, key: &[u8], rlp_value: Vec<u8>) -> Self {
        self.pairs.insert(key.to_vec(), rlp_value);
        self
    }

    fn bytes(self, key: &[u8], value: &[u8]) -> Self {
        self.raw(key, rlp::encode(&value).to_vec())
    }

    fn uint(self, key: &[u8], value: u64) -> Self {
        self.raw(key, rlp::encode(&value).to_vec())
    }

    /// Sets `ip` (IPv4) or `ip6` (IPv6), by the address's family.
    pub fn ip(self, ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => self.bytes(b"ip", &v4.octets()),
            IpAddr::V6(v6) => self.bytes(b"ip6", &v6.octets()),
        }
    }

    /// Sets the IPv4 RLPx port.
    pub fn tcp(self, port: u16) -> Self {
        self.uint(b"tcp", port.into())
    }

    /// Sets the IPv4 discovery port.
    pub fn udp(self, port: u16) -> Self {
        self.uint(b"udp", port.into())
    }

    /// Sets the IPv6 RLPx port.
    pub fn tcp6(self, port: u16) -> Self {
        self.uint(b"tcp6", port.into())
    }

    /// Sets the IPv6 discovery port.
    pub fn udp6(self, port: u16) -> Self {
        self.uint(b"udp6", port.into())
    }

    /// Sets the `eth` entry to `[[fork-hash, fork-next]]`.
    pub fn eth(self, fork_id: ForkId) -> Self {
        let mut s = RlpStream::new_list(1);
        s.begin_list(2);
        s.append(&fork_id.hash.as_slice());
        s.append(&fork_id.next);
        self.raw(b"eth", s.out().to_vec())
    }

    /// Adds `id = "v4"` and the key's `secp256k1` entry, and signs. Fails when a raw value is not
    /// one canonical RLP item, or the record would exceed [`ENR_SIZE_MAX`].
    pub fn sign(self, key: &SecretKey) -> Result<Record, EnrError> {
        for v in self.pairs.values() {
            strict::validate(v)?;
        }
        let this = self
            .bytes(b"id", ID_SCHEME_V4)
            .bytes(b"secp256k1", &key.public_key().to_compressed());
        let digest = keccak256(&signed_content(this.seq, &this.pairs));
        let sig = key.sign_prehash(&digest);
        let record = Record {
            seq: this.seq,
            pairs: this.pairs,
            signature: sig.0[..64].to_vec(),
        };
        let size = record.to_rlp().len();
        if size > ENR_SIZE_MAX {
            return Err(EnrError::TooBig { size });
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_bytes(&[0x42; 32]).unwrap()
    }

    #[test]
    fn built_record_verifies_and_round_trips() {
        let fork = ForkId {
            hash: [0xfe, 0x33, 0x66, 0xe7],
            next: 1_700_000_000,
        };
        let r = Record::builder()
            .seq(5)
            .ip("10.1.2.3".parse().unwrap())
            .ip("::1".parse().unwrap())
            .tcp(30303)
            .udp(30301)
            .udp6(30302)
            .eth(fork)
            .sign(&key())
            .unwrap();
        assert_eq!(r.verify(), Ok(key().public_key()));
        assert_eq!(r.node_id(), Some(key().public_key().node_id()));
        assert_eq!(r.ip(), Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(r.ip6(), Some(Ipv6Addr::LOCALHOST));
        assert_eq!(
            (r.tcp(), r.udp(), r.tcp6(), r.udp6()),
            (Some(30303), Some(30301), None, Some(30302))
        );
        assert_eq!(r.eth(), Some(fork));
        let back = Record::decode_verified(&r.to_rlp()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.to_text().parse::<Record>().unwrap(), r);
    }

    #[test]
    fn a_changed_entry_breaks_the_signature() {
        let r = Record::builder().seq(1).udp(1).sign(&key()).unwrap();
        let mut tampered = r.clone();
        tampered.seq = 2;
        assert_eq!(tampered.verify(), Err(EnrError::InvalidSignature));
        let resigned = Builder::from_record(&r).seq(2).udp(2).sign(&key()).unwrap();
        assert_eq!(resigned.verify(), Ok(key().public_key()));
        assert_eq!(resigned.udp(), Some(2));
    }

    #[test]
    fn oversized_records_are_refused() {
        let big = Record::builder()
            .raw(b"zzz", rlp::encode(&vec![7u8; 200]).to_vec())
            .sign(&key());
        assert!(matches!(big, Err(EnrError::TooBig { .. })), "{big:?}");
        let mut bytes = vec![0xf9, 0x01, 0x2d];
        bytes.extend([0x80; 301]);
        assert_eq!(Record::decode(&bytes), Err(EnrError::TooBig { size: 304 }));
        let text = format!("enr:{}", "A".repeat(ENR_TEXT_LEN_MAX));
        assert!(matches!(
            Record::from_text(&text),
            Err(EnrError::TooBig { .. })
        ));
    }

    #[test]
    fn unsorted_or_duplicate_keys_are_refused() {
        // [sig, seq, "b", 1, "a", 2] and [sig, seq, "a", 1, "a", 2]
        for bad in [
            &[0xc6, 0x80, 0x01, 0x62, 0x01, 0x61, 0x02][..],
            &[0xc6, 0x80, 0x01, 0x61, 0x01, 0x61, 0x02],
        ] {
            assert_eq!(
                Record::decode(bad),
                Err(EnrError::KeysNotSorted),
                "{bad:02x?}"
            );
        }
    }

    #[test]
    fn malformed_fields_are_refused() {
        assert_eq!(Record::decode(&[0x80]), Err(EnrError::NotAList));
        assert_eq!(
            Record::decode(&[0xc2, 0xc0, 0x01]),
            Err(EnrError::BadSignatureField)
        );
        assert_eq!(
            Record::decode(&[0xc4, 0x80, 0x82, 0x00, 0x01]),
            Err(EnrError::BadSeq)
        );
        let nine_byte_seq = [0xcb, 0x80, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(Record::decode(&nine_byte_seq), Err(EnrError::BadSeq));
        assert_eq!(
            Record::decode(&[0xc4, 0x80, 0x01, 0xc0, 0x01]),
            Err(EnrError::BadKey)
        );
        assert!(matches!(
            Record::decode(&[0xc2, 0x80, 0x81, 0x01]),
            Err(EnrError::Rlp(_))
        ));
        assert_eq!(Record::from_text("enx:AA"), Err(EnrError::MissingPrefix));
    }

    #[test]
    fn unknown_scheme_and_missing_key_do_not_verify() {
        let r = Record::decode(&[0xc2, 0x80, 0x01]).unwrap();
        assert_eq!(r.verify(), Err(EnrError::UnknownScheme));
        // [sig, 1, "id", "v4"]
        let r = Record::decode(&[0xc8, 0x80, 0x01, 0x82, b'i', b'd', 0x82, b'v', b'4']).unwrap();
        assert_eq!(r.verify(), Err(EnrError::BadPublicKey));
    }
}
