//! Cheap checks that keep the architecture honest: protocol cores stay sans-IO, arrows point
//! down only (a core never imports the shell, the CLI or a storage file), no two files import
//! each other round a cycle, every source file says what it is, and no file grows past the size
//! that asks for a split. Layers are named by folder; a new file in a core folder is a core.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The imperative shell and the programs: everything here may do I/O. Folders or files, relative
/// to the crate root.
const SHELL: &[&str] = &[
    "src/server",
    "src/cli",
    "src/bench",
    "src/main.rs",
    "src/log.rs",
];

/// The files that touch disk for the cores (fjall, streams, the journal): shell too, and no core
/// may import them.
const STORAGE: &[&str] = &[
    "src/storage",
    "src/chain/store.rs",
    "src/chain/store",
    "src/chain/store_handle.rs",
    "src/chain/import.rs",
    "src/nodedb/store.rs",
    "src/nodedb/handle.rs",
    "src/tx/journal.rs",
];

/// Module paths a core may not name (`crate::…`): the shell's and storage's.
const FORBIDDEN_MODULES: &[&str] = &[
    "crate::server",
    "crate::cli",
    "crate::log",
    "crate::storage",
    "crate::chain::store",
    "crate::chain::import",
    "crate::nodedb::handle",
    "crate::nodedb::store",
    "crate::tx::journal",
];

