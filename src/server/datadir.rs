//! The data directory: its exclusive lock and the node key (geth's `node.Node` datadir handling).
//!
//! A datadir belongs to one running node at a time: `LOCK` is held with an OS file lock for the
//! node's lifetime, so a second node on the same datadir fails at start with a clear error, and a
//! crashed node's lock vanishes with its process. The node key is created on first start as 64 hex
//! characters with mode 0600, written to a temporary file, synced and renamed into place, so a
//! crash at any moment leaves either no key or a whole one.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::crypto::{SecretKey, hex, os_random, unhex};

/// Why the datadir could not be opened.
#[derive(Debug)]
pub enum DatadirError {
    /// Another process holds the lock.
    Locked(PathBuf),
    /// A file could not be created, read or written.
    Io(PathBuf, std::io::Error),
    /// The node key file does not hold a valid key.
    BadKey(PathBuf, String),
    /// The path exists and is not a directory.
    NotADirectory(PathBuf),
    /// A verb that only reads was pointed at a datadir that does not exist.
    Missing(PathBuf),
    /// The datadir is on a file system we cannot write (and has no `LOCK` to lock read-only).
    ReadOnly(PathBuf),
}

impl std::fmt::Display for DatadirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatadirError::Locked(p) => write!(
                f,
                "datadir {} is in use by another ethpeer process",
                p.display()
            ),
            DatadirError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            DatadirError::BadKey(p, e) => write!(f, "{}: invalid node key: {e}", p.display()),
            DatadirError::NotADirectory(p) => {
                write!(f, "datadir {} is not a directory", p.display())
            }
            DatadirError::Missing(p) => write!(f, "datadir {} does not exist", p.display()),
            DatadirError::ReadOnly(p) => write!(f, "datadir {} is not writable", p.display()),
        }
    }
}

impl std::error::Error for DatadirError {}

/// An open, locked datadir. Dropping it releases the lock.
#[derive(Debug)]
pub struct Datadir {
    /// The directory itself.
    pub path: PathBuf,
    /// Held open for the lifetime of the node; the OS lock goes with it.
    _lock: File,
}

impl Datadir {
    /// Creates the directory if needed and takes its exclusive lock.
    pub fn open(path: &Path) -> Result<Datadir, DatadirError> {
        if path.exists() && !path.is_dir() {
            return Err(DatadirError::NotADirectory(path.to_path_buf()));
        }
        std::fs::create_dir_all(path).map_err(|e| DatadirError::Io(path.to_path_buf(), e))?;
        Self::lock(path, false)
    }

    /// Takes the lock of a datadir that must already exist, creating nothing else: for verbs
    /// that only read (`export`). On a read-only file system the existing `LOCK` is locked
    /// through a read-only handle (an OS file lock needs no write access).
    pub fn open_existing(path: &Path) -> Result<Datadir, DatadirError> {
        if !path.exists() {
            return Err(DatadirError::Missing(path.to_path_buf()));
        }
        if !path.is_dir() {
            return Err(DatadirError::NotADirectory(path.to_path_buf()));
        }
        Self::lock(path, true)
    }

    /// Locks `LOCK` (creating the file if it can); with `read_only_ok`, an existing `LOCK` on a
    /// file system we cannot write is locked through a read-only handle.
    fn lock(path: &Path, read_only_ok: bool) -> Result<Datadir, DatadirError> {
        let lock_path = path.join("LOCK");
        let writable = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path);
        let lock = match writable {
            Ok(f) => Ok(f),
            Err(_) if read_only_ok && lock_path.is_file() => File::open(&lock_path),
            Err(e)
                if read_only_ok
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::ReadOnlyFilesystem
                            | std::io::ErrorKind::PermissionDenied
                    ) =>
            {
                return Err(DatadirError::ReadOnly(path.to_path_buf()));
            }
            Err(e) => Err(e),
        }
        .map_err(|e| DatadirError::Io(lock_path.clone(), e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(DatadirError::Locked(path.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(DatadirError::Io(lock_path, e)),
        }
        Ok(Datadir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The node key at `<datadir>/nodekey`, created (mode 0600) on first use and reused after.
    pub fn node_key(&self) -> Result<SecretKey, DatadirError> {
        let path = self.path.join("nodekey");
        if path.exists() {
            return read_key_file(&path);
        }
        let key = SecretKey::generate(os_random);
        write_key_file(&path, &key)?;
        Ok(key)
    }
}

/// Largest key file read: 64 hex digits, an optional `0x` and white space fit easily; anything
/// bigger is not a key file and is refused without reading it whole.
pub const KEY_FILE_SIZE_MAX: u64 = 1024;

/// Reads a key file: 64 hex characters, optional `0x`, surrounding white space ignored.
pub fn read_key_file(path: &Path) -> Result<SecretKey, DatadirError> {
    use std::io::Read;
    let io = |e| DatadirError::Io(path.to_path_buf(), e);
    let mut text = String::new();
    File::open(path)
        .map_err(io)?
        .take(KEY_FILE_SIZE_MAX + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > KEY_FILE_SIZE_MAX {
        return Err(DatadirError::BadKey(
            path.to_path_buf(),
            format!("larger than {KEY_FILE_SIZE_MAX} bytes"),
        ));
    }
    parse_key_hex(text.trim()).map_err(|e| DatadirError::BadKey(path.to_path_buf(), e))
}

/// Parses a node key given as hex (as `--nodekeyhex` takes it).
pub fn parse_key_hex(text: &str) -> Result<SecretKey, String> {
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    if digits.len() != 64 {
        return Err(format!("want 64 hex characters, got {}", digits.len()));
    }
    let bytes = unhex(digits).map_err(|e| e.to_string())?;
    SecretKey::from_bytes(&bytes).map_err(|e| e.to_string())
}

/// Writes a key file atomically with mode 0600; refuses to replace an existing file.
pub fn write_key_file(path: &Path, key: &SecretKey) -> Result<(), DatadirError> {
    let io = |e| DatadirError::Io(path.to_path_buf(), e);
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(format!("{}\n", hex(&key.to_bytes())).as_bytes())
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    // hard_link fails if the target exists, so an existing key is never replaced.
    std::fs::hard_link(&tmp, path).map_err(io)?;
    let _ = std::fs::remove_file(&tmp);
    if let Some(dir) = path.parent() {
        // Make the new directory entry durable too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tempdir(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ethpeer-datadir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    #[test]
    fn second_open_is_refused_until_the_first_is_dropped() {
        let p = tempdir("lock");
        let a = Datadir::open(&p).unwrap();
        assert!(matches!(Datadir::open(&p), Err(DatadirError::Locked(_))));
        drop(a);
        Datadir::open(&p).unwrap();
        let _ = std::fs::remove_dir_all(&p);
    }

    #[test]
    fn node_key_is_created_once_with_mode_0600_and_reused() {
        let p = tempdir("key");
        let d = Datadir::open(&p).unwrap();
        let k1 = d.node_key().unwrap();
        let mode = std::fs::metadata(p.join("nodekey"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let k2 = d.node_key().unwrap();
        assert_eq!(k1.to_bytes(), k2.to_bytes());
        let _ = std::fs::remove_dir_all(&p);
    }

    #[test]
    fn a_bad_key_file_is_a_clear_error() {
        let p = tempdir("badkey");
        let d = Datadir::open(&p).unwrap();
        std::fs::write(p.join("nodekey"), "zz").unwrap();
        let e = d.node_key().unwrap_err().to_string();
        assert!(e.contains("nodekey"), "{e}");
        let _ = std::fs::remove_dir_all(&p);
    }
}
