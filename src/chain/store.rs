//! [`ChainStore`]: the synchronous chain store, keyspaces `chain.*` of the datadir's one fjall
//! database ([`crate::storage`], at `<datadir>/db`, shared with the node database): block headers,
//! bodies and receipts by hash, the canonical number → hash index, total difficulty by hash and
//! the head pointer (the roles of go-ethereum's `core/rawdb` schema, in our own layout).
//!
//! Every call may touch the disk and may be held up by fjall's write stalls, so in the running
//! node only the storage thread ([`crate::storage::worker`], through [`super::store_handle`])
//! calls it. fjall's memory and journal caps are the database's ([`crate::storage`]).
//!
//! Layout, one fjall keyspace per kind (all keys big-endian so they sort by number):
//!
//! | keyspace          | key               | value                                             |
//! |-------------------|-------------------|---------------------------------------------------|
//! | `chain.headers`   | hash (32)         | header RLP                                        |
//! | `chain.bodies`    | hash (32)         | `rlp([txs, ommers])` or `rlp([txs, ommers, withdrawals])`, the `BlockBodies` item |
//! | `chain.receipts`  | hash (32)         | the block's consensus receipts list (eth/68 form) |
//! | `chain.canonical` | number (8)        | hash (32)                                         |
//! | `chain.td`        | hash (32)         | total difficulty, 32 bytes                        |
//! | `chain.meta`      | `version`, `head` | [`SCHEMA_VERSION`] (4 bytes), head hash (32)      |
//! | `chain.meta`      | `state`           | the imported state snapshot, [`super::state::encode`] (≤ 4 MiB) |
//!
//! Crash consistency: [`ChainStore::insert_blocks`] puts every entry of a run of blocks AND the
//! new head pointer into one fjall `WriteBatch`. fjall writes a batch to its journal framed by a
//! start marker and an end marker carrying a checksum, and journal recovery truncates a batch
//! without a valid end. So after a crash at any moment either the whole batch (blocks and head)
//! is there or none of it is: the head pointer never names a block whose header, body, canonical
//! entry or total difficulty is missing, and nothing is canonical above the head. A block is
//! only ever inserted on top of the current head, so the canonical chain up to the head is
//! always complete and linked.
//!
//! Unlike the node database this store is not a cache: a schema version mismatch, a store fjall
//! cannot recover, or a genesis other than the one configured is an error, never a wipe.

use std::fmt;
use std::path::{Path, PathBuf};

use fjall::{Keyspace, KvSeparationOptions, PersistMode};
use rlp::RlpStream;

// The shell's files still name the block types here; they move with the shell.
use super::block::{BodyNotList, join_block};
pub use super::block::{Head, StoredBlock};
use super::header::{Header, HeaderError, U256};
use crate::crypto::hex;
use crate::storage::{Db, OpenError};
use crate::tx::state::AccountsAt;

/// The layout version. Bump it whenever a key or value layout changes; a store with another
/// version is refused at open (the operator decides whether to re-import).
pub const SCHEMA_VERSION: u32 = 1;

/// Values at least this large (bodies and receipts) go to fjall's blob files rather than into the
/// LSM tables, so compaction does not rewrite megabytes of transactions again and again: 4 KiB,
/// above a typical header or small body.
pub const BLOB_THRESHOLD: u32 = 4 * 1024;

const VERSION_KEY: &[u8] = b"version";
const HEAD_KEY: &[u8] = b"head";
const STATE_KEY: &[u8] = b"state";

