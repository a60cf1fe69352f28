//! [`NodeDb`]: the synchronous node store, keyspace `nodes` of the datadir's one fjall database
//! ([`crate::storage`], at `<datadir>/db`, shared with the chain store, which sets fjall's memory
//! caps once), with a schema version checked at open.
//!
//! Every call here may touch the disk and may be held up by fjall's write stalls, so only the
//! storage thread ([`crate::storage::worker`], through [`super::handle`]) calls it in the
//! running node.
//!
//! Layout, in one fjall keyspace: `b"n" || node id (32 bytes)` holds a [`NodeRecord`] value;
//! `b"version"` holds [`SCHEMA_VERSION`] as 4 big-endian bytes.
//!
//! A schema mismatch clears the keyspace (the node database is a cache). A database fjall cannot
//! recover is an error, never a wipe: it holds the chain too, which is not a cache.
//!
//! Durability: the database is opened with manual journal persistence, so writes collect in the
//! journal's user-space buffer until [`NodeDb::persist`]. `PersistMode::Buffer` hands them to the
//! OS, after which a killed process loses nothing (the OS writes its buffers out); `SyncData`
//! also survives a power cut. fjall's journal recovery drops a torn tail, so a crash at any moment
//! leaves a store that opens, minus at most the writes not yet persisted. [`NodeDb::close`]
//! persists with `SyncAll`.

use std::path::Path;

use fjall::{Keyspace, PersistMode};

use super::{NodeRecord, RecordError};
use crate::crypto::NodeId;
use crate::log;
use crate::storage::{Db, OpenError};

/// The value layout version. Bump it whenever [`NodeRecord::encode`] or the key layout changes:
/// an older store is then wiped at open rather than misread. 2: the v5 last-seen time.
pub const SCHEMA_VERSION: u32 = 2;

/// The keyspace holding everything.
const KEYSPACE: &str = "nodes";
/// Key prefix of node records.
const NODE_PREFIX: u8 = b'n';
/// Key of the schema version.
const VERSION_KEY: &[u8] = b"version";

/// Why a node database operation failed (here, beside fjall, so the core module names no
/// storage type).
#[derive(Debug)]
pub enum NodeDbError {
    /// fjall reported an error (I/O, or a store it cannot recover).
    Storage(fjall::Error),
    /// A directory could not be created or removed.
    Io(std::path::PathBuf, std::io::Error),
    /// A record cannot be stored (its ENR is too large).
    Record(RecordError),
    /// The storage thread has stopped, so the request was not answered.
    Closed,
    /// The command queue is full; the request was not sent.
    Busy,
    /// The database could not be opened for another reason (the old layout).
    Open(OpenError),
}

impl std::fmt::Display for NodeDbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeDbError::Storage(e) => write!(f, "node database: {e}"),
            NodeDbError::Io(p, e) => write!(f, "node database {}: {e}", p.display()),
            NodeDbError::Record(e) => write!(f, "node database: {e}"),
            NodeDbError::Closed => write!(f, "node database thread has stopped"),
            NodeDbError::Busy => write!(f, "node database queue is full"),
            NodeDbError::Open(e) => write!(f, "node database: {e}"),
        }
    }
}

impl std::error::Error for NodeDbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NodeDbError::Storage(e) => Some(e),
            NodeDbError::Io(_, e) => Some(e),
            NodeDbError::Record(e) => Some(e),
            NodeDbError::Open(e) => Some(e),
            NodeDbError::Closed | NodeDbError::Busy => None,
        }
    }
}

impl From<OpenError> for NodeDbError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Io(p, e) => NodeDbError::Io(p, e),
            OpenError::Storage(_, e) => NodeDbError::Storage(e),
            e @ OpenError::OldLayout(_) => NodeDbError::Open(e),
        }
    }
}

impl From<fjall::Error> for NodeDbError {
    fn from(e: fjall::Error) -> Self {
        NodeDbError::Storage(e)
    }
}

impl From<RecordError> for NodeDbError {
    fn from(e: RecordError) -> Self {
        NodeDbError::Record(e)
    }
}

/// What a full scan of the store found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DbCheck {
    /// Records that decode and match their key.
    pub records: usize,
    /// Values that do not (skipped by every read).
    pub corrupt: usize,
}

