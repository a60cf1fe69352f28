//! Runs the built `ethpeer` binary: every verb with good and bad input, checking exit status,
//! stdout, and that a failure is exactly one `ethpeer: ...` line on stderr, never a panic.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{fixture_json, h};
use ethpeer::crypto::SecretKey;
use ethpeer::enode::Enode;
use ethpeer::enr::Record;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning ethpeer");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writing stdin");
    let out = child.wait_with_output().expect("waiting for ethpeer");
    Run {
        code: out.status.code().expect("ethpeer was killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

fn run(args: &[&str]) -> Run {
    run_in(&std::env::temp_dir(), args, "")
}

/// Asserts success and returns stdout.
fn ok(r: Run, what: &str) -> String {
    assert_eq!(r.code, 0, "{what}: stderr {:?}", r.stderr);
    assert!(r.stderr.is_empty(), "{what}: stderr {:?}", r.stderr);
    r.stdout
}

/// Asserts a clean failure (exit 1, one `ethpeer:` line, no panic) and returns that line.
fn fails(r: Run, what: &str) -> String {
    assert_eq!(
        r.code, 1,
        "{what}: stdout {:?} stderr {:?}",
        r.stdout, r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{what}: {:?}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{what}: {:?}", r.stderr);
    assert!(r.stderr.starts_with("ethpeer: "), "{what}: {:?}", r.stderr);
    r.stderr.trim_end().to_string()
}

/// A fresh directory under the system temp dir, unique to this process and test.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("ethpeer-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("creating temp dir");
        TempDir(p)
    }
    fn file(&self, name: &str, content: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, content).expect("writing temp file");
        p.to_str().expect("UTF-8 path").to_string()
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("UTF-8 path").to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn eip778() -> serde_json::Value {
    fixture_json("enr/records.json")["records"][0].clone()
}

#[test]
fn key_generate_then_to_id_agree_and_the_file_is_private() {
    let dir = TempDir::new("generate");
    let id = ok(run_in(&dir.0, &["key", "generate"], ""), "generate");
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    let key_path = dir.path("nodekey");
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    let text = std::fs::read_to_string(&key_path).unwrap();
    let key = SecretKey::from_bytes(&h(text.trim())).expect("a valid key was written");
    assert_eq!(key.public_key().node_id().to_string(), id);
    assert_eq!(ok(run(&["key", "to-id", &key_path]), "to-id").trim(), id);

    // A second generate must not overwrite the key, unless forced.
    let line = fails(
        run_in(&dir.0, &["key", "generate"], ""),
        "generate over existing",
    );
    assert!(line.contains("already exists"), "{line}");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), text);
    let other = dir.path("other");
    let id2 = ok(
        run(&["key", "generate", "--out", &other, "--force"]),
        "--out",
    );
    let id3 = ok(
        run(&["key", "generate", "--out", &other, "--force"]),
        "--force",
    );
    assert_ne!(id2, id3, "--force wrote a new key");
    assert_eq!(ok(run(&["key", "to-id", &other]), "to-id other"), id3);
    let mode = std::fs::metadata(&other).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "forced file mode {mode:o}");
}

#[test]
fn key_to_id_reads_the_fixture_key_in_any_accepted_form() {
    let rec = eip778();
    let key_hex = rec["private_key"].as_str().unwrap();
    let want = rec["node_id"].as_str().unwrap().trim_start_matches("0x");
    let dir = TempDir::new("to-id");
    for (name, content) in [
        ("plain", key_hex.trim_start_matches("0x").to_string()),
        ("prefixed", format!("  {key_hex}\n\n")),
    ] {
        let f = dir.file(name, &content);
        assert_eq!(ok(run(&["key", "to-id", &f]), name).trim(), want, "{name}");
    }
}

#[test]
fn key_verbs_refuse_bad_key_files() {
    let dir = TempDir::new("bad-keys");
    let zero = "0".repeat(64);
    let cases = [
        ("short", "abcd".to_string()),
        ("not-hex", "zz".repeat(32)),
        ("zero", zero),
        ("huge", "a".repeat(5000)),
    ];
    for (name, content) in cases {
        let f = dir.file(name, &content);
        let line = fails(run(&["key", "to-id", &f]), name);
        assert!(line.contains(&f), "{name}: {line}");
    }
    fails(run(&["key", "to-id", &dir.path("missing")]), "missing file");
    fails(run(&["key", "to-id"]), "no argument");
    fails(run(&["key", "bogus"]), "unknown verb");
    let f = dir.file("bad", "xyz");
    fails(
        run(&["key", "to-enode", &f, "--ip", "1.2.3.4", "--tcp", "1"]),
        "to-enode",
    );
    fails(run(&["key", "to-enr", &f]), "to-enr");
}

