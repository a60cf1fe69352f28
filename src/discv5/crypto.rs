//! The cryptography of discovery v5 (devp2p `discv5-wire.md` "Protocol Header", "Message
//! packets"; `discv5-theory.md` "Handshake Steps", "Identity-Specific Cryptography"): header
//! masking with AES-128-CTR, message sealing with AES-128-GCM, the session keys from ECDH and
//! HKDF-SHA-256, and the id-nonce signature of the "v4" identity scheme.

use aes::cipher::{KeyIvInit, StreamCipher};
use aes_gcm::{AeadInOut, Aes128Gcm, KeyInit};
use sha2::{Digest, Sha256};

use crate::crypto::{NodeId, PublicKey, SecretKey};

/// AES-128 in counter mode with a 128-bit big-endian counter, as the header mask uses it.
type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// A session key: AES-128.
pub type Key = [u8; 16];
/// A message nonce: 96 bits.
pub type Nonce = [u8; 12];

/// Bytes of the GCM authentication tag appended to every sealed message.
pub const TAG_SIZE: usize = 16;
/// Bytes of a "v4" id signature (`r || s`).
pub const ID_SIGNATURE_SIZE: usize = 64;
/// Bytes of a "v4" ephemeral public key (compressed secp256k1).
pub const EPHEMERAL_KEY_SIZE: usize = 33;

const KDF_INFO_TEXT: &[u8] = b"discovery v5 key agreement";
const ID_SIGNATURE_TEXT: &[u8] = b"discovery v5 identity proof";

/// XORs `data` with the AES-128-CTR keystream keyed by the first 16 bytes of `dest` and started
/// at `iv`: masking and unmasking are the same operation.
pub fn mask(dest: &NodeId, iv: &[u8; 16], data: &mut [u8]) {
    let mut key = [0u8; 16];
    key.copy_from_slice(&dest.0[..16]);
    Aes128Ctr::new(&key.into(), &(*iv).into()).apply_keystream(data);
}

/// Seals `plaintext` with AES-128-GCM under `key` and `nonce`, authenticating `ad`; the 16-byte
/// tag follows the ciphertext.
pub fn encrypt(key: &Key, nonce: &Nonce, plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
    let cipher = Aes128Gcm::new(&(*key).into());
    let mut out = Vec::with_capacity(plaintext.len() + TAG_SIZE);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_inout_detached(&(*nonce).into(), ad, out.as_mut_slice().into())
        // Only messages over 64 GiB fail, and ours are under 1280 bytes.
        .expect("AES-GCM refuses only messages of gigabytes");
    out.extend_from_slice(&tag);
    out
}

/// Opens a sealed message; `None` when the tag does not authenticate it (a wrong key, a wrong
/// `ad`, or bytes changed on the way) or it is shorter than a tag.
pub fn decrypt(key: &Key, nonce: &Nonce, sealed: &[u8], ad: &[u8]) -> Option<Vec<u8>> {
    let body_len = sealed.len().checked_sub(TAG_SIZE)?;
    let cipher = Aes128Gcm::new(&(*key).into());
    let mut out = sealed[..body_len].to_vec();
    let tag = aes_gcm::Tag::try_from(&sealed[body_len..]).ok()?;
    cipher
        .decrypt_inout_detached(&(*nonce).into(), ad, out.as_mut_slice().into(), &tag)
        .ok()?;
    Some(out)
}

/// The two keys of a session, named from the handshake's point of view: the initiator (who
/// answered the WHOAREYOU) writes with `initiator_key`, the recipient with `recipient_key`.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    pub initiator_key: Key,
    pub recipient_key: Key,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKeys(..)")
    }
}

/// The session keys from the ECDH secret: HKDF-Extract with `challenge_data` as salt, then
/// HKDF-Expand with "discovery v5 key agreement" || id of the initiator || id of the recipient.
pub fn derive_keys(
    secret: &[u8; 33],
    initiator: &NodeId,
    recipient: &NodeId,
    challenge_data: &[u8],
) -> SessionKeys {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(challenge_data), secret);
    let mut info = Vec::with_capacity(KDF_INFO_TEXT.len() + 64);
    info.extend_from_slice(KDF_INFO_TEXT);
    info.extend_from_slice(&initiator.0);
    info.extend_from_slice(&recipient.0);
    let mut okm = [0u8; 32];
    hk.expand(&info, &mut okm)
        .expect("32 bytes is within HKDF-SHA-256's output limit");
    let mut keys = SessionKeys {
        initiator_key: [0; 16],
        recipient_key: [0; 16],
    };
    keys.initiator_key.copy_from_slice(&okm[..16]);
    keys.recipient_key.copy_from_slice(&okm[16..]);
    keys
}

/// The initiator's side of key agreement: ECDH of its ephemeral key with the recipient's static
/// public key, then [`derive_keys`].
pub fn initiator_keys(
    ephemeral: &SecretKey,
    recipient_key: &PublicKey,
    initiator: &NodeId,
    challenge_data: &[u8],
) -> SessionKeys {
    let secret = ephemeral.ecdh_compressed(recipient_key);
    derive_keys(&secret, initiator, &recipient_key.node_id(), challenge_data)
}

/// The recipient's side: ECDH of its static key with the initiator's ephemeral public key.
pub fn recipient_keys(
    static_key: &SecretKey,
    ephemeral_public: &PublicKey,
    initiator: &NodeId,
    recipient: &NodeId,
    challenge_data: &[u8],
) -> SessionKeys {
    let secret = static_key.ecdh_compressed(ephemeral_public);
    derive_keys(&secret, initiator, recipient, challenge_data)
}

/// sha256("discovery v5 identity proof" || challenge-data || ephemeral-pubkey || node-id-B).
fn id_signature_digest(challenge_data: &[u8], ephemeral_public: &[u8], dest: &NodeId) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ID_SIGNATURE_TEXT);
    h.update(challenge_data);
    h.update(ephemeral_public);
    h.update(dest.0);
    h.finalize().into()
}

/// The id-nonce signature: proof that the initiator holds the key of its record, bound to this
/// challenge, this ephemeral key and this recipient.
pub fn id_sign(
    key: &SecretKey,
    challenge_data: &[u8],
    ephemeral_public: &[u8],
    dest: &NodeId,
) -> [u8; ID_SIGNATURE_SIZE] {
    let digest = id_signature_digest(challenge_data, ephemeral_public, dest);
    let sig = key.sign_prehash(&digest);
    let mut out = [0u8; ID_SIGNATURE_SIZE];
    out.copy_from_slice(&sig.0[..ID_SIGNATURE_SIZE]);
    out
}

/// Checks an id-nonce signature against the signer's public key.
pub fn id_verify(
    signer: &PublicKey,
    signature: &[u8],
    challenge_data: &[u8],
    ephemeral_public: &[u8],
    dest: &NodeId,
) -> bool {
    if signature.len() != ID_SIGNATURE_SIZE {
        return false;
    }
    let digest = id_signature_digest(challenge_data, ephemeral_public, dest);
    signer.verify_prehash(&digest, signature)
}
