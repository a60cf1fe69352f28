//! `ethpeer key ...`: node key files. A node key file holds the 32-byte secp256k1 secret as 64
//! hex characters, the format go-ethereum's `--nodekey` reads (a trailing newline is accepted by
//! both).

use std::io::{self, Write};
use std::path::Path;

use ethpeer::crypto::{SecretKey, os_random};
use ethpeer::enode::Enode;
use ethpeer::enr::Record;
use ethpeer::server::datadir::{self, DatadirError};

use super::{CliError, KeyGenerate, KeyToEnode, KeyToEnr, KeyToId, line};

/// Reads a node key file: 64 hex characters, optionally `0x`-prefixed, with surrounding
/// whitespace (bounded, as the node reads its own).
pub fn read_key(path: &Path) -> Result<SecretKey, CliError> {
    datadir::read_key_file(path).map_err(|e| match e {
        DatadirError::Io(_, err) => CliError::Io {
            what: path.display().to_string(),
            err,
        },
        other => CliError::Invalid(other.to_string()),
    })
}

/// `key generate`: writes a fresh key to a new file that only its owner can read, and prints
/// the node id.
pub fn generate(args: &KeyGenerate, out: &mut dyn Write) -> Result<(), CliError> {
    let path = &args.out;
    let what = path.display().to_string();
    if args.force {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(CliError::Io { what, err: e });
            }
            _ => {}
        }
    }
    let key = SecretKey::generate(os_random);
    // The key is written to a temporary file with mode 0600, synced, and linked into place:
    // never readable by others, never half-written, never replacing a file by accident.
    datadir::write_key_file(path, &key).map_err(|e| match e {
        DatadirError::Io(_, err) if err.kind() == io::ErrorKind::AlreadyExists => {
            CliError::Invalid(format!("{what} already exists (use --force to replace it)"))
        }
        DatadirError::Io(_, err) => CliError::Io {
            what: what.clone(),
            err,
        },
        other => CliError::Invalid(other.to_string()),
    })?;
    line(out, key.public_key().node_id())
}

/// `key to-id`: prints the node id.
pub fn to_id(args: &KeyToId, out: &mut dyn Write) -> Result<(), CliError> {
    let key = read_key(&args.file)?;
    line(out, key.public_key().node_id())
}

/// `key to-enode`: prints the enode URL.
pub fn to_enode(args: &KeyToEnode, out: &mut dyn Write) -> Result<(), CliError> {
    let key = read_key(&args.file)?;
    let udp = args.udp.unwrap_or(args.tcp);
    line(out, Enode::new(key.public_key(), args.ip, args.tcp, udp))
}

/// `key to-enr`: prints a signed record.
pub fn to_enr(args: &KeyToEnr, out: &mut dyn Write) -> Result<(), CliError> {
    let key = read_key(&args.file)?;
    let mut b = Record::builder().seq(args.seq);
    if let Some(ip) = args.ip {
        b = b.ip(ip);
    }
    // A port belongs to the address family given; with no address, to IPv4 as EIP-778's
    // default.
    let v6 = matches!(args.ip, Some(std::net::IpAddr::V6(_)));
    if let Some(tcp) = args.tcp {
        b = if v6 { b.tcp6(tcp) } else { b.tcp(tcp) };
    }
    if let Some(udp) = args.udp {
        b = if v6 { b.udp6(udp) } else { b.udp(udp) };
    }
    let record = b.sign(&key).map_err(|e| CliError::Invalid(e.to_string()))?;
    line(out, record)
}
