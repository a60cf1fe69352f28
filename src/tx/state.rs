//! The account checks a pool makes once it knows the sender's state (go-ethereum `core/txpool`
//! `ValidateTransactionWithState`; Yellow Paper section 6.2, "the transaction nonce is valid" and
//! "the sender account balance contains at least the cost v0 required in up-front payment";
//! EIP-1559 and EIP-4844 for what the up-front cost is). Sans-IO.
//!
//! The node does not execute blocks, so it knows accounts only from a state snapshot that was
//! imported with the chain ([`AccountsAt`]: nonces and balances at one block) and only while that
//! block is the head. Then a transaction is refused when its nonce is below the account's, or
//! when the balance does not cover `value + gas_limit * max_fee_per_gas + blob_gas *
//! max_fee_per_blob_gas` (the most the transaction can take, what go-ethereum's `Cost` counts).
//! An account missing from the snapshot is empty: nonce 0, balance 0.

use std::collections::BTreeMap;
use std::fmt;

use super::{Address, Hash, PoolTx};
use crate::chain::header::U256;

/// Blob gas per blob (EIP-4844 `GAS_PER_BLOB`, 2^17).
pub const GAS_PER_BLOB: u64 = 1 << 17;

/// One account's nonce and balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountState {
    pub nonce: u64,
    pub balance: U256,
}

/// Every account's nonce and balance at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsAt {
    /// The block whose post-state this is.
    pub number: u64,
    pub block_hash: Hash,
    /// That block's state root, which the accounts were checked against.
    pub root: Hash,
    pub accounts: BTreeMap<Address, AccountState>,
}

/// Why an account refuses a transaction; Display names the rule as go-ethereum words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateRefusal {
    /// The nonce is below the account's next one: it was used already.
    NonceTooLow { nonce: u64, next: u64 },
    /// The balance does not cover the most the transaction can cost.
    InsufficientFunds { balance: U256, cost: U256 },
}

impl fmt::Display for StateRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateRefusal::NonceTooLow { nonce, next } => {
                write!(f, "nonce too low: tx nonce {nonce}, account nonce {next}")
            }
            StateRefusal::InsufficientFunds { balance, cost } => write!(
                f,
                "insufficient funds for gas * price + value: balance 0x{}, cost 0x{}",
                crate::crypto::hex(balance.trimmed()),
                crate::crypto::hex(cost.trimmed())
            ),
        }
    }
}

impl std::error::Error for StateRefusal {}

impl AccountsAt {
    /// Checks `tx` against its sender's account.
    pub fn check(&self, tx: &PoolTx) -> Result<(), StateRefusal> {
        let account = self.accounts.get(&tx.sender).copied().unwrap_or_default();
        if tx.nonce < account.nonce {
            return Err(StateRefusal::NonceTooLow {
                nonce: tx.nonce,
                next: account.nonce,
            });
        }
        // Big-endian bytes of equal length compare as the numbers do.
        if account.balance.0 < tx.cost.0 {
            return Err(StateRefusal::InsufficientFunds {
                balance: account.balance,
                cost: tx.cost,
            });
        }
        Ok(())
    }
}

/// The most a transaction can take from its sender: `value + gas_limit * fee_cap + blobs *`
/// [`GAS_PER_BLOB`] `* blob_fee_cap`, saturating at `2^256 - 1` (no balance covers that, and a
/// cost beyond 256 bits can only come from a transaction no block could hold).
pub fn max_cost(
    value: &U256,
    gas_limit: u64,
    fee_cap: u128,
    blobs: usize,
    blob_fee_cap: u128,
) -> U256 {
    let blob_gas = (blobs as u64).saturating_mul(GAS_PER_BLOB);
    let sum = Limbs::from(value)
        .add(Limbs::product(gas_limit, fee_cap))
        .and_then(|s| s.add(Limbs::product(blob_gas, blob_fee_cap)));
    sum.map_or(U256([0xff; 32]), |s| s.to_u256())
}

/// A 256-bit number as four 64-bit limbs, least significant first: just the arithmetic
/// [`max_cost`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limbs([u64; 4]);

