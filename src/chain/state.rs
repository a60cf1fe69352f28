//! A state snapshot: every account's nonce and balance at one block, read from a go-ethereum
//! state dump (`headstate.json` of the ethtest chain layout, `geth dump`'s JSON: `root` and
//! `accounts` by address, each with `balance`, `nonce`, `root` (its storage root) and `codeHash`)
//! and proven by its state root (Yellow Paper section 4.1: the secure trie mapping
//! `keccak(address)` to `rlp([nonce, balance, storageRoot, codeHash])`). Sans-IO.
//!
//! The node executes no blocks, so this is the only way it knows accounts: `ethpeer import
//! --state FILE` checks the dump against its own root and that root against the head's
//! `stateRoot`, and stores it ([`encode`]); the node loads it at start, and the pool checks nonces
//! and balances while that block is the head ([`crate::tx::state`]).

use std::collections::BTreeMap;
use std::fmt;

use rlp::RlpStream;

use super::header::U256;
use super::json::{self, Json, JsonError};
use super::trie::{EMPTY_ROOT, secure_trie_root};
use crate::crypto::{hex, keccak256, unhex};
use crate::tx::Address;
use crate::tx::state::{AccountState, AccountsAt};

/// Most accounts a snapshot may hold: 65,536. A snapshot is for test and development chains
/// (hive's have a few hundred accounts); the pool keeps it in memory at about 100 bytes an
/// account, so the bound keeps it near 6 MiB and its stored form under 4 MiB. A public network's
/// state (hundreds of millions of accounts) is out of reach without executing blocks anyway.
pub const STATE_ACCOUNTS_MAX: usize = 1 << 16;

/// Bytes of one stored account: address, nonce, balance.
const ACCOUNT_BYTES: usize = 20 + 8 + 32;
/// Bytes of the stored header: number, block hash, root, account count.
const HEADER_BYTES: usize = 8 + 32 + 32 + 4;

/// keccak256 of empty code: the code hash of an account without code.
fn empty_code_hash() -> [u8; 32] {
    keccak256(&[])
}

/// Why a state dump or a stored snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The file is not JSON (or over the JSON size limit).
    Json(JsonError),
    /// A member is missing or malformed; `path` names it (`accounts.0x….balance`).
    Field { path: String, what: &'static str },
    /// More accounts than [`STATE_ACCOUNTS_MAX`].
    TooManyAccounts { count: usize },
    /// The accounts do not hash to the root the dump states.
    RootMismatch {
        computed: [u8; 32],
        stated: [u8; 32],
    },
    /// A stored snapshot does not decode.
    Corrupt,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Json(e) => write!(f, "state dump: {e}"),
            StateError::Field { path, what } => write!(f, "state dump: {path}: {what}"),
            StateError::TooManyAccounts { count } => write!(
                f,
                "state dump: {count} accounts, over the limit of {STATE_ACCOUNTS_MAX}"
            ),
            StateError::RootMismatch { computed, stated } => write!(
                f,
                "state dump: its accounts hash to root 0x{}, not the 0x{} it states",
                hex(computed),
                hex(stated)
            ),
            StateError::Corrupt => write!(f, "stored state snapshot does not decode"),
        }
    }
}

impl std::error::Error for StateError {}

fn field(path: impl Into<String>, what: &'static str) -> StateError {
    StateError::Field {
        path: path.into(),
        what,
    }
}

/// A 32-byte hex member (with or without `0x`), or `default` when absent.
fn hash_member(v: &Json, key: &str, path: &str, default: [u8; 32]) -> Result<[u8; 32], StateError> {
    match v.get_present(key) {
        None => Ok(default),
        Some(x) => x
            .as_str()
            .and_then(|s| unhex(s).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                let at = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                field(at, "not a 32-byte hex string")
            }),
    }
}

