//! The node database on disk: records round-trip, seeding and expiry follow their age rules,
//! records survive a restart, the storage thread answers and joins, and a writer killed with
//! SIGKILL at random moments always leaves a store that opens with every record readable.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::TestRng;
use ethpeer::crypto::{NodeId, PublicKey, SecretKey};
use ethpeer::nodedb::{
    DbCheck, EXPIRE_UNSEEN, HandleConfig, NodeDb, NodeDbError, NodeDbHandle, NodeRecord,
    SEED_AGE_MAX,
};
use futures_lite::future::block_on;

/// A fixed "now" for the age rules: 2023-11-14.
const NOW: u64 = 1_700_000_000;
const DAY: u64 = 24 * 3600;

/// Set in the child process the kill -9 test starts: the directory it writes to.
const CRASH_DIR_ENV: &str = "ETHPEER_NODEDB_CRASH_DIR";
/// What the child prints once its marker record is on disk.
const READY_LINE: &str = "NODEDB-WRITER-READY";

fn temp_dir(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ethpeer-nodedb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn keys(seed: u64, n: usize) -> Vec<PublicKey> {
    let mut rng = TestRng::new(seed);
    (0..n)
        .map(|_| SecretKey::generate(|b| rng.fill(b)).public_key())
        .collect()
}

fn record(key: PublicKey, pong: u64) -> NodeRecord {
    let mut r = NodeRecord::new(key, IpAddr::from([192, 0, 2, 1]), 30303, 30304);
    r.last_pong_received = pong;
    r
}

/// A handle configuration for tests: nothing expires unless the test asks.
fn quiet_config() -> HandleConfig {
    HandleConfig {
        expire_interval: Duration::from_secs(3600),
        clock: Box::new(|| NOW),
        ..HandleConfig::default()
    }
}

#[test]
fn put_get_update_remove_round_trip() {
    let dir = temp_dir("roundtrip");
    let db = NodeDb::open(&dir).unwrap();
    assert!(
        db.path().ends_with(ethpeer::storage::DB_DIR),
        "{}",
        db.path().display()
    );
    let [a, b] = keys(1, 2).try_into().unwrap();
    let mut ra = record(a, NOW);
    ra.ip = "2001:db8::7".parse().unwrap();
    ra.enr = Some(vec![0xc3, 0x01, 0x02, 0x03]);
    ra.last_ping_received = NOW - 5;
    ra.findnode_failures = 2;
    let rb = record(b, NOW - 10);
    db.put(&ra).unwrap();
    db.put(&rb).unwrap();
    assert_eq!(db.get(&ra.id()).unwrap(), Some(ra.clone()));
    assert_eq!(db.get(&rb.id()).unwrap(), Some(rb.clone()));
    assert_eq!(db.get(&NodeId([9; 32])).unwrap(), None);

    assert!(db.update(&rb.id(), |r| r.findnode_failures = 4).unwrap());
    assert_eq!(db.get(&rb.id()).unwrap().unwrap().findnode_failures, 4);
    // An update of an unknown node writes nothing.
    assert!(!db.update(&NodeId([9; 32]), |r| r.tcp = 1).unwrap());
    assert_eq!(
        db.check().unwrap(),
        DbCheck {
            records: 2,
            corrupt: 0
        }
    );
    // An update that changes the key would store a value under the wrong id: refused.
    assert!(db.update(&rb.id(), |r| r.key = a).is_err());
    // An ENR over the EIP-778 limit is refused.
    let mut big = ra.clone();
    big.enr = Some(vec![0x80; 301]);
    assert!(db.put(&big).is_err());
    assert_eq!(db.get(&ra.id()).unwrap(), Some(ra.clone()));

    db.remove(&ra.id()).unwrap();
    assert_eq!(db.get(&ra.id()).unwrap(), None);
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn seed_returns_recent_nodes_newest_first_within_limit() {
    let dir = temp_dir("seed");
    let db = NodeDb::open(&dir).unwrap();
    let ks = keys(2, 12);
    // Ages 0..=11 half-days: 0, 12 h, ..., 5.5 days; ages up to 5 days (10 half-days) qualify.
    let records: Vec<NodeRecord> = ks
        .iter()
        .enumerate()
        .map(|(i, k)| record(*k, NOW - i as u64 * DAY / 2))
        .collect();
    for r in &records {
        db.put(r).unwrap();
    }
    // Exactly 5 days old still counts; a pong from the future (clock skew) counts as fresh.
    let future = record(keys(3, 1)[0], NOW + 60);
    db.put(&future).unwrap();

    let all = db.seed_nodes(NOW, SEED_AGE_MAX, 100).unwrap();
    let mut want: Vec<&NodeRecord> = std::iter::once(&future).chain(&records[..=10]).collect();
    assert_eq!(all.len(), want.len());
    for (i, (got, want)) in all.iter().zip(&want).enumerate() {
        assert_eq!(got.id(), want.id(), "position {i}");
    }

    let few = db.seed_nodes(NOW, SEED_AGE_MAX, 3).unwrap();
    want.truncate(3);
    assert_eq!(
        few.iter().map(NodeRecord::id).collect::<Vec<_>>(),
        want.iter().map(|r| r.id()).collect::<Vec<_>>()
    );
    assert!(db.seed_nodes(NOW, SEED_AGE_MAX, 0).unwrap().is_empty());

    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn seed_orders_equal_ages_by_node_id() {
    let dir = temp_dir("seed-ties");
    let db = NodeDb::open(&dir).unwrap();
    let tied: Vec<NodeRecord> = keys(4, 40)
        .into_iter()
        .map(|k| record(k, NOW - DAY))
        .collect();
    for r in &tied {
        db.put(r).unwrap();
    }
    let mut ids: Vec<NodeId> = tied.iter().map(NodeRecord::id).collect();
    ids.sort();
    // A limit below the count exercises the bounded selection too.
    for limit in [1, 7, 19, 40, 100] {
        let got = db.seed_nodes(NOW, SEED_AGE_MAX, limit).unwrap();
        let want = &ids[..limit.min(ids.len())];
        assert_eq!(
            got.iter().map(NodeRecord::id).collect::<Vec<_>>(),
            want,
            "limit {limit}"
        );
    }
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn expiry_removes_nodes_unseen_for_a_day() {
    let dir = temp_dir("expire");
    let db = NodeDb::open(&dir).unwrap();
    let ks = keys(5, 4);
    let fresh = record(ks[0], NOW - 60);
    let edge = record(ks[1], NOW - EXPIRE_UNSEEN);
    let stale = record(ks[2], NOW - EXPIRE_UNSEEN - 1);
    let never = record(ks[3], 0);
    for r in [&fresh, &edge, &stale, &never] {
        db.put(r).unwrap();
    }
    assert_eq!(db.expire(NOW, EXPIRE_UNSEEN).unwrap(), 2);
    assert!(db.get(&fresh.id()).unwrap().is_some());
    assert!(db.get(&edge.id()).unwrap().is_some());
    assert_eq!(db.get(&stale.id()).unwrap(), None);
    assert_eq!(db.get(&never.id()).unwrap(), None);
    // Running it again finds nothing more.
    assert_eq!(db.expire(NOW, EXPIRE_UNSEEN).unwrap(), 0);
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn records_survive_close_and_reopen() {
    let dir = temp_dir("restart");
    let records: Vec<NodeRecord> = keys(6, 50).into_iter().map(|k| record(k, NOW)).collect();
    let db = NodeDb::open(&dir).unwrap();
    for r in &records {
        db.put(r).unwrap();
    }
    db.close().unwrap();
    let db = NodeDb::open(&dir).unwrap();
    for r in &records {
        assert_eq!(db.get(&r.id()).unwrap().as_ref(), Some(r), "{}", r.id());
    }
    assert_eq!(
        db.check().unwrap(),
        DbCheck {
            records: 50,
            corrupt: 0
        }
    );
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn handle_serves_another_thread_and_joins_on_close() {
    let dir = temp_dir("handle");
    let handle = Arc::new(NodeDbHandle::open(&dir, quiet_config()).unwrap());
    let ks = keys(7, 20);
    let writer = {
        let handle = Arc::clone(&handle);
        let ks = ks.clone();
        std::thread::spawn(move || {
            for k in &ks {
                assert!(handle.put(record(*k, NOW - DAY)));
                assert!(handle.set_last_pong_received(k.node_id(), NOW));
                assert!(handle.set_last_ping_received(k.node_id(), NOW - 1));
                assert!(handle.set_findnode_failures(k.node_id(), 1));
            }
            // A read waits for the writes queued before it.
            block_on(handle.get(ks[0].node_id())).unwrap()
        })
    };
    let first = writer
        .join()
        .unwrap()
        .expect("record written by the other thread");
    assert_eq!(
        (
            first.last_pong_received,
            first.last_ping_received,
            first.findnode_failures
        ),
        (NOW, NOW - 1, 1)
    );
    // Updates of a node with no record are ignored.
    assert!(handle.set_last_pong_received(NodeId([1; 32]), NOW));
    assert_eq!(block_on(handle.get(NodeId([1; 32]))).unwrap(), None);
    assert!(handle.remove(ks[1].node_id()));
    let seed = block_on(handle.seed_nodes(NOW, SEED_AGE_MAX, 100)).unwrap();
    assert_eq!(seed.len(), 19);
    assert!(seed.iter().all(|r| r.id() != ks[1].node_id()));
    block_on(handle.sync()).unwrap();
    assert_eq!(handle.dropped_writes(), 0);

    let handle = Arc::into_inner(handle).expect("the writer thread dropped its clone");
    handle.close().unwrap();
    // The thread has closed the store: it opens again at once and holds everything.
    let db = NodeDb::open(&dir).unwrap();
    assert_eq!(
        db.check().unwrap(),
        DbCheck {
            records: 19,
            corrupt: 0
        }
    );
    db.close().unwrap();

    // Dropping a handle closes and joins as well.
    let handle = NodeDbHandle::open(&dir, quiet_config()).unwrap();
    assert!(handle.remove(ks[0].node_id()));
    drop(handle);
    let db = NodeDb::open(&dir).unwrap();
    assert_eq!(db.check().unwrap().records, 18);
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn open_failure_is_reported_not_hidden() {
    let dir = temp_dir("notadir");
    let file = dir.join("file");
    std::fs::write(&file, b"not a directory").unwrap();
    // `<file>/nodes` cannot be created: the error comes back from the storage thread.
    let err = NodeDbHandle::open(&file, quiet_config()).unwrap_err();
    assert!(matches!(err, NodeDbError::Io(..)), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A clock that blocks its first caller until the test opens the gate, and tells the test when
/// that caller arrived: it holds the storage thread still so the queue fills deterministically.
fn gated_clock() -> (
    Box<dyn FnMut() -> u64 + Send>,
    mpsc::Receiver<()>,
    mpsc::Sender<()>,
) {
    let (arrived_tx, arrived_rx) = mpsc::channel();
    let (open_tx, open_rx) = mpsc::channel::<()>();
    let gate = Mutex::new(Some((arrived_tx, open_rx)));
    let clock = Box::new(move || {
        if let Some((arrived, open)) = gate.lock().unwrap().take() {
            arrived.send(()).unwrap();
            let _ = open.recv();
        }
        NOW
    });
    (clock, arrived_rx, open_tx)
}

#[test]
fn full_queue_drops_writes_and_counts_them() {
    let dir = temp_dir("dropped");
    let (clock, arrived, open) = gated_clock();
    let config = HandleConfig {
        queue_len: 4,
        expire_interval: Duration::from_millis(20),
        clock,
        ..HandleConfig::default()
    };
    let handle = NodeDbHandle::open(&dir, config).unwrap();
    arrived.recv_timeout(Duration::from_secs(10)).unwrap();
    let ks = keys(8, 10);
    let accepted: Vec<bool> = ks.iter().map(|k| handle.put(record(*k, NOW))).collect();
    assert_eq!(accepted, [vec![true; 4], vec![false; 6]].concat());
    assert_eq!(handle.dropped_writes(), 6);
    open.send(()).unwrap();
    block_on(handle.sync()).unwrap();
    for (k, ok) in ks.iter().zip(&accepted) {
        assert_eq!(block_on(handle.get(k.node_id())).unwrap().is_some(), *ok);
    }
    handle.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn handle_expires_unseen_nodes_on_its_own() {
    let dir = temp_dir("autoexpire");
    let config = HandleConfig {
        expire_interval: Duration::from_millis(50),
        ..quiet_config()
    };
    let handle = NodeDbHandle::open(&dir, config).unwrap();
    let [fresh, stale] = keys(9, 2).try_into().unwrap();
    assert!(handle.put(record(fresh, NOW - 60)));
    assert!(handle.put(record(stale, NOW - 2 * DAY)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while block_on(handle.get(stale.node_id())).unwrap().is_some() {
        assert!(Instant::now() < deadline, "stale node not expired in 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(block_on(handle.get(fresh.node_id())).unwrap().is_some());
    handle.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The marker record the crash writer stores (and syncs) before it reports ready.
fn marker() -> NodeRecord {
    record(keys(10, 1)[0], NOW)
}

/// Writes through a handle at `dir`: the marker, synced, then `rounds` batches of record
/// churn (puts with and without ENRs, field updates, removals). With `rounds == None` it prints
/// the ready line after the marker and never stops: that is the child of the kill -9 test.
fn write_churn(dir: &Path, rounds: Option<usize>) -> Vec<PublicKey> {
    let config = HandleConfig {
        // Frequent fsyncs, so kills also land during them.
        sync_interval: Duration::from_millis(20),
        ..quiet_config()
    };
    let handle = NodeDbHandle::open(dir, config).unwrap();
    assert!(handle.put(marker()));
    block_on(handle.sync()).unwrap();
    if rounds.is_none() {
        println!("{READY_LINE}");
    }
    let pool = keys(11, 64);
    let mut rng = TestRng::new(std::process::id().into());
    let mut round = 0;
    while rounds.is_none_or(|n| round < n) {
        for k in &pool {
            let mut r = record(*k, NOW - rng.below(DAY));
            if rng.below(2) == 0 {
                // An RLP string of up to 200 bytes stands in for an ENR.
                let len = 56 + rng.below(145) as usize;
                let mut enr = vec![0xb8, len as u8];
                enr.resize(2 + len, 0x5a);
                r.enr = Some(enr);
            }
            let id = k.node_id();
            let sent = match rng.below(8) {
                0 => handle.remove(id),
                1 => handle.set_findnode_failures(id, rng.below(10) as u32),
                2 => handle.set_last_ping_received(id, NOW),
                _ => handle.put(r),
            };
            if !sent {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        round += 1;
    }
    handle.close().unwrap();
    pool
}

/// The child's entry point under the kill -9 test; run directly, a bounded churn that must read
/// back whole after a clean close.
#[test]
fn crash_writer() {
    if let Some(dir) = std::env::var_os(CRASH_DIR_ENV) {
        write_churn(Path::new(&dir), None);
        unreachable!("the crash writer runs until it is killed");
    }
    let dir = temp_dir("churn");
    let pool = write_churn(&dir, Some(50));
    let db = NodeDb::open(&dir).unwrap();
    let check = db.check().unwrap();
    assert_eq!(check.corrupt, 0);
    assert!(
        check.records >= 1 && check.records <= pool.len() + 1,
        "{check:?}"
    );
    assert_eq!(db.get(&marker().id()).unwrap(), Some(marker()));
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_9_at_random_moments_leaves_a_store_that_opens() {
    let dir = temp_dir("kill9");
    let mut rng = TestRng::new(0x6b69_6c6c);
    for round in 0..5 {
        let delay = 20 + rng.below(600);
        common::crash::kill_writer_after(
            "crash_writer",
            CRASH_DIR_ENV,
            &dir,
            READY_LINE,
            Duration::from_millis(delay),
        );

        let db = NodeDb::open(&dir)
            .unwrap_or_else(|e| panic!("round {round} (killed after {delay} ms): {e}"));
        let check = db.check().unwrap();
        assert_eq!(check.corrupt, 0, "round {round} (killed after {delay} ms)");
        assert!(check.records >= 1, "round {round}: {check:?}");
        // Synced before the ready line, so no crash can lose it.
        assert_eq!(
            db.get(&marker().id()).unwrap(),
            Some(marker()),
            "round {round}"
        );
        db.close().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Discovery v5 shares the store: a node that answered over v5 keeps its ENR and v5 time beside
/// its v4 history, seeds v5 (never v4) within the age limit, and is not expired while v5 sees it.
#[test]
fn v5_nodes_share_the_store_seed_v5_and_outlive_v4_expiry() {
    let dir = temp_dir("v5");
    let db = NodeDb::open(&dir).unwrap();
    let [a, b, c] = keys(7, 3).try_into().unwrap();
    // `a`: known to v4 long ago, then seen over v5 now; `b`: v5 only, too old to seed;
    // `c`: v5 time but no ENR (cannot seed v5).
    let mut ra = record(a, NOW - 3 * DAY);
    ra.findnode_failures = 1;
    db.put(&ra).unwrap();
    let handle = NodeDbHandle::spawn(db, quiet_config()).unwrap();
    let mut seen = record(a, 0);
    seen.udp = 9000;
    seen.enr = Some(vec![0xc2, 0x01, 0x02]);
    seen.last_seen_v5 = NOW;
    assert!(handle.seen_v5(seen));
    let mut rb = record(b, 0);
    rb.enr = Some(vec![0xc1, 0x05]);
    rb.last_seen_v5 = NOW - SEED_AGE_MAX - 1;
    assert!(handle.seen_v5(rb));
    let mut rc = record(c, 0);
    rc.last_seen_v5 = NOW;
    assert!(handle.put(rc));
    let got = block_on(handle.get(a.node_id())).unwrap().unwrap();
    assert_eq!(
        (got.udp, got.enr.as_deref(), got.last_seen_v5),
        (9000, Some(&[0xc2, 0x01, 0x02][..]), NOW)
    );
    // The v4 history stays.
    assert_eq!(
        (got.last_pong_received, got.findnode_failures),
        (NOW - 3 * DAY, 1)
    );
    let v5 = block_on(handle.seed_nodes_v5(NOW, SEED_AGE_MAX, 10)).unwrap();
    assert_eq!(
        v5.iter().map(NodeRecord::id).collect::<Vec<_>>(),
        [a.node_id()]
    );
    // v4 seeds by its own Pong only: `a` (3 days) yes, the v5-only nodes no.
    let v4 = block_on(handle.seed_nodes(NOW, SEED_AGE_MAX, 10)).unwrap();
    assert_eq!(
        v4.iter().map(NodeRecord::id).collect::<Vec<_>>(),
        [a.node_id()]
    );
    handle.close().unwrap();
    // Expiry counts a v5 answer as seen: `a` and `c` stay although v4 never (or long ago) saw them.
    let db = NodeDb::open(&dir).unwrap();
    assert_eq!(db.expire(NOW, EXPIRE_UNSEEN).unwrap(), 1);
    assert!(db.get(&a.node_id()).unwrap().is_some());
    assert!(db.get(&b.node_id()).unwrap().is_none());
    assert!(db.get(&c.node_id()).unwrap().is_some());
}
