//! The RLPx initial handshake (devp2p rlpx.md "Initial Handshake", EIP-8 "Changes to the RLPx
//! Handshake"), as a buffer-in/buffer-out state machine for both roles.
//!
//! The initiator sends an `auth` and reads an `ack`; the recipient reads the `auth` and answers
//! with an `ack`. We always send the EIP-8 form (a 2-byte big-endian size prefix, then the ECIES
//! ciphertext of an RLP list plus random padding, with the prefix as ECIES shared MAC data) and
//! accept both EIP-8 and the legacy fixed-size form (307-byte `auth`, 210-byte `ack`, no prefix).
//! A recipient answers a legacy `auth` with a legacy `ack`, as EIP-8 asks.
//!
//! The machine never asks for a byte beyond the packet it is reading, because the first RLPx
//! frame may follow the `ack` in the same TCP stream: the caller reads exactly [`Handshake::wanted`]
//! bytes and passes them to [`Handshake::handle_read`]. It first reads the 2 bytes that are the
//! EIP-8 size prefix. A legacy packet begins with the ECIES point tag `0x04`, and a prefix
//! starting with `0x04` announces at least 1024 bytes, more than either legacy size; so when the
//! first byte is `0x04` the machine reads up to the legacy size, tries the legacy decryption, and
//! only if that fails reads the rest of the EIP-8 packet.

use std::fmt;

use rlp::{Rlp, RlpStream};

use crate::crypto::{PublicKey, SecretKey, Signature};
use crate::rlpx::ecies::{self, ECIES_OVERHEAD, EciesError};
use crate::rlpx::secrets::Secrets;

/// Largest `auth` or `ack` ciphertext we accept, as announced by the EIP-8 size prefix.
/// go-ethereum refuses larger handshake messages (p2p/rlpx `readHandshakeMsg`, 2048 bytes);
/// real packets are about 400-500 bytes.
pub const HANDSHAKE_PACKET_SIZE_MAX: usize = 2048;

/// Size of a legacy (pre-EIP-8) `auth` on the wire: ECIES of sig (65) || keccak(ephemeral-pubk)
/// (32) || pubk (64) || nonce (32) || token-flag (1) (rlpx.md, EIP-8 "Test Vectors").
pub const AUTH_LEGACY_SIZE: usize = AUTH_LEGACY_BODY_SIZE + ECIES_OVERHEAD;

/// Size of a legacy `ack` on the wire: ECIES of ephemeral-pubk (64) || nonce (32) || token-flag (1).
pub const ACK_LEGACY_SIZE: usize = ACK_LEGACY_BODY_SIZE + ECIES_OVERHEAD;

/// Smallest packet we send: some peers (ethereumjs) wait for a full legacy-sized `auth` before
/// looking at it, so a shorter EIP-8 packet would stall them. Our padding always reaches it.
pub const HANDSHAKE_PACKET_SIZE_MIN: usize = AUTH_LEGACY_SIZE;

/// The `auth-vsn` and `ack-vsn` we send (rlpx.md). Received versions are ignored (EIP-8).
pub const HANDSHAKE_VERSION: u64 = 4;

/// Range of the random padding appended to our EIP-8 bodies: EIP-8 recommends 100-300 bytes
/// so that packet sizes do not fingerprint the implementation.
pub const PADDING_SIZE_MIN: usize = 100;
/// Upper end of the padding range (inclusive), see [`PADDING_SIZE_MIN`].
pub const PADDING_SIZE_MAX: usize = 300;

const AUTH_LEGACY_BODY_SIZE: usize = 65 + 32 + 64 + 32 + 1;
const ACK_LEGACY_BODY_SIZE: usize = 64 + 32 + 1;
/// Length of the EIP-8 size prefix.
const PREFIX_SIZE: usize = 2;
/// First byte of every ECIES message (the SEC1 uncompressed-point tag), hence of legacy packets.
const LEGACY_FIRST_BYTE: u8 = 0x04;

