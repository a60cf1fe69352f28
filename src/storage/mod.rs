//! The node's one on-disk database: a single fjall [`Database`] per datadir, at
//! `<datadir>/db`, holding the chain store's keyspaces (`chain.*`, [`crate::chain::store`]) and
//! the node database's (`nodes`, [`crate::nodedb::store`]), with fjall's memory (block cache,
//! memtables), journal and file handles capped here, once, for a small board.
//!
//! [`Db`] is a shared handle on that database. The node (`server::start`) opens it once and
//! hands it, with its one storage thread ([`worker`]), to both stores: they share one journal,
//! one cache and one pair of fjall worker threads. fjall locks the directory, so a second open
//! of the same datadir, in this process or another, is refused.
//!
//! Crash safety is fjall's: one journal for the whole database, each write batch framed with a
//! checksummed end marker, a torn tail cut at recovery. A kill -9 at any moment leaves a
//! database that opens; what each store may lose is described in its own module.
//!
//! Old layout: before this database, the chain store and the node database were two fjall
//! instances at `<datadir>/chain` and `<datadir>/nodes`. Nothing migrates them (ethpeer is
//! pre-1.0 and no datadirs are in the field): a datadir holding `chain` is refused with
//! [`OpenError::OldLayout`], naming it; a lone old `nodes` directory is a cache and is removed
//! with a warning.

pub mod worker;

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fjall::{Database, KeyspaceCreateOptions};

use crate::log;

pub use worker::{Client, Part, Worker};

/// The database's directory under the datadir.
pub const DB_DIR: &str = "db";

/// The chain store's directory in the old two-database layout (refused at open).
pub const OLD_CHAIN_DIR: &str = "chain";

/// The node database's directory in the old two-database layout (a cache: removed at open).
pub const OLD_NODES_DIR: &str = "nodes";

/// Block cache, shared by every keyspace: 8 MiB instead of fjall's 32 MiB. It is the chain
/// store's former cache: serving peers reads recent headers and bodies mostly, and a board with
/// 256 MiB of RAM should not give the store more. The node database's former 4 MiB cache is gone:
/// its records (100–400 B each) are read in full once, at start, and then one at a time per
/// update, so its working set is a few hundred KiB beside the chain's.
pub const CACHE_SIZE: u64 = 8 * 1024 * 1024;

/// Memtable (write buffer) size per keyspace: 4 MiB instead of fjall's 64 MiB, the value both
/// former databases used. Of the seven keyspaces, five (headers, canonical, td, meta, nodes) hold
/// small values and rarely fill theirs (the node database's holds about 10,000 record updates);
/// a value larger than the memtable (a 10 MiB receipts list) simply seals it. fjall stalls writes
/// while 4 sealed memtables wait for a flush, so write-path memory stays within about
/// 7 × 4 MiB plus the largest batch being applied, and in practice one or two memtables.
pub const MEMTABLE_SIZE: u64 = 4 * 1024 * 1024;

/// Total journal size on disk before fjall forces memtables out to tables: 64 MiB, the smallest
/// fjall accepts (its default is 512 MiB). One journal now serves both stores. This bounds disk
/// use and the replay work after a crash, not memory.
pub const JOURNAL_SIZE_MAX: u64 = 64 * 1024 * 1024;

/// fjall's background workers (flush and compaction): 2, so a long compaction never holds up a
/// memtable flush (which would stall writes). fjall's default is the core count capped at 4,
/// which on a single-core board would be 1. The two former databases had 2 each.
pub const WORKER_THREADS: usize = 2;

/// Open table files fjall may keep cached: 128 (fjall's floor is 10, its default several
/// hundred), the chain store's former number; the node database has a few dozen tables at most.
pub const CACHED_FILES_MAX: usize = 128;

