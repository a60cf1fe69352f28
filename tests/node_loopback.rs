//! The node on loopback: static peers, peer limits, a slow peer, the datadir lock, shutdown.
//! Each test runs its own `ethpeer node` processes on port 0.

mod common;

use std::time::{Duration, Instant};

use common::node_proc::{NodeProc, temp_dir};
use common::raw_peer::{RawPeer, Read_};
use ethpeer::crypto::{SecretKey, hex};
use ethpeer::p2p::DisconnectReason;

fn enode_of(key: &SecretKey, port: u16) -> String {
    format!(
        "enode://{}@127.0.0.1:{port}",
        hex(&key.public_key().to_bytes())
    )
}

fn key_from_seed(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32]).unwrap()
}

#[test]
fn two_static_nodes_connect_ping_and_reconnect_after_a_restart() {
    let (ka, kb) = (key_from_seed(0x11), key_from_seed(0x22));
    let dir_a = temp_dir("static-a");
    let dir_b = temp_dir("static-b");
    // B on a port learned from a first start, then A static to B there, then B again on that
    // port, static to A. Another test's socket may take the port in between (an outgoing
    // connection's local port is drawn from the same range): then, with the reason printed,
    // again on another port, three times at most.
    let start_b = |port_b: &str, static_a: &str| {
        NodeProc::try_start(
            &dir_b,
            &[
                "--nodekeyhex",
                &hex(&kb.to_bytes()),
                "--staticnodes",
                static_a,
                "--port",
                port_b,
            ],
        )
    };
    let mut attempts = 0;
    let (a, mut b, port_b, static_a) = loop {
        attempts += 1;
        let b0 = NodeProc::start(&dir_b, &["--nodekeyhex", &hex(&kb.to_bytes())]);
        let port_b = b0.addr().port();
        drop(b0);
        let a = NodeProc::start(
            &dir_a,
            &[
                "--nodekeyhex",
                &hex(&ka.to_bytes()),
                "--staticnodes",
                &enode_of(&kb, port_b),
            ],
        );
        let static_a = enode_of(&ka, a.addr().port());
        match start_b(&port_b.to_string(), &static_a) {
            Ok(b) => break (a, b, port_b.to_string(), static_a),
            Err(log) if attempts < 3 && log.contains("Address already in use") => {
                println!("attempt {attempts}: port {port_b} was taken again: {log}");
            }
            Err(log) => panic!("B did not start on port {port_b}: {log}"),
        }
    };
    let b_id = ka.public_key().node_id().to_string();
    let a_id = kb.public_key().node_id().to_string();
    a.wait_log(&["Adding p2p peer", &a_id], Duration::from_secs(10));
    b.wait_log(&["Adding p2p peer", &b_id], Duration::from_secs(10));
    // Both sides ping every 15 s and answer pings.
    a.wait_log(&["Received ping"], Duration::from_secs(25));
    b.wait_log(&["Received ping"], Duration::from_secs(25));
    a.wait_log(&["Received pong"], Duration::from_secs(10));

    // Restart B: A sees it leave, and B (static to A) reconnects on start.
    assert!(b.terminate().success(), "B exits 0 on SIGTERM");
    a.wait_log(
        &["Removing p2p peer", "Client quitting"],
        Duration::from_secs(5),
    );
    let before = a.count_logged(&["Adding p2p peer", &a_id]);
    let b2 = start_b(&port_b, &static_a).expect("B restarts on its port");
    let deadline = Instant::now() + Duration::from_secs(15);
    while a.count_logged(&["Adding p2p peer", &a_id]) == before {
        assert!(
            Instant::now() < deadline,
            "no reconnect; A:\n{}\nB:\n{}",
            a.log_text(),
            b2.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn maxpeers_refuses_the_next_inbound_but_admits_a_trusted_peer() {
    let trusted = key_from_seed(0x33);
    let dir = temp_dir("maxpeers");
    // maxpeers 3 with dial ratio 3: one dialed slot, two inbound slots.
    let node = NodeProc::start(
        &dir,
        &[
            "--maxpeers",
            "3",
            "--trustednodes",
            &enode_of(&trusted, 30303),
        ],
    );
    let mut p1 = RawPeer::connect(node.addr(), node.pubkey(), 1).unwrap();
    p1.hello(&[]).unwrap();
    let mut p2 = RawPeer::connect(node.addr(), node.pubkey(), 2).unwrap();
    p2.hello(&[]).unwrap();
    let mut p3 = RawPeer::connect(node.addr(), node.pubkey(), 3).unwrap();
    assert_eq!(
        p3.hello(&[]).unwrap_err(),
        Read_::Disconnect(DisconnectReason::TooManyPeers)
    );
    let mut t = RawPeer::connect_with_key(node.addr(), node.pubkey(), trusted, 4).unwrap();
    t.hello(&[])
        .expect("a trusted peer is admitted over the limit");
    t.ping(Duration::from_secs(5)).unwrap();
    p1.ping(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_peer_that_stops_reading_is_dropped_while_another_keeps_pinging() {
    let dir = temp_dir("slow");
    let node = NodeProc::start(&dir, &[]);
    let mut good = RawPeer::connect(node.addr(), node.pubkey(), 10).unwrap();
    good.hello(&[]).unwrap();
    let mut slow = RawPeer::connect(node.addr(), node.pubkey(), 11).unwrap();
    slow.hello(&[]).unwrap();
    // The slow peer floods Pings and never reads the Pongs; once the node's send buffer and
    // its queue are full the node must drop it.
    let mut frames = Vec::new();
    let flooder = std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            frames.clear();
            for _ in 0..1000 {
                frames.extend_from_slice(
                    &slow.seal(2, &ethpeer::rlpx::snappy::compress(&[0xc0]).unwrap()),
                );
            }
            if slow.send_bytes(&frames).is_err() {
                return true;
            }
        }
        false
    });
    let start = Instant::now();
    while !node.logged(&["peer too slow"]) && start.elapsed() < Duration::from_secs(30) {
        good.ping(Duration::from_secs(5))
            .expect("the good peer keeps its pings answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        node.logged(&["Removing p2p peer", "peer too slow"]),
        "slow peer not dropped; log:\n{}",
        node.log_text()
    );
    assert!(
        flooder.join().unwrap(),
        "the flooder saw its connection close"
    );
    good.ping(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_second_node_on_the_same_datadir_exits_with_a_clear_error() {
    let dir = temp_dir("lock");
    let _node = NodeProc::start(&dir, &[]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .arg("node")
        .arg("--datadir")
        .arg(&dir)
        // Never the default network's bootnodes, even if the lock check failed to stop it.
        .args(["--port", "0", "--bootnodes", "", "--nodiscover"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by another ethpeer process"),
        "stderr: {err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn shutdown_sends_client_quitting_to_peers_and_exits_zero() {
    let dir = temp_dir("shutdown");
    let mut node = NodeProc::start(&dir, &[]);
    let mut p = RawPeer::connect(node.addr(), node.pubkey(), 20).unwrap();
    p.hello(&[]).unwrap();
    node.wait_log(&["Adding p2p peer"], Duration::from_secs(5));
    let status = node.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(
        p.until_end(Duration::from_secs(5)),
        Read_::Disconnect(DisconnectReason::ClientQuitting)
    );
    // The key made on first start is reused by the next start.
    let key1 = std::fs::read_to_string(dir.join("nodekey")).unwrap();
    let again = NodeProc::start(&dir, &[]);
    assert_eq!(std::fs::read_to_string(dir.join("nodekey")).unwrap(), key1);
    assert_eq!(again.pubkey(), node.pubkey());
}
