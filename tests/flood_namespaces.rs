//! Floods from many addresses (issue 15), in network namespaces this test makes itself: the node
//! runs alone in one namespace, the attackers and one honest peer in another, joined by a veth
//! pair; no namespace has a route anywhere else, so nothing can leave the machine. The addresses
//! are in 198.18.0.0/15 (RFC 2544, benchmarking), which the node does not count as LAN, so its
//! per-IP inbound throttle and discovery rate limit apply (loopback and LAN are exempt).
//!
//! - TCP: connections at a paced rate from 300 source addresses over 256 /24s: garbage, half an
//!   auth packet, silence, a whole auth (handshake answered) then nothing. Meanwhile an honest
//!   eth peer keeps asking for headers: every request must be answered; its latencies, the
//!   node's peak RSS and open descriptors, and every throttle decision the node logged are printed.
//! - UDP: signed discv4 pings from the same 300 addresses, junk and oversized datagrams, as fast
//!   as the sender goes (target 50,000/s): the node's replies must stay within the amplification
//!   bound, the honest peer is still served, and the node's CPU time is printed.
//!
//! `FLOOD_SECONDS` (default 8) sets each flood's length, `FLOOD_TCP_RATE` (default 1000) the
//! connections per second; the run is `FLOOD_SECONDS=30`. Where the machine forbids
//! namespaces (not root, no `ip`), the test prints why and passes without running.

mod common;

#[path = "flood/bed.rs"]
mod bed;

use bed::*;

use std::io::{Read, Write};
use std::net::{SocketAddr, SocketAddrV4};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use common::TestRng;
use common::fixture_node::{fixture_eth_peer, fixture_status};
use common::raw_peer::{RawPeer, Read_, ask_headers};
use ethpeer::crypto::SecretKey;
use ethpeer::discv4::packet::{self, Endpoint, Packet, Ping};
use ethpeer::eth::EthVersion;
use ethpeer::rlpx::handshake::Handshake;
use socket2::{Domain, Socket, Type};

/// Seconds since the unix epoch, for packet expirations.
fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A discv4 Ping signed by `key`, from the socket's own address to the node, expiring in an hour.
fn ping_from(socket: &std::net::UdpSocket, key: &SecretKey, now_s: u64) -> Vec<u8> {
    let a = socket.local_addr().unwrap();
    let p = Packet::Ping(Ping {
        version: 4,
        from: Endpoint {
            ip: Some(a.ip()),
            udp: a.port(),
            tcp: a.port(),
        },
        to: Endpoint {
            ip: Some(NODE_IP.into()),
            udp: PORT,
            tcp: PORT,
        },
        expiration: now_s + 3600,
        enr_seq: None,
    });
    packet::encode(&p, key).unwrap().0
}

// ---- roles: this binary re-run inside the peers' namespace ----------------------------------

/// The honest eth peer: Status, then GetBlockHeaders (16 headers) every 20 ms for the flood's
/// length plus 2 s, each answered before the next; answers the node's Pings.
#[test]
fn honest_peer() {
    if !role_is("honest_peer") {
        return;
    }
    let version = EthVersion::Eth69;
    let mut p = fixture_eth_peer(node_addr(), node_key(), 77, version).expect("honest peer");
    println!("honest ready");
    let end = Instant::now() + Duration::from_secs(seconds() + 2);
    let mut latencies = Vec::new();
    let mut id = 0u64;
    while Instant::now() < end {
        id += 1;
        latencies.push(ask_headers(&mut p, version, id).as_micros() as u64);
        std::thread::sleep(Duration::from_millis(20));
    }
    latencies.sort_unstable();
    println!(
        "figures requests={} p50_us={} p99_us={} max_us={}",
        latencies.len(),
        percentile(&latencies, 50),
        percentile(&latencies, 99),
        latencies.last().copied().unwrap_or(0)
    );
}

