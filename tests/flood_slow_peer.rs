//! Hostile input at scale (issue 15's flood list): a peer that answers every eth request
//! (devp2p caps/eth.md GetBlockHeaders, GetBlockBodies, GetReceipts) with the largest reply the
//! protocol allows — as many items as asked, filling eth's 10 MiB message limit — written as
//! slowly as the node's frame read timeout allows, while an honest peer serves the fixture chain.
//!
//! The node under test starts from the fixture genesis with no peers (its idle RSS is measured
//! then); the slow peer (a hand-driven RLPx session from this process) and the honest peer (a
//! second node holding the imported fixture chain) both dial it on loopback. It must sync the
//! whole chain from the honest peer within [`SYNC_WINDOW`], keep that session up, keep its RSS
//! under idle + [`RSS_GROWTH_MAX`], and drop the slow peer as stalled (its requests time out).

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestRng;
use common::fixture_node::{fixture_status, genesis_arg, imported_datadir};
use common::node_proc::{NodeProc, temp_dir};
use common::raw_peer::{RawPeer, Read_};
use ethpeer::eth::{self, EthMessage, EthVersion, MESSAGE_SIZE_MAX, SERVE_COUNT_MAX};
use ethpeer::rlpx::snappy;
use ethpeer::server::connection::FRAME_READ_TIMEOUT;

/// How long the slow peer takes to write one reply: two thirds of the node's frame read timeout,
/// so each frame still completes in time (the slowest a peer can be without being cut off for
/// silence) with room for a loaded machine. The sync's request timeout (5 s) expires first.
const DRIBBLE: Duration = Duration::from_secs(FRAME_READ_TIMEOUT.as_secs() * 2 / 3);

/// Bytes per dribbled write: 64 KiB, so a 10 MiB reply is 160 small writes spread over
/// [`DRIBBLE`].
const DRIBBLE_CHUNK: usize = 64 * 1024;

/// Room left under eth's message limit for the reply's list headers and request id.
const REPLY_SLACK: usize = 4096;

/// How long the node may take, from the honest peer's start, to sync the 600 fixture blocks with
/// the slow peer attached: 45 s. Undisturbed, the blocks arrive in about a second once a run
/// starts; each slow session may hold the blocks next to be written for two request timeouts
/// (10 s: the run's first chunk, then three requests that time out together) before its third
/// timeout drops it, and the slow peer redials at once, so this allows four such sessions.
const SYNC_WINDOW: Duration = Duration::from_secs(45);

/// How much the node's RSS may grow over its idle figure: 96 MiB. Syncing the fixture chain
/// alone grows it by about 47 MiB in a debug build (measured with the slow peer left out: block
/// 11 alone carries 10.6 MB of receipts); a slow session adds at most one frame buffer of up to
/// 16 MiB (allocated whole when the frame's header arrives) and its 10 MiB decompression. Keeping
/// the replies of every timed-out request, or a buffer per redialled session, would exceed it.
const RSS_GROWTH_MAX: u64 = 96 * 1024 * 1024;

/// The whole test's budget (issue 15: ≤ 90 s).
const TEST_BUDGET: Duration = Duration::from_secs(90);

