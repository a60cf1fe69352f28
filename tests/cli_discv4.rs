//! The `discv4` verbs and `bootnode` as a user meets them (issue 10): duration flags past any
//! sensible bound, a node that moved, an interrupted or unwritable crawl, the bootnode's printed
//! address, and a ping to a closed port. Everything runs on loopback.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::node_proc::{NodeProc, temp_dir};
use ethpeer::enode::Enode;

/// Any valid public key: nothing listens for it.
const SOME_KEY: &str = "1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f70beaf8f588b541507fed6a642c5ab42dfdf8120a7f639de5122d47a69a8e8d1";

/// Runs `ethpeer ARGS`, killed if it runs past 30 s (a verb that hangs fails its test, not
/// the run).
fn ethpeer(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    watchdog.join().unwrap();
    assert!(
        out.status.code().is_some(),
        "{args:?}: killed ({:?}); stderr tail: {:?}",
        out.status,
        String::from_utf8_lossy(&out.stderr).lines().last()
    );
    out
}

/// Asserts a clean failure (exit 1, exactly one `ethpeer:` line, no panic); returns the line.
fn fails(out: &Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    assert!(err.starts_with("ethpeer: "), "{what}: {err}");
    err.trim_end().to_string()
}

/// A loopback UDP port that nothing listens on (bound once to find it, then released).
fn closed_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `sig` (INT or TERM) to a child.
fn signal(child: &Child, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Waits (bounded) for a child's exit.
fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + within;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child's stderr, collected line by line on a thread.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let l2 = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            l2.lock().unwrap().push(line);
        }
    });
    lines
}

/// A running `ethpeer bootnode` on a free loopback port, killed on drop.
struct Bootnode {
    child: Child,
    /// The enode URL it printed.
    enode: String,
}

impl Drop for Bootnode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bootnode(port: u16) -> Bootnode {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(["bootnode", "--port", &port.to_string(), "--verbosity", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("enode://"), "bootnode printed {line:?}");
    Bootnode {
        child,
        enode: line.trim().to_string(),
    }
}

// ---- item 2: duration flags ---------------------------------------------------------------

#[test]
fn duration_flags_past_any_bound_are_refused_with_one_line() {
    let target = format!("enode://{SOME_KEY}@127.0.0.1:{}", closed_udp_port());
    let huge = [
        "18446744073709551615s",
        "18446744073709551615ms",
        "18446744073709551615m",
        "99999999999999999999999s",
        "0s",
    ];
    for t in huge {
        for verb in ["ping", "requestenr", "resolve"] {
            let start = Instant::now();
            let out = ethpeer(&["discv4", verb, &target, "--timeout", t]);
            let line = fails(&out, &format!("{verb} --timeout {t}"));
            assert!(line.contains("--timeout"), "{verb} {t}: {line}");
            assert!(start.elapsed() < Duration::from_secs(3), "{verb} {t}");
        }
        let out = ethpeer(&["discv4", "crawl", "--bootnodes", &target, "--timeout", t]);
        let line = fails(&out, &format!("crawl --timeout {t}"));
        assert!(line.contains("--timeout"), "crawl {t}: {line}");
    }
}

// ---- item 7: ping a closed port --------------------------------------------------------------

#[test]
fn ping_to_a_closed_port_says_port_unreachable_at_once() {
    let target = format!("enode://{SOME_KEY}@127.0.0.1:{}", closed_udp_port());
    for verb in ["ping", "requestenr"] {
        let start = Instant::now();
        let out = ethpeer(&["discv4", verb, &target, "--timeout", "5s"]);
        let line = fails(&out, verb);
        assert!(line.contains("port unreachable"), "{verb}: {line}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{verb}: waited {:?} for an answer the kernel already gave",
            start.elapsed()
        );
    }
}

#[test]
fn ping_to_a_silent_port_waits_the_timeout_it_names() {
    // Bound and never read: no ICMP error, no answer.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = format!(
        "enode://{SOME_KEY}@127.0.0.1:{}",
        silent.local_addr().unwrap().port()
    );
    for verb in ["ping", "requestenr"] {
        let start = Instant::now();
        let out = ethpeer(&["discv4", verb, &target, "--timeout", "2s"]);
        let took = start.elapsed();
        let line = fails(&out, verb);
        assert!(line.contains("within 2s"), "{verb}: {line}");
        assert!(
            took >= Duration::from_secs(2),
            "{verb}: said {line:?} after {took:?}"
        );
        assert!(took < Duration::from_secs(5), "{verb}: {took:?}");
    }
}

// ---- item 3: resolve a node that moved -------------------------------------------------------

