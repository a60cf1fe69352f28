//! The ECIES variant that carries the RLPx `auth` and `ack` messages (devp2p rlpx.md "ECIES
//! Encryption").
//!
//! A message for the holder of public key `K` is sealed with a fresh ephemeral key `r`:
//! the shared secret `z` is the x coordinate of `r * K`, the NIST SP 800-56 concatenation KDF
//! (SHA-256, empty `s1`) stretches `z` into 32 bytes, the first 16 of which key AES-128-CTR and
//! the SHA-256 of the last 16 of which keys HMAC-SHA-256. On the wire:
//!
//! ```text
//! 0x04 || R (64 bytes, R = r * G) || iv (16) || AES-128-CTR(kE, iv, m) || HMAC-SHA-256(kM, iv || c || shared-mac-data) (32)
//! ```
//!
//! `shared-mac-data` is authenticated but not sent; EIP-8 uses the 2-byte size prefix there.

use std::fmt;

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::crypto::{PublicKey, SecretKey};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type HmacSha256 = hmac::Hmac<Sha256>;

/// Length of the uncompressed SEC1 ephemeral key at the start of a message (0x04 || x || y).
const POINT_SIZE: usize = 65;
/// AES block size, which is also the length of the CTR initialisation vector.
const IV_SIZE: usize = 16;
/// HMAC-SHA-256 output length.
const TAG_SIZE: usize = 32;

/// Bytes ECIES adds to a plaintext: the ephemeral point, the IV and the tag (rlpx.md: 65 + 16 +
/// 32 = 113, which is why a legacy 194-byte auth body becomes a 307-byte packet).
pub const ECIES_OVERHEAD: usize = POINT_SIZE + IV_SIZE + TAG_SIZE;

/// Why an ECIES message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EciesError {
    /// Shorter than [`ECIES_OVERHEAD`], so it cannot hold a point, an IV and a tag.
    TooShort { len: usize },
    /// The ephemeral point is not an uncompressed secp256k1 point.
    InvalidPublicKey,
    /// The HMAC tag does not match: corrupted, truncated, or not meant for our key.
    BadTag,
}

impl fmt::Display for EciesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EciesError::TooShort { len } => write!(
                f,
                "ECIES message of {len} bytes is shorter than the {ECIES_OVERHEAD}-byte overhead"
            ),
            EciesError::InvalidPublicKey => write!(f, "ECIES ephemeral public key is invalid"),
            EciesError::BadTag => write!(f, "ECIES message authentication failed"),
        }
    }
}

impl std::error::Error for EciesError {}