/// The TCP flood: `FLOOD_TCP_RATE` connections a second for `FLOOD_SECONDS` from the 300 source
/// addresses in turn, by kind: garbage then close; half an auth packet, held; silence, held; a
/// whole auth packet (the node answers with its ack), held. At most 512 held at once.
#[test]
fn tcp_flood() {
    if !role_is("tcp_flood") {
        return;
    }
    let rate = env_u64("FLOOD_TCP_RATE", 1000);
    let total = seconds() * rate;
    let mut rng = TestRng::new(15);
    let ours = SecretKey::generate(|b| rng.fill(b));
    let eph = SecretKey::generate(|b| rng.fill(b));
    let auth = Handshake::initiator(ours, node_key(), eph, [9; 32])
        .write_auth(&mut |b| rng.fill(b))
        .unwrap();
    let next = AtomicU64::new(0);
    let [connected, failed, acks, closed] = [(); 4].map(|_| AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let mut held = std::collections::VecDeque::new();
                loop {
                    let i = next.fetch_add(1, Relaxed);
                    if i >= total {
                        break;
                    }
                    let due = start + Duration::from_micros(i * 1_000_000 / rate);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    let src = SocketAddr::V4(SocketAddrV4::new(source(i as usize % SOURCES), 0));
                    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                    sock.bind(&src.into()).unwrap();
                    if sock
                        .connect_timeout(&node_addr().into(), Duration::from_millis(500))
                        .is_err()
                    {
                        failed.fetch_add(1, Relaxed);
                        continue;
                    }
                    connected.fetch_add(1, Relaxed);
                    let mut stream: std::net::TcpStream = sock.into();
                    match i % 4 {
                        0 => {
                            let _ = stream.write_all(&[0x5a; 200]);
                            continue;
                        }
                        1 => {
                            let _ = stream.write_all(&auth[..100]);
                        }
                        2 => {}
                        _ => {
                            let _ = stream.write_all(&auth);
                            stream
                                .set_read_timeout(Some(Duration::from_millis(300)))
                                .unwrap();
                            let mut b = [0u8; 1];
                            if matches!(stream.read(&mut b), Ok(1)) {
                                acks.fetch_add(1, Relaxed);
                            }
                        }
                    }
                    held.push_back(stream);
                    if held.len() > 64 {
                        let mut old: std::net::TcpStream = held.pop_front().unwrap();
                        old.set_nonblocking(true).unwrap();
                        let mut b = [0u8; 4096];
                        // Closed by the node (EOF or reset) rather than by us.
                        if matches!(old.read(&mut b), Ok(0) | Err(_))
                            && !matches!(
                                old.read(&mut b),
                                Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock
                            )
                        {
                            closed.fetch_add(1, Relaxed);
                        }
                    }
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "figures attempts={total} connected={} connect_failed={} acks={} closed_by_node={} sources={SOURCES} rate_per_s={}",
        connected.load(Relaxed),
        failed.load(Relaxed),
        acks.load(Relaxed),
        closed.load(Relaxed),
        (total as f64 / secs) as u64
    );
}

/// The UDP flood: from the 300 source addresses in turn, 6 in 10 datagrams a signed discv4 Ping
/// (8 sender keys, signed once), 3 junk, 1 oversized (1400 bytes, over discv4's 1280), as fast as
/// the sender goes up to 50,000 a second; replies are counted on every socket.
#[test]
fn udp_flood() {
    if !role_is("udp_flood") {
        return;
    }
    let node = node_addr();
    let socks: Vec<std::net::UdpSocket> = (0..SOURCES)
        .map(|i| {
            let s = std::net::UdpSocket::bind(SocketAddrV4::new(source(i), 0)).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let now_s = unix_secs();
    let mut rng = TestRng::new(50);
    let pings: Vec<Vec<u8>> = (0..8)
        .map(|_| {
            let k = SecretKey::generate(|b| rng.fill(b));
            let p = Packet::Ping(Ping {
                version: 4,
                from: Endpoint {
                    ip: None,
                    udp: 0,
                    tcp: 0,
                },
                to: Endpoint {
                    ip: Some(NODE_IP.into()),
                    udp: PORT,
                    tcp: PORT,
                },
                expiration: now_s + 3600,
                enr_seq: None,
            });
            packet::encode(&p, &k).unwrap().0
        })
        .collect();
    let mut junk = vec![0u8; 200];
    rng.fill(&mut junk);
    let oversized = vec![0x42u8; 1400];
    let (mut sent, mut pings_sent, mut ping_bytes, mut other_bytes) = (0u64, 0u64, 0u64, 0u64);
    let (mut replies, mut reply_bytes) = (0u64, 0u64);
    let mut buf = [0u8; 2048];
    let mut drain = |s: &std::net::UdpSocket, replies: &mut u64, reply_bytes: &mut u64| {
        while let Ok(n) = s.recv(&mut buf) {
            *replies += 1;
            *reply_bytes += n as u64;
        }
    };
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds());
    while Instant::now() < end {
        for _ in 0..100 {
            let s = &socks[sent as usize % SOURCES];
            let d: &[u8] = match sent % 10 {
                0..=5 => &pings[(sent / 10) as usize % pings.len()],
                6..=8 => &junk,
                _ => &oversized,
            };
            if s.send_to(d, node).is_ok() {
                if sent % 10 <= 5 {
                    pings_sent += 1;
                    ping_bytes += d.len() as u64;
                } else {
                    other_bytes += d.len() as u64;
                }
            }
            sent += 1;
        }
        for k in 0..8 {
            drain(
                &socks[(sent as usize / 100 * 8 + k) % SOURCES],
                &mut replies,
                &mut reply_bytes,
            );
        }
        let due = start + Duration::from_micros(sent * 20);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    let secs = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    for s in &socks {
        drain(s, &mut replies, &mut reply_bytes);
    }
    println!(
        "figures sent={sent} pings={pings_sent} ping_bytes={ping_bytes} other_bytes={other_bytes} replies={replies} reply_bytes={reply_bytes} rate_per_s={}",
        (sent as f64 / secs) as u64
    );
}

/// Honest discovery nodes: [`KEEPERS`] of them Ping the node and answer its Pings (correctly)
/// and FindNodes (with an empty Neighbors), so they hold table places; one more, the pretender,
/// answers the node's Ping with a Pong naming the wrong Ping, so it never bonds. Once every keeper
/// has answered a Ping of the node's, FindNode shows which of them the node names (its table's
/// live entries), then "keepers ready"; they keep answering for the flood's length plus 3 s, and
/// FindNode shows the table again.
#[test]
fn keepers() {
    if !role_is("keepers") {
        return;
    }
    let node = node_addr();
    let now_s = unix_secs();
    let mut rng = TestRng::new(0x6ee9);
    let nodes: Vec<(SecretKey, std::net::UdpSocket)> = (0..=KEEPERS)
        .map(|i| {
            let s = std::net::UdpSocket::bind(SocketAddrV4::new(keeper(i), PORT)).unwrap();
            s.set_nonblocking(true).unwrap();
            (SecretKey::generate(|b| rng.fill(b)), s)
        })
        .collect();
    let pretender = KEEPERS;
    let node_ep = Endpoint {
        ip: Some(NODE_IP.into()),
        udp: PORT,
        tcp: PORT,
    };
    let mut answered = vec![0u64; KEEPERS + 1];
    let mut buf = [0u8; 2048];
    let mut serve = |answered: &mut Vec<u64>, seen: &mut std::collections::HashSet<[u8; 64]>| {
        for (i, (k, s)) in nodes.iter().enumerate() {
            while let Ok(n) = s.recv(&mut buf) {
                let Ok(d) = packet::decode(&buf[..n]) else {
                    continue;
                };
                let reply = match d.packet {
                    Packet::Ping(_) => {
                        answered[i] += 1;
                        Packet::Pong(packet::Pong {
                            to: node_ep,
                            ping_hash: if i == pretender { [7; 32] } else { d.hash },
                            expiration: now_s + 3600,
                            enr_seq: None,
                        })
                    }
                    Packet::FindNode(_) => Packet::Neighbors(packet::Neighbors {
                        nodes: Vec::new(),
                        expiration: now_s + 3600,
                    }),
                    Packet::Neighbors(nb) => {
                        if std::env::var_os("FLOOD_DEBUG").is_some() {
                            eprintln!("keeper {i}: neighbors {}", nb.nodes.len());
                        }
                        seen.extend(nb.nodes.iter().map(|n| n.id.to_bytes()));
                        continue;
                    }
                    _ => continue,
                };
                let _ = s.send_to(&packet::encode(&reply, k).unwrap().0, node);
            }
        }
    };
    let ping = |i: usize| {
        let (k, s) = &nodes[i];
        let _ = s.send_to(&ping_from(s, k, now_s), node);
    };
    let bond_by = Instant::now() + Duration::from_secs(20);
    while answered[..KEEPERS].contains(&0) {
        assert!(
            Instant::now() < bond_by,
            "keepers not pinged back: {answered:?}"
        );
        for (i, a) in answered.iter().enumerate() {
            if *a == 0 {
                ping(i);
            }
        }
        for _ in 0..50 {
            serve(&mut answered, &mut Default::default());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    // Who the node names now: keeper k asks for keeper k+1's id (the node leaves the asker out
    // of its answer), keeper 0 for the pretender's. The node answers with entries that have
    // answered a Ping since they were added, so a keeper not yet revalidated is not named yet.
    let id = |i: usize| nodes[i].0.public_key().to_bytes();
    type Serve<'a> = dyn FnMut(&mut Vec<u64>, &mut std::collections::HashSet<[u8; 64]>) + 'a;
    let look = |serve: &mut Serve, answered: &mut Vec<u64>| {
        let mut seen = std::collections::HashSet::new();
        for (k, (key, s)) in nodes.iter().enumerate().take(KEEPERS) {
            let f = Packet::FindNode(packet::FindNode {
                target: id((k + 1) % KEEPERS),
                expiration: now_s + 3600,
            });
            let _ = s.send_to(&packet::encode(&f, key).unwrap().0, node);
        }
        let f = Packet::FindNode(packet::FindNode {
            target: id(pretender),
            expiration: now_s + 3600,
        });
        let _ = nodes[0]
            .1
            .send_to(&packet::encode(&f, &nodes[0].0).unwrap().0, node);
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            serve(answered, &mut seen);
            std::thread::sleep(Duration::from_millis(10));
        }
        let named: Vec<usize> = (0..KEEPERS).filter(|&i| seen.contains(&id(i))).collect();
        (named, seen.contains(&id(pretender)))
    };
    let (before, pretender_before) = look(&mut serve, &mut answered);
    println!("keepers ready");
    // Until the test says the flood is over (a file it creates), and a second more.
    let done = std::path::PathBuf::from(std::env::var(FLOOD_DONE_ENV).expect("the done file"));
    let until = Instant::now() + Duration::from_secs(seconds() + 60);
    let mut seen = std::collections::HashSet::new();
    let mut over: Option<Instant> = None;
    while Instant::now() < until && over.is_none_or(|t| t.elapsed() < Duration::from_secs(1)) {
        if over.is_none() && done.exists() {
            over = Some(Instant::now());
        }
        serve(&mut answered, &mut seen);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(over.is_some(), "the flood never ended");
    let (after, pretender_after) = look(&mut serve, &mut answered);
    let lost = before.iter().filter(|i| !after.contains(i)).count();
    if std::env::var_os("FLOOD_DEBUG").is_some() {
        eprintln!("keepers: before {before:?} after {after:?} pings answered {answered:?}");
    }
    println!(
        "figures keepers={KEEPERS} named_before={} named_after={} lost={lost} pretender_named={} pings_answered={}",
        before.len(),
        after.len(),
        u64::from(pretender_before || pretender_after),
        answered[..KEEPERS].iter().sum::<u64>()
    );
}

/// Eclipse attempts on the peer slots: [`ECLIPSE_NODES`] nodes from one /24 and as many from as
/// many /24s each connect from their own address, complete RLPx, Hello and an eth/69 Status at
/// the fixture head (one connection every 30 ms, the groups interleaved), and hold the session
/// until the flood's length plus 4 s after the last has connected ("attackers holding"),
/// answering Pings. Each counts as
/// admitted when it got the node's Status and was still connected at the end; refusals are
/// counted by reason.
#[test]
fn slot_eclipse() {
    if !role_is("slot_eclipse") {
        return;
    }
    use std::sync::atomic::AtomicBool;
    let version = EthVersion::Eth69;
    let key = node_key();
    let [one, many, too_many, refused_other, failed] = [(); 5].map(|_| AtomicU64::new(0));
    let stop = AtomicBool::new(false);
    // One connection every 30 ms: 200 in 6 s, within the node's 50 pending handshakes (each
    // address gets one attempt per 30 s from the inbound throttle, so a refused one cannot
    // simply retry).
    let start = Instant::now();
    let hold_until = start + Duration::from_secs(6 + seconds() + 4);
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(6500));
            println!("attackers holding");
        });
        for i in 0..2 * ECLIPSE_NODES {
            let (one, many, too_many, refused_other, failed, stop) =
                (&one, &many, &too_many, &refused_other, &failed, &stop);
            s.spawn(move || {
                // The two groups interleaved, so neither comes first.
                let at = if i < ECLIPSE_NODES {
                    2 * i
                } else {
                    2 * (i - ECLIPSE_NODES) + 1
                };
                std::thread::sleep(Duration::from_millis(30 * at as u64));
                let from = if i < ECLIPSE_NODES {
                    one_subnet(i)
                } else {
                    source(i)
                };
                let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                sock.bind(&SocketAddr::V4(SocketAddrV4::new(from, 0)).into())
                    .unwrap();
                if sock
                    .connect_timeout(&node_addr().into(), Duration::from_secs(5))
                    .is_err()
                {
                    failed.fetch_add(1, Relaxed);
                    return;
                }
                let mut rng = TestRng::new(0x5107 + i as u64);
                let ours = SecretKey::generate(|b| rng.fill(b));
                let Ok(mut p) = RawPeer::handshake(sock.into(), key, ours, i as u64) else {
                    failed.fetch_add(1, Relaxed);
                    return;
                };
                let refused = |r: &Read_| match r {
                    Read_::Disconnect(ethpeer::p2p::DisconnectReason::TooManyPeers) => {
                        too_many.fetch_add(1, Relaxed);
                    }
                    _ => {
                        refused_other.fetch_add(1, Relaxed);
                    }
                };
                if let Err(r) = p.hello(&[("eth", version.number())]) {
                    refused(&r);
                    return;
                }
                p.stream
                    .set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                let mut status = false;
                loop {
                    if Instant::now() >= hold_until || stop.load(Relaxed) {
                        break;
                    }
                    match p.recv() {
                        Read_::Message(ETH, _) if !status => {
                            status = true;
                            p.send(ETH, &fixture_status(version, |_| {}));
                        }
                        Read_::Message(2, _) => p.send(3, &[0xc0]),
                        Read_::Message(..) | Read_::Timeout => {}
                        Read_::Error(e) if e.contains("timed out") || e.contains("WouldBlock") => {}
                        other => {
                            refused(&other);
                            return;
                        }
                    }
                }
                if status {
                    if i < ECLIPSE_NODES {
                        one.fetch_add(1, Relaxed);
                    } else {
                        many.fetch_add(1, Relaxed);
                    }
                } else {
                    refused_other.fetch_add(1, Relaxed);
                }
            });
        }
    });
    println!(
        "figures attackers={} admitted_one_subnet={} admitted_many_subnets={} too_many_peers={} refused_other={} connect_failed={}",
        2 * ECLIPSE_NODES,
        one.load(Relaxed),
        many.load(Relaxed),
        too_many.load(Relaxed),
        refused_other.load(Relaxed),
        failed.load(Relaxed)
    );
}

