//! Runs the `ethpeer` binary as a child process for loopback tests: waits for its
//! `self=enode://…` line, keeps its log lines, and stops it (SIGTERM, then SIGKILL) on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running node.
pub struct NodeProc {
    pub child: Child,
    /// Its enode URL, as it logged it.
    pub enode: String,
    /// Every stderr line so far.
    pub log: Arc<Mutex<Vec<String>>>,
    pub datadir: PathBuf,
}

/// A fresh, empty directory under the system temp dir, unique to this test and process.
pub fn temp_dir(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ethpeer-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

impl NodeProc {
    /// Starts `ethpeer node --datadir DIR --verbosity 5 EXTRA...` (with `--port 0` unless
    /// `extra` names a port, `--bootnodes ""` unless it names bootnodes, and `--noeth` unless it
    /// names a chain) and waits for its enode line (10 s at most).
    pub fn start(datadir: &Path, extra: &[&str]) -> NodeProc {
        Self::start_under(&[], datadir, extra)
    }

    /// [`NodeProc::start`], the binary run by the command `wrapper` (e.g. `prlimit --nofile=N:N`,
    /// which execs it, so the child's pid is the node's).
    pub fn start_under(wrapper: &[&str], datadir: &Path, extra: &[&str]) -> NodeProc {
        Self::try_start_under(wrapper, datadir, extra).unwrap_or_else(|log| {
            panic!("node did not log its enode; log:\n{log}");
        })
    }

    /// [`NodeProc::start`], returning the node's log instead of panicking when it does not
    /// come up (a test that picks a port may lose it to another socket and try again).
    pub fn try_start(datadir: &Path, extra: &[&str]) -> Result<NodeProc, String> {
        Self::try_start_under(&[], datadir, extra)
    }

    fn try_start_under(
        wrapper: &[&str],
        datadir: &Path,
        extra: &[&str],
    ) -> Result<NodeProc, String> {
        let port: &[&str] = if extra.contains(&"--port") {
            &[]
        } else {
            &["--port", "0"]
        };
        // A test node never reaches a public address: without bootnodes of the test's own it
        // gets none (the default would be the network's public bootnodes).
        let bootnodes: &[&str] = if extra.contains(&"--bootnodes") {
            &[]
        } else {
            &["--bootnodes", ""]
        };
        // Tests of the p2p layer run without eth unless they name a chain or eth versions.
        let chain = ["--genesis", "--network", "--eth.versions", "--syncmode"];
        let noeth: &[&str] = if extra.iter().any(|a| chain.contains(a)) {
            &[]
        } else {
            &["--noeth"]
        };
        let bin = env!("CARGO_BIN_EXE_ethpeer");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .arg("node")
            .arg("--datadir")
            .arg(datadir)
            .args(["--verbosity", "5"])
            .args(port)
            .args(bootnodes)
            .args(noeth)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning ethpeer");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("self=enode://") {
                    let url = line[i + 5..].split_whitespace().next().unwrap().to_string();
                    let _ = tx.send(url);
                } else if let Some(i) = line.find("\"self\":\"enode://") {
                    // --log.format json
                    let rest = &line[i + 8..];
                    let url = rest[..rest.find('"').unwrap()].to_string();
                    let _ = tx.send(url);
                }
                log2.lock().unwrap().push(line);
            }
        });
        let Ok(enode) = rx.recv_timeout(Duration::from_secs(10)) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(log.lock().unwrap().join("\n"));
        };
        Ok(NodeProc {
            child,
            enode,
            log,
            datadir: datadir.to_path_buf(),
        })
    }

    /// The TCP address from the enode URL.
    pub fn addr(&self) -> std::net::SocketAddr {
        let e: ethpeer::enode::Enode = self.enode.parse().unwrap();
        e.tcp_addr().unwrap()
    }

    /// The node's public key from the enode URL.
    pub fn pubkey(&self) -> ethpeer::crypto::PublicKey {
        let e: ethpeer::enode::Enode = self.enode.parse().unwrap();
        e.id
    }

    /// Whether some log line contains all of `parts`.
    pub fn logged(&self, parts: &[&str]) -> bool {
        self.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| parts.iter().all(|p| l.contains(p)))
    }

    /// Counts log lines containing all of `parts`.
    pub fn count_logged(&self, parts: &[&str]) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .count()
    }

    /// Waits until some log line contains all of `parts`; panics with the log after `timeout`.
    pub fn wait_log(&self, parts: &[&str], timeout: Duration) {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.logged(parts) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no log line with {parts:?}; log:\n{}", self.log_text());
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits (5 s at most) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("node did not exit after SIGTERM; log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