/// The node store. Not `Clone`: one owner (the storage thread) keeps the access pattern simple.
pub struct NodeDb {
    db: Db,
    nodes: Keyspace,
}

impl std::fmt::Debug for NodeDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeDb")
            .field("path", &self.db.path())
            .finish()
    }
}

impl NodeDb {
    /// Opens (or creates) the store in the database of `datadir` ([`Db::open`]: the one already
    /// open in this process, if any).
    pub fn open(datadir: &Path) -> Result<NodeDb, NodeDbError> {
        Self::on(Db::open(datadir)?)
    }

    /// Opens (or creates) the store in a database whose directory is `path` itself.
    pub fn open_path(path: &Path) -> Result<NodeDb, NodeDbError> {
        Self::on(Db::open_path(path)?)
    }

    /// Opens (or creates) the store's keyspace in `db`. A store with another [`SCHEMA_VERSION`]
    /// is cleared and logged.
    pub fn on(db: Db) -> Result<NodeDb, NodeDbError> {
        // The memtable size is stored with the keyspace when it is created; a store created with
        // other options keeps them until a schema bump wipes it.
        let nodes = db.keyspace(KEYSPACE, Db::keyspace_options)?;
        let store = NodeDb { db, nodes };
        store.check_version()?;
        Ok(store)
    }

    /// Compares the stored schema version with [`SCHEMA_VERSION`]; on a mismatch (or records
    /// without a version) clears the store, then records the current version durably.
    fn check_version(&self) -> Result<(), NodeDbError> {
        let stored = self.nodes.get(VERSION_KEY)?;
        let stored = stored
            .as_deref()
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(u32::from_be_bytes);
        if stored == Some(SCHEMA_VERSION) {
            return Ok(());
        }
        if stored.is_some() || !self.nodes.is_empty()? {
            let found = stored.map_or_else(|| "none".to_string(), |v| v.to_string());
            log::warn(
                "Node database schema changed, wiping it",
                &[
                    ("path", &self.db.path().display()),
                    ("found", &found),
                    ("want", &SCHEMA_VERSION),
                ],
            );
            self.nodes.clear()?;
        }
        self.nodes
            .insert(VERSION_KEY, SCHEMA_VERSION.to_be_bytes())?;
        self.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }

    /// The database's directory.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// The database the store lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The record of `id`, if stored. A corrupt value is logged and reads as absent.
    pub fn get(&self, id: &NodeId) -> Result<Option<NodeRecord>, NodeDbError> {
        let Some(value) = self.nodes.get(node_key(id))? else {
            return Ok(None);
        };
        Ok(decode_logged(id.as_bytes(), &value))
    }

    /// Stores `record` under its node id, replacing what was there.
    pub fn put(&self, record: &NodeRecord) -> Result<(), NodeDbError> {
        let value = record.encode()?;
        self.nodes.insert(node_key(&record.id()), value)?;
        Ok(())
    }

    /// Applies `change` to the stored record of `id` and stores the result. Returns false (and
    /// writes nothing) when there is no readable record: the timestamps and counters only mean
    /// something next to an endpoint, which [`NodeDb::put`] supplies.
    pub fn update(
        &self,
        id: &NodeId,
        change: impl FnOnce(&mut NodeRecord),
    ) -> Result<bool, NodeDbError> {
        let Some(mut record) = self.get(id)? else {
            return Ok(false);
        };
        change(&mut record);
        if record.id() != *id {
            // The closure replaced the key: storing it under `id` would make the value corrupt.
            return Err(RecordError::IdMismatch.into());
        }
        self.put(&record)?;
        Ok(true)
    }

    /// Removes the record of `id`, if any.
    pub fn remove(&self, id: &NodeId) -> Result<(), NodeDbError> {
        self.nodes.remove(node_key(id))?;
        Ok(())
    }

    /// Up to `limit` records whose last v4 Pong is at most `max_age` seconds before `now`, most
    /// recently seen first, ties broken by node id, so the same store always gives the same
    /// answer. Memory stays within about 2 × `limit` records however large the store is.
    pub fn seed_nodes(
        &self,
        now: u64,
        max_age: u64,
        limit: usize,
    ) -> Result<Vec<NodeRecord>, NodeDbError> {
        self.seed_by(now, max_age, limit, |r| Some(r.last_pong_received))
    }

