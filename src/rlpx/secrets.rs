//! Session secrets derived at the end of the RLPx handshake (rlpx.md "Secrets").
//!
//! Both sides compute the same `aes-secret` and `mac-secret`; each side's egress MAC state is the
//! other side's ingress MAC state. The MAC states are keccak-256 hashers seeded with
//! `(mac-secret ^ nonce) || packet`, where `packet` is the auth or ack exactly as it crossed the
//! wire, including the 2-byte EIP-8 size prefix.

use sha3::{Digest, Keccak256};

use crate::crypto::{PublicKey, keccak256_concat};

/// The keys and MAC states of one RLPx session, as the frame codec consumes them.
#[derive(Clone)]
pub struct Secrets {
    /// The remote node's static public key, authenticated by the handshake.
    pub remote: PublicKey,
    /// AES-256-CTR key of the frame cipher (both directions, IV zero).
    pub aes: [u8; 32],
    /// AES-256 key of the single-block cipher inside the MAC construction.
    pub mac: [u8; 32],
    /// Running keccak state over everything this side has sent.
    pub egress_mac: Keccak256,
    /// Running keccak state over everything this side has received.
    pub ingress_mac: Keccak256,
}

impl Secrets {
    /// Derives the session secrets.
    ///
    /// `ecdhe` is the ECDH of the two ephemeral keys; `auth` and `ack` are the packets as sent on
    /// the wire (with their size prefix when EIP-8). `initiator` says which side we are.
    pub fn derive(
        initiator: bool,
        remote: PublicKey,
        ecdhe: &[u8; 32],
        initiator_nonce: &[u8; 32],
        recipient_nonce: &[u8; 32],
        auth: &[u8],
        ack: &[u8],
    ) -> Secrets {
        let nonce_hash = keccak256_concat(&[recipient_nonce, initiator_nonce]);
        let shared = keccak256_concat(&[ecdhe, &nonce_hash]);
        let aes = keccak256_concat(&[ecdhe, &shared]);
        let mac = keccak256_concat(&[ecdhe, &aes]);

        let seeded = |nonce: &[u8; 32], packet: &[u8]| {
            let mut h = Keccak256::new();
            h.update(xor32(&mac, nonce));
            h.update(packet);
            h
        };
        // The initiator's egress state starts from what the recipient sent it (its nonce) and
        // the auth it wrote itself; the recipient's mirror image is the same state.
        let (egress_mac, ingress_mac) = if initiator {
            (seeded(recipient_nonce, auth), seeded(initiator_nonce, ack))
        } else {
            (seeded(initiator_nonce, ack), seeded(recipient_nonce, auth))
        };
        Secrets {
            remote,
            aes,
            mac,
            egress_mac,
            ingress_mac,
        }
    }
}

fn xor32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..32 {
        out[i] = a[i] ^ b[i];
    }
    out
}