// ---- the tests -----------------------------------------------------------------------------------

/// Every "Inbound connection refused" the node logged, by reason.
fn throttle_counts(node: &Node) -> Vec<(&'static str, usize)> {
    [
        ("too_many_attempts", "too many attempts from this address"),
        ("too_many_pending", "too many pending inbound handshakes"),
        ("history_full", "too many inbound attempts overall"),
    ]
    .into_iter()
    .map(|(k, why)| (k, node.count(&["Inbound connection refused", why])))
    .collect()
}

#[test]
fn a_tcp_flood_from_300_addresses_leaves_an_honest_peer_served() {
    if std::env::var(ROLE_ENV).is_ok() {
        return;
    }
    let Some(bed) = bed("t") else {
        return;
    };
    let node = Node::start(&bed, "flood-tcp");
    let (rss0, fds0, _) = node.sample();
    let sampler = Sampler::start(node.child.id());
    let mut honest = RoleProc::spawn(&bed, "honest_peer", &node);
    honest.wait_line("honest ready", Duration::from_secs(60));
    let flood =
        RoleProc::spawn(&bed, "tcp_flood", &node).figures(Duration::from_secs(seconds() + 60));
    let served = honest.figures(Duration::from_secs(seconds() + 60));
    let (rss, fds) = sampler.finish();
    let accepted = node.count(&["Accepted connection"]);
    let throttled = throttle_counts(&node);
    println!("tcp flood: {}", show(&flood));
    println!(
        "tcp flood: node accepted {accepted}, refused {throttled:?}; RSS {rss0} KiB before, peak {rss} KiB; descriptors {fds0} before, peak {fds}"
    );
    println!(
        "tcp flood: honest peer {} (target: p99 within 1 s)",
        show(&served)
    );
    assert_eq!(node_alive(&node), None, "the node died");
    assert!(
        get(&served, "requests") > 0,
        "the honest peer asked nothing"
    );
    assert!(
        get(&flood, "connected") > 0,
        "no flood connection reached the node"
    );
    let refused: usize = throttled.iter().map(|(_, n)| n).sum();
    // 300 addresses making many attempts each within 30 s: the per-IP throttle must act.
    assert!(refused > 0, "no inbound connection was throttled");
    assert!(
        accepted >= SOURCES.min(get(&flood, "connected") as usize) / 2,
        "accepted {accepted}"
    );
    assert!(rss < 512 * 1024, "peak RSS {rss} KiB");
}

