//! The sidecar of an EIP-4844 blob transaction in its network form: blobs, KZG commitments and
//! proofs, either one proof per blob (EIP-4844, wrapper version 0) or `CELLS_PER_EXT_BLOB` cell
//! proofs per blob (EIP-7594, wrapper version 1), and the versioned hashes that tie the
//! commitments to the transaction (EIP-4844 `kzg_to_versioned_hash`).
//!
//! KZG proof verification is out of scope: it needs the trusted setup and a BLS12-381 pairing
//! library. The shape of the sidecar and the commitments' versioned hashes are checked.

use std::fmt;

use rlp::RlpStream;
use sha2::{Digest, Sha256};

use super::{BLOBS_PER_TX_MAX, DecodeError, Hash};
use crate::rlp::cursor::{self as wire, Item, Items};

/// Bytes in one blob: 4096 field elements of 32 bytes (EIP-4844 `FIELD_ELEMENTS_PER_BLOB`).
pub const BLOB_SIZE: usize = 131_072;

/// Bytes in a KZG commitment or proof (a compressed BLS12-381 G1 point).
pub const KZG_SIZE: usize = 48;

/// Cell proofs per blob in an EIP-7594 (version 1) sidecar: `CELLS_PER_EXT_BLOB`.
pub const CELLS_PER_EXT_BLOB: usize = 128;

/// The version byte of a KZG versioned hash (EIP-4844 `VERSIONED_HASH_VERSION_KZG`).
pub const VERSIONED_HASH_VERSION_KZG: u8 = 0x01;

/// The sidecar of a blob transaction in its network form.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct BlobSidecar {
    /// 0: EIP-4844 (one proof per blob); 1: EIP-7594 (`CELLS_PER_EXT_BLOB` cell proofs per blob).
    pub version: u8,
    /// Each exactly [`BLOB_SIZE`] bytes.
    pub blobs: Vec<Vec<u8>>,
    pub commitments: Vec<[u8; KZG_SIZE]>,
    pub proofs: Vec<[u8; KZG_SIZE]>,
}

impl fmt::Debug for BlobSidecar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Blobs are 128 KiB each: their count says enough in assertion messages.
        write!(
            f,
            "BlobSidecar(v{}, {} blobs, {} proofs)",
            self.version,
            self.blobs.len(),
            self.proofs.len()
        )
    }
}

/// Reads the sidecar after the body: `blobs, commitments, proofs` (4 items in all) or
/// `wrapper_version, blobs, commitments, cell_proofs` (5).
pub(super) fn decode_sidecar(
    count: usize,
    mut rest: Items<'_>,
) -> Result<BlobSidecar, DecodeError> {
    let version = match count {
        4 => 0,
        5 => match rest
            .field("blob wrapper version")?
            .uint("blob wrapper version")?
        {
            1 => 1,
            _ => return Err(DecodeError::BadSidecar("unknown wrapper version")),
        },
        _ => {
            return Err(DecodeError::BadSidecar(
                "wrapper is not [body, (version,) blobs, commitments, proofs]",
            ));
        }
    };
    let (blob_items, blob_count) =
        wire::bounded_list(rest.field("blobs")?, "blobs", BLOBS_PER_TX_MAX)?;
    let mut blobs = Vec::with_capacity(blob_count);
    for blob in blob_items {
        let bytes = blob?.bytes("blob")?;
        if bytes.len() != BLOB_SIZE {
            return Err(DecodeError::BadSidecar("a blob is not 131072 bytes"));
        }
        blobs.push(bytes.to_vec());
    }
    let commitments = kzg_list(rest.field("commitments")?, "commitments", BLOBS_PER_TX_MAX)?;
    let proofs_max = if version == 1 {
        BLOBS_PER_TX_MAX * CELLS_PER_EXT_BLOB
    } else {
        BLOBS_PER_TX_MAX
    };
    let proofs = kzg_list(rest.field("proofs")?, "proofs", proofs_max)?;
    rest.end("blob wrapper has extra fields")?;
    Ok(BlobSidecar {
        version,
        blobs,
        commitments,
        proofs,
    })
}