/// Why a chain store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// fjall reported an error (I/O, or a store it cannot recover).
    Storage(fjall::Error),
    /// A directory could not be created.
    Io(PathBuf, std::io::Error),
    /// The store was written by another layout version.
    Version { found: String, want: u32 },
    /// The store holds another chain than the genesis given.
    GenesisMismatch { stored: [u8; 32], given: [u8; 32] },
    /// The store has no genesis yet and none was given.
    NoGenesis,
    /// A block does not extend the head.
    NotOnHead { number: u64, hash: [u8; 32] },
    /// A stored value does not decode (names the entry).
    Corrupt(&'static str),
    /// A stored header does not decode.
    Header(HeaderError),
    /// Total difficulty overflowed 256 bits.
    TdOverflow,
    /// The storage thread has stopped, so the request was not answered.
    Closed,
    /// The database could not be opened for another reason (the old layout).
    Open(OpenError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Storage(e) => write!(f, "chain store: {e}"),
            StoreError::Io(p, e) => write!(f, "chain store {}: {e}", p.display()),
            StoreError::Version { found, want } => write!(
                f,
                "chain store has schema version {found}, this ethpeer uses {want}; \
                 remove the chain directory and import again"
            ),
            StoreError::GenesisMismatch { stored, given } => write!(
                f,
                "chain store holds genesis 0x{}, but the genesis given is 0x{}",
                hex(stored),
                hex(given)
            ),
            StoreError::NoGenesis => write!(f, "chain store is empty and no genesis was given"),
            StoreError::NotOnHead { number, hash } => write!(
                f,
                "block {number} (0x{}) does not extend the chain head",
                hex(hash)
            ),
            StoreError::Corrupt(what) => write!(f, "chain store: corrupt {what} entry"),
            StoreError::Header(e) => write!(f, "chain store: stored {e}"),
            StoreError::TdOverflow => write!(f, "total difficulty overflows 256 bits"),
            StoreError::Closed => write!(f, "chain store thread has stopped"),
            StoreError::Open(e) => write!(f, "chain store: {e}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Storage(e) => Some(e),
            StoreError::Io(_, e) => Some(e),
            StoreError::Header(e) => Some(e),
            StoreError::Open(e) => Some(e),
            _ => None,
        }
    }
}

impl From<OpenError> for StoreError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Io(p, e) => StoreError::Io(p, e),
            OpenError::Storage(_, e) => StoreError::Storage(e),
            e @ OpenError::OldLayout(_) => StoreError::Open(e),
        }
    }
}

impl From<BodyNotList> for StoreError {
    fn from(_: BodyNotList) -> Self {
        StoreError::Corrupt("body")
    }
}

impl From<fjall::Error> for StoreError {
    fn from(e: fjall::Error) -> Self {
        StoreError::Storage(e)
    }
}

/// The chain store. One owner (the storage thread, or the import command).
pub struct ChainStore {
    db: Db,
    headers: Keyspace,
    bodies: Keyspace,
    receipts: Keyspace,
    canonical: Keyspace,
    td: Keyspace,
    meta: Keyspace,
}

impl fmt::Debug for ChainStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainStore")
            .field("path", &self.db.path())
            .finish()
    }
}

impl ChainStore {
    /// Opens (or creates) the store in the database of `datadir` ([`Db::open`]: the one already
    /// open in this process, if any).
    pub fn open(datadir: &Path) -> Result<ChainStore, StoreError> {
        Self::on(Db::open(datadir)?)
    }

    /// Opens (or creates) the store in a database whose directory is `path` itself.
    pub fn open_path(path: &Path) -> Result<ChainStore, StoreError> {
        Self::on(Db::open_path(path)?)
    }

    /// Opens (or creates) the store's keyspaces in `db`, checking its schema version. A fresh
    /// store gets the current version; any other version is [`StoreError::Version`].
    pub fn on(db: Db) -> Result<ChainStore, StoreError> {
        let large = || {
            let blobs = KvSeparationOptions {
                separation_threshold: BLOB_THRESHOLD,
                ..KvSeparationOptions::default()
            };
            Db::keyspace_options().with_kv_separation(Some(blobs))
        };
        let store = ChainStore {
            headers: db.keyspace("chain.headers", Db::keyspace_options)?,
            bodies: db.keyspace("chain.bodies", large)?,
            receipts: db.keyspace("chain.receipts", large)?,
            canonical: db.keyspace("chain.canonical", Db::keyspace_options)?,
            td: db.keyspace("chain.td", Db::keyspace_options)?,
            meta: db.keyspace("chain.meta", Db::keyspace_options)?,
            db,
        };
        store.check_version()?;
        Ok(store)
    }