fn node_alive(node: &Node) -> Option<std::process::ExitStatus> {
    let mut c = Command::new("kill");
    c.args(["-0", &node.child.id().to_string()]);
    if c.status().is_ok_and(|s| s.success()) {
        None
    } else {
        Some(std::process::ExitStatus::default())
    }
}

#[test]
fn a_udp_flood_from_300_addresses_stays_within_the_amplification_bound() {
    if std::env::var(ROLE_ENV).is_ok() {
        return;
    }
    let Some(bed) = bed("u") else {
        return;
    };
    let _ = std::fs::remove_file(done_file());
    let node = Node::start(&bed, "flood-udp");
    let mut keepers = RoleProc::spawn(&bed, "keepers", &node);
    keepers.wait_line("keepers ready", Duration::from_secs(60));
    let (_, _, cpu0) = node.sample();
    let sampler = Sampler::start(node.child.id());
    let mut honest = RoleProc::spawn(&bed, "honest_peer", &node);
    honest.wait_line("honest ready", Duration::from_secs(60));
    let started = Instant::now();
    let flood =
        RoleProc::spawn(&bed, "udp_flood", &node).figures(Duration::from_secs(seconds() + 60));
    std::fs::write(done_file(), b"").unwrap();
    let wall = started.elapsed().as_secs_f64();
    let (_, _, cpu1) = node.sample();
    let served = honest.figures(Duration::from_secs(seconds() + 60));
    let table = keepers.figures(Duration::from_secs(seconds() + 60));
    let (rss, fds) = sampler.finish();
    let ticks_per_s = 100.0; // USER_HZ
    let cpu = (cpu1 - cpu0) as f64 / ticks_per_s / wall;
    println!("udp flood: {}", show(&flood));
    println!(
        "udp flood: node CPU {:.0}% of one core during the flood; peak RSS {rss} KiB, descriptors {fds}; replies/ping bytes {:.2}",
        cpu * 100.0,
        get(&flood, "reply_bytes") as f64 / get(&flood, "ping_bytes").max(1) as f64
    );
    println!(
        "udp flood: honest peer {} (target: p99 within 1 s)",
        show(&served)
    );
    println!("udp flood: table after the flood: {}", show(&table));
    if std::env::var_os("FLOOD_DEBUG").is_some() {
        for l in node
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(".3:30303"))
        {
            println!("node: {l}");
        }
    }
    assert_eq!(node_alive(&node), None, "the node died");
    // The honest entries keep their places: every keeper the node named before the flood it
    // names after it. The pretender never bonded and is never named (the check can tell).
    assert!(
        get(&table, "named_before") > 0,
        "the node named no keeper before the flood: the check saw nothing"
    );
    assert_eq!(
        get(&table, "lost"),
        0,
        "honest table entries lost in the flood"
    );
    assert_eq!(
        get(&table, "pretender_named"),
        0,
        "a node that never bonded is in the table"
    );
    assert!(
        get(&flood, "pings") > 1000,
        "the flood sent too little to mean anything"
    );
    // The amplification bound: a Ping earns at most a Pong and our own Ping back, each no larger
    // than a Ping; junk and oversized datagrams earn nothing.
    assert!(
        get(&flood, "reply_bytes") <= 2 * get(&flood, "ping_bytes"),
        "replies exceed the amplification bound"
    );
    assert!(get(&served, "requests") > 0);
    assert!(rss < 512 * 1024, "peak RSS {rss} KiB");
}

