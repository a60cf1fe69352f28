//! Runs the interop harness (tests/interop/peer.mjs, a third-party devp2p peer built on the
//! pinned @ethereumjs/devp2p) and reads its JSON-lines events.
//!
//! No public address: the harness binds 127.0.0.1, its discv4 table starts empty (no bootnodes;
//! it pings only the enode URLs a test names), and it dials only what it is told to.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running harness process.
pub struct Harness {
    child: Child,
    events: EventLog,
}

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Runs `PROGRAM ARGS...` in tests/interop (`node rootcheck.mjs`, `sh selftest.sh`) to its end,
/// with `TMPDIR` set to `tmp`, and returns its output. Panics as [`Harness::start`] does when the
/// pinned packages are not installed.
pub fn run_script(program: &str, args: &[&str], tmp: &std::path::Path) -> std::process::Output {
    let dir = harness_dir();
    assert!(
        dir.join("node_modules/@ethereumjs/devp2p").exists(),
        "the interop harness is not installed: run `make test` (it runs `npm ci` in tests/interop)"
    );
    Command::new(program)
        .args(args)
        .current_dir(&dir)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {program} in tests/interop: {e}"))
}

impl Harness {
    /// Starts `node peer.mjs ARGS...`. Panics with a pointer to `make test` when the pinned
    /// packages are not installed.
    pub fn start(args: &[&str]) -> Harness {
        let dir = harness_dir();
        assert!(
            dir.join("node_modules/@ethereumjs/devp2p").exists(),
            "the interop harness is not installed: run `make test` (it runs `npm ci` in tests/interop)"
        );
        let mut child = Command::new("node")
            .arg("peer.mjs")
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning node (Node.js is needed for the interop tests)");
        let events = EventLog::collect(child.stdout.take().unwrap());
        Harness { child, events }
    }

    /// The first event for which `pred` holds, waiting up to `timeout`.
    pub fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        self.events
            .try_wait(timeout, pred)
            .unwrap_or_else(|| panic!("harness: no {what} event; events:\n{}", self.dump()))
    }

    /// The first event for which `pred` holds, waiting up to `timeout`; `None` when none came
    /// (for callers that add their own context to the failure).
    pub fn try_wait(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        self.events.try_wait(timeout, pred)
    }

    /// The first event named `name` whose fields match all `(key, value)` pairs.
    pub fn wait_event(&self, name: &str, fields: &[(&str, Value)], timeout: Duration) -> Value {
        self.wait(name, timeout, |v| {
            v["event"] == name && fields.iter().all(|(k, want)| &v[*k] == want)
        })
    }

    /// Every event named `name` so far, in the order the harness printed them.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events.named(name)
    }

    /// Every event so far, one per line.
    pub fn dump(&self) -> String {
        self.events.dump()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The JSON-lines events a child process printed so far, collected as they come on a thread of
/// their own (lines that are not JSON are skipped).
pub struct EventLog(Arc<Mutex<Vec<Value>>>);

impl EventLog {
    /// Starts collecting `out`.
    pub fn collect(out: std::process::ChildStdout) -> EventLog {
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    ev.lock().unwrap().push(v);
                }
            }
        });
        EventLog(events)
    }

    /// The first event for which `pred` holds, waiting up to `timeout`.
    pub fn try_wait(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(v) = self.0.lock().unwrap().iter().find(|v| pred(v)) {
                return Some(v.clone());
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every event named `name` so far, in order.
    pub fn named(&self, name: &str) -> Vec<Value> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|v| v["event"] == name)
            .cloned()
            .collect()
    }

    /// Every event so far, one per line.
    pub fn dump(&self) -> String {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}
