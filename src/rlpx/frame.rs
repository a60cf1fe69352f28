//! The RLPx frame codec (devp2p rlpx.md "Framing" and "MAC").
//!
//! After the handshake every message travels in one frame:
//!
//! ```text
//! frame  = header-ciphertext (16) || header-mac (16) || frame-ciphertext || frame-mac (16)
//! header = frame-size (3, big-endian) || header-data (RLP list, we write c2 80 80) || zero-padding
//! frame-data = rlp(msg-id) || msg-data, zero-padded to a multiple of 16
//! ```
//!
//! Both directions encrypt with AES-256-CTR keyed with the whole 32-byte aes-secret and a zero IV;
//! each direction runs one continuous keystream across frames. The MACs are running keccak-256
//! states (seeded by [`Secrets`]) mixed with AES-256 of single blocks keyed with the mac-secret.
//! A digest is always read from a copy, so the running state is never reset.
//!
//! The codec is sans-IO and works in caller-owned buffers: [`FrameCodec::seal`] appends a whole
//! frame to a `Vec`, [`FrameCodec::open_header`] takes the first [`HEADER_LEN`] bytes of a frame
//! and says how many more to read, and [`FrameCodec::open_body`] decrypts those in place. The
//! codec splits into an [`Egress`] and an [`Ingress`] half so a writer and a reader can run apart.
//!
//! Snappy compression is the caller's business: the payload handed to `seal` and returned by
//! `open_body` is whatever goes on the wire after `rlp(msg-id)`.

use std::fmt;

use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, KeyInit, KeyIvInit, StreamCipher};
use sha3::{Digest, Keccak256};

use super::Secrets;

/// The largest frame-size a header can carry: the field is 3 bytes (rlpx.md "Framing").
pub const FRAME_SIZE_MAX: usize = (1 << 24) - 1;

/// Bytes of a frame before its body: the 16-byte encrypted header and its 16-byte MAC.
pub const HEADER_LEN: usize = 32;

/// Bytes of a header-mac or frame-mac (the first half of a keccak-256 digest).
pub const MAC_LEN: usize = 16;

/// The AES block size, which is also the frame padding unit (rlpx.md "Framing").
const BLOCK_LEN: usize = 16;

/// The header-data we write: the RLP list `[capability-id, context-id]` = `[0, 0]`, which every
/// implementation sends and every implementation ignores.
const HEADER_DATA: [u8; 3] = [0xc2, 0x80, 0x80];

/// The longest `rlp(msg-id)`: one prefix byte and up to eight bytes of a `u64`.
const MSG_ID_RLP_LEN_MAX: usize = 9;

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// A running MAC state: keccak-256 in production; tests may plug in other hashes (go-ethereum's
/// frame vector uses a fake whose digest is constant).
pub trait MacState: Clone {
    /// Absorbs `data` into the running state.
    fn update(&mut self, data: &[u8]);
    /// The digest of everything absorbed so far, leaving the running state untouched.
    fn digest(&self) -> [u8; 32];
}

impl MacState for Keccak256 {
    fn update(&mut self, data: &[u8]) {
        Digest::update(self, data);
    }

    fn digest(&self) -> [u8; 32] {
        self.clone().finalize().into()
    }
}