#[test]
fn key_to_enode_parses_back() {
    let rec = eip778();
    let dir = TempDir::new("to-enode");
    let f = dir.file("k", rec["private_key"].as_str().unwrap());
    let pubkey = h(rec["public_key_uncompressed_64"].as_str().unwrap());
    for (args, ip, tcp, udp) in [
        (
            &["--ip", "10.0.0.1", "--tcp", "30303"][..],
            "10.0.0.1",
            30303,
            30303,
        ),
        (&["--ip", "::1", "--tcp", "1", "--udp", "2"], "::1", 1, 2),
    ] {
        let mut all = vec!["key", "to-enode", f.as_str()];
        all.extend(args);
        let url = ok(run(&all), "to-enode");
        let node: Enode = url.trim().parse().unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(node.id.to_bytes().to_vec(), pubkey, "{url}");
        assert_eq!(node.ip().unwrap().to_string(), ip, "{url}");
        assert_eq!((node.tcp, node.udp), (tcp, udp), "{url}");
    }
    fails(
        run(&["key", "to-enode", &f, "--ip", "1.2.3.4"]),
        "missing --tcp",
    );
    fails(
        run(&["key", "to-enode", &f, "--ip", "nope", "--tcp", "1"]),
        "bad ip",
    );
    fails(
        run(&["key", "to-enode", &f, "--ip", "1.2.3.4", "--tcp", "70000"]),
        "bad port",
    );
}

#[test]
fn key_to_enr_then_enr_decode_round_trips() {
    let rec = eip778();
    let dir = TempDir::new("to-enr");
    let f = dir.file("k", rec["private_key"].as_str().unwrap());
    let args = [
        "key",
        "to-enr",
        &f,
        "--ip",
        "127.0.0.1",
        "--udp",
        "30303",
        "--seq",
        "1",
    ];
    let text = ok(run(&args), "to-enr");
    // Same key, seq and entries as the EIP-778 example, and RFC 6979 signing: the same record.
    assert_eq!(text.trim(), rec["enr"].as_str().unwrap());
    let r: Record = text.trim().parse().unwrap();
    assert!(r.verify().is_ok());
    let out = ok(
        run_in(&dir.0, &["enr", "decode"], &text),
        "decode from stdin",
    );
    assert!(out.contains("signature: valid"), "{out}");
}

#[test]
fn enr_decode_prints_the_eip778_record() {
    let rec = eip778();
    let text = rec["enr"].as_str().unwrap();
    let id = rec["node_id"].as_str().unwrap().trim_start_matches("0x");
    let dir = TempDir::new("decode");
    let file = dir.file("record.txt", &format!("{text}\n"));
    for (what, args, stdin) in [
        ("argument", vec!["enr", "decode", text], ""),
        ("file", vec!["enr", "decode", file.as_str()], ""),
        ("stdin", vec!["enr", "decode"], text),
        ("dash", vec!["enr", "decode", "--", "-"], text),
    ] {
        let out = ok(run_in(&dir.0, &args, stdin), what);
        let lines: Vec<&str> = out.lines().collect();
        for want in [
            "seq: 1",
            &format!("node-id: {id}"),
            "ip: 127.0.0.1",
            "udp: 30303",
            "id: v4",
            "signature: valid",
        ] {
            assert!(lines.contains(&want), "{what}: missing {want:?} in {out}");
        }
    }
    let json = ok(run(&["enr", "decode", "--json", text]), "json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v["seq"], 1);
    assert_eq!(v["node_id"], id);
    assert_eq!(v["ip"], "127.0.0.1");
    assert_eq!(v["udp"], 30303);
    assert_eq!(v["signature_valid"], true);
}

#[test]
fn enr_decode_shows_the_fork_id() {
    let rec = &fixture_json("enr/records.json")["records"][4];
    let json = ok(
        run(&["enr", "decode", "--json", rec["enr"].as_str().unwrap()]),
        "eth",
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let want = &rec["expect"]["eth_entry_forkid"];
    assert_eq!(v["eth_fork_hash"], want["hash"]);
    assert_eq!(v["eth_fork_next"], want["next"]);
    assert_eq!(v["seq"], rec["seq"]);
    assert_eq!(v["entry_snap"], "0xc0");
}

#[test]
fn enr_decode_fails_on_bad_records() {
    let json = fixture_json("enr/records.json");
    let bad_sig = json["records"][2]["enr"].as_str().unwrap();
    let r = run(&["enr", "decode", bad_sig]);
    let out = r.stdout.clone();
    let line = fails(r, "invalid signature");
    assert_eq!(line, "ethpeer: invalid signature");
    assert!(out.contains("signature: INVALID"), "{out}");
    let r = run(&["enr", "decode", "--json", bad_sig]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    assert_eq!(v["signature_valid"], false);
    fails(r, "invalid signature, JSON");

    for case in json["malformed_text"].as_array().unwrap() {
        let input = case["input"].as_str().unwrap();
        fails(run(&["enr", "decode", input]), input);
    }
    let too_long = format!("enr:{}", "A".repeat(5000));
    fails(
        run_in(&std::env::temp_dir(), &["enr", "decode"], &too_long),
        "huge stdin",
    );
    fails(
        run(&["enr", "decode", "/nonexistent/ethpeer/record"]),
        "missing file",
    );
    fails(run(&["enr", "decode", "enr:-IS4QHCY"]), "truncated record");
    fails(
        run_in(&std::env::temp_dir(), &["enr", "decode"], ""),
        "empty stdin",
    );
}

#[test]
fn help_succeeds_and_no_command_fails() {
    let out = ok(run(&["--help"]), "--help");
    assert!(out.contains("key") && out.contains("enr"), "{out}");
    ok(run(&["enr", "decode", "--help"]), "decode --help");
    fails(run(&[]), "no command");
}