/// Why a handshake failed. After an error the machine refuses further input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The size prefix announces more than [`HANDSHAKE_PACKET_SIZE_MAX`] bytes.
    TooLarge { size: usize, max: usize },
    /// The size prefix announces less than an ECIES message can be.
    TooSmall { size: usize, min: usize },
    /// The packet did not decrypt (wrong key, corruption, truncation).
    Ecies(EciesError),
    /// The decrypted body is not the expected RLP list or has a field of the wrong shape.
    Rlp(&'static str),
    /// The `auth` signature does not recover to a public key.
    BadSignature,
    /// A public key in the body is not a secp256k1 point.
    InvalidKey,
    /// More bytes were passed than the packet holds; the caller must read only `wanted()`.
    ExcessInput { extra: usize },
    /// A call that does not fit the current phase (e.g. reading before the `auth` was written).
    UnexpectedState,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::TooLarge { size, max } => {
                write!(
                    f,
                    "handshake packet of {size} bytes exceeds the {max}-byte limit"
                )
            }
            HandshakeError::TooSmall { size, min } => {
                write!(
                    f,
                    "handshake packet of {size} bytes is below the {min}-byte minimum"
                )
            }
            HandshakeError::Ecies(e) => write!(f, "handshake decryption failed: {e}"),
            HandshakeError::Rlp(what) => write!(f, "malformed handshake body: {what}"),
            HandshakeError::BadSignature => write!(f, "invalid auth signature"),
            HandshakeError::InvalidKey => write!(f, "invalid public key in handshake"),
            HandshakeError::ExcessInput { extra } => {
                write!(
                    f,
                    "{extra} bytes passed beyond the end of the handshake packet"
                )
            }
            HandshakeError::UnexpectedState => write!(f, "handshake call out of order"),
        }
    }
}

impl std::error::Error for HandshakeError {}

impl From<EciesError> for HandshakeError {
    fn from(e: EciesError) -> Self {
        HandshakeError::Ecies(e)
    }
}

/// The fields of an `auth` body that the recipient uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthBody {
    /// Signature by the initiator's ephemeral key over `static-shared-secret ^ initiator-nonce`.
    pub signature: Signature,
    /// The initiator's static public key.
    pub initiator_pubkey: PublicKey,
    pub initiator_nonce: [u8; 32],
    /// `auth-vsn`; `None` in the legacy form, which has no version.
    pub version: Option<u64>,
}

/// The fields of an `ack` body that the initiator uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckBody {
    pub recipient_ephemeral: PublicKey,
    pub recipient_nonce: [u8; 32],
    /// `ack-vsn`; `None` in the legacy form.
    pub version: Option<u64>,
}

impl AuthBody {
    /// Decodes an EIP-8 body: RLP [sig, initiator-pubk, initiator-nonce, auth-vsn, ...] followed
    /// by padding. Extra list elements and the padding are ignored.
    pub fn decode_eip8(plain: &[u8]) -> Result<Self, HandshakeError> {
        let list = leading_list(plain)?;
        Ok(AuthBody {
            signature: Signature(fixed(&list, 0, "auth signature")?),
            initiator_pubkey: public_key(&fixed::<64>(&list, 1, "initiator-pubk")?)?,
            initiator_nonce: fixed(&list, 2, "initiator-nonce")?,
            version: Some(version(&list, 3)?),
        })
    }

    /// Decodes a legacy body: sig || keccak(ephemeral-pubk) || pubk || nonce || token-flag. The
    /// hash is not needed (the ephemeral key is recovered from the signature) and is ignored.
    pub fn decode_legacy(plain: &[u8]) -> Result<Self, HandshakeError> {
        let body: &[u8; AUTH_LEGACY_BODY_SIZE] = plain
            .try_into()
            .map_err(|_| HandshakeError::Rlp("legacy auth body has the wrong length"))?;
        let (sig, rest) = body.split_at(65);
        let (_ephemeral_hash, rest) = rest.split_at(32);
        let (pubkey, rest) = rest.split_at(64);
        let (nonce, _token_flag) = rest.split_at(32);
        Ok(AuthBody {
            signature: Signature::from_bytes(sig).map_err(|_| HandshakeError::BadSignature)?,
            initiator_pubkey: public_key(pubkey)?,
            initiator_nonce: array(nonce),
            version: None,
        })
    }
}

