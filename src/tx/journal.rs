//! The journal of local transactions, `<datadir>/transactions.rlp` (go-ethereum's
//! `TxPool.Journal` as the model): local transactions survive a restart, and one that was
//! acknowledged to the user is never lost.
//!
//! The file is a sequence of RLP records, each the two-item list `[tx, check]`: `tx` is the
//! transaction's network encoding as an RLP string, `check` the first 4 bytes of keccak256 of
//! `tx`. Each record carries its own length in its RLP header, so reading needs no index; the
//! checksum catches what a length cannot, a tail that the file system extended but never filled
//! (zeros after a power cut) or a record damaged in place. Loading reads records until the first
//! one that is incomplete, not canonical RLP or fails its checksum, then truncates the file there:
//! only the record being written at the crash can be torn, and it was never acknowledged.
//!
//! [`Journal::append`] writes one record and syncs the data before returning. [`Journal::rotate`]
//! replaces the file with the live local transactions: it writes `transactions.rlp.new`, syncs
//! it, renames it over the journal and syncs the directory, so a crash at any point leaves either
//! the old file or the new one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::crypto::keccak256;
use crate::rlp::strict;

/// The journal's file name inside the datadir (go-ethereum's default `transactions.rlp`).
pub const JOURNAL_FILE: &str = "transactions.rlp";

/// Most bytes the journal file may hold, and so the most [`Journal::load`] reads: 64 MiB, twice
/// the pool's default byte limit ([`super::pool::BYTES_MAX`], 32 MiB). A rotation writes at most
/// the pool's local transactions, so at least as much room again is left for appends
/// (replacements and new locals) before the next rotation.
pub const JOURNAL_SIZE_MAX: u64 = 64 << 20;

/// Bytes of keccak256 kept as a record's checksum: a torn or zeroed tail passes it with odds of
/// one in four billion, and it costs 5 bytes per record with its header.
const CHECK_LEN: usize = 4;

/// Why a journal operation failed.
#[derive(Debug)]
pub enum JournalError {
    /// A read, write, sync or rename of this path failed.
    Io(PathBuf, std::io::Error),
    /// Appending `needed` more bytes would take the file past its size limit
    /// ([`JOURNAL_SIZE_MAX`]); rotate first.
    Full { needed: u64 },
    /// An earlier write or sync failed, so the file's tail is unknown; only a rotation (which
    /// rewrites the whole file) may write to it again.
    Broken,
}

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalError::Io(p, e) => write!(f, "transaction journal {}: {e}", p.display()),
            JournalError::Full { needed } => write!(
                f,
                "transaction journal full: {needed} more bytes would pass its size limit"
            ),
            JournalError::Broken => {
                f.write_str("transaction journal failed a write; it must be rotated")
            }
        }
    }
}

impl std::error::Error for JournalError {}

/// What [`Journal::load`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadReport {
    /// Complete records read.
    pub loaded: usize,
    /// Bytes after the last complete record, dropped and truncated away.
    pub dropped_tail_bytes: u64,
}

/// The journal open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Bytes in the file: every acknowledged record and nothing else.
    len: u64,
    /// Most bytes the file may grow to ([`JOURNAL_SIZE_MAX`] unless opened bounded).
    size_max: u64,
    broken: bool,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |e| JournalError::Io(path.to_path_buf(), e)
}

/// One record: the RLP list `[tx, keccak256(tx)[..4]]`.
pub fn encode_record(tx: &[u8]) -> Vec<u8> {
    let hash = keccak256(tx);
    let mut stream = rlp::RlpStream::new_list(2);
    stream.append(&tx).append(&&hash[..CHECK_LEN]);
    stream.out().to_vec()
}

/// Reads the records at the start of `buf`; returns them and the bytes they span. Stops at the
/// first record that is incomplete, malformed or fails its checksum.
pub fn decode_records(buf: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut txs = Vec::new();
    let mut pos = 0;
    while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
        let Some((tx, len)) = decode_record(rest) else {
            break;
        };
        txs.push(tx);
        pos += len;
    }
    (txs, pos)
}

/// The record at the start of `buf` and its length, if it is whole and sound.
fn decode_record(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    // The strict walk checks every header against the buffer before `rlp` reads anything.
    let len = strict::validate_prefix(buf).ok()?;
    let item = rlp::Rlp::new(buf.get(..len)?);
    if !item.is_list() || item.item_count().ok()? != 2 {
        return None;
    }
    let tx = item.at(0).ok()?;
    let check = item.at(1).ok()?;
    if tx.is_list() || check.is_list() {
        return None;
    }
    let (tx, check) = (tx.data().ok()?, check.data().ok()?);
    (check == &keccak256(tx)[..CHECK_LEN]).then(|| (tx.to_vec(), len))
}

