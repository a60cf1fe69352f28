//! Transactions and the transaction pool (devp2p caps/eth.md "Transactions", EIP-2718 typed
//! envelopes, EIP-2930, EIP-1559, EIP-4844, EIP-7702; go-ethereum `core/txpool` as the model).
//!
//! Sans-IO cores: [`transaction`] decodes, encodes and recovers the sender of every type,
//! [`validate`] checks a transaction without state and turns it into a [`PoolTx`], [`state`]
//! checks it against its sender's account when the pool knows it, [`pool`] orders and bounds
//! pending transactions. [`journal`] is the pool's file of local transactions
//! (the one part here that touches disk).

/// A 20-byte account address (the low 20 bytes of keccak256 of the public key).
pub type Address = [u8; 20];

/// A 32-byte hash.
pub type Hash = [u8; 32];

/// What the pool and the propagation policy need to know of one valid transaction. Built by
/// [`validate`] from untrusted bytes; everything here has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTx {
    /// keccak256 of the consensus encoding (for typed txs: `type || rlp(payload)`).
    pub hash: Hash,
    /// The recovered sender.
    pub sender: Address,
    /// The sender's nonce.
    pub nonce: u64,
    /// EIP-2718 type: 0 legacy, 1 access list, 2 dynamic fee, 3 blob, 4 set-code.
    pub tx_type: u8,
    /// Gas limit of the transaction.
    pub gas_limit: u64,
    /// Most wei per gas the sender pays (legacy/2930: the gas price; 1559+: `maxFeePerGas`).
    pub fee_cap: u128,
    /// Most wei per gas for the block producer (legacy/2930: the gas price).
    pub tip_cap: u128,
    /// EIP-4844: number of blobs (0 for every other type).
    pub blob_count: usize,
    /// EIP-4844: `maxFeePerBlobGas` (0 for every other type).
    pub blob_fee_cap: u128,
    /// The most the transaction can take from its sender: `value + gas_limit * fee_cap + blob
    /// gas * blob_fee_cap` ([`state::max_cost`]), checked against the balance when the pool
    /// knows the sender's account.
    pub cost: crate::chain::header::U256,
    /// What NewPooledTransactionHashes announces: the size of the consensus encoding, and for
    /// a blob transaction that of its network form (`type || rlp([tx, blobs, commitments,
    /// proofs])`), the bytes a fetch will actually move.
    pub size: usize,
    /// The network encoding (for blob txs: with blobs, commitments and proofs), as sent in
    /// Transactions and PooledTransactions.
    pub network_rlp: Vec<u8>,
}

// The submodules (`transaction`, `validate`, `state`, `pool`, `journal`) are declared here as they land.
pub mod journal;
pub mod pool;
pub mod state;
pub mod transaction;
pub mod validate;
