//! The block as the chain code passes it around: [`StoredBlock`] (a verified block's decoded
//! header, hash and raw RLP pieces, ready to store or to send), [`Head`] (the tip of the
//! canonical chain) and [`join_block`], which rebuilds a block's RLP `[header, txs, ommers,
//! (withdrawals)]` (Yellow Paper section 4.3, EIP-4895) from its header and its body as eth's
//! BlockBodies carries it. Plain data: the store (`store.rs`), the importer and the
//! syncer all speak it, and none of them owns it.

use std::fmt;

use rlp::{Rlp, RlpStream};

use super::header::{Header, U256};

/// One block ready to store: its decoded header, hash and the raw RLP pieces.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    /// The decoded header.
    pub header: Header,
    /// keccak-256 of `header_rlp`.
    pub hash: [u8; 32],
    /// The header's RLP, as received.
    pub header_rlp: Vec<u8>,
    /// The body as an RLP list `[txs, ommers]` or `[txs, ommers, withdrawals]`.
    pub body_rlp: Vec<u8>,
    /// The consensus receipts list, when known.
    pub receipts_rlp: Option<Vec<u8>>,
}

impl StoredBlock {
    /// The block's RLP `[header, txs, ommers, (withdrawals)]`, rebuilt from the header and body.
    pub fn block_rlp(&self) -> Result<Vec<u8>, BodyNotList> {
        join_block(&self.header_rlp, &self.body_rlp)
    }
}

/// Joins a header RLP and a body list RLP into the block list RLP.
pub fn join_block(header_rlp: &[u8], body_rlp: &[u8]) -> Result<Vec<u8>, BodyNotList> {
    let body = Rlp::new(body_rlp);
    let info = body.payload_info().map_err(|_| BodyNotList)?;
    let payload = body_rlp
        .get(info.header_len..info.header_len + info.value_len)
        .ok_or(BodyNotList)?;
    let mut s = RlpStream::new();
    s.begin_unbounded_list();
    s.append_raw(header_rlp, 1);
    s.append_raw(payload, 1);
    s.finalize_unbounded_list();
    Ok(s.out().to_vec())
}

/// The head of the canonical chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub number: u64,
    pub hash: [u8; 32],
    /// Total difficulty at the head (constant after the merge).
    pub td: U256,
}

/// A block body that is not an RLP list, so it cannot be joined to its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyNotList;

impl fmt::Display for BodyNotList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block body is not an RLP list")
    }
}

impl std::error::Error for BodyNotList {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_block_rebuilds_the_block_list() {
        let header = rlp::encode_list::<u64, u64>(&[1, 2]).to_vec();
        let body = {
            let mut s = RlpStream::new_list(2);
            s.begin_list(0);
            s.begin_list(0);
            s.out().to_vec()
        };
        let block = join_block(&header, &body).unwrap();
        let r = Rlp::new(&block);
        assert_eq!(r.item_count().unwrap(), 3);
        assert_eq!(r.at(0).unwrap().as_raw(), header.as_slice());
        assert!(join_block(&header, &[0xc5]).is_err());
    }
}