/// Eclipse attempts over discovery: 100 nodes from one /24 and 100 from 100 /24s each Ping the
/// node and answer its bonding Ping, so each is a proven node it may add to its table. Then eight
/// of them ask FindNode for 64 random targets, and the Neighbors show who got in.
#[test]
fn eclipse() {
    if !role_is("eclipse") {
        return;
    }
    let node = node_addr();
    let now_s = unix_secs();
    let mut rng = TestRng::new(0xec1);
    let attackers: Vec<(SecretKey, std::net::UdpSocket, bool)> = (0..2 * ECLIPSE_NODES)
        .map(|i| {
            let (addr, one) = if i < ECLIPSE_NODES {
                (one_subnet(i), true)
            } else {
                (source(i), false)
            };
            let s = std::net::UdpSocket::bind(SocketAddrV4::new(addr, PORT)).unwrap();
            s.set_nonblocking(true).unwrap();
            (SecretKey::generate(|b| rng.fill(b)), s, one)
        })
        .collect();
    let node_ep = Endpoint {
        ip: Some(NODE_IP.into()),
        udp: PORT,
        tcp: PORT,
    };
    let mut buf = [0u8; 2048];
    let mut bonded = 0;
    let mut seen: std::collections::HashMap<[u8; 64], std::net::IpAddr> = Default::default();
    let mut serve =
        |attackers: &[(SecretKey, std::net::UdpSocket, bool)],
         bonded: &mut usize,
         seen: &mut std::collections::HashMap<[u8; 64], std::net::IpAddr>| {
            for (k, s, _) in attackers {
                while let Ok(n) = s.recv(&mut buf) {
                    let Ok(d) = packet::decode(&buf[..n]) else {
                        continue;
                    };
                    match d.packet {
                        Packet::Ping(_) => {
                            let pong = Packet::Pong(packet::Pong {
                                to: node_ep,
                                ping_hash: d.hash,
                                expiration: now_s + 3600,
                                enr_seq: None,
                            });
                            let _ = s.send_to(&packet::encode(&pong, k).unwrap().0, node);
                            *bonded += 1;
                        }
                        Packet::Neighbors(nb) => {
                            for n in nb.nodes {
                                seen.insert(n.id.to_bytes(), n.ip);
                            }
                        }
                        _ => {}
                    }
                }
            }
        };
    for (k, s, _) in &attackers {
        s.send_to(&ping_from(s, k, now_s), node).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        // Answer the node's bonding Pings at once: it waits 500 ms for a Pong.
        serve(&attackers, &mut bonded, &mut seen);
    }
    let settle = Instant::now() + Duration::from_secs(4);
    while Instant::now() < settle {
        serve(&attackers, &mut bonded, &mut seen);
        std::thread::sleep(Duration::from_millis(10));
    }
    // Ask from eight bonded attackers of the many-/24 half, 8 random targets each.
    for q in 0..8 {
        let (k, s, _) = &attackers[ECLIPSE_NODES + q];
        for _ in 0..8 {
            let mut target = [0u8; 64];
            rng.fill(&mut target);
            let f = Packet::FindNode(packet::FindNode {
                target,
                expiration: now_s + 3600,
            });
            let _ = s.send_to(&packet::encode(&f, k).unwrap().0, node);
            std::thread::sleep(Duration::from_millis(20));
            serve(&attackers, &mut bonded, &mut seen);
        }
    }
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        serve(&attackers, &mut bonded, &mut seen);
        std::thread::sleep(Duration::from_millis(10));
    }
    let one = seen
        .values()
        .filter(|ip| matches!(ip, std::net::IpAddr::V4(a) if a.octets()[2] == 250))
        .count();
    println!(
        "figures bonded={bonded} seen_in_table={} one_subnet_in_table={one} many_subnets_in_table={}",
        seen.len(),
        seen.len() - one
    );
}

