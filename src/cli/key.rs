//! `ethpeer key ...`: node key files. A node key file holds the 32-byte secp256k1 secret as 64
//! hex characters, the format go-ethereum's `--nodekey` reads (a trailing newline is accepted by
//! both).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use ethpeer::crypto::{SecretKey, hex, os_random, unhex};
use ethpeer::enode::Enode;
use ethpeer::enr::Record;

use super::{CliError, KeyGenerate, KeyToEnode, KeyToEnr, KeyToId, line, read_file_bounded};

/// Largest key file read: 64 hex digits, an optional `0x` and surrounding whitespace fit easily;
/// anything bigger is not a key file, and is refused without reading it whole.
const KEY_FILE_SIZE_MAX: usize = 1024;

/// Reads a node key file: 64 hex characters, optionally `0x`-prefixed, with surrounding
/// whitespace.
pub fn read_key(path: &Path) -> Result<SecretKey, CliError> {
    let text = read_file_bounded(path, KEY_FILE_SIZE_MAX)?;
    let invalid =
        |why: &str| CliError::Invalid(format!("{}: invalid node key: {why}", path.display()));
    let hexstr = text.trim();
    let digits = hexstr.strip_prefix("0x").unwrap_or(hexstr);
    if digits.len() != 64 {
        return Err(invalid("want 64 hex characters"));
    }
    let bytes = unhex(digits).map_err(|e| invalid(&e.to_string()))?;
    SecretKey::from_bytes(&bytes).map_err(|e| invalid(&e.to_string()))
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
    // create_new never follows or reuses an existing file, and mode 0600 applies at creation,
    // so the secret is never readable by others, not even briefly.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| match err.kind() {
            io::ErrorKind::AlreadyExists => {
                CliError::Invalid(format!("{what} already exists (use --force to replace it)"))
            }
            _ => CliError::Io {
                what: what.clone(),
                err,
            },
        })?;
    file.write_all(format!("{}\n", hex(&key.to_bytes())).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(CliError::io(&what))?;
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