/// What a sans-IO core never does: no clock, no OS randomness, no async, no sockets, no threads,
/// no disk.
const FORBIDDEN_WORDS: &[&str] = &[
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

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(rel: &str) -> Vec<PathBuf> {
    let p = root().join(rel);
    if p.is_file() {
        return vec![p];
    }
    if !p.exists() {
        return Vec::new();
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

fn in_any(f: &Path, list: &[&str]) -> bool {
    list.iter().any(|l| f.starts_with(root().join(l)))
}

/// Every core file: all of `src/` but the shell, storage and `lib.rs`.
fn cores() -> Vec<PathBuf> {
    rust_files("src")
        .into_iter()
        .filter(|f| !in_any(f, SHELL) && !in_any(f, STORAGE) && !f.ends_with("src/lib.rs"))
        .collect()
}

/// The whole file without its `#[cfg(test)]` items (each skipped to its matching brace), and
/// without comments: what ships.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        // Skip to the end of the item: its block, or its `;` when it has none.
        let (brace, semi) = (after.find('{'), after.find(';'));
        match (brace, semi) {
            (Some(b), s) if s.is_none_or(|s| b < s) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (k, c) in after[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &after[end..];
            }
            (_, Some(s)) => rest = &after[s + 1..],
            _ => rest = "",
        }
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn protocol_cores_are_sans_io() {
    let mut bad = Vec::new();
    for f in cores() {
        for (n, line) in code_of(&f).lines().enumerate() {
            // crypto.rs defines the shell's entropy source; it may name getrandom there.
            let allowed = f.ends_with("src/crypto.rs")
                && (line.contains("getrandom::fill") || line.contains("pub fn os_random("));
            for word in FORBIDDEN_WORDS {
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
    assert!(bad.is_empty(), "I/O in a sans-IO core:\n{}", bad.join("\n"));
}

#[test]
fn cores_never_import_the_shell_or_storage() {
    let mut bad = Vec::new();
    for f in cores() {
        let code = code_of(&f);
        for (n, line) in code.lines().enumerate() {
            for m in FORBIDDEN_MODULES {
                let hit = line.match_indices(m).any(|(i, _)| {
                    // A whole module name: `crate::log` but not `crate::logic`.
                    !line[i + m.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if hit {
                    bad.push(format!("{}:{}: {m}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "a core imports the shell:\n{}",
        bad.join("\n")
    );
}

/// The file a module path (`a::b::c`, below `crate`) lives in, if it names one: the longest
/// prefix that is `src/a/b.rs` or `src/a/b/mod.rs`.
fn file_of(path: &[&str]) -> Option<PathBuf> {
    for n in (1..=path.len()).rev() {
        let rel = path[..n].join("/");
        for cand in [format!("src/{rel}.rs"), format!("src/{rel}/mod.rs")] {
            let p = root().join(&cand);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The `a::b::c` module path at the start of `tail`, as its segments.
fn path_at(tail: &str) -> Vec<String> {
    tail.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .next()
        .unwrap_or("")
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Which files each file names through `crate::…` or `super::…` paths (a `use` or a path in
/// code). Folder
/// files (`mod.rs`, `lib.rs`) are left out: a folder naturally names its children and they use
/// what it re-exports.
fn import_graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut g = BTreeMap::new();
    for f in rust_files("src") {
        if f.ends_with("mod.rs") || f.ends_with("lib.rs") || f.ends_with("main.rs") {
            continue;
        }
        let code = code_of(&f);
        // This file's module path below `crate` (src/a/b.rs is a::b), for `super::` paths.
        let rel = f
            .strip_prefix(root().join("src"))
            .unwrap()
            .with_extension("");
        let own: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().to_string())
            .collect();
        let mut to = BTreeSet::new();
        let mut paths: Vec<Vec<String>> = Vec::new();
        for (i, _) in code.match_indices("crate::") {
            paths.push(path_at(&code[i + "crate::".len()..]));
        }
        for (i, _) in code.match_indices("super::") {
            if code[..i].ends_with("super::") {
                continue;
            }
            let mut tail = &code[i..];
            let mut up = 0;
            while let Some(t) = tail.strip_prefix("super::") {
                tail = t;
                up += 1;
            }
            if up <= own.len() {
                let mut p = own[..own.len() - up].to_vec();
                p.extend(path_at(tail));
                paths.push(p);
            }
        }
        for path in paths {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(target) = file_of(&path)
                && target != f
                && !target.ends_with("mod.rs")
            {
                to.insert(target);
            }
        }
        g.insert(f, to);
    }
    g
}

#[test]
fn no_two_files_import_each_other_round_a_cycle() {
    let g = import_graph();
    let mut cycles = Vec::new();
    // A depth-first search from each file; a path back to it is a cycle (shortest reported).
    for start in g.keys() {
        let mut seen = BTreeSet::new();
        let mut queue = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = queue.pop() {
            for next in g.get(&at).into_iter().flatten() {
                if next == start {
                    let mut names: Vec<String> = trail
                        .iter()
                        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
                        .collect();
                    names.push(names[0].clone());
                    cycles.push(names.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut t = trail.clone();
                    t.push(next.clone());
                    queue.push((next.clone(), t));
                }
            }
        }
    }
    cycles.sort_by_key(|c| c.len());
    cycles.dedup();
    assert!(
        cycles.is_empty(),
        "import cycles between files:\n{}",
        cycles.join("\n")
    );
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
        if lines > 800 {
            bad.push(format!(
                "{}: {lines} lines (split it by protocol noun)",
                f.display()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The capability-agnostic shell: the event loop, the connection task and their vocabulary plug
/// capabilities in through `server::capability`/`server::protocol` and never name one.
const CAPABILITY_AGNOSTIC: &[&str] = &[
    "src/server/event_loop.rs",
    "src/server/event_loop",
    "src/server/connection.rs",
    "src/server/events.rs",
    "src/server/capability.rs",
    "src/server/protocol.rs",
];

/// A line that names the eth capability: its modules or its types.
fn names_eth(line: &str) -> bool {
    line.contains("eth::") || line.contains("Eth") || line.contains("\"eth\"")
}

#[test]
fn the_loop_and_the_connection_task_never_name_a_capability() {
    let mut bad = Vec::new();
    let mut files = 0;
    for rel in CAPABILITY_AGNOSTIC {
        for f in rust_files(rel) {
            files += 1;
            for (n, line) in code_of(&f).lines().enumerate() {
                if names_eth(line) {
                    bad.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(files >= 6, "the agnostic files were found ({files})");
    assert!(
        bad.is_empty(),
        "the loop or the task names eth (plug it in through server::protocol):\n{}",
        bad.join("\n")
    );
    // Its control: the eth plug-in itself does name eth.
    let eth = rust_files("src/server/eth");
    assert!(
        eth.iter().any(|f| code_of(f).lines().any(names_eth)),
        "the check sees eth where it is named"
    );
}

/// The checks above must be able to fail: each meets a planted breach.
#[test]
fn the_checks_catch_what_they_are_for() {
    let dir = std::env::temp_dir().join(format!("tidy-control-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("x.rs");
    std::fs::write(
        &f,
        "//! x\nuse crate::server::event_loop;\nfn a() { let _ = std::time::Instant::now(); }\n\
         #[cfg(test)]\nmod tests { fn b() { std::fs::read(\"\"); } }\nfn c() { crate::log::info(); }\n",
    )
    .unwrap();
    let code = code_of(&f);
    assert!(
        code.contains("Instant::now"),
        "code before a test module is read"
    );
    assert!(
        code.contains("crate::log::info"),
        "code after a test module is read"
    );
    assert!(!code.contains("std::fs"), "the test module is skipped");
    assert!(FORBIDDEN_MODULES.iter().any(|m| code.contains(m)));
    std::fs::remove_dir_all(&dir).unwrap();
}
