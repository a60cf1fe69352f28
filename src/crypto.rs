//! Keys and identities: secp256k1 through `k256`, keccak-256 through `sha3`.
//!
//! devp2p names a node by its secp256k1 public key written as 64 bytes (x || y, without the SEC1
//! `0x04` prefix: rlpx.md "Node Identity"), and measures distance by the keccak-256 of those 64
//! bytes (discv4.md "Node Identities"). The two are different types here, [`PublicKey`] and
//! [`NodeId`], so one can never stand for the other. Signatures are the 65-byte recoverable form
//! `r || s || v` with `v` in 0..=3 that discv4, ENR "v4" and the RLPx auth message all use.

use std::fmt;

use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, SigningKey, VerifyingKey};
use k256::elliptic_curve::sec1::ToSec1Point;
use sha3::{Digest, Keccak256};

/// keccak-256 of `data` (the pre-standard Keccak padding Ethereum uses, not SHA3-256).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// keccak-256 of several slices, as if concatenated.
pub fn keccak256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Why a key, signature or point was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    /// A secret key is zero or not below the curve order.
    InvalidSecretKey,
    /// 64 bytes that are not a point on secp256k1.
    InvalidPublicKey,
    /// A signature whose r or s is out of range, or whose `v` is not 0..=3.
    InvalidSignature,
    /// The signature is well formed but no public key can be recovered from it.
    RecoveryFailed,
    /// A byte string of the wrong length.
    BadLength { expected: usize, got: usize },
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::InvalidSecretKey => write!(f, "invalid secp256k1 secret key"),
            CryptoError::InvalidPublicKey => write!(f, "invalid secp256k1 public key"),
            CryptoError::InvalidSignature => write!(f, "malformed signature"),
            CryptoError::RecoveryFailed => write!(f, "signature recovery failed"),
            CryptoError::BadLength { expected, got } => {
                write!(f, "expected {expected} bytes, got {got}")
            }
        }
    }
}

impl std::error::Error for CryptoError {}

/// A secp256k1 secret key: a node key, or an ephemeral handshake key.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// Reads a 32-byte big-endian scalar; zero and values ≥ the curve order are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 32 {
            return Err(CryptoError::BadLength {
                expected: 32,
                got: bytes.len(),
            });
        }
        SigningKey::from_slice(bytes)
            .map(SecretKey)
            .map_err(|_| CryptoError::InvalidSecretKey)
    }

    /// Draws a key from `fill`, a source of random bytes, retrying the (astronomically rare)
    /// draws that are not valid scalars. Sans-IO code passes a seeded RNG; the shell passes the
    /// operating system's entropy ([`os_random`]).
    pub fn generate(mut fill: impl FnMut(&mut [u8])) -> Self {
        // A valid draw fails with probability ~2^-128; 64 failures in a row mean the source is
        // broken (all zeros, say), which is a bug to report, not a loop to spin in.
        for _ in 0..64 {
            let mut b = [0u8; 32];
            fill(&mut b);
            if let Ok(k) = SecretKey::from_bytes(&b) {
                return k;
            }
        }
        panic!("the random source produced 64 invalid secp256k1 keys in a row");
    }

    /// The 32 big-endian bytes of the scalar.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_verifying_key(self.0.verifying_key())
    }

    /// Signs a 32-byte digest; the result has low `s` (as go-ethereum and k256 both produce).
    pub fn sign_prehash(&self, digest: &[u8; 32]) -> Signature {
        // k256 applies low-s normalisation (secp256k1's NORMALIZE_S) and adjusts the recovery id.
        let (sig, recid) = self.0.sign_prehash_recoverable(digest);
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = recid.to_byte();
        Signature(out)
    }

    /// Elliptic-curve Diffie-Hellman: the x coordinate of `self * remote`, the shared secret that
    /// ECIES and the RLPx handshake use.
    pub fn ecdh(&self, remote: &PublicKey) -> [u8; 32] {
        let shared = k256::ecdh::diffie_hellman(self.0.as_nonzero_scalar(), remote.0.as_affine());
        (*shared.raw_secret_bytes()).into()
    }

    /// Elliptic-curve Diffie-Hellman as discovery v5 uses it (discv5-theory.md "Identity-Specific
    /// Cryptography"): the whole shared point `self * remote`, 33 bytes compressed.
    pub fn ecdh_compressed(&self, remote: &PublicKey) -> [u8; 33] {
        let point = k256::ProjectivePoint::from(*remote.0.as_affine())
            * *self.0.as_nonzero_scalar().as_ref();
        let p = point.to_affine().to_sec1_point(true);
        let mut out = [0u8; 33];
        out.copy_from_slice(p.as_bytes());
        out
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secret material, even by accident in a log line.
        write!(f, "SecretKey(..)")
    }
}

/// Fills `buf` from the operating system's entropy source. Only the imperative shell calls this;
/// protocol cores take their randomness as an argument.
pub fn os_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's entropy source failed");
}