    /// The same for discovery v5: records with an ENR whose node last answered over v5 at most
    /// `max_age` seconds before `now`.
    pub fn seed_nodes_v5(
        &self,
        now: u64,
        max_age: u64,
        limit: usize,
    ) -> Result<Vec<NodeRecord>, NodeDbError> {
        self.seed_by(now, max_age, limit, |r| {
            (r.enr.is_some() && r.last_seen_v5 != 0).then_some(r.last_seen_v5)
        })
    }

    fn seed_by(
        &self,
        now: u64,
        max_age: u64,
        limit: usize,
        seen: impl Fn(&NodeRecord) -> Option<u64>,
    ) -> Result<Vec<NodeRecord>, NodeDbError> {
        let at = |r: &NodeRecord| seen(r).unwrap_or(0);
        let order =
            |a: &NodeRecord, b: &NodeRecord| at(b).cmp(&at(a)).then_with(|| a.id().cmp(&b.id()));
        let mut best: Vec<NodeRecord> = Vec::new();
        if limit == 0 {
            return Ok(best);
        }
        self.scan(|_, record| {
            if let Some(record) = record
                && let Some(t) = seen(&record)
                && now.saturating_sub(t) <= max_age
            {
                best.push(record);
                if best.len() >= limit.saturating_mul(2) {
                    best.sort_by(order);
                    best.truncate(limit);
                }
            }
            Ok(())
        })?;
        best.sort_by(order);
        best.truncate(limit);
        Ok(best)
    }

    /// Removes every record last seen (a v4 Pong or a v5 answer) more than `unseen_for` seconds
    /// before `now` (including nodes that never answered), and every corrupt value. Returns how many
    /// entries were removed.
    pub fn expire(&self, now: u64, unseen_for: u64) -> Result<usize, NodeDbError> {
        let mut removed = 0;
        // fjall iterators read a snapshot, so removing behind the cursor is safe.
        self.scan(|key, record| {
            let stale = record.is_none_or(|r| now.saturating_sub(r.last_seen()) > unseen_for);
            if stale {
                self.nodes.remove(key)?;
                removed += 1;
            }
            Ok(())
        })?;
        Ok(removed)
    }

    /// Reads every stored value and counts good records and corrupt values.
    pub fn check(&self) -> Result<DbCheck, NodeDbError> {
        let mut check = DbCheck::default();
        self.scan(|_, record| {
            match record {
                Some(_) => check.records += 1,
                None => check.corrupt += 1,
            }
            Ok(())
        })?;
        Ok(check)
    }

    /// Calls `visit` with the key and decoded record (`None` if corrupt, already logged) of
    /// every node entry in key order.
    fn scan(
        &self,
        mut visit: impl FnMut(&[u8], Option<NodeRecord>) -> Result<(), NodeDbError>,
    ) -> Result<(), NodeDbError> {
        for guard in self.nodes.prefix([NODE_PREFIX]) {
            let (key, value) = guard.into_inner()?;
            let record = match key.get(1..) {
                Some(id) if id.len() == 32 => decode_logged(id, &value),
                _ => {
                    log::warn(
                        "Node database key malformed, skipped",
                        &[("len", &key.len())],
                    );
                    None
                }
            };
            visit(&key, record)?;
        }
        Ok(())
    }

    /// Hands buffered writes to the OS (`Buffer`) or to the disk (`SyncData`, `SyncAll`).
    pub fn persist(&self, mode: PersistMode) -> Result<(), NodeDbError> {
        self.db.persist(mode)?;
        Ok(())
    }

    /// Writes everything to disk (`SyncAll`) and closes the store, waiting for fjall's workers.
    pub fn close(self) -> Result<(), NodeDbError> {
        self.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }

    /// Writes a raw value under a node key: only for tests of corrupt values.
    #[cfg(test)]
    fn put_raw(&self, id: &NodeId, value: &[u8]) {
        self.nodes.insert(node_key(id), value).unwrap();
    }
}

/// The key of a node record.
fn node_key(id: &NodeId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = NODE_PREFIX;
    key[1..].copy_from_slice(id.as_bytes());
    key
}