/// Why the database could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// A directory could not be created, read or removed.
    Io(PathBuf, std::io::Error),
    /// fjall could not open or recover the database.
    Storage(PathBuf, fjall::Error),
    /// The datadir holds a chain store in the old layout (`<datadir>/chain`).
    OldLayout(PathBuf),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io(p, e) => write!(f, "database {}: {e}", p.display()),
            OpenError::Storage(p, e) => write!(f, "database {}: {e}", p.display()),
            OpenError::OldLayout(p) => write!(
                f,
                "{} is a chain store in the old layout (one database per store); this ethpeer \
                 keeps everything in {}: remove {} and import the chain again",
                p.display(),
                p.with_file_name(DB_DIR).display(),
                p.display()
            ),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io(_, e) => Some(e),
            OpenError::Storage(_, e) => Some(e),
            OpenError::OldLayout(_) => None,
        }
    }
}

/// A shared handle on one open database; cloning it is cheap. The database closes when the last
/// handle (and every keyspace taken from it) is dropped.
#[derive(Clone)]
pub struct Db(Arc<DbInner>);

struct DbInner {
    database: Database,
    path: PathBuf,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("path", &self.0.path).finish()
    }
}

impl Deref for Db {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.0.database
    }
}

impl Db {
    /// Opens (or creates) the database of `datadir` at `<datadir>/db`, after checking for the
    /// old layout (see the module docs).
    pub fn open(datadir: &Path) -> Result<Db, OpenError> {
        check_old_layout(datadir)?;
        Self::open_path(&datadir.join(DB_DIR))
    }

    /// Opens (or creates) a database in `path` itself.
    pub fn open_path(path: &Path) -> Result<Db, OpenError> {
        std::fs::create_dir_all(path).map_err(|e| OpenError::Io(path.to_path_buf(), e))?;
        let database = Database::builder(path)
            .cache_size(CACHE_SIZE)
            .worker_threads(WORKER_THREADS)
            .max_journaling_size(JOURNAL_SIZE_MAX)
            .max_cached_files(Some(CACHED_FILES_MAX))
            .manual_journal_persist(true)
            .open()
            .map_err(|e| OpenError::Storage(path.to_path_buf(), e))?;
        Ok(Db(Arc::new(DbInner {
            database,
            path: path.to_path_buf(),
        })))
    }

    /// The database's directory.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Keyspace options for a store's keyspace: the capped memtable, and journal persistence
    /// left to the storage thread (see [`worker`]). Stored with the keyspace when it is created.
    pub fn keyspace_options() -> KeyspaceCreateOptions {
        KeyspaceCreateOptions::default()
            .max_memtable_size(MEMTABLE_SIZE)
            .manual_journal_persist(true)
    }
}

/// Refuses a datadir with an old-layout chain store; removes an old-layout node database.
fn check_old_layout(datadir: &Path) -> Result<(), OpenError> {
    let chain = datadir.join(OLD_CHAIN_DIR);
    if chain.is_dir() {
        return Err(OpenError::OldLayout(chain));
    }
    let nodes = datadir.join(OLD_NODES_DIR);
    if nodes.is_dir() {
        log::warn(
            "Removing the node database's old directory (a cache; it is rebuilt)",
            &[("path", &nodes.display())],
        );
        std::fs::remove_dir_all(&nodes).map_err(|e| OpenError::Io(nodes, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!(
            "ethpeer-storage-unit-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn a_datadir_open_twice_is_refused_while_open() {
        let d = dir("twice");
        let a = Db::open(&d).unwrap();
        assert!(a.path().ends_with(DB_DIR));
        let clone = a.clone();
        assert!(
            Db::open(&d).is_err(),
            "fjall's lock refuses a second instance"
        );
        drop((a, clone));
        // Closed with its last handle: a new open succeeds.
        let c = Db::open(&d).unwrap();
        drop(c);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_old_layout_is_named_or_removed() {
        let d = dir("old");
        std::fs::create_dir_all(d.join(OLD_NODES_DIR).join("keyspaces")).unwrap();
        let db = Db::open(&d).unwrap();
        assert!(!d.join(OLD_NODES_DIR).exists());
        drop(db);
        std::fs::create_dir_all(d.join(OLD_CHAIN_DIR)).unwrap();
        let err = Db::open(&d).unwrap_err();
        assert!(matches!(err, OpenError::OldLayout(_)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("old layout") && text.contains("chain"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
