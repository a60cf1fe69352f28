//! Where bootnodes go: they seed discovery and nothing else (geth's `Config.BootstrapNodes`).
//! With discovery off (`--nodiscover`) only static and trusted nodes are dialed, so a node on
//! the default network never reaches mainnet's public bootnodes unasked.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestRng;
use common::node_proc::{NodeProc, temp_dir};
use ethpeer::crypto::SecretKey;

/// How long the bootnode listener watches for a connect after the static dial proved that the
/// dial scheduler runs: longer than the scheduler's first round (it starts dials at once) and
/// than the old bootnode refill tick.
const WATCH: Duration = Duration::from_secs(4);

/// A loopback listener posing as a node: its enode URL and the listener.
fn listener_enode(seed: u64) -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let mut rng = TestRng::new(seed);
    let key = SecretKey::generate(|b| rng.fill(b));
    let id = ethpeer::crypto::hex(&key.public_key().to_bytes());
    let url = format!("enode://{id}@127.0.0.1:{}", l.local_addr().unwrap().port());
    (l, url)
}

/// Waits up to `within` for a connection on `l`.
fn accepted(l: &TcpListener, within: Duration) -> Option<TcpStream> {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if let Ok((s, _)) = l.accept() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn nodiscover_never_dials_bootnodes_but_dials_static_nodes() {
    let (boot, boot_url) = listener_enode(1);
    let (stat, stat_url) = listener_enode(2);
    let node = NodeProc::start(
        &temp_dir("nodisc-boot"),
        &[
            "--nodiscover",
            "--bootnodes",
            &boot_url,
            "--staticnodes",
            &stat_url,
        ],
    );
    // The dial scheduler ran: the static node was dialed.
    assert!(
        accepted(&stat, Duration::from_secs(10)).is_some(),
        "the static node is dialed:\n{}",
        node.log_text()
    );
    // Over the same run, the bootnode never saw a connect.
    assert!(
        accepted(&boot, WATCH).is_none(),
        "a bootnode is not dialed with discovery off:\n{}",
        node.log_text()
    );
    assert!(
        !node.logged(&["Dialing", &boot_url[boot_url.find('@').unwrap() + 1..]]),
        "{}",
        node.log_text()
    );
}

#[test]
fn bootnodes_still_seed_discovery_when_it_runs() {
    // The positive side of the same rule: with discovery on, the bootnode is pinged over UDP.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rng = TestRng::new(3);
    let key = SecretKey::generate(|b| rng.fill(b));
    let port = sock.local_addr().unwrap().port();
    let url = format!(
        "enode://{}@127.0.0.1:{port}",
        ethpeer::crypto::hex(&key.public_key().to_bytes())
    );
    let _node = NodeProc::start(&temp_dir("disc-boot"), &["--bootnodes", &url]);
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).expect("discovery pings the bootnode");
    assert!(n > 98, "a discv4 packet (hash, signature, type): {n} bytes");
}

/// The default network's own (public) bootnodes with `--nodiscover`, run where a leak is
/// impossible: a fresh network namespace that has only a loopback interface. The static node
/// (a closed loopback port) proves the dialer ran; no `Dialing` line may name anything else.
#[test]
fn nodiscover_on_the_default_network_dials_no_public_bootnode() {
    let probe = Command::new("unshare")
        .args(["-n", "true"])
        .stderr(Stdio::null())
        .status();
    if !matches!(probe, Ok(s) if s.success()) {
        eprintln!("skipped: this machine cannot make a network namespace (unshare -n)");
        return;
    }
    let dir = temp_dir("nodisc-mainnet");
    let mut rng = TestRng::new(4);
    let key = SecretKey::generate(|b| rng.fill(b));
    let static_url = format!(
        "enode://{}@127.0.0.1:9",
        ethpeer::crypto::hex(&key.public_key().to_bytes())
    );
    let script = format!(
        "ip link set lo up && exec timeout -s TERM 6 {} node --datadir {} --port 0 \
         --verbosity 5 --nodiscover --syncmode none --staticnodes {static_url}",
        env!("CARGO_BIN_EXE_ethpeer"),
        dir.display()
    );
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let dials: Vec<&str> = log.lines().filter(|l| l.contains("Dialing")).collect();
    assert!(
        dials.iter().any(|l| l.contains("127.0.0.1:9")),
        "the static node was dialed within the 6 s window:\n{log}"
    );
    assert!(
        dials.iter().all(|l| l.contains("127.0.0.1:9")),
        "nothing but the static node is dialed: {dials:#?}"
    );
}