    fn check_version(&self) -> Result<(), StoreError> {
        let stored = self.meta.get(VERSION_KEY)?;
        match stored.as_deref() {
            Some(v) if v == SCHEMA_VERSION.to_be_bytes() => Ok(()),
            Some(v) => Err(StoreError::Version {
                found: <[u8; 4]>::try_from(v).map_or_else(
                    |_| format!("0x{}", hex(v)),
                    |b| u32::from_be_bytes(b).to_string(),
                ),
                want: SCHEMA_VERSION,
            }),
            None if self.meta.is_empty()? && self.headers.is_empty()? => {
                self.meta
                    .insert(VERSION_KEY, SCHEMA_VERSION.to_be_bytes())?;
                self.db.persist(PersistMode::SyncAll)?;
                Ok(())
            }
            None => Err(StoreError::Version {
                found: "none".into(),
                want: SCHEMA_VERSION,
            }),
        }
    }

    /// The database's directory.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// The database the store lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Writes a different schema version: only for tests of the version check.
    #[doc(hidden)]
    pub fn set_version_for_test(&self, version: u32) -> Result<(), StoreError> {
        self.meta.insert(VERSION_KEY, version.to_be_bytes())?;
        self.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }

    /// Writes the genesis block on a fresh store, or checks that a used store holds the same
    /// genesis. Returns the head.
    pub fn init_genesis(&self, genesis: &Header) -> Result<Head, StoreError> {
        let hash = genesis.hash();
        if let Some(stored) = self.canonical_hash(0)? {
            if stored != hash {
                return Err(StoreError::GenesisMismatch {
                    stored,
                    given: hash,
                });
            }
            return self.head()?.ok_or(StoreError::Corrupt("head"));
        }
        let empty = RlpStream::new_list(0).out().to_vec();
        let mut body = RlpStream::new();
        body.begin_unbounded_list();
        body.append_raw(&empty, 1);
        body.append_raw(&empty, 1);
        if genesis.withdrawals_root.is_some() {
            body.append_raw(&empty, 1);
        }
        body.finalize_unbounded_list();
        let block = StoredBlock {
            header: genesis.clone(),
            hash,
            header_rlp: genesis.rlp(),
            body_rlp: body.out().to_vec(),
            receipts_rlp: Some(empty),
        };
        let td = genesis.difficulty;
        let mut batch = self.db.batch();
        self.put_block(&mut batch, &block, &td);
        batch.insert(&self.meta, HEAD_KEY, hash.to_vec());
        batch.commit()?;
        self.db.persist(PersistMode::SyncAll)?;
        Ok(Head {
            number: genesis.number,
            hash,
            td,
        })
    }

    /// The imported state snapshot (`None` when none was imported).
    pub fn state(&self) -> Result<Option<AccountsAt>, StoreError> {
        match self.meta.get(STATE_KEY)? {
            None => Ok(None),
            Some(bytes) => super::state::decode(&bytes)
                .map(Some)
                .map_err(|_| StoreError::Corrupt("state snapshot")),
        }
    }

    /// Stores `state` as the one state snapshot (replacing any other) and syncs it to disk.
    pub fn put_state(&self, state: &AccountsAt) -> Result<(), StoreError> {
        self.meta.insert(STATE_KEY, super::state::encode(state))?;
        self.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }

    /// The canonical head, or `None` on a store without a genesis.
    pub fn head(&self) -> Result<Option<Head>, StoreError> {
        let Some(hash) = self.meta.get(HEAD_KEY)? else {
            return Ok(None);
        };
        let hash = hash32(&hash, "head")?;
        let header = self
            .header_by_hash(&hash)?
            .ok_or(StoreError::Corrupt("head header"))?;
        let td = self.td(&hash)?.ok_or(StoreError::Corrupt("head td"))?;
        Ok(Some(Head {
            number: header.number,
            hash,
            td,
        }))
    }

    /// The hash of the canonical block `number`.
    pub fn canonical_hash(&self, number: u64) -> Result<Option<[u8; 32]>, StoreError> {
        self.canonical
            .get(number.to_be_bytes())?
            .map(|v| hash32(&v, "canonical"))
            .transpose()
    }