/// Decodes a value stored under node id `id`, checking that its key hashes to that id; logs and
/// returns `None` when it is corrupt.
fn decode_logged(id: &[u8], value: &[u8]) -> Option<NodeRecord> {
    let result = NodeRecord::decode(value).and_then(|r| {
        if r.id().as_bytes() == id {
            Ok(r)
        } else {
            Err(RecordError::IdMismatch)
        }
    });
    match result {
        Ok(r) => Some(r),
        Err(e) => {
            log::warn(
                "Node database record corrupt, skipped",
                &[("id", &crate::crypto::hex(id)), ("err", &e)],
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use std::path::PathBuf;

    fn dir(name: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("ethpeer-nodedb-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    fn record(seed: u8, pong: u64) -> NodeRecord {
        let key = SecretKey::from_bytes(&[seed; 32]).unwrap().public_key();
        let mut r = NodeRecord::new(key, "127.0.0.1".parse().unwrap(), 30303, 30303);
        r.last_pong_received = pong;
        r
    }

    #[test]
    fn corrupt_values_are_skipped_and_expired() {
        let d = dir("corrupt");
        let db = NodeDb::open_path(&d).unwrap();
        let good = record(1, 1000);
        db.put(&good).unwrap();
        // A truncated value, garbage, and a good value stored under the wrong id.
        let bad_ids = [NodeId([2; 32]), NodeId([3; 32]), NodeId([4; 32])];
        db.put_raw(&bad_ids[0], &good.encode().unwrap()[..40]);
        db.put_raw(&bad_ids[1], &[0xff; 200]);
        db.put_raw(&bad_ids[2], &record(5, 1000).encode().unwrap());
        // A key that is not prefix + 32 bytes.
        db.nodes.insert(&b"nshort"[..], &b"x"[..]).unwrap();
        for id in &bad_ids {
            assert_eq!(db.get(id).unwrap(), None, "{id}");
        }
        assert_eq!(db.get(&good.id()).unwrap(), Some(good.clone()));
        assert_eq!(db.seed_nodes(1000, 10, 10).unwrap(), vec![good.clone()]);
        assert_eq!(
            db.check().unwrap(),
            DbCheck {
                records: 1,
                corrupt: 4
            }
        );
        // Expiry removes the corrupt entries and keeps the fresh record.
        assert_eq!(db.expire(1000, 10).unwrap(), 4);
        assert_eq!(
            db.check().unwrap(),
            DbCheck {
                records: 1,
                corrupt: 0
            }
        );
        db.close().unwrap();
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schema_mismatch_wipes_and_restamps() {
        let d = dir("schema");
        let db = NodeDb::open_path(&d).unwrap();
        let r = record(1, 1000);
        db.put(&r).unwrap();
        db.close().unwrap();

        // Same version: the record stays.
        let db = NodeDb::open_path(&d).unwrap();
        assert_eq!(db.get(&r.id()).unwrap(), Some(r.clone()));
        db.nodes
            .insert(VERSION_KEY, (SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        db.close().unwrap();

        // Another version: wiped, and stamped with ours.
        let db = NodeDb::open_path(&d).unwrap();
        assert_eq!(db.get(&r.id()).unwrap(), None);
        assert_eq!(db.check().unwrap(), DbCheck::default());
        assert_eq!(
            db.nodes.get(VERSION_KEY).unwrap().as_deref(),
            Some(&SCHEMA_VERSION.to_be_bytes()[..])
        );
        // Records with no version at all are also from an unknown schema.
        db.put(&r).unwrap();
        db.nodes.remove(VERSION_KEY).unwrap();
        db.close().unwrap();
        let db = NodeDb::open_path(&d).unwrap();
        assert_eq!(db.check().unwrap(), DbCheck::default());
        db.close().unwrap();
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_unreadable_database_is_an_error_not_a_wipe() {
        let d = dir("garbage");
        let db = NodeDb::open_path(&d).unwrap();
        db.put(&record(1, 1000)).unwrap();
        db.close().unwrap();
        // Overwrite every file fjall wrote with junk of the same length.
        let mut stack = vec![d.clone()];
        let mut files = Vec::new();
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name().is_some_and(|n| n != "lock") {
                    let len = std::fs::metadata(&path).unwrap().len() as usize;
                    std::fs::write(&path, vec![0xa5; len]).unwrap();
                    files.push(path);
                }
            }
        }
        // The database holds the chain too, which is not a cache: nothing is removed.
        assert!(NodeDb::open_path(&d).is_err());
        assert!(files.iter().all(|f| f.exists()));
        let _ = std::fs::remove_dir_all(&d);
    }
}
