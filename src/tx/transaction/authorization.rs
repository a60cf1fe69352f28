//! EIP-7702 authorizations: the tuples `[chain_id, address, nonce, y_parity, r, s]` of a
//! set-code transaction's authorization list, their decoding (counted against
//! [`AUTHORIZATIONS_MAX`] before allocating), their signing hash and the recovery of their
//! authority.
//!
//! An authorization's signature is not checked when the transaction is decoded: EIP-7702 skips
//! an invalid authorization during execution instead of invalidating the transaction.

use rlp::RlpStream;

use super::{
    AUTHORIZATIONS_MAX, Address, DecodeError, Hash, U256, check_signature_values, recover_address,
};
use crate::crypto::keccak256;
use crate::rlp::cursor::{self as wire, Item, trim_uint256};

/// The EIP-7702 authorization signing domain (`MAGIC`).
pub const AUTHORIZATION_MAGIC: u8 = 0x05;

/// One EIP-7702 authorization tuple `[chain_id, address, nonce, y_parity, r, s]`. Its signature
/// is not checked at decoding: EIP-7702 skips an invalid authorization during execution rather
/// than invalidating the transaction ([`Authorization::authority`] recovers it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorization {
    pub chain_id: U256,
    pub address: Address,
    pub nonce: u64,
    pub y_parity: u8,
    pub r: U256,
    pub s: U256,
}

impl Authorization {
    /// `keccak256(MAGIC || rlp([chain_id, address, nonce]))`, what the authority signs.
    pub fn signing_hash(&self) -> Hash {
        let mut s = RlpStream::new_list(3);
        s.append(&trim_uint256(&self.chain_id));
        s.append(&&self.address[..]);
        s.append(&self.nonce);
        keccak256(&[&[AUTHORIZATION_MAGIC][..], &s.out()].concat())
    }

    /// The authority (signer), or `None` when the signature is one EIP-7702 says to skip
    /// (y-parity not 0/1, s above n/2, r or s out of range, or no key recovers).
    pub fn authority(&self) -> Option<Address> {
        if self.y_parity > 1 || check_signature_values(&self.r, &self.s).is_err() {
            return None;
        }
        recover_address(&self.r, &self.s, self.y_parity == 1, &self.signing_hash()).ok()
    }
}

/// Reads an EIP-7702 authorization list, counted against [`AUTHORIZATIONS_MAX`] first.
pub(super) fn decode_authorizations(item: Item<'_>) -> Result<Vec<Authorization>, DecodeError> {
    let (entries, count) = wire::bounded_list(item, "authorization list", AUTHORIZATIONS_MAX)?;
    let mut out = Vec::with_capacity(count);
    for entry in entries {
        let mut f = entry?.list("authorization")?;
        let chain_id = f
            .field("authorization chainId")?
            .uint256("authorization chainId")?;
        let address = f
            .field("authorization address")?
            .fixed::<20>("authorization address")?;
        let nonce = f
            .field("authorization nonce")?
            .uint("authorization nonce")?;
        let y_parity = f
            .field("authorization yParity")?
            .uint("authorization yParity")?;
        let y_parity =
            u8::try_from(y_parity).map_err(|_| DecodeError::malformed("authorization yParity"))?;
        let r = f.field("authorization r")?.uint256("authorization r")?;
        let s = f.field("authorization s")?.uint256("authorization s")?;
        f.end("authorization has extra fields")?;
        out.push(Authorization {
            chain_id,
            address,
            nonce,
            y_parity,
            r,
            s,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::tx::transaction::address_of;

    #[test]
    fn a_signed_authorization_recovers_its_authority_and_a_bad_one_is_skipped() {
        let key = SecretKey::from_bytes(&[3u8; 32]).unwrap();
        let mut auth = Authorization {
            address: [0x77; 20],
            nonce: 4,
            ..Authorization::default()
        };
        auth.chain_id[31] = 1;
        let sig = key.sign_prehash(&auth.signing_hash());
        auth.r.copy_from_slice(&sig.0[..32]);
        auth.s.copy_from_slice(&sig.0[32..64]);
        auth.y_parity = sig.0[64];
        assert_eq!(auth.authority(), Some(address_of(&key.public_key())));

        let mut wrong_parity = auth.clone();
        wrong_parity.y_parity = 2;
        assert_eq!(wrong_parity.authority(), None);
        let mut high_s = auth.clone();
        high_s.s = [0xff; 32];
        assert_eq!(high_s.authority(), None);
        let mut other_nonce = auth;
        other_nonce.nonce += 1;
        assert_ne!(other_nonce.authority(), Some(address_of(&key.public_key())));
    }
}