impl AckBody {
    /// Decodes an EIP-8 body: RLP [recipient-ephemeral-pubk, recipient-nonce, ack-vsn, ...]
    /// followed by padding. Extra list elements and the padding are ignored.
    pub fn decode_eip8(plain: &[u8]) -> Result<Self, HandshakeError> {
        let list = leading_list(plain)?;
        Ok(AckBody {
            recipient_ephemeral: public_key(&fixed::<64>(&list, 0, "recipient-ephemeral-pubk")?)?,
            recipient_nonce: fixed(&list, 1, "recipient-nonce")?,
            version: Some(version(&list, 2)?),
        })
    }

    /// Decodes a legacy body: ephemeral-pubk || nonce || token-flag.
    pub fn decode_legacy(plain: &[u8]) -> Result<Self, HandshakeError> {
        let body: &[u8; ACK_LEGACY_BODY_SIZE] = plain
            .try_into()
            .map_err(|_| HandshakeError::Rlp("legacy ack body has the wrong length"))?;
        let (pubkey, rest) = body.split_at(64);
        let (nonce, _token_flag) = rest.split_at(32);
        Ok(AckBody {
            recipient_ephemeral: public_key(pubkey)?,
            recipient_nonce: array(nonce),
            version: None,
        })
    }
}

/// The RLP list at the start of `plain`, without the padding that follows it.
fn leading_list(plain: &[u8]) -> Result<Rlp<'_>, HandshakeError> {
    let len = crate::rlp::strict::item_len(plain)
        .map_err(|_| HandshakeError::Rlp("body does not start with an RLP item"))?;
    let list = Rlp::new(&plain[..len]);
    if !list.is_list() {
        return Err(HandshakeError::Rlp("body is not an RLP list"));
    }
    Ok(list)
}

/// List element `index` as a byte string of exactly `N` bytes.
fn fixed<const N: usize>(
    list: &Rlp<'_>,
    index: usize,
    what: &'static str,
) -> Result<[u8; N], HandshakeError> {
    let item = list.at(index).map_err(|_| HandshakeError::Rlp(what))?;
    if !item.is_data() {
        return Err(HandshakeError::Rlp(what));
    }
    let data = item.data().map_err(|_| HandshakeError::Rlp(what))?;
    data.try_into().map_err(|_| HandshakeError::Rlp(what))
}

/// The version element: present, and an integer of at most 64 bits, but of any value.
fn version(list: &Rlp<'_>, index: usize) -> Result<u64, HandshakeError> {
    list.val_at::<u64>(index)
        .map_err(|_| HandshakeError::Rlp("version is missing or not an integer"))
}

fn public_key(bytes: &[u8]) -> Result<PublicKey, HandshakeError> {
    PublicKey::from_bytes(bytes).map_err(|_| HandshakeError::InvalidKey)
}

/// Copies a slice whose length the caller has already fixed by splitting a fixed-size array.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

fn xor32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// Pads an RLP body with a random amount (EIP-8) and seals it behind a 2-byte size prefix that
/// is also the ECIES shared MAC data.
fn seal_eip8(remote: &PublicKey, mut body: Vec<u8>, rng: &mut dyn FnMut(&mut [u8])) -> Vec<u8> {
    let mut draw = [0u8; 2];
    rng(&mut draw);
    let span = PADDING_SIZE_MAX - PADDING_SIZE_MIN + 1;
    let padding = PADDING_SIZE_MIN + usize::from(u16::from_be_bytes(draw)) % span;
    // The padding is encrypted, so its content does not matter; zeros are as good as any.
    body.resize(body.len() + padding, 0);

    // Bodies are at most a few hundred bytes, far below u16::MAX.
    let size = (body.len() + ECIES_OVERHEAD) as u16;
    let prefix = size.to_be_bytes();
    let mut packet = prefix.to_vec();
    packet.extend_from_slice(&ecies::encrypt(remote, &body, &prefix, rng));
    packet
}