/// A number member: a JSON integer, or a string of decimal or `0x` hex; 0 when absent.
fn quantity(v: &Json, key: &str, path: &str) -> Result<U256, StateError> {
    match v.get_present(key) {
        None => Ok(U256::ZERO),
        Some(Json::Number(t) | Json::String(t)) => {
            U256::parse(t).ok_or_else(|| field(format!("{path}.{key}"), "not a 256-bit number"))
        }
        Some(_) => Err(field(format!("{path}.{key}"), "not a number")),
    }
}

/// Reads a go-ethereum state dump and checks it: its accounts must hash to the `root` it
/// states. Returns that root and every account's nonce and balance.
pub fn parse_dump(text: &str) -> Result<([u8; 32], BTreeMap<Address, AccountState>), StateError> {
    let doc = json::parse(text).map_err(StateError::Json)?;
    let stated = match doc.get_present("root") {
        Some(_) => hash_member(&doc, "root", "", [0; 32])?,
        None => return Err(field("root", "missing")),
    };
    let entries = doc
        .get_present("accounts")
        .and_then(Json::as_object)
        .ok_or_else(|| field("accounts", "missing or not an object"))?;
    if entries.len() > STATE_ACCOUNTS_MAX {
        return Err(StateError::TooManyAccounts {
            count: entries.len(),
        });
    }
    let mut accounts = BTreeMap::new();
    let mut leaves = Vec::with_capacity(entries.len());
    for (key, entry) in entries {
        let path = format!("accounts.{key}");
        let address: Address = unhex(key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| field(&path, "not a 20-byte hex address"))?;
        if entry.as_object().is_none() {
            return Err(field(&path, "not an object"));
        }
        let nonce = quantity(entry, "nonce", &path)?
            .to_u64()
            .ok_or_else(|| field(format!("{path}.nonce"), "not a 64-bit number"))?;
        let balance = quantity(entry, "balance", &path)?;
        let storage_root = hash_member(entry, "root", &path, EMPTY_ROOT)?;
        let code_hash = hash_member(entry, "codeHash", &path, empty_code_hash())?;
        let mut s = RlpStream::new_list(4);
        s.append(&nonce);
        s.append(&balance);
        s.append(&storage_root.as_slice());
        s.append(&code_hash.as_slice());
        leaves.push((address, s.out().to_vec()));
        if accounts
            .insert(address, AccountState { nonce, balance })
            .is_some()
        {
            return Err(field(&path, "address given twice"));
        }
    }
    let computed = secure_trie_root(leaves);
    if computed != stated {
        return Err(StateError::RootMismatch { computed, stated });
    }
    Ok((stated, accounts))
}

/// The stored form: number, block hash, root, account count (4 bytes), then each account's
/// address, nonce and balance, all big-endian, accounts by address.
pub fn encode(state: &AccountsAt) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + state.accounts.len() * ACCOUNT_BYTES);
    out.extend_from_slice(&state.number.to_be_bytes());
    out.extend_from_slice(&state.block_hash);
    out.extend_from_slice(&state.root);
    out.extend_from_slice(&(state.accounts.len() as u32).to_be_bytes());
    for (address, a) in &state.accounts {
        out.extend_from_slice(address);
        out.extend_from_slice(&a.nonce.to_be_bytes());
        out.extend_from_slice(&a.balance.0);
    }
    out
}