impl Limbs {
    fn from(v: &U256) -> Limbs {
        let mut limbs = [0u64; 4];
        for (i, chunk) in v.0.chunks_exact(8).rev().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            limbs[i] = u64::from_be_bytes(b);
        }
        Limbs(limbs)
    }

    fn to_u256(self) -> U256 {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            out[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
        }
        U256(out)
    }

    /// `a * b`, at most 192 bits, so it always fits.
    fn product(a: u64, b: u128) -> Limbs {
        let (lo, hi) = (b as u64, (b >> 64) as u64);
        let p0 = u128::from(a) * u128::from(lo);
        let p1 = u128::from(a) * u128::from(hi) + (p0 >> 64);
        Limbs([p0 as u64, p1 as u64, (p1 >> 64) as u64, 0])
    }

    /// `self + other`, or `None` past 256 bits.
    fn add(self, other: Limbs) -> Option<Limbs> {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (s, c1) = self.0[i].overflowing_add(other.0[i]);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            *slot = s;
            carry = c1 || c2;
        }
        (!carry).then_some(Limbs(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u128) -> U256 {
        let mut b = [0u8; 32];
        b[16..].copy_from_slice(&v.to_be_bytes());
        U256(b)
    }

    fn pool_tx(nonce: u64, cost: U256) -> PoolTx {
        PoolTx {
            hash: [nonce as u8; 32],
            sender: [1; 20],
            nonce,
            tx_type: 2,
            gas_limit: 21_000,
            fee_cap: 1,
            tip_cap: 1,
            blob_count: 0,
            blob_fee_cap: 0,
            cost,
            size: 100,
            network_rlp: vec![],
        }
    }

    #[test]
    fn cost_is_value_plus_gas_times_fee_cap_plus_blob_gas() {
        assert_eq!(max_cost(&u(5), 21_000, 7, 0, 0), u(5 + 21_000 * 7));
        assert_eq!(
            max_cost(&u(5), 100_000, 10, 2, 3),
            u(5 + 100_000 * 10 + 2 * 131_072 * 3)
        );
        // Past 128 bits: gas * a fee cap near 2^128 carries into the third limb.
        let big = max_cost(&U256::ZERO, 1 << 20, u128::MAX, 0, 0);
        let mut want = [0u8; 32];
        // (2^128 - 1) * 2^20 = 2^148 - 2^20.
        want[13] = 0x0f;
        want[14..29].fill(0xff);
        want[29] = 0xf0;
        assert_eq!(big, U256(want));
        // Past 256 bits saturates.
        assert_eq!(max_cost(&U256([0xff; 32]), 1, 1, 0, 0), U256([0xff; 32]));
        assert_eq!(max_cost(&U256([0xff; 32]), 0, 0, 0, 0), U256([0xff; 32]));
    }

    #[test]
    fn nonce_below_the_account_and_cost_above_the_balance_are_refused() {
        let mut accounts = BTreeMap::new();
        accounts.insert(
            [1; 20],
            AccountState {
                nonce: 3,
                balance: u(1_000),
            },
        );
        let state = AccountsAt {
            number: 1,
            block_hash: [0; 32],
            root: [0; 32],
            accounts,
        };
        assert_eq!(
            state.check(&pool_tx(2, u(1))),
            Err(StateRefusal::NonceTooLow { nonce: 2, next: 3 })
        );
        assert_eq!(state.check(&pool_tx(3, u(1_000))), Ok(()));
        assert_eq!(state.check(&pool_tx(9, u(1_000))), Ok(()), "gaps are fine");
        assert_eq!(
            state.check(&pool_tx(3, u(1_001))),
            Err(StateRefusal::InsufficientFunds {
                balance: u(1_000),
                cost: u(1_001)
            })
        );
        // An account the snapshot lacks is empty.
        let mut stranger = pool_tx(0, u(1));
        stranger.sender = [2; 20];
        assert!(matches!(
            state.check(&stranger),
            Err(StateRefusal::InsufficientFunds { .. })
        ));
        stranger.cost = U256::ZERO;
        assert_eq!(state.check(&stranger), Ok(()));
        assert!(
            !state
                .check(&pool_tx(3, u(1_001)))
                .unwrap_err()
                .to_string()
                .is_empty()
        );
    }
}