#[test]
fn eclipse_attempts_from_one_subnet_get_at_most_the_subnet_limit_into_the_table() {
    if std::env::var(ROLE_ENV).is_ok() {
        return;
    }
    let Some(bed) = bed("e") else {
        return;
    };
    let node = Node::start(&bed, "flood-eclipse");
    let figs = RoleProc::spawn(&bed, "eclipse", &node).figures(Duration::from_secs(90));
    if std::env::var_os("FLOOD_DEBUG").is_some() {
        for l in node
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| !l.contains("Inbound"))
            .take(80)
        {
            println!("node: {l}");
        }
    }
    println!(
        "eclipse: {} (limits: 10 per /24 per table, 2 per /24 per bucket, 16 per bucket)",
        show(&figs)
    );
    assert_eq!(node_alive(&node), None, "the node died");
    // ethpeer::discv4::table::TABLE_SUBNET_MAX
    assert!(
        get(&figs, "one_subnet_in_table") <= 10,
        "the /24 limit let more in"
    );
    assert!(
        get(&figs, "one_subnet_in_table") > 0,
        "nobody from the one /24 got in: the test saw nothing"
    );
    // The limit is per /24: nodes from many /24s are not held to it.
    assert!(
        get(&figs, "many_subnets_in_table") > 10,
        "the table took too few to tell the limits apart"
    );
}

