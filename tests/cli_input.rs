//! What a new user meets first: bad input to a verb is refused at once with one line naming the
//! problem (exit 1), and the read-only verbs create nothing. Each case here was a wrong message,
//! a silent acceptance or a panic before (issue "What a new user hits").

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::fixture_node::imported_datadir;
use common::fixture_path;
use common::node_proc::temp_dir;

/// Runs a verb that must finish on its own: a node that starts instead of refusing its input
/// is killed after 30 s (exit 137), which fails the test rather than hanging it.
fn ethpeer(args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", "30", env!("CARGO_BIN_EXE_ethpeer")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawning ethpeer")
}

/// Asserts exit 1 with exactly one `ethpeer:` line on stderr, and returns it.
fn fails(args: &[&str]) -> String {
    let out = ethpeer(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: one line, got {err:?}");
    assert!(lines[0].starts_with("ethpeer: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn import_names_the_receipts_file_when_it_is_the_broken_one() {
    let dir = temp_dir("import-badrcpt");
    let broken = dir.join("broken-receipts.rlp");
    // The first receipts entry cut short: a list header promising more than the file holds.
    let full = std::fs::read(fixture_path("chain/receipts.rlp")).unwrap();
    std::fs::write(&broken, &full[..full.len().min(200)]).unwrap();
    let chain = fixture_path("chain/chain.rlp");
    let genesis = fixture_path("chain/genesis.json");
    let line = fails(&[
        "import",
        s(&chain),
        "--receipts",
        s(&broken),
        "--genesis",
        s(&genesis),
        "--datadir",
        s(&dir.join("dd")),
    ]);
    assert!(line.contains("broken-receipts.rlp"), "{line}");
    assert!(!line.contains("chain.rlp"), "{line}");
}

#[test]
fn import_names_the_receipts_file_when_it_ends_first() {
    let dir = temp_dir("import-shortrcpt");
    let empty = dir.join("empty-receipts.rlp");
    std::fs::write(&empty, b"").unwrap();
    let line = fails(&[
        "import",
        s(&fixture_path("chain/chain.rlp")),
        "--receipts",
        s(&empty),
        "--genesis",
        s(&fixture_path("chain/genesis.json")),
        "--datadir",
        s(&dir.join("dd")),
    ]);
    assert!(line.contains("empty-receipts.rlp"), "{line}");
}

#[test]
fn enr_decode_says_what_the_argument_is_not() {
    let line = fails(&["enr", "decode", "hello"]);
    assert!(
        line.contains("neither an `enr:` record nor a file"),
        "{line}"
    );
    let line = fails(&[
        "enr",
        "decode",
        "enode://1dd9d65c4552b5eb43d5ad55a2ee3f56c6cbc1c64a5c8d659f51fcd51bace24351232b8d7821617d2b29b54b81cdefb9b3e9c37d7fd5f63270bcc9e1a6f6a439@127.0.0.1:30303",
    ]);
    assert!(line.contains("enode URL, not a node record"), "{line}");
}

#[test]
fn a_datadir_that_is_a_file_is_named_as_such() {
    let dir = temp_dir("dd-file");
    let file = dir.join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    for verb in [
        &["node", "--bootnodes", "", "--noeth", "--datadir"][..],
        &["export", "/dev/null", "--datadir"][..],
        &["import", s(&fixture_path("chain/chain.rlp")), "--datadir"][..],
    ] {
        let mut args = verb.to_vec();
        args.push(s(&file));
        let line = fails(&args);
        assert!(line.contains("is not a directory"), "{args:?}: {line}");
    }
}

#[test]
fn export_creates_no_datadir_and_says_what_is_missing() {
    let dir = temp_dir("export-missing");
    let missing = dir.join("nothing-here");
    let line = fails(&["export", "/dev/null", "--datadir", s(&missing)]);
    assert!(line.contains("does not exist"), "{line}");
    assert!(!missing.exists(), "export created {}", missing.display());
    // A datadir without a chain store is not given one.
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let line = fails(&["export", "/dev/null", "--datadir", s(&empty)]);
    assert!(line.contains("holds no chain store"), "{line}");
    assert!(!empty.join(ethpeer::storage::DB_DIR).exists());
}

#[test]
fn export_writes_to_a_device() {
    let dd = imported_datadir("export-devnull");
    let out = ethpeer(&["export", "/dev/null", "--datadir", s(&dd)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Exported blockchain"));
}

/// A read-only datadir, made with a read-only bind mount in a private mount namespace (root
/// ignores permission bits, so `chmod` would prove nothing).
#[test]
fn export_from_a_read_only_datadir_says_why_it_cannot() {
    let dd = imported_datadir("export-ro");
    let script = format!(
        "mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec {bin} export /dev/null \
         --datadir {d}",
        d = dd.display(),
        bin = env!("CARGO_BIN_EXE_ethpeer")
    );
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs none /mnt"])
        .stderr(Stdio::null())
        .status();
    if !matches!(probe, Ok(s) if s.success()) {
        eprintln!("skipped: this machine cannot make a mount namespace (unshare -m)");
        return;
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is not writable"), "{err}");
    assert!(!err.contains("LOCK"), "{err}");
}

#[test]
fn node_refuses_an_identity_no_peer_would_accept() {
    let dir = temp_dir("identity");
    let long = "x".repeat(100_000);
    let line = fails(&[
        "node",
        "--datadir",
        s(&dir),
        "--bootnodes",
        "",
        "--noeth",
        "--port",
        "0",
        "--identity",
        &long,
    ]);
    assert!(
        line.contains("--identity") && line.contains("256-byte"),
        "{line}"
    );
}

#[test]
fn node_refuses_limits_that_make_no_sense() {
    let dir = temp_dir("limits");
    let base = [
        "node",
        "--datadir",
        s(&dir),
        "--bootnodes",
        "",
        "--port",
        "0",
    ];
    for (extra, want) in [
        (&["--networkid", "0"][..], "--networkid"),
        (
            &[
                "--sync.minpeers",
                "0",
                "--genesis",
                s(&fixture_path("chain/genesis.json")),
            ][..],
            "--sync.minpeers",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let line = fails(&args);
        assert!(line.contains(want), "{args:?}: {line}");
    }
}

#[test]
fn node_refuses_a_txs_file_of_garbage() {
    let dir = temp_dir("txs-garbage");
    let txs = dir.join("garbage.txs");
    std::fs::write(&txs, "0x01020304\n").unwrap();
    let line = fails(&[
        "node",
        "--datadir",
        s(&dir.join("dd")),
        "--bootnodes",
        "",
        "--port",
        "0",
        "--genesis",
        s(&fixture_path("chain/genesis.json")),
        "--txs",
        s(&txs),
    ]);
    assert!(
        line.contains("garbage.txs:1") && line.contains("not a transaction"),
        "{line}"
    );
}

#[test]
fn a_port_in_use_is_one_line_before_anything_starts() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = temp_dir("port-used");
    let line = fails(&[
        "node",
        "--datadir",
        s(&dir),
        "--bootnodes",
        "",
        "--port",
        &port,
        "--genesis",
        s(&fixture_path("chain/genesis.json")),
    ]);
    assert!(line.contains("Address already in use"), "{line}");
    // Bound before the chain store was opened: there is none.
    assert!(!dir.join(ethpeer::storage::DB_DIR).exists());
}

#[test]
fn zero_limits_that_geth_reads_as_defaults_are_warned_about() {
    let dir = temp_dir("zero-warn");
    let mut child = Command::new("timeout")
        .args(["-s", "TERM", "30", env!("CARGO_BIN_EXE_ethpeer")])
        .args([
            "node",
            "--datadir",
            s(&dir),
            "--bootnodes",
            "",
            "--noeth",
            "--port",
            "0",
            "--maxpeers",
            "0",
            "--dialratio",
            "0",
            "--maxpendpeers",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The enode line on stdout says it started; then stop it and read the warnings.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with("enode://"), "{first}");
    kill_term(child.id());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    for want in ["Peer limit is 0", "--dialratio 0", "--maxpendpeers 0"] {
        assert!(err.contains(want), "{want}: {err}");
    }
}

fn kill_term(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

#[test]
fn enode_host_names_resolve_at_parse_time() {
    // `localhost` resolves from /etc/hosts: no DNS packet leaves the machine.
    let target = temp_dir("resolve-target");
    let mut node = common::node_proc::NodeProc::start(&target, &["--identity", "resolved"]);
    let url = node.enode.replace("127.0.0.1", "localhost");
    let out = ethpeer(&["rlpx", "ping", &url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("ethpeer/resolved"), "{text}");
    node.terminate();
}

#[test]
fn a_wrong_node_id_is_named_as_the_likely_cause() {
    let target = temp_dir("wrong-id");
    let mut node = common::node_proc::NodeProc::start(&target, &[]);
    let other = "1dd9d65c4552b5eb43d5ad55a2ee3f56c6cbc1c64a5c8d659f51fcd51bace24351232b8d7821617d2b29b54b81cdefb9b3e9c37d7fd5f63270bcc9e1a6f6a439";
    let url = format!("enode://{other}@{}", node.addr());
    let line = fails(&["rlpx", "ping", &url]);
    assert!(line.contains("node id"), "{line}");
    assert!(!line.contains("unexpected end of file"), "{line}");
    node.terminate();
}

/// A `static-nodes.json` that is not a JSON array of strings is refused at start, naming the file.
#[test]
fn a_malformed_static_nodes_file_is_one_line_naming_it() {
    for bad in ["[\"enode://x\",", "{\"a\": 1}", "[1, 2]"] {
        let dir = std::env::temp_dir().join(format!("ethpeer-sn-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("static-nodes.json"), bad).unwrap();
        let line = fails(&[
            "node",
            "--datadir",
            s(&dir),
            "--noeth",
            "--nodiscover",
            "--port",
            "0",
        ]);
        assert!(
            line.contains("static-nodes.json") && line.contains("JSON array of strings"),
            "{bad}: {line}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn test_discv5_refuses_a_record_it_cannot_reach_in_one_line() {
    let line = fails(&["test", "discv5", "enr:hello"]);
    assert!(line.contains("the node's record"), "{line}");
    // A valid record without an ip/udp pair names no endpoint to test.
    let key = ethpeer::crypto::SecretKey::from_bytes(&[7; 32]).unwrap();
    let bare = ethpeer::enr::Record::builder()
        .sign(&key)
        .unwrap()
        .to_text();
    let line = fails(&["test", "discv5", &bare]);
    assert!(line.contains("no public key and UDP endpoint"), "{line}");
    let out = ethpeer(&["test", "discv5", &bare]);
    assert!(out.stdout.is_empty(), "no test ran");
}