/// NIST SP 800-56 concatenation KDF with SHA-256 and empty `OtherInfo`: fills `out` with
/// `SHA-256(counter || z)` for counter = 1, 2, ... written as 32-bit big-endian integers.
pub fn concat_kdf(z: &[u8], out: &mut [u8]) {
    for (counter, chunk) in (1u32..).zip(out.chunks_mut(32)) {
        let block = Sha256::new()
            .chain_update(counter.to_be_bytes())
            .chain_update(z)
            .finalize();
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

/// The AES-128 key and the HMAC key derived from the ECDH secret.
fn derive_keys(z: &[u8; 32]) -> ([u8; 16], [u8; 32]) {
    let mut k = [0u8; 32];
    concat_kdf(z, &mut k);
    let (ke, km_seed) = k.split_at(16);
    let mut enc = [0u8; 16];
    enc.copy_from_slice(ke);
    // The MAC key is the hash of the second half, not the half itself (rlpx.md).
    let mac: [u8; 32] = Sha256::digest(km_seed).into();
    (enc, mac)
}

/// HMAC-SHA-256 of `iv || ciphertext || shared_mac_data`, ready to finalize or verify.
fn tag_state(mac_key: &[u8; 32], iv_and_ciphertext: &[u8], shared_mac_data: &[u8]) -> HmacSha256 {
    // HMAC zero-pads keys shorter than the hash block (RFC 2104), so padding the 32-byte key
    // to SHA-256's 64-byte block ourselves gives the same MAC through the infallible constructor.
    let mut block_key = [0u8; 64];
    block_key[..32].copy_from_slice(mac_key);
    let mut mac = <HmacSha256 as KeyInit>::new(&block_key.into());
    mac.update(iv_and_ciphertext);
    mac.update(shared_mac_data);
    mac
}

/// Seals `plaintext` for `remote`, drawing the ephemeral key and the IV from `rng`.
pub fn encrypt(
    remote: &PublicKey,
    plaintext: &[u8],
    shared_mac_data: &[u8],
    rng: &mut dyn FnMut(&mut [u8]),
) -> Vec<u8> {
    let ephemeral = SecretKey::generate(&mut *rng);
    let mut iv = [0u8; IV_SIZE];
    rng(&mut iv);
    encrypt_with(remote, plaintext, shared_mac_data, &ephemeral, &iv)
}

/// Seals `plaintext` for `remote` with an explicit ephemeral key and IV; [`encrypt`] draws
/// them at random, tests pin them to get reproducible bytes.
pub fn encrypt_with(
    remote: &PublicKey,
    plaintext: &[u8],
    shared_mac_data: &[u8],
    ephemeral: &SecretKey,
    iv: &[u8; IV_SIZE],
) -> Vec<u8> {
    let (enc_key, mac_key) = derive_keys(&ephemeral.ecdh(remote));

    let mut out = Vec::with_capacity(plaintext.len() + ECIES_OVERHEAD);
    out.push(0x04);
    out.extend_from_slice(&ephemeral.public_key().to_bytes());
    out.extend_from_slice(iv);
    out.extend_from_slice(plaintext);
    Aes128Ctr::new(&enc_key.into(), &(*iv).into())
        .apply_keystream(&mut out[POINT_SIZE + IV_SIZE..]);

    let tag = tag_state(&mac_key, &out[POINT_SIZE..], shared_mac_data)
        .finalize()
        .into_bytes();
    out.extend_from_slice(&tag);
    out
}

/// Opens a message sealed for `key`. The tag is checked (in constant time) before anything is
/// decrypted, and every length is checked before slicing.
pub fn decrypt(
    key: &SecretKey,
    data: &[u8],
    shared_mac_data: &[u8],
) -> Result<Vec<u8>, EciesError> {
    if data.len() < ECIES_OVERHEAD {
        return Err(EciesError::TooShort { len: data.len() });
    }
    let (point, rest) = data.split_at(POINT_SIZE);
    let (iv_and_ciphertext, tag) = rest.split_at(rest.len() - TAG_SIZE);
    let (iv, ciphertext) = iv_and_ciphertext.split_at(IV_SIZE);

    // Only the uncompressed form is defined for RLPx ECIES.
    let Some((&0x04, xy)) = point.split_first() else {
        return Err(EciesError::InvalidPublicKey);
    };
    let remote = PublicKey::from_bytes(xy).map_err(|_| EciesError::InvalidPublicKey)?;
    let (enc_key, mac_key) = derive_keys(&key.ecdh(&remote));

    tag_state(&mac_key, iv_and_ciphertext, shared_mac_data)
        .verify_slice(tag)
        .map_err(|_| EciesError::BadTag)?;

    let mut plaintext = ciphertext.to_vec();
    let mut iv_block = [0u8; IV_SIZE];
    iv_block.copy_from_slice(iv);
    Aes128Ctr::new(&enc_key.into(), &iv_block.into()).apply_keystream(&mut plaintext);
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes(&[byte; 32]).expect("valid test key")
    }

    #[test]
    fn round_trip_with_and_without_mac_data() {
        let recipient = key(7);
        let ephemeral = key(9);
        for (plaintext, mac_data) in [(&b""[..], &b""[..]), (b"hello", b"\x01\xb3")] {
            let sealed = encrypt_with(
                &recipient.public_key(),
                plaintext,
                mac_data,
                &ephemeral,
                &[3; 16],
            );
            assert_eq!(sealed.len(), plaintext.len() + ECIES_OVERHEAD);
            assert_eq!(
                decrypt(&recipient, &sealed, mac_data).as_deref(),
                Ok(plaintext)
            );
        }
    }

    #[test]
    fn wrong_mac_data_or_key_is_refused() {
        let recipient = key(7);
        let sealed = encrypt_with(&recipient.public_key(), b"msg", b"ab", &key(9), &[0; 16]);
        assert_eq!(decrypt(&recipient, &sealed, b"ac"), Err(EciesError::BadTag));
        assert_eq!(decrypt(&key(8), &sealed, b"ab"), Err(EciesError::BadTag));
    }

    #[test]
    fn short_or_compressed_input_is_refused() {
        let recipient = key(7);
        assert_eq!(
            decrypt(&recipient, &[0x04; ECIES_OVERHEAD - 1], b""),
            Err(EciesError::TooShort {
                len: ECIES_OVERHEAD - 1
            })
        );
        let mut sealed = encrypt_with(&recipient.public_key(), b"m", b"", &key(9), &[0; 16]);
        sealed[0] = 0x02;
        assert_eq!(
            decrypt(&recipient, &sealed, b""),
            Err(EciesError::InvalidPublicKey)
        );
    }

    #[test]
    fn kdf_output_is_a_prefix_of_a_longer_output() {
        // Each 32-byte block depends only on the counter, so a shorter request truncates.
        let mut long = [0u8; 80];
        let mut short = [0u8; 40];
        concat_kdf(b"secret", &mut long);
        concat_kdf(b"secret", &mut short);
        assert_eq!(long[..40], short);
        assert_ne!(long[..32], long[32..64]);
    }
}