/// Eclipse attempts on the peer slots: 200 attackers (100 from one /24, 100 from 100 /24s)
/// connect and hold valid eth sessions (`--maxpeers 12`: 4 dialed, 8 inbound). Once they hold,
/// an honest node appears (in the attackers' namespace, dialing nobody itself) and pings the
/// node. At most the inbound limit of attackers gets in and the rest are told "too many peers";
/// the dial slots stay the node's own, so it finds the honest node and connects to it while the
/// attackers still hold their sessions.
#[test]
fn eclipse_attempts_on_the_peer_slots_get_at_most_the_inbound_limit_in() {
    if std::env::var(ROLE_ENV).is_ok() {
        return;
    }
    let Some(bed) = bed("s") else {
        return;
    };
    let node = Node::start_in(
        &bed,
        &bed.node_ns,
        "flood-slots",
        &["--bootnodes", "", "--maxpeers", "12"],
    );
    let mut attackers = RoleProc::spawn(&bed, "slot_eclipse", &node);
    attackers.wait_line("attackers holding", Duration::from_secs(60));
    let boot = format!(
        "enode://{}@{NODE_IP}:{PORT}",
        ethpeer::crypto::hex(&node.key.to_bytes())
    );
    // --maxpeers 2 leaves it no dial slot (2 / 3 = 0): it only answers discovery and accepts.
    let _honest = Node::start_in(
        &bed,
        &bed.peer_ns,
        "flood-slots-honest",
        &[
            "--bootnodes",
            &boot,
            "--nat",
            "extip:198.19.0.2",
            "--maxpeers",
            "2",
        ],
    );
    let honest_by = Instant::now() + Duration::from_secs(seconds());
    let honest_in = |node: &Node| {
        node.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("Adding p2p peer") && l.contains("198.19.0.2:"))
    };
    while !honest_in(&node) && Instant::now() < honest_by {
        std::thread::sleep(Duration::from_millis(100));
    }
    let honest_while_held = honest_in(&node);
    let figs = attackers.figures(Duration::from_secs(seconds() + 90));
    let log = node.log.lock().unwrap().clone();
    let peers_max = log
        .iter()
        .filter(|l| l.contains("Adding p2p peer"))
        .filter_map(|l| {
            l.split("peers=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    println!(
        "slot eclipse: {} (limits: 12 peers, 8 inbound); most peers at once {peers_max}; honest node connected while the attackers held: {honest_while_held}",
        show(&figs)
    );
    assert_eq!(node_alive(&node), None, "the node died");
    let admitted = get(&figs, "admitted_one_subnet") + get(&figs, "admitted_many_subnets");
    // ethpeer::node: maxpeers 12, dial ratio 3: 4 dialed, 8 inbound.
    assert!(
        admitted <= 8,
        "{admitted} attackers admitted: over the inbound limit"
    );
    assert!(admitted > 0, "no attacker got in: the test saw nothing");
    assert!(
        get(&figs, "too_many_peers") > 100,
        "the attackers were not refused for the peer limit"
    );
    assert!(peers_max <= 12, "{peers_max} peers at once");
    assert!(
        honest_while_held,
        "the node did not connect to the honest node while the attackers held: its dial slots were taken"
    );
}