/// A list of 48-byte KZG commitments or proofs, at most `max`.
fn kzg_list(
    item: Item<'_>,
    what: &'static str,
    max: usize,
) -> Result<Vec<[u8; KZG_SIZE]>, DecodeError> {
    let (items, count) = wire::bounded_list(item, what, max)?;
    let mut out = Vec::with_capacity(count);
    for i in items {
        out.push(i?.fixed::<KZG_SIZE>(what)?);
    }
    Ok(out)
}

/// The counts agree and every commitment hashes to its versioned hash. The KZG proofs
/// themselves are not verified here.
pub fn check_sidecar(hashes: &[Hash], sidecar: &BlobSidecar) -> Result<(), DecodeError> {
    let n = hashes.len();
    if sidecar.blobs.len() != n || sidecar.commitments.len() != n {
        return Err(DecodeError::BadSidecar(
            "blob and commitment counts differ from the versioned hashes",
        ));
    }
    let proofs_per_blob = if sidecar.version == 1 {
        CELLS_PER_EXT_BLOB
    } else {
        1
    };
    if sidecar.proofs.len() != n * proofs_per_blob {
        return Err(DecodeError::BadSidecar(
            "proof count does not match the blob count",
        ));
    }
    for (index, (c, h)) in sidecar.commitments.iter().zip(hashes).enumerate() {
        if versioned_hash(c) != *h {
            return Err(DecodeError::VersionedHashMismatch { index });
        }
    }
    Ok(())
}

/// `VERSIONED_HASH_VERSION_KZG || sha256(commitment)[1..]` (EIP-4844 `kzg_to_versioned_hash`).
pub fn versioned_hash(commitment: &[u8; KZG_SIZE]) -> Hash {
    let mut h: Hash = Sha256::digest(commitment).into();
    h[0] = VERSIONED_HASH_VERSION_KZG;
    h
}

/// `rlp([body, (version,) blobs, commitments, proofs])`, the payload of a blob transaction's
/// network form; `body` is the RLP list of the transaction's fields.
pub(super) fn encode_wrapper(body: &[u8], sc: &BlobSidecar) -> Vec<u8> {
    let mut s = RlpStream::new_list(if sc.version == 1 { 5 } else { 4 });
    s.append_raw(body, 1);
    if sc.version == 1 {
        s.append(&sc.version);
    }
    s.begin_list(sc.blobs.len());
    for b in &sc.blobs {
        s.append(&b.as_slice());
    }
    s.begin_list(sc.commitments.len());
    for c in &sc.commitments {
        s.append(&&c[..]);
    }
    s.begin_list(sc.proofs.len());
    for p in &sc.proofs {
        s.append(&&p[..]);
    }
    s.out().to_vec()
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn blob_network_form_needs_a_matching_sidecar() {
        let mut tx = blob_tx();
        assert_eq!(
            decode_network(&tx.encode_network()),
            Err(DecodeError::MissingSidecar)
        );
        tx.sidecar = Some(BlobSidecar {
            version: 0,
            blobs: vec![vec![0; BLOB_SIZE]],
            commitments: vec![[1; 48]],
            proofs: vec![[2; 48]],
        });
        assert_eq!(decode_network(&tx.encode_network()).unwrap(), tx);
        let mut wrong = tx.clone();
        if let Some(sc) = wrong.sidecar.as_mut() {
            sc.commitments[0] = [3; 48];
        }
        assert_eq!(
            decode_network(&wrong.encode_network()),
            Err(DecodeError::VersionedHashMismatch { index: 0 })
        );
    }
    fn blob_tx() -> Transaction {
        let mut tx = Transaction {
            tx_type: TxType::Blob,
            to: Some([0x11; 20]),
            blob_fee_cap: 3,
            blob_versioned_hashes: vec![versioned_hash(&[1; 48])],
            ..Transaction::default()
        };
        tx.sign(&SecretKey::from_bytes(&[7u8; 32]).unwrap(), 1);
        tx
    }
}