/// Reads [`encode`]'s form back; the length must match the count exactly and the count stays
/// within [`STATE_ACCOUNTS_MAX`].
pub fn decode(bytes: &[u8]) -> Result<AccountsAt, StateError> {
    let (head, rest) = bytes
        .split_at_checked(HEADER_BYTES)
        .ok_or(StateError::Corrupt)?;
    let word = |range: std::ops::Range<usize>| head.get(range).ok_or(StateError::Corrupt);
    let number = u64::from_be_bytes(word(0..8)?.try_into().map_err(|_| StateError::Corrupt)?);
    let block_hash: [u8; 32] = word(8..40)?.try_into().map_err(|_| StateError::Corrupt)?;
    let root: [u8; 32] = word(40..72)?.try_into().map_err(|_| StateError::Corrupt)?;
    let count = u32::from_be_bytes(word(72..76)?.try_into().map_err(|_| StateError::Corrupt)?);
    let count = count as usize;
    if count > STATE_ACCOUNTS_MAX || rest.len() != count * ACCOUNT_BYTES {
        return Err(StateError::Corrupt);
    }
    let mut accounts = BTreeMap::new();
    for chunk in rest.chunks_exact(ACCOUNT_BYTES) {
        let (address, more) = chunk.split_at(20);
        let (nonce, balance) = more.split_at(8);
        let address: Address = address.try_into().map_err(|_| StateError::Corrupt)?;
        let state = AccountState {
            nonce: u64::from_be_bytes(nonce.try_into().map_err(|_| StateError::Corrupt)?),
            balance: U256(balance.try_into().map_err(|_| StateError::Corrupt)?),
        };
        accounts.insert(address, state);
    }
    Ok(AccountsAt {
        number,
        block_hash,
        root,
        accounts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/chain")
            .join(name);
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn the_fixture_dump_hashes_to_the_head_state_root() {
        let (root, accounts) = parse_dump(&fixture("headstate.json")).unwrap();
        let head: serde_json::Value = serde_json::from_str(&fixture("headblock.json")).unwrap();
        let want = unhex(head["stateRoot"].as_str().unwrap()).unwrap();
        assert_eq!(root.as_slice(), want.as_slice());
        assert_eq!(accounts.len(), 194);
        let sender: Address = unhex("0x7435ed30a8b4aeb0877cef0c6e8cffe834eb865f")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(accounts[&sender].nonce, 603);
        assert_eq!(
            accounts[&sender].balance,
            U256::parse("999999999999999999978502856567391250").unwrap()
        );
    }

    #[test]
    fn a_dump_that_does_not_hash_to_its_root_is_refused() {
        let text = fixture("headstate.json").replacen(
            "\"balance\": \"121816101\"",
            "\"balance\": \"121816102\"",
            1,
        );
        assert!(matches!(
            parse_dump(&text),
            Err(StateError::RootMismatch { .. })
        ));
        assert!(matches!(
            parse_dump("{\"accounts\":{}}"),
            Err(StateError::Field { .. })
        ));
        let bad = format!(
            "{{\"root\":\"0x{}\",\"accounts\":{{\"0x12\":{{}}}}}}",
            hex(&EMPTY_ROOT)
        );
        assert!(matches!(parse_dump(&bad), Err(StateError::Field { .. })));
        let empty = format!("{{\"root\":\"0x{}\",\"accounts\":{{}}}}", hex(&EMPTY_ROOT));
        assert_eq!(parse_dump(&empty).unwrap().1.len(), 0);
    }

    #[test]
    fn too_many_accounts_are_refused_before_any_hashing() {
        let mut text = format!("{{\"root\":\"0x{}\",\"accounts\":{{", hex(&EMPTY_ROOT));
        for i in 0..=STATE_ACCOUNTS_MAX {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!("\"0x{i:040x}\":{{}}"));
        }
        text.push_str("}}");
        assert_eq!(
            parse_dump(&text),
            Err(StateError::TooManyAccounts {
                count: STATE_ACCOUNTS_MAX + 1
            })
        );
    }

    #[test]
    fn the_stored_form_round_trips_and_refuses_any_other_length() {
        let (root, accounts) = parse_dump(&fixture("headstate.json")).unwrap();
        let state = AccountsAt {
            number: 600,
            block_hash: [7; 32],
            root,
            accounts,
        };
        let bytes = encode(&state);
        assert_eq!(decode(&bytes).unwrap(), state);
        for cut in [0, 10, HEADER_BYTES, bytes.len() - 1] {
            assert_eq!(decode(&bytes[..cut]), Err(StateError::Corrupt), "cut {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), Err(StateError::Corrupt));
        let mut huge = bytes[..HEADER_BYTES].to_vec();
        huge[72..76].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(&huge), Err(StateError::Corrupt));
    }
}