    /// The raw header RLP of block `hash`.
    pub fn header_rlp(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.headers.get(hash)?.map(|v| v.to_vec()))
    }

    /// The decoded header of block `hash`.
    pub fn header_by_hash(&self, hash: &[u8; 32]) -> Result<Option<Header>, StoreError> {
        self.header_rlp(hash)?
            .map(|raw| Header::decode(&raw).map_err(StoreError::Header))
            .transpose()
    }

    /// The raw header RLP of canonical block `number`.
    pub fn header_rlp_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        match self.canonical_hash(number)? {
            Some(hash) => self.header_rlp(&hash),
            None => Ok(None),
        }
    }

    /// The body (`BlockBodies` item) of block `hash`.
    pub fn body_rlp(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.bodies.get(hash)?.map(|v| v.to_vec()))
    }

    /// The consensus receipts list of block `hash`, when stored.
    pub fn receipts_rlp(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.receipts.get(hash)?.map(|v| v.to_vec()))
    }

    /// The total difficulty at block `hash`.
    pub fn td(&self, hash: &[u8; 32]) -> Result<Option<U256>, StoreError> {
        self.td
            .get(hash)?
            .map(|v| U256::from_be_slice(&v).ok_or(StoreError::Corrupt("td")))
            .transpose()
    }

    /// The block RLP of canonical block `number`, for export.
    pub fn block_rlp_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(hash) = self.canonical_hash(number)? else {
            return Ok(None);
        };
        let header = self
            .header_rlp(&hash)?
            .ok_or(StoreError::Corrupt("header"))?;
        let body = self.body_rlp(&hash)?.ok_or(StoreError::Corrupt("body"))?;
        Ok(join_block(&header, &body).map(Some)?)
    }

    /// Appends `blocks` (in order, the first on the current head) to the canonical chain in one
    /// atomic batch that also moves the head to the last of them, and hands the batch to the OS
    /// (a killed process loses nothing after this returns; [`ChainStore::sync`] survives power
    /// loss). Checks only the links (parent hash and number); contents are the caller's to check.
    pub fn insert_blocks(&self, blocks: &[StoredBlock]) -> Result<Head, StoreError> {
        let mut head = self.head()?.ok_or(StoreError::NoGenesis)?;
        if blocks.is_empty() {
            return Ok(head);
        }
        let mut batch = self.db.batch();
        for block in blocks {
            if block.header.parent_hash != head.hash
                || Some(block.header.number) != head.number.checked_add(1)
            {
                return Err(StoreError::NotOnHead {
                    number: block.header.number,
                    hash: block.hash,
                });
            }
            let td = add(&head.td, &block.header.difficulty).ok_or(StoreError::TdOverflow)?;
            self.put_block(&mut batch, block, &td);
            head = Head {
                number: block.header.number,
                hash: block.hash,
                td,
            };
        }
        // The head pointer goes in the same batch as the blocks it names: see the module docs.
        batch.insert(&self.meta, HEAD_KEY, head.hash.to_vec());
        batch.durability(Some(PersistMode::Buffer)).commit()?;
        Ok(head)
    }

    fn put_block(&self, batch: &mut fjall::OwnedWriteBatch, block: &StoredBlock, td: &U256) {
        let hash = block.hash;
        batch.insert(&self.headers, hash, block.header_rlp.as_slice());
        batch.insert(&self.bodies, hash, block.body_rlp.as_slice());
        if let Some(receipts) = &block.receipts_rlp {
            batch.insert(&self.receipts, hash, receipts.as_slice());
        }
        batch.insert(&self.td, hash, td.0.to_vec());
        batch.insert(
            &self.canonical,
            block.header.number.to_be_bytes(),
            hash.to_vec(),
        );
    }

    /// Writes everything to disk (survives power loss).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.persist(PersistMode::SyncData)?;
        Ok(())
    }

    /// Writes everything to disk and closes the store.
    pub fn close(self) -> Result<(), StoreError> {
        self.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }
}

/// A stored 32-byte hash, or a corruption error naming `what`.
fn hash32(v: &[u8], what: &'static str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(v).map_err(|_| StoreError::Corrupt(what))
}

/// `a + b`, or `None` on overflow.
pub fn add(a: &U256, b: &U256) -> Option<U256> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let sum = u16::from(a.0[i]) + u16::from(b.0[i]) + carry;
        out[i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    (carry == 0).then_some(U256(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_carries_and_detects_overflow() {
        let a = U256::from_u64(u64::MAX);
        let sum = add(&a, &U256::from_u64(1)).unwrap();
        let mut want = [0u8; 32];
        want[23] = 1;
        assert_eq!(sum, U256(want));
        assert_eq!(add(&U256([0xff; 32]), &U256::from_u64(1)), None);
        assert_eq!(add(&U256::ZERO, &U256::ZERO), Some(U256::ZERO));
    }
}
