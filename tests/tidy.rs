//! Cheap checks that keep the architecture honest: protocol cores stay sans-IO, every source
//! file says what it is, and no file grows past the size that asks for a split.

use std::path::{Path, PathBuf};

/// The sans-IO cores: no clock, no OS randomness, no async, no sockets, no threads, no disk.
const CORES: &[&str] = &[
    "src/crypto.rs",
    "src/enode.rs",
    "src/enr.rs",
    "src/enr/base64.rs",
    "src/rlp",
    "src/netutil.rs",
    "src/node.rs",
    "src/rlpx",
    "src/p2p",
    "src/dial",
    "src/rng.rs",
    "src/discv4",
    "src/eth",
    "src/chain/block.rs",
    "src/chain/reader.rs",
    "src/chain/verify.rs",
    "src/chain/trie.rs",
    "src/chain/header.rs",
    "src/chain/genesis.rs",
    "src/chain/forkid.rs",
    "src/chain/json.rs",
    "src/chain/networks.rs",
    "src/chain/spec.rs",
    "src/tx/mod.rs",
    "src/tx/pool.rs",
    "src/tx/transaction.rs",
    "src/tx/transaction",
    "src/tx/validate.rs",
];

const FORBIDDEN: &[&str] = &[
    "Instant::now",
    "SystemTime",
    "os_random(",
    "getrandom::",
    ".await",
    "async fn",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "std::thread",
    "std::fs",
    "fjall",
];

fn rust_files(rel: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let p = root.join(rel);
    if p.is_file() {
        return vec![p];
    }
    let mut out = Vec::new();
    let mut stack = vec![p];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The file's text up to its unit-test module, which may do what it likes.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[test]
fn protocol_cores_are_sans_io() {
    let mut bad = Vec::new();
    for core in CORES {
        for f in rust_files(core) {
            let code = code_of(&f);
            for (n, line) in code.lines().enumerate() {
                let trimmed = line.trim_start();
                if trimmed.starts_with("//") {
                    continue;
                }
                // crypto.rs defines the shell's entropy source; it may name getrandom there.
                let allowed = f.ends_with("src/crypto.rs")
                    && (line.contains("getrandom::fill") || line.contains("pub fn os_random("));
                for word in FORBIDDEN {
                    if line.contains(word) && !allowed {
                        bad.push(format!(
                            "{}:{}: {word}: {}",
                            f.display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "I/O in a sans-IO core:\n{}", bad.join("\n"));
}

#[test]
fn every_source_file_has_a_header_and_a_reasonable_size() {
    let mut bad = Vec::new();
    for f in rust_files("src") {
        let text = std::fs::read_to_string(&f).unwrap();
        if !text.trim_start().starts_with("//!") {
            bad.push(format!("{}: no //! header", f.display()));
        }
        let lines = text.lines().count();
        if lines > 1000 {
            bad.push(format!(
                "{}: {lines} lines (split it by protocol noun)",
                f.display()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