/// Why a frame could not be sealed or opened. Any open error means the stream is broken: the
/// cipher and MAC states are no longer in step with the peer, so the connection must be dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The header MAC did not verify.
    HeaderMac,
    /// The frame MAC did not verify.
    FrameMac,
    /// The header announces a frame larger than the configured limit.
    TooLarge { size: usize, max: usize },
    /// The header announces an empty frame, which cannot even hold a msg-id.
    Empty,
    /// The header-data is not an RLP list inside the header.
    BadHeaderData,
    /// The frame data does not start with a valid RLP-encoded msg-id.
    BadMsgId,
    /// `open_body` got a buffer of the wrong length, or was called without a header.
    BodyLength { expected: usize, got: usize },
    /// The AES-CTR keystream ran out (2^128 blocks: cannot happen in practice).
    KeystreamExhausted,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::HeaderMac => write!(f, "RLPx header MAC mismatch"),
            FrameError::FrameMac => write!(f, "RLPx frame MAC mismatch"),
            FrameError::TooLarge { size, max } => {
                write!(f, "RLPx frame of {size} bytes exceeds the limit of {max}")
            }
            FrameError::Empty => write!(f, "RLPx frame of size 0 has no msg-id"),
            FrameError::BadHeaderData => write!(f, "RLPx header-data is not an RLP list"),
            FrameError::BadMsgId => write!(f, "RLPx frame does not start with an RLP msg-id"),
            FrameError::BodyLength { expected, got } => {
                write!(f, "RLPx frame body of {got} bytes, expected {expected}")
            }
            FrameError::KeystreamExhausted => write!(f, "AES-CTR keystream exhausted"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Rounds a frame-size up to the padding unit.
fn padded(size: usize) -> usize {
    size.div_ceil(BLOCK_LEN) * BLOCK_LEN
}

/// AES-256 of one block keyed with the mac-secret: the "ECB" step of the RLPx MAC.
fn mac_block(cipher: &Aes256, input: &[u8; 16]) -> [u8; 16] {
    let mut block = aes::Block::from(*input);
    cipher.encrypt_block(&mut block);
    block.into()
}

fn first16(digest: &[u8; 32]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// header-mac: seed = AES(mac, digest[:16]) XOR header-ciphertext; update(seed); digest[:16].
fn header_mac<M: MacState>(state: &mut M, cipher: &Aes256, header_ct: &[u8; 16]) -> [u8; 16] {
    let mut seed = mac_block(cipher, &first16(&state.digest()));
    for (s, c) in seed.iter_mut().zip(header_ct) {
        *s ^= c;
    }
    state.update(&seed);
    first16(&state.digest())
}

/// frame-mac: update(frame-ciphertext); d = digest[:16]; update(AES(mac, d) XOR d); digest[:16].
fn frame_mac<M: MacState>(state: &mut M, cipher: &Aes256, frame_ct: &[u8]) -> [u8; 16] {
    state.update(frame_ct);
    let d = first16(&state.digest());
    let mut seed = mac_block(cipher, &d);
    for (s, x) in seed.iter_mut().zip(&d) {
        *s ^= x;
    }
    state.update(&seed);
    first16(&state.digest())
}

/// Compares two MACs without an early exit, so timing does not reveal how many bytes matched.
fn mac_eq(a: &[u8; 16], b: &[u8]) -> bool {
    if b.len() != MAC_LEN {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn new_ctr(aes: &[u8; 32]) -> Aes256Ctr {
    Aes256Ctr::new(&(*aes).into(), &[0u8; 16].into())
}

/// The sending half: one keystream and the egress MAC state.
pub struct Egress<M: MacState = Keccak256> {
    cipher: Aes256Ctr,
    mac_cipher: Aes256,
    mac: M,
}

/// The receiving half: one keystream, the ingress MAC state, and the size of the frame whose
/// header was opened last (until its body is opened).
pub struct Ingress<M: MacState = Keccak256> {
    cipher: Aes256Ctr,
    mac_cipher: Aes256,
    mac: M,
    frame_size_max: usize,
    pending: Option<usize>,
}

/// Both halves of an RLPx session's framing.
pub struct FrameCodec<M: MacState = Keccak256> {
    egress: Egress<M>,
    ingress: Ingress<M>,
}

impl FrameCodec<Keccak256> {
    /// Builds the codec from the secrets the handshake derived.
    pub fn new(secrets: Secrets) -> Self {
        Self::with_mac_states(
            &secrets.aes,
            &secrets.mac,
            secrets.egress_mac,
            secrets.ingress_mac,
        )
    }
}

impl<M: MacState> FrameCodec<M> {
    /// Builds the codec from raw keys and already-seeded MAC states.
    pub fn with_mac_states(aes: &[u8; 32], mac: &[u8; 32], egress_mac: M, ingress_mac: M) -> Self {
        let mac_cipher = Aes256::new(&(*mac).into());
        FrameCodec {
            egress: Egress {
                cipher: new_ctr(aes),
                mac_cipher: mac_cipher.clone(),
                mac: egress_mac,
            },
            ingress: Ingress {
                cipher: new_ctr(aes),
                mac_cipher,
                mac: ingress_mac,
                frame_size_max: FRAME_SIZE_MAX,
                pending: None,
            },
        }
    }

    /// Lowers the largest frame-size `open_header` accepts (never above [`FRAME_SIZE_MAX`]).
    pub fn set_frame_size_max(&mut self, max: usize) {
        self.ingress.set_frame_size_max(max);
    }

    /// Appends one whole frame carrying `msg_id` and `payload` to `out`. See [`Egress::seal`].
    pub fn seal(
        &mut self,
        msg_id: u64,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), FrameError> {
        self.egress.seal(msg_id, payload, out)
    }

    /// Verifies and decrypts a header. See [`Ingress::open_header`].
    pub fn open_header(&mut self, header: &mut [u8; HEADER_LEN]) -> Result<usize, FrameError> {
        self.ingress.open_header(header)
    }

    /// Verifies and decrypts a body. See [`Ingress::open_body`].
    pub fn open_body<'a>(&mut self, body: &'a mut [u8]) -> Result<(u64, &'a [u8]), FrameError> {
        self.ingress.open_body(body)
    }

    /// Splits the codec into its sending and receiving halves.
    pub fn split(self) -> (Egress<M>, Ingress<M>) {
        (self.egress, self.ingress)
    }
}

impl<M: MacState> Egress<M> {
    /// Appends one whole frame carrying `msg_id` and `payload` (already compressed if snappy is
    /// on) to `out`. The frame is built and encrypted in place in `out`; nothing else allocates.
    pub fn seal(
        &mut self,
        msg_id: u64,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), FrameError> {
        let mut id_rlp = [0u8; MSG_ID_RLP_LEN_MAX];
        let id_len = encode_msg_id(msg_id, &mut id_rlp);
        let size = id_len + payload.len();
        if size > FRAME_SIZE_MAX {
            return Err(FrameError::TooLarge {
                size,
                max: FRAME_SIZE_MAX,
            });
        }
        let body_len = padded(size);
        let start = out.len();
        out.reserve(HEADER_LEN + body_len + MAC_LEN);

        // Header: size, header-data, zero padding; encrypted, then its MAC.
        let mut header = [0u8; BLOCK_LEN];
        header[..3].copy_from_slice(&(size as u32).to_be_bytes()[1..]);
        header[3..6].copy_from_slice(&HEADER_DATA);
        self.cipher
            .try_apply_keystream(&mut header)
            .map_err(|_| FrameError::KeystreamExhausted)?;
        let hmac = header_mac(&mut self.mac, &self.mac_cipher, &header);
        out.extend_from_slice(&header);
        out.extend_from_slice(&hmac);

        // Body: msg-id, payload, zero padding; encrypted in place, then its MAC.
        let body_start = out.len();
        out.extend_from_slice(&id_rlp[..id_len]);
        out.extend_from_slice(payload);
        out.resize(body_start + body_len, 0);
        let body = &mut out[body_start..];
        if self.cipher.try_apply_keystream(body).is_err() {
            out.truncate(start);
            return Err(FrameError::KeystreamExhausted);
        }
        let fmac = frame_mac(&mut self.mac, &self.mac_cipher, body);
        out.extend_from_slice(&fmac);
        Ok(())
    }
}

impl<M: MacState> Ingress<M> {
    /// Lowers the largest frame-size `open_header` accepts (never above [`FRAME_SIZE_MAX`]).
    pub fn set_frame_size_max(&mut self, max: usize) {
        self.frame_size_max = max.min(FRAME_SIZE_MAX);
    }

    /// Verifies the header MAC, decrypts the header in place and returns how many bytes the
    /// caller must read next for the body (padded frame data plus the frame MAC). A size over the
    /// limit is refused here, before the caller allocates anything for the body.
    pub fn open_header(&mut self, header: &mut [u8; HEADER_LEN]) -> Result<usize, FrameError> {
        let (ct, mac) = header.split_at_mut(BLOCK_LEN);
        let mut ct_block = [0u8; BLOCK_LEN];
        ct_block.copy_from_slice(ct);
        let expected = header_mac(&mut self.mac, &self.mac_cipher, &ct_block);
        if !mac_eq(&expected, mac) {
            return Err(FrameError::HeaderMac);
        }
        self.cipher
            .try_apply_keystream(ct)
            .map_err(|_| FrameError::KeystreamExhausted)?;
        let size = u32::from_be_bytes([0, ct[0], ct[1], ct[2]]) as usize;
        // header-data must be an RLP list that fits in the header; its content is ignored
        // (it once carried capability-id and context-id, which nobody uses).
        let data = &ct[3..];
        match crate::rlp::strict::item_len(data) {
            Ok(_) if data[0] >= 0xc0 => {}
            _ => return Err(FrameError::BadHeaderData),
        }
        if size == 0 {
            return Err(FrameError::Empty);
        }
        if size > self.frame_size_max {
            return Err(FrameError::TooLarge {
                size,
                max: self.frame_size_max,
            });
        }
        self.pending = Some(size);
        Ok(padded(size) + MAC_LEN)
    }

    /// Verifies the frame MAC of `body` (exactly the length `open_header` returned), decrypts it
    /// in place and returns the msg-id and the payload (still snappy-compressed if it was sent
    /// so), borrowed from `body`.
    pub fn open_body<'a>(&mut self, body: &'a mut [u8]) -> Result<(u64, &'a [u8]), FrameError> {
        let size = self.pending.take().ok_or(FrameError::BodyLength {
            expected: 0,
            got: body.len(),
        })?;
        let expected_len = padded(size) + MAC_LEN;
        if body.len() != expected_len {
            return Err(FrameError::BodyLength {
                expected: expected_len,
                got: body.len(),
            });
        }
        let (ct, mac) = body.split_at_mut(padded(size));
        let expected = frame_mac(&mut self.mac, &self.mac_cipher, ct);
        if !mac_eq(&expected, mac) {
            return Err(FrameError::FrameMac);
        }
        self.cipher
            .try_apply_keystream(ct)
            .map_err(|_| FrameError::KeystreamExhausted)?;
        let data: &'a [u8] = &ct[..size];
        let (msg_id, id_len) = decode_msg_id(data)?;
        Ok((msg_id, &data[id_len..]))
    }
}

/// Writes `rlp(msg_id)` into `buf` and returns its length.
fn encode_msg_id(msg_id: u64, buf: &mut [u8; MSG_ID_RLP_LEN_MAX]) -> usize {
    match msg_id {
        0 => {
            buf[0] = 0x80;
            1
        }
        1..=0x7f => {
            buf[0] = msg_id as u8;
            1
        }
        _ => {
            let bytes = msg_id.to_be_bytes();
            let skip = msg_id.leading_zeros() as usize / 8;
            let n = 8 - skip;
            buf[0] = 0x80 + n as u8;
            buf[1..=n].copy_from_slice(&bytes[skip..]);
            1 + n
        }
    }
}

/// Reads the canonical `rlp(msg-id)` at the start of the frame data.
fn decode_msg_id(data: &[u8]) -> Result<(u64, usize), FrameError> {
    let total = crate::rlp::strict::item_len(data).map_err(|_| FrameError::BadMsgId)?;
    let first = data.first().copied().ok_or(FrameError::BadMsgId)?;
    if first >= 0xc0 || total > MSG_ID_RLP_LEN_MAX {
        return Err(FrameError::BadMsgId);
    }
    let id_rlp = data.get(..total).ok_or(FrameError::BadMsgId)?;
    let id = rlp::Rlp::new(id_rlp)
        .as_val::<u64>()
        .map_err(|_| FrameError::BadMsgId)?;
    Ok((id, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (FrameCodec, FrameCodec) {
        let mut a = Keccak256::new();
        Digest::update(&mut a, b"a");
        let mut b = Keccak256::new();
        Digest::update(&mut b, b"b");
        let aes = [7u8; 32];
        let mac = [9u8; 32];
        (
            FrameCodec::with_mac_states(&aes, &mac, a.clone(), b.clone()),
            FrameCodec::with_mac_states(&aes, &mac, b, a),
        )
    }

    fn roundtrip(tx: &mut FrameCodec, rx: &mut FrameCodec, id: u64, payload: &[u8]) {
        let mut wire = Vec::new();
        tx.seal(id, payload, &mut wire).unwrap();
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&wire[..HEADER_LEN]);
        let n = rx.open_header(&mut header).unwrap();
        assert_eq!(n, wire.len() - HEADER_LEN);
        let (got_id, got) = rx.open_body(&mut wire[HEADER_LEN..]).unwrap();
        assert_eq!((got_id, got), (id, payload));
    }

    #[test]
    fn msg_ids_roundtrip_in_canonical_rlp() {
        for id in [0, 1, 0x7f, 0x80, 0xff, 0x100, u32::MAX as u64, u64::MAX] {
            let mut buf = [0u8; MSG_ID_RLP_LEN_MAX];
            let n = encode_msg_id(id, &mut buf);
            assert_eq!(rlp::encode(&id).as_ref(), &buf[..n], "id {id}");
            assert_eq!(decode_msg_id(&buf[..n]), Ok((id, n)), "id {id}");
        }
        // A zero byte is a non-canonical zero (0x80 is the canonical one).
        assert_eq!(decode_msg_id(&[0x00]), Err(FrameError::BadMsgId));
        assert_eq!(decode_msg_id(&[0xc0]), Err(FrameError::BadMsgId));
        assert_eq!(decode_msg_id(&[0x82, 0x01]), Err(FrameError::BadMsgId));
    }

    #[test]
    fn frames_roundtrip_across_padding_boundaries() {
        let (mut a, mut b) = pair();
        for len in [0usize, 1, 14, 15, 16, 17, 31, 32, 33, 1000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            roundtrip(&mut a, &mut b, len as u64, &payload);
            roundtrip(&mut b, &mut a, 0x10 + len as u64, &payload);
        }
    }

    #[test]
    fn body_without_header_is_refused() {
        let (_, mut b) = pair();
        let mut body = [0u8; 32];
        assert!(matches!(
            b.open_body(&mut body),
            Err(FrameError::BodyLength { .. })
        ));
    }

    #[test]
    fn oversized_payload_is_refused_by_seal() {
        let (mut a, _) = pair();
        let payload = vec![0u8; FRAME_SIZE_MAX];
        let mut out = Vec::new();
        assert!(matches!(
            a.seal(0x10, &payload, &mut out),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(out.is_empty());
    }

    /// Encrypts and MACs a frame whose plaintext header and body the test chooses, as a peer
    /// that completed the handshake could send.
    fn seal_plain(eg: &mut Egress, mut header: [u8; BLOCK_LEN], body: &[u8]) -> Vec<u8> {
        eg.cipher.try_apply_keystream(&mut header).unwrap();
        let hmac = header_mac(&mut eg.mac, &eg.mac_cipher, &header);
        let mut out = header.to_vec();
        out.extend_from_slice(&hmac);
        let mut ct = body.to_vec();
        eg.cipher.try_apply_keystream(&mut ct).unwrap();
        let fmac = frame_mac(&mut eg.mac, &eg.mac_cipher, &ct);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&fmac);
        out
    }

    fn block(hex: &str) -> [u8; BLOCK_LEN] {
        crate::crypto::unhex(hex).unwrap().try_into().unwrap()
    }

    /// Found by fuzzing: header-data `ff` + an 8-byte length of all ones made the RLP total
    /// overflow (a panic in debug builds, a wrapped sum that passed the check in release).
    #[test]
    fn regression_header_data_length_overflow() {
        let (a, b) = pair();
        let (mut eg, _) = a.split();
        let (_, mut ing) = b.split();
        let wire = seal_plain(&mut eg, block("000001ffffffffffffffffff00000000"), &[]);
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&wire[..HEADER_LEN]);
        assert_eq!(ing.open_header(&mut header), Err(FrameError::BadHeaderData));
    }

    /// Found by fuzzing: a msg-id `bf` + an 8-byte length of all ones, behind a valid header.
    #[test]
    fn regression_msg_id_length_overflow() {
        let (a, b) = pair();
        let (mut eg, _) = a.split();
        let (_, mut ing) = b.split();
        let mut wire = seal_plain(
            &mut eg,
            block("000010c2808000000000000000000000"),
            &block("bfffffffffffffffff00000000000000"),
        );
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&wire[..HEADER_LEN]);
        assert_eq!(ing.open_header(&mut header), Ok(16 + MAC_LEN));
        assert_eq!(
            ing.open_body(&mut wire[HEADER_LEN..]),
            Err(FrameError::BadMsgId)
        );
    }
}