/// The node's resident set size in bytes, from /proc/<pid>/status.
fn rss(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn rlp_header(len: usize, base: u8) -> Vec<u8> {
    if len < 56 {
        return vec![base + len as u8];
    }
    let be = (len as u64).to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    let mut out = vec![base + 55 + (8 - skip) as u8];
    out.extend_from_slice(&be[skip..]);
    out
}

fn rlp_uint(v: u64) -> Vec<u8> {
    match v {
        0 => vec![0x80],
        1..=127 => vec![v as u8],
        _ => {
            let be = v.to_be_bytes();
            let skip = be.iter().take_while(|b| **b == 0).count();
            let mut out = rlp_header(8 - skip, 0x80);
            out.extend_from_slice(&be[skip..]);
            out
        }
    }
}

/// `[request_id, [[junk], ...]]` with `count` items (capped at what a server may send) that
/// together fill eth's message limit: well formed, as many items as asked, as large as allowed.
/// The junk is random, so snappy cannot shrink it on the wire.
fn largest_reply(request_id: u64, count: usize, rng: &mut TestRng) -> Vec<u8> {
    let count = count.clamp(1, SERVE_COUNT_MAX);
    let per_item = (MESSAGE_SIZE_MAX - REPLY_SLACK) / count - 8;
    let mut items = Vec::with_capacity(MESSAGE_SIZE_MAX);
    let mut junk = vec![0u8; per_item];
    for _ in 0..count {
        // Eight random bytes per draw: a byte-wise fill of 10 MiB is slow in a debug build.
        for word in junk.chunks_mut(8) {
            word.copy_from_slice(&rng.next_u64().to_le_bytes()[..word.len()]);
        }
        let mut inner = rlp_header(junk.len(), 0x80);
        inner.extend_from_slice(&junk);
        items.extend(rlp_header(inner.len(), 0xc0));
        items.extend(inner);
    }
    let mut body = rlp_uint(request_id);
    body.extend(rlp_header(items.len(), 0xc0));
    body.extend(items);
    let mut out = rlp_header(body.len(), 0xc0);
    out.extend(body);
    assert!(out.len() <= MESSAGE_SIZE_MAX, "reply {} bytes", out.len());
    out
}

/// `data` in snappy's raw format as literals only (snappy's format description, "Literals"):
/// random bytes do not compress, so literals give the same 10 MiB on the wire without running a
/// compressor over them.
fn snappy_literals(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 60_000 * 3 + 16);
    let mut n = data.len() as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    for chunk in data.chunks(1 << 16) {
        // Tag 61: a literal whose length minus one follows in two little-endian bytes.
        out.push(61 << 2);
        out.extend_from_slice(&((chunk.len() - 1) as u16).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// What the slow peer saw, for the report and the assertions.
#[derive(Default)]
struct SlowStats {
    sessions: AtomicU64,
    requests: AtomicU64,
    replies_done: AtomicU64,
    bytes_written: AtomicU64,
    /// How each session ended.
    ends: Mutex<Vec<String>>,
}

/// One slow session: handshake, Hello, Status on the fixture chain at eth/69, then every request
/// answered with [`largest_reply`] dribbled over [`DRIBBLE`], until the node cuts it off.
fn slow_session(node: &NodeProc, seed: u64, stats: &SlowStats, stop: &AtomicBool) {
    let mut p = match RawPeer::connect(node.addr(), node.pubkey(), seed) {
        Ok(p) => p,
        Err(e) => {
            stats.ends.lock().unwrap().push(format!("connect: {e}"));
            return;
        }
    };
    if let Err(e) = p.hello(&[("eth", 69)]) {
        stats.ends.lock().unwrap().push(format!("hello: {e:?}"));
        return;
    }
    stats.sessions.fetch_add(1, Ordering::Relaxed);
    let version = EthVersion::Eth69;
    p.send(0x10, &fixture_status(version, |_| {}));
    p.stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut rng = TestRng::new(seed);
    let end = loop {
        if stop.load(Ordering::Relaxed) {
            break "test over".to_string();
        }
        let (code, payload) = match p.recv() {
            Read_::Message(c, m) => (c, m),
            Read_::Timeout => continue,
            other => break format!("{other:?}"),
        };
        if code < 0x10 {
            continue;
        }
        let (reply_id, request_id, count) = match eth::decode(version, code - 0x10, &payload) {
            Ok(EthMessage::GetBlockHeaders(q)) => (
                eth::BLOCK_HEADERS_ID,
                q.request_id,
                usize::try_from(q.amount).unwrap_or(usize::MAX),
            ),
            Ok(EthMessage::GetBlockBodies(q)) => {
                (eth::BLOCK_BODIES_ID, q.request_id, q.hashes.len())
            }
            Ok(EthMessage::GetReceipts(q)) => (eth::RECEIPTS_ID, q.request_id, q.hashes.len()),
            _ => continue,
        };
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let reply = largest_reply(request_id, count, &mut rng);
        let frame = p.seal(0x10 + reply_id, &snappy_literals(&reply));
        let pause = DRIBBLE / frame.len().div_ceil(DRIBBLE_CHUNK) as u32;
        let mut failed = None;
        for chunk in frame.chunks(DRIBBLE_CHUNK) {
            if let Err(e) = p.stream.write_all(chunk) {
                failed = Some(e);
                break;
            }
            stats
                .bytes_written
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            std::thread::sleep(pause);
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        match failed {
            Some(e) => {
                // The node closed the session mid-reply; read what it said before closing.
                let said = p.until_end(Duration::from_millis(100));
                break format!("write failed ({e}); then read {said:?}");
            }
            None if !stop.load(Ordering::Relaxed) => {
                stats.replies_done.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
    };
    stats.ends.lock().unwrap().push(end);
}

/// The body a peer announces in the frame header test: 15 MiB, under the 16 MiB frame limit.
const ANNOUNCED_BODY: usize = 15 * 1024 * 1024;

/// The most the node's RSS may grow while one peer has announced [`ANNOUNCED_BODY`] and sent
/// 64 KiB of it: 4 MiB (what was sent, a session's buffers, and noise), well under the body.
const ANNOUNCED_GROWTH_MAX: u64 = 4 * 1024 * 1024;

#[test]
fn a_frame_announced_but_not_sent_costs_only_what_was_sent() {
    let node = NodeProc::start(&temp_dir("slow-peer-announce"), &[]);
    let pid = node.child.id();
    let mut good = RawPeer::connect(node.addr(), node.pubkey(), 1).unwrap();
    good.hello(&[]).unwrap();
    let mut p = RawPeer::connect(node.addr(), node.pubkey(), 2).unwrap();
    p.hello(&[]).unwrap();
    // Sealing 15 MiB takes seconds in a debug build; the node is idle meanwhile.
    let frame = p.seal(0x10, &vec![0u8; ANNOUNCED_BODY]);
    std::thread::sleep(Duration::from_millis(500));
    let before = rss(pid).unwrap();
    p.send_bytes(&frame[..32 + 64 * 1024]).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let after = rss(pid).unwrap();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "node RSS {:.1} MiB before, {:.1} MiB with {} MiB announced and 64 KiB sent (bound +{:.0} MiB)",
        mib(before),
        mib(after),
        ANNOUNCED_BODY >> 20,
        mib(ANNOUNCED_GROWTH_MAX)
    );
    good.ping(Duration::from_secs(5))
        .expect("the other peer is still answered");
    assert!(
        after <= before + ANNOUNCED_GROWTH_MAX,
        "a 32-byte frame header cost the node {:.1} MiB of RSS",
        mib(after.saturating_sub(before))
    );
}

#[test]
fn the_slow_peers_reply_is_a_legal_message_at_the_size_limit() {
    let mut rng = TestRng::new(1);
    for count in [1, 64, 192, 5000] {
        let reply = largest_reply(9, count, &mut rng);
        assert!(
            reply.len() > MESSAGE_SIZE_MAX - 2 * REPLY_SLACK,
            "{count}: {}",
            reply.len()
        );
        let wire = snappy_literals(&reply);
        assert_eq!(snappy::decompress(&wire, MESSAGE_SIZE_MAX).unwrap(), reply);
        match eth::decode(EthVersion::Eth69, eth::BLOCK_HEADERS_ID, &reply) {
            Ok(EthMessage::BlockHeaders(r)) => {
                assert_eq!(r.request_id, 9);
                assert_eq!(r.items.len(), count.min(SERVE_COUNT_MAX));
            }
            other => panic!("{count}: {other:?}"),
        }
    }
}

#[test]
fn a_slow_peer_sending_the_largest_replies_neither_bloats_the_node_nor_starves_an_honest_peer() {
    let started = Instant::now();
    let dir = temp_dir("slow-peer-client");
    let client = NodeProc::start(
        &dir,
        &[
            "--genesis",
            &genesis_arg(),
            "--nodiscover",
            "--sync.minpeers",
            "2",
        ],
    );
    let pid = client.child.id();
    std::thread::sleep(Duration::from_secs(2));
    let idle = rss(pid).expect("reading the node's VmRSS");
    let bound = idle + RSS_GROWTH_MAX;

    // RSS sampled every 50 ms for the rest of the test.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(idle));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(r) = rss(pid) {
                    peak.fetch_max(r, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    // The slow peer dials first, so the node's run starts on it when the honest peer arrives.
    let stats = Arc::new(SlowStats::default());
    // It redials at once whenever dropped, with a fresh key each time (keys cost nothing).
    let client = Arc::new(client);
    let slow = {
        let (stop, stats, client) = (stop.clone(), stats.clone(), client.clone());
        std::thread::spawn(move || {
            let mut seed = 7000;
            while !stop.load(Ordering::Relaxed) {
                slow_session(&client, seed, &stats, &stop);
                seed += 1;
            }
        })
    };
    let wait_until = Instant::now() + Duration::from_secs(10);
    while stats.sessions.load(Ordering::Relaxed) == 0 && Instant::now() < wait_until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        stats.sessions.load(Ordering::Relaxed) > 0,
        "the slow peer never got past Hello: {:?}",
        stats.ends.lock().unwrap()
    );

    // The honest peer dials the node and serves the fixture chain.
    let honest_started = Instant::now();
    let honest = NodeProc::start(
        &imported_datadir("slow-peer-honest"),
        &[
            "--genesis",
            &genesis_arg(),
            "--syncmode",
            "none",
            "--nodiscover",
            "--staticnodes",
            &client.enode,
        ],
    );
    let synced = {
        let end = honest_started + SYNC_WINDOW;
        loop {
            if client.logged(&["Sync finished", "number=600"]) {
                break Some(honest_started.elapsed());
            }
            if Instant::now() > end {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The slow peer must have been cut off as stalled by now, or be within one request timeout
    // of it.
    let dropped_until = Instant::now() + Duration::from_secs(10);
    while !client.logged(&["Dropping eth peer", "stalled"]) && Instant::now() < dropped_until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let honest_closed = honest.count_logged(&["Connection closed"]);
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    slow.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "slow peer: {} sessions, {} requests, {} replies completed, {:.1} MiB written; \
         session ends: {:?}",
        stats.sessions.load(Ordering::Relaxed),
        stats.requests.load(Ordering::Relaxed),
        stats.replies_done.load(Ordering::Relaxed),
        mib(stats.bytes_written.load(Ordering::Relaxed)),
        stats.ends.lock().unwrap()
    );
    println!(
        "node RSS: idle {:.1} MiB, peak {:.1} MiB, bound {:.1} MiB (idle + {:.0} MiB); \
         honest sync of 600 blocks: {:?} (window {:?}); whole test {:?}",
        mib(idle),
        mib(peak),
        mib(bound),
        mib(RSS_GROWTH_MAX),
        synced,
        SYNC_WINDOW,
        started.elapsed()
    );
    let log = client.log_text();
    if std::env::var_os("SLOW_PEER_LOG").is_some() {
        println!("node log:\n{log}");
    }
    assert!(
        synced.is_some(),
        "the honest peer was starved: no sync to block 600 within {SYNC_WINDOW:?}; node log:\n{log}"
    );
    assert_eq!(
        honest_closed,
        0,
        "the honest peer's session with the node closed; honest log:\n{}",
        honest.log_text()
    );
    assert!(
        stats.requests.load(Ordering::Relaxed) > 0,
        "the node never asked the slow peer anything: the test proves nothing"
    );
    assert!(
        client.logged(&["Dropping eth peer", "stalled"]),
        "the slow peer was not dropped as stalled; node log:\n{log}"
    );
    assert!(
        stats
            .ends
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.contains("Disconnect(UselessPeer)")),
        "no slow session was told UselessPeer: {:?}",
        stats.ends.lock().unwrap()
    );
    assert!(
        peak <= bound,
        "node RSS peaked at {:.1} MiB, over the bound {:.1} MiB (idle {:.1} MiB)",
        mib(peak),
        mib(bound),
        mib(idle)
    );
    assert!(
        started.elapsed() <= TEST_BUDGET,
        "the test took {:?}, over its budget {TEST_BUDGET:?}",
        started.elapsed()
    );
}