#[test]
fn resolve_finds_a_node_that_moved_through_a_bootnode() {
    let boot = bootnode(closed_udp_port());
    let node = NodeProc::start(&temp_dir("cli-resolve"), &["--bootnodes", &boot.enode]);
    // The node's first lookup went through the bootnode, which bonded with it on the way:
    // the bootnode knows where it is now.
    node.wait_log(&["Lookup finished"], Duration::from_secs(10));
    let now: Enode = node.enode.parse().unwrap();
    let stale = format!(
        "enode://{}@127.0.0.1:{}",
        ethpeer::crypto::hex(&now.id.to_bytes()),
        closed_udp_port()
    );
    let out = ethpeer(&[
        "discv4",
        "resolve",
        &stale,
        "--bootnodes",
        &boot.enode,
        "--timeout",
        "10s",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "resolve {stale}: {err}");
    let got: Enode = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(got.id, now.id);
    assert_eq!(got.udp_addr(), now.udp_addr(), "the current endpoint");
    assert_eq!(got.tcp, now.tcp, "the current RLPx port, from its record");
}

// ---- item 5: crawl --out ---------------------------------------------------------------------

#[test]
fn crawl_refuses_an_unwritable_out_before_crawling() {
    let target = format!("enode://{SOME_KEY}@127.0.0.1:{}", closed_udp_port());
    let dir = temp_dir("cli-crawl-out");
    let bad = [
        dir.join("no-such-dir").join("nodes.json"),
        // A directory is not a file to write.
        dir.clone(),
    ];
    for out_path in bad {
        let start = Instant::now();
        let out = ethpeer(&[
            "discv4",
            "crawl",
            "--bootnodes",
            &target,
            "--timeout",
            "20s",
            "--out",
            out_path.to_str().unwrap(),
        ]);
        let line = fails(&out, &out_path.display().to_string());
        assert!(line.contains("--out"), "{line}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the bad --out was found after {:?} of crawling",
            start.elapsed()
        );
    }
}

#[test]
fn crawl_from_a_dead_bootnode_ends_at_its_timeout() {
    // Every lookup ends at once once the only node failed; the crawl used to start the next
    // one forever, spinning past its deadline.
    let dead = format!("enode://{SOME_KEY}@127.0.0.1:{}", closed_udp_port());
    let file = temp_dir("cli-crawl-dead").join("nodes.json");
    let start = Instant::now();
    let out = ethpeer(&[
        "discv4",
        "crawl",
        "--bootnodes",
        &dead,
        "--timeout",
        "3s",
        "--out",
        file.to_str().unwrap(),
    ]);
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < Duration::from_secs(8), "a 3s crawl took {took:?}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        v.as_object().unwrap().len(),
        1,
        "the bootnode, unanswered: {v}"
    );
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn crawl_writes_what_it_found_on_sigint_or_sigterm() {
    let node = NodeProc::start(&temp_dir("cli-crawl-node"), &[]);
    let id = node.pubkey().node_id().to_string();
    for sig in ["INT", "TERM"] {
        let dir = temp_dir(&format!("cli-crawl-{sig}"));
        let file = dir.join("nodes.json");
        std::fs::write(&file, "old\n").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
            .args(["discv4", "crawl", "--bootnodes", &node.enode])
            .args(["--timeout", "60s", "--out", file.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = collect_stderr(&mut child);
        let end = Instant::now() + Duration::from_secs(15);
        while !log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("1 with records"))
        {
            assert!(
                Instant::now() < end,
                "{sig}: the crawl never got the node's record: {:?}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Nothing is written in place while crawling: the old file is whole until the end.
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "old\n", "{sig}");
        signal(&child, sig);
        let st = wait_exit(&mut child, Duration::from_secs(5));
        let err = log.lock().unwrap().join("\n");
        assert!(st.success(), "{sig}: {st:?}: {err}");
        let text = std::fs::read_to_string(&file).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{sig}: {e}: {text:?}; stderr {err}"));
        assert!(
            v[&id]["record"].as_str().unwrap_or("").starts_with("enr:"),
            "{sig}: {v}"
        );
        assert_eq!(files_in(&dir), ["nodes.json"], "{sig}: no temp file left");
    }
}

// ---- item 6: the bootnode's address ----------------------------------------------------------

#[test]
fn bootnode_prints_no_tcp_port_and_nodes_given_it_never_connect_there() {
    // Anything that connects to the bootnode's port number over TCP lands here: a TCP port
    // whose UDP twin is free for the bootnode.
    let (tcp, port) = (0..100)
        .find_map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").ok()?;
            let port = l.local_addr().ok()?.port();
            UdpSocket::bind(("127.0.0.1", port)).ok()?;
            Some((l, port))
        })
        .expect("a port free over TCP and UDP");
    tcp.set_nonblocking(true).unwrap();
    let boot = bootnode(port);
    let e: Enode = boot.enode.parse().unwrap();
    assert_eq!(e.tcp, 0, "{}: a bootnode has no RLPx port", boot.enode);
    assert_eq!(e.udp, port, "{}", boot.enode);
    assert!(
        boot.enode.ends_with(&format!(":0?discport={port}")),
        "{}",
        boot.enode
    );
    assert_eq!(e.tcp_addr(), None, "tcp port 0 is no address to dial");

    let start = Instant::now();
    let a = NodeProc::start(&temp_dir("cli-boot-a"), &["--bootnodes", &boot.enode]);
    a.wait_log(&["Lookup finished"], Duration::from_secs(10));
    let b = NodeProc::start(&temp_dir("cli-boot-b"), &["--bootnodes", &boot.enode]);
    // The path ran: B used the bootnode for discovery, the only way it can know of A, and
    // connected to A.
    let a_id = a.pubkey().node_id().to_string();
    b.wait_log(&["Adding p2p peer", &a_id], Duration::from_secs(15));
    // The window: from A's start until 3 s after B's lookup through the bootnode (a node dials
    // its bootnodes at once, and what discovery offers as soon as it learns of it).
    let window_end = Instant::now() + Duration::from_secs(3);
    let mut accepted = 0;
    while Instant::now() < window_end {
        while let Ok((_, from)) = tcp.accept() {
            let _: SocketAddr = from;
            accepted += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let dialing = format!("addr=127.0.0.1:{port}");
    let dialed = a.count_logged(&["Dialing", &dialing]) + b.count_logged(&["Dialing", &dialing]);
    assert_eq!(
        (accepted, dialed),
        (0, 0),
        "TCP connects to the bootnode's port within {:?};\nA:\n{}\nB:\n{}",
        start.elapsed(),
        a.log_text(),
        b.log_text()
    );
}