/// Syncs the directory holding `path`, so a rename or creation in it is durable.
fn sync_dir(path: &Path) -> Result<(), JournalError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The temporary file a rotation writes before renaming it over the journal.
fn rotation_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    path.with_file_name(name)
}

impl Journal {
    /// Reads every complete record of the journal at `path` (none if it does not exist), reading
    /// at most [`JOURNAL_SIZE_MAX`] bytes, and truncates the file after the last complete one.
    pub fn load(path: &Path) -> Result<(Vec<Vec<u8>>, LoadReport), JournalError> {
        Journal::load_bounded(path, JOURNAL_SIZE_MAX)
    }

    /// [`Journal::load`] with another size limit (tests use a small one).
    pub fn load_bounded(
        path: &Path,
        size_max: u64,
    ) -> Result<(Vec<Vec<u8>>, LoadReport), JournalError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Vec::new(), LoadReport::default()));
            }
            Err(e) => return Err(io_err(path)(e)),
        };
        let size = file.metadata().map_err(io_err(path))?.len();
        let mut buf = Vec::with_capacity(size.min(size_max) as usize);
        file.take(size_max)
            .read_to_end(&mut buf)
            .map_err(io_err(path))?;
        let (txs, used) = decode_records(&buf);
        let used = used as u64;
        let dropped = size.saturating_sub(used);
        if dropped > 0 {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io_err(path))?;
            file.set_len(used).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
        }
        let report = LoadReport {
            loaded: txs.len(),
            dropped_tail_bytes: dropped,
        };
        Ok((txs, report))
    }

    /// Loads the journal at `path` (see [`Journal::load`]), removes a rotation's leftover
    /// temporary file, and opens the journal for appending, creating it if needed.
    pub fn open(path: &Path) -> Result<(Journal, Vec<Vec<u8>>, LoadReport), JournalError> {
        Journal::open_bounded(path, JOURNAL_SIZE_MAX)
    }

    /// [`Journal::open`] with another size limit for loading and appending (tests use a small
    /// one).
    pub fn open_bounded(
        path: &Path,
        size_max: u64,
    ) -> Result<(Journal, Vec<Vec<u8>>, LoadReport), JournalError> {
        let (txs, report) = Journal::load_bounded(path, size_max)?;
        let stale = rotation_path(path);
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&stale)(e)),
        }
        let journal = Journal::open_append(path, size_max)?;
        Ok((journal, txs, report))
    }

    fn open_append(path: &Path, size_max: u64) -> Result<Journal, JournalError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        // A freshly created file must survive a crash along with its first records.
        sync_dir(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            len,
            size_max,
            broken: false,
        })
    }

    /// Appends one transaction's network encoding and syncs it to disk before returning: once
    /// this returns `Ok`, the transaction loads back after any crash.
    pub fn append(&mut self, tx: &[u8]) -> Result<(), JournalError> {
        if self.broken {
            return Err(JournalError::Broken);
        }
        let record = encode_record(tx);
        let needed = record.len() as u64;
        if self.len.saturating_add(needed) > self.size_max {
            return Err(JournalError::Full { needed });
        }
        let written = self
            .file
            .write_all(&record)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Cut a partial record off so later appends are not hidden behind it; if even that
            // fails, refuse appends until a rotation rewrites the file.
            let restored = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.sync_data());
            self.broken = restored.is_err();
            return Err(io_err(&self.path)(e));
        }
        self.len += needed;
        Ok(())
    }

    /// Replaces the journal with exactly these transactions (the pool's live local ones),
    /// atomically: temporary file, sync, rename, directory sync.
    pub fn rotate<'a>(
        &mut self,
        live: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), JournalError> {
        let mut body = Vec::new();
        for tx in live {
            body.extend_from_slice(&encode_record(tx));
            if body.len() as u64 > self.size_max {
                return Err(JournalError::Full {
                    needed: body.len() as u64,
                });
            }
        }
        let temp = rotation_path(&self.path);
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&temp)
            .map_err(io_err(&temp))?;
        file.write_all(&body)
            .and_then(|()| file.sync_all())
            .map_err(io_err(&temp))?;
        drop(file);
        std::fs::rename(&temp, &self.path).map_err(io_err(&self.path))?;
        // Our handle now points at the replaced file: until it is reopened, nothing may append.
        self.broken = true;
        sync_dir(&self.path)?;
        *self = Journal::open_append(&self.path, self.size_max)?;
        Ok(())
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the journal: every acknowledged record.
    pub fn len_bytes(&self) -> u64 {
        self.len
    }
}
