//! The kill -9 harness shared by the storage tests: the test binary re-runs itself as a writer
//! (one named test, told where to write by an environment variable), waits for the writer's
//! ready line, lets it write for `delay`, then kills it with SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Runs the test `writer` of this binary with `env = dir`, waits (60 s at most) for a stdout line
/// containing `ready`, sleeps `delay`, kills it, and checks it died of that SIGKILL (a writer
/// that panicked or exited by itself fails the test).
pub fn kill_writer_after(writer: &str, env: &str, dir: &Path, ready: &str, delay: Duration) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([writer, "--exact", "--nocapture", "--test-threads=1"])
        .env(env, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // libtest may print `test crash_writer ... ` on the same line, so the marker is looked for
    // anywhere in a line; a reader thread lets a silent child time out instead of hanging.
    let stdout = child.stdout.take().unwrap();
    let ready = ready.to_string();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let seen = BufReader::new(stdout)
            .lines()
            .any(|l| l.is_ok_and(|l| l.contains(&ready)));
        let _ = ready_tx.send(seen);
    });
    let seen = ready_rx.recv_timeout(Duration::from_secs(60));
    if seen != Ok(true) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the writer never got ready ({seen:?})");
    }
    std::thread::sleep(delay);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    // SIGKILL, not a panic or an exit of its own: the kill landed while it was writing.
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "the writer ended by itself ({status})"
    );
}