/// A secp256k1 public key, always a valid curve point; written as 64 bytes x || y on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    fn from_verifying_key(k: &VerifyingKey) -> Self {
        PublicKey(*k)
    }

    /// Reads the 64-byte devp2p form (x || y), checking that it is on the curve.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 64 {
            return Err(CryptoError::BadLength {
                expected: 64,
                got: bytes.len(),
            });
        }
        let mut sec1 = [0u8; 65];
        sec1[0] = 0x04;
        sec1[1..].copy_from_slice(bytes);
        Self::from_sec1(&sec1)
    }

    /// Reads SEC1 form: 33 bytes compressed (ENR `secp256k1`) or 65 bytes uncompressed.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, CryptoError> {
        VerifyingKey::from_sec1_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| CryptoError::InvalidPublicKey)
    }

    /// The 64-byte devp2p form.
    pub fn to_bytes(&self) -> [u8; 64] {
        let p = self.0.as_affine().to_sec1_point(false);
        let mut out = [0u8; 64];
        out.copy_from_slice(&p.as_bytes()[1..65]);
        out
    }

    /// The 33-byte compressed SEC1 form, as ENR's `secp256k1` entry holds it.
    pub fn to_compressed(&self) -> [u8; 33] {
        let p = self.0.as_affine().to_sec1_point(true);
        let mut out = [0u8; 33];
        out.copy_from_slice(p.as_bytes());
        out
    }

    /// The node id: keccak-256 of the 64-byte form.
    pub fn node_id(&self) -> NodeId {
        NodeId(keccak256(&self.to_bytes()))
    }

    /// Checks a 64-byte `r || s` signature (no recovery id) over a digest. ENR "v4" uses this form.
    pub fn verify_prehash(&self, digest: &[u8; 32], sig64: &[u8]) -> bool {
        use k256::ecdsa::signature::hazmat::PrehashVerifier;
        let Ok(sig) = EcdsaSignature::from_slice(sig64) else {
            return false;
        };
        // k256 refuses high-s signatures; go-ethereum's ENR check accepts both, so normalise.
        let sig = sig.normalize_s();
        self.0.verify_prehash(digest, &sig).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex(&self.to_bytes()))
    }
}

/// A node identifier: keccak-256 of the node's 64-byte public key. Used for distances and tables.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub [u8; 32]);

impl NodeId {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", hex(&self.0))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

/// A 65-byte recoverable signature `r || s || v`, `v` in 0..=3.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 65]);

impl Signature {
    /// Reads 65 bytes; the range of r, s and v is checked at recovery.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 65] = bytes.try_into().map_err(|_| CryptoError::BadLength {
            expected: 65,
            got: bytes.len(),
        })?;
        Ok(Signature(arr))
    }

    /// Recovers the signer of a 32-byte digest.
    pub fn recover(&self, digest: &[u8; 32]) -> Result<PublicKey, CryptoError> {
        let recid = RecoveryId::from_byte(self.0[64]).ok_or(CryptoError::InvalidSignature)?;
        let sig =
            EcdsaSignature::from_slice(&self.0[..64]).map_err(|_| CryptoError::InvalidSignature)?;
        VerifyingKey::recover_from_prehash(digest, &sig, recid)
            .map(PublicKey)
            .map_err(|_| CryptoError::RecoveryFailed)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex(&self.0))
    }
}

/// Lower-case hex without a prefix.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Why a hex string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HexError {
    /// An odd number of digits.
    OddLength,
    /// A character that is not a hex digit, at this byte offset.
    BadDigit(usize),
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::OddLength => write!(f, "odd number of hex digits"),
            HexError::BadDigit(i) => write!(f, "invalid hex digit at offset {i}"),
        }
    }
}

impl std::error::Error for HexError {}

/// Parses hex, with or without a `0x` prefix, either case.
pub fn unhex(s: &str) -> Result<Vec<u8>, HexError> {
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return Err(HexError::OddLength);
    }
    let digit = |i: usize, c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(HexError::BadDigit(i)),
    };
    let b = s.as_bytes();
    (0..b.len() / 2)
        .map(|i| Ok(digit(2 * i, b[2 * i])? << 4 | digit(2 * i + 1, b[2 * i + 1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hexstr: &str) -> SecretKey {
        SecretKey::from_bytes(&unhex(hexstr).unwrap()).unwrap()
    }

    #[test]
    fn sign_then_recover_gives_the_signer() {
        let k = key("49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee");
        let digest = keccak256(b"ethpeer");
        let sig = k.sign_prehash(&digest);
        assert_eq!(sig.recover(&digest).unwrap(), k.public_key());
        let mut other = digest;
        other[0] ^= 1;
        assert_ne!(sig.recover(&other).ok(), Some(k.public_key()));
    }

    #[test]
    fn ecdh_is_symmetric() {
        let a = key("49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee");
        let b = key("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291");
        assert_eq!(a.ecdh(&b.public_key()), b.ecdh(&a.public_key()));
    }

    #[test]
    fn public_key_round_trips_and_refuses_off_curve_points() {
        let k = key("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291");
        let p = k.public_key();
        assert_eq!(PublicKey::from_bytes(&p.to_bytes()).unwrap(), p);
        assert_eq!(PublicKey::from_sec1(&p.to_compressed()).unwrap(), p);
        assert_eq!(
            PublicKey::from_bytes(&[1u8; 64]),
            Err(CryptoError::InvalidPublicKey)
        );
        assert!(PublicKey::from_bytes(&[1u8; 63]).is_err());
    }

    #[test]
    fn secret_key_refuses_zero_and_the_order() {
        assert!(SecretKey::from_bytes(&[0u8; 32]).is_err());
        let n = unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").unwrap();
        assert!(SecretKey::from_bytes(&n).is_err());
    }

    #[test]
    fn bad_recovery_id_is_refused() {
        let k = key("49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee");
        let digest = keccak256(b"x");
        let mut sig = k.sign_prehash(&digest);
        sig.0[64] = 7;
        assert_eq!(sig.recover(&digest), Err(CryptoError::InvalidSignature));
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex("0x00ff10").unwrap(), vec![0, 255, 16]);
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
        assert_eq!(unhex("abc"), Err(HexError::OddLength));
        assert_eq!(unhex("zz"), Err(HexError::BadDigit(0)));
    }
}