/// Which side of the handshake we are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Initiator,
    Recipient,
}

/// Where the machine is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Initiator only: the `auth` is not written yet.
    Start,
    /// Reading the first 2 bytes of the remote packet.
    Prefix,
    /// The first byte was 0x04: reading up to the legacy size to try the legacy form.
    MaybeLegacy,
    /// Reading an EIP-8 packet of `total` bytes including the prefix.
    Eip8 { total: usize },
    /// Finished or failed; no further input is accepted.
    Over,
}

/// What [`Handshake::handle_read`] achieved.
#[derive(Debug)]
pub enum Step {
    /// The packet is incomplete: read [`Handshake::wanted`] more bytes.
    NeedMore,
    /// The handshake is complete.
    Done(Box<Established>),
}

/// The outcome of a successful handshake.
pub struct Established {
    /// The recipient's `ack`, to send before any frame; `None` for the initiator.
    pub reply: Option<Vec<u8>>,
    /// Session keys and MAC states for the frame codec.
    pub secrets: Secrets,
    /// The remote node's static public key (the same as `secrets.remote`).
    pub remote: PublicKey,
    /// Whether the remote packet was in the EIP-8 form (false: legacy).
    pub eip8: bool,
}

impl fmt::Debug for Established {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Session secrets are never printed.
        f.debug_struct("Established")
            .field("remote", &self.remote)
            .field("eip8", &self.eip8)
            .field("reply_len", &self.reply.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// One side of an RLPx handshake. See the module documentation for the reading discipline.
pub struct Handshake {
    role: Role,
    phase: Phase,
    static_key: SecretKey,
    ephemeral: SecretKey,
    nonce: [u8; 32],
    /// The initiator's target; the recipient learns the remote key from the `auth`.
    remote: Option<PublicKey>,
    /// The `auth` we sent, exactly as on the wire (initiator only), for the MAC states.
    sent_auth: Vec<u8>,
    /// The remote packet read so far; never longer than 2 + [`HANDSHAKE_PACKET_SIZE_MAX`].
    buf: Vec<u8>,
}

impl Handshake {
    /// The side that dials `remote`. `ephemeral` and `nonce` must be fresh random values.
    pub fn initiator(
        static_key: SecretKey,
        remote: PublicKey,
        ephemeral: SecretKey,
        nonce: [u8; 32],
    ) -> Self {
        Handshake {
            role: Role::Initiator,
            phase: Phase::Start,
            static_key,
            ephemeral,
            nonce,
            remote: Some(remote),
            sent_auth: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// The side that accepted a connection. `ephemeral` and `nonce` must be fresh random values.
    pub fn recipient(static_key: SecretKey, ephemeral: SecretKey, nonce: [u8; 32]) -> Self {
        Handshake {
            role: Role::Recipient,
            phase: Phase::Prefix,
            static_key,
            ephemeral,
            nonce,
            remote: None,
            sent_auth: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// An initiator that has already sent `auth`, so that a recorded exchange (such as the
    /// EIP-8 test vectors) can be replayed with its exact bytes; live code uses
    /// [`Handshake::initiator`] and [`Handshake::write_auth`].
    pub fn initiator_after_auth(
        static_key: SecretKey,
        remote: PublicKey,
        ephemeral: SecretKey,
        nonce: [u8; 32],
        auth: Vec<u8>,
    ) -> Self {
        let mut h = Handshake::initiator(static_key, remote, ephemeral, nonce);
        h.sent_auth = auth;
        h.phase = Phase::Prefix;
        h
    }

    /// Builds the EIP-8 `auth` to send (initiator only, once). The bytes are kept for the MAC
    /// states; afterwards the machine waits for the `ack`.
    pub fn write_auth(
        &mut self,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Vec<u8>, HandshakeError> {
        let (Role::Initiator, Phase::Start, Some(remote)) = (self.role, self.phase, self.remote)
        else {
            return Err(HandshakeError::UnexpectedState);
        };
        // The signature proves the ephemeral key belongs to the holder of our static key: only
        // the two static keys' owners can compute the shared secret it signs.
        let static_shared = self.static_key.ecdh(&remote);
        let signature = self
            .ephemeral
            .sign_prehash(&xor32(&static_shared, &self.nonce));

        let mut s = RlpStream::new_list(4);
        s.append(&&signature.0[..]);
        s.append(&&self.static_key.public_key().to_bytes()[..]);
        s.append(&&self.nonce[..]);
        s.append(&HANDSHAKE_VERSION);
        let auth = seal_eip8(&remote, s.out().to_vec(), rng);

        self.sent_auth = auth.clone();
        self.phase = Phase::Prefix;
        Ok(auth)
    }

    /// How many more bytes of the remote packet to read now; 0 when nothing should be read
    /// (before `write_auth`, or after the handshake finished or failed). Never more than the
    /// rest of the packet, so the bytes after it stay in the socket for the frame reader.
    pub fn wanted(&self) -> usize {
        let target = match self.phase {
            Phase::Prefix => PREFIX_SIZE,
            Phase::MaybeLegacy => self.legacy_size(),
            Phase::Eip8 { total } => total,
            Phase::Start | Phase::Over => return 0,
        };
        target.saturating_sub(self.buf.len())
    }

    /// Consumes bytes of the remote packet. Any amount up to the rest of the packet may be
    /// passed; passing bytes beyond its end is an error. `rng` pads and seals the recipient's
    /// `ack`. After an error the handshake is dead and every later call fails.
    pub fn handle_read(
        &mut self,
        data: &[u8],
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Step, HandshakeError> {
        if matches!(self.phase, Phase::Start | Phase::Over) {
            return Err(HandshakeError::UnexpectedState);
        }
        let result = self.consume(data, rng);
        if !matches!(result, Ok(Step::NeedMore)) {
            self.phase = Phase::Over;
            self.buf = Vec::new();
        }
        result
    }

    fn legacy_size(&self) -> usize {
        match self.role {
            Role::Initiator => ACK_LEGACY_SIZE,
            Role::Recipient => AUTH_LEGACY_SIZE,
        }
    }

    fn consume(
        &mut self,
        mut data: &[u8],
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Step, HandshakeError> {
        while !data.is_empty() {
            let (now, later) = data.split_at(self.wanted().min(data.len()));
            self.buf.extend_from_slice(now);
            data = later;
            if self.wanted() > 0 {
                continue;
            }
            if let Some(done) = self.advance(rng)? {
                if !data.is_empty() {
                    return Err(HandshakeError::ExcessInput { extra: data.len() });
                }
                return Ok(Step::Done(Box::new(done)));
            }
        }
        Ok(Step::NeedMore)
    }

    /// Acts on a buffer that has reached the current phase's target length.
    fn advance(
        &mut self,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Option<Established>, HandshakeError> {
        match self.phase {
            Phase::Prefix => {
                let size = self.announced_size()?;
                self.phase = if self.buf.first() == Some(&LEGACY_FIRST_BYTE) {
                    Phase::MaybeLegacy
                } else {
                    Phase::Eip8 {
                        total: PREFIX_SIZE + size,
                    }
                };
                Ok(None)
            }
            Phase::MaybeLegacy => match ecies::decrypt(&self.static_key, &self.buf, &[]) {
                Ok(plain) => self.finish(plain, false, rng).map(Some),
                // Not a legacy packet after all: an EIP-8 prefix that happens to start with
                // 0x04 announces more than the legacy size, so read the rest of it.
                Err(_) => {
                    let size = self.announced_size()?;
                    self.phase = Phase::Eip8 {
                        total: PREFIX_SIZE + size,
                    };
                    Ok(None)
                }
            },
            Phase::Eip8 { .. } => {
                let (prefix, ciphertext) = self.buf.split_at(PREFIX_SIZE.min(self.buf.len()));
                let plain = ecies::decrypt(&self.static_key, ciphertext, prefix)?;
                self.finish(plain, true, rng).map(Some)
            }
            Phase::Start | Phase::Over => Err(HandshakeError::UnexpectedState),
        }
    }

    /// The EIP-8 size prefix at the start of `buf`, checked against the limits before any more
    /// bytes are buffered.
    fn announced_size(&self) -> Result<usize, HandshakeError> {
        let Some(&[hi, lo]) = self.buf.first_chunk::<PREFIX_SIZE>() else {
            return Err(HandshakeError::UnexpectedState);
        };
        let size = usize::from(u16::from_be_bytes([hi, lo]));
        if size > HANDSHAKE_PACKET_SIZE_MAX {
            return Err(HandshakeError::TooLarge {
                size,
                max: HANDSHAKE_PACKET_SIZE_MAX,
            });
        }
        if size < ECIES_OVERHEAD {
            return Err(HandshakeError::TooSmall {
                size,
                min: ECIES_OVERHEAD,
            });
        }
        Ok(size)
    }

    /// Decodes the remote body and derives the session secrets.
    fn finish(
        &mut self,
        plain: Vec<u8>,
        eip8: bool,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Established, HandshakeError> {
        let received = std::mem::take(&mut self.buf);
        match self.role {
            Role::Initiator => {
                let ack = if eip8 {
                    AckBody::decode_eip8(&plain)?
                } else {
                    AckBody::decode_legacy(&plain)?
                };
                let remote = self.remote.ok_or(HandshakeError::UnexpectedState)?;
                let ecdhe = self.ephemeral.ecdh(&ack.recipient_ephemeral);
                let secrets = Secrets::derive(
                    true,
                    remote,
                    &ecdhe,
                    &self.nonce,
                    &ack.recipient_nonce,
                    &self.sent_auth,
                    &received,
                );
                Ok(Established {
                    reply: None,
                    secrets,
                    remote,
                    eip8,
                })
            }
            Role::Recipient => {
                let auth = if eip8 {
                    AuthBody::decode_eip8(&plain)?
                } else {
                    AuthBody::decode_legacy(&plain)?
                };
                let remote = auth.initiator_pubkey;
                let static_shared = self.static_key.ecdh(&remote);
                let remote_ephemeral = auth
                    .signature
                    .recover(&xor32(&static_shared, &auth.initiator_nonce))
                    .map_err(|_| HandshakeError::BadSignature)?;
                let reply = self.write_ack(&remote, eip8, rng);
                let ecdhe = self.ephemeral.ecdh(&remote_ephemeral);
                let secrets = Secrets::derive(
                    false,
                    remote,
                    &ecdhe,
                    &auth.initiator_nonce,
                    &self.nonce,
                    &received,
                    &reply,
                );
                Ok(Established {
                    reply: Some(reply),
                    secrets,
                    remote,
                    eip8,
                })
            }
        }
    }

    /// The recipient's `ack`, in the same form as the `auth` it answers.
    fn write_ack(&self, remote: &PublicKey, eip8: bool, rng: &mut dyn FnMut(&mut [u8])) -> Vec<u8> {
        let ephemeral = self.ephemeral.public_key().to_bytes();
        if eip8 {
            let mut s = RlpStream::new_list(3);
            s.append(&&ephemeral[..]);
            s.append(&&self.nonce[..]);
            s.append(&HANDSHAKE_VERSION);
            seal_eip8(remote, s.out().to_vec(), rng)
        } else {
            let mut body = Vec::with_capacity(ACK_LEGACY_BODY_SIZE);
            body.extend_from_slice(&ephemeral);
            body.extend_from_slice(&self.nonce);
            // Token flag 0: session resumption was never used.
            body.push(0);
            ecies::encrypt(remote, &body, &[], rng)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes(&[byte; 32]).expect("valid test key")
    }

    /// An EIP-8 ack body with the given version element and extra elements, then padding.
    fn ack_body(version: &[u8], extra: &[&[u8]]) -> Vec<u8> {
        let mut s = RlpStream::new_list(3 + extra.len());
        s.append(&&key(5).public_key().to_bytes()[..]);
        s.append(&&[9u8; 32][..]);
        s.append_raw(version, 1);
        for e in extra {
            s.append_raw(e, 1);
        }
        let mut body = s.out().to_vec();
        body.extend_from_slice(&[0xff; 40]);
        body
    }

    #[test]
    fn ack_decoding_ignores_extra_elements_and_padding() {
        let ack = AckBody::decode_eip8(&ack_body(&[0x81, 0xfa], &[&[0x06], &[0xc2, 0x07, 0x08]]))
            .expect("future ack accepted");
        assert_eq!(ack.version, Some(250));
        assert_eq!(ack.recipient_nonce, [9; 32]);
        assert_eq!(ack.recipient_ephemeral, key(5).public_key());
    }

    #[test]
    fn malformed_bodies_are_refused() {
        // A list where the version belongs, and a missing version.
        assert!(matches!(
            AckBody::decode_eip8(&ack_body(&[0xc0], &[])),
            Err(HandshakeError::Rlp(_))
        ));
        let mut s = RlpStream::new_list(2);
        s.append(&&key(5).public_key().to_bytes()[..]);
        s.append(&&[9u8; 32][..]);
        assert!(matches!(
            AckBody::decode_eip8(&s.out()),
            Err(HandshakeError::Rlp(_))
        ));
        // A body that is a string, not a list; an empty body; legacy bodies of the wrong size.
        assert!(AuthBody::decode_eip8(&[0x83, 1, 2, 3]).is_err());
        assert!(AuthBody::decode_eip8(&[]).is_err());
        assert!(AuthBody::decode_legacy(&[0; AUTH_LEGACY_BODY_SIZE - 1]).is_err());
        assert!(AckBody::decode_legacy(&[0; ACK_LEGACY_BODY_SIZE + 1]).is_err());
        // A 64-byte string that is not a curve point.
        let mut bad = vec![0u8; ACK_LEGACY_BODY_SIZE];
        bad[..64].fill(0xff);
        assert_eq!(
            AckBody::decode_legacy(&bad),
            Err(HandshakeError::InvalidKey)
        );
    }

    #[test]
    fn legacy_sizes_match_the_spec() {
        assert_eq!(AUTH_LEGACY_SIZE, 307);
        assert_eq!(ACK_LEGACY_SIZE, 210);
    }

    #[test]
    fn our_packets_reach_the_legacy_size() {
        // The smallest auth body (RLP 169 bytes) with the least padding still exceeds 307.
        // The first draw is the padding length (0 gives the minimum); the rest key the ECIES.
        let mut calls = 0;
        let mut least = |b: &mut [u8]| {
            b.fill(if calls == 0 { 0 } else { 0x11 });
            calls += 1;
        };
        let mut hs = Handshake::initiator(key(1), key(2).public_key(), key(3), [4; 32]);
        let auth = hs.write_auth(&mut least).expect("auth");
        assert_eq!(auth.len(), 2 + 169 + PADDING_SIZE_MIN + ECIES_OVERHEAD);
        assert!(auth.len() >= HANDSHAKE_PACKET_SIZE_MIN);
    }
}
