//! The datadir's one database and one storage thread, shared by the chain store and the node
//! database: both handles on one datadir run on one thread over one `<datadir>/db`, and a writer
//! pushing blocks and node records through both handles at once, killed with SIGKILL at random
//! moments, always leaves a datadir whose chain is whole up to its head and whose node records
//! all read. A datadir in the old two-database layout is refused with an error naming it.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use common::{TestRng, fixture_path};
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::header::{Header, U256};
use ethpeer::chain::store::{ChainStore, StoredBlock};
use ethpeer::chain::store_handle::ChainStoreHandle;
use ethpeer::crypto::SecretKey;
use ethpeer::nodedb::{HandleConfig, NodeDb, NodeDbHandle, NodeRecord};
use ethpeer::storage::{Db, Worker};
use futures_lite::future::block_on;
use rlp::RlpStream;

/// Set in the child process the kill -9 test starts: the datadir it writes to.
const CRASH_DIR_ENV: &str = "ETHPEER_STORAGE_CRASH_DIR";
/// What the child prints once its genesis and marker record are on disk.
const READY_LINE: &str = "STORAGE-WRITER-READY";
/// A fixed "now" for node records: 2023-11-14.
const NOW: u64 = 1_700_000_000;

/// Tests that start storage threads run one at a time, so thread counts are this test's own.
static THREADS: Mutex<()> = Mutex::new(());

fn temp_dir(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ethpeer-storage-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn genesis() -> Header {
    let text = std::fs::read_to_string(fixture_path("chain/genesis.json")).unwrap();
    let mut header = Genesis::from_json(&text).unwrap().header();
    header.difficulty = U256::from_u64(1);
    header
}

/// A block on `parent` with difficulty 2 and a few random transactions (not verified).
fn block(parent: &Header, rng: &mut TestRng) -> StoredBlock {
    let mut header = parent.clone();
    header.parent_hash = parent.hash();
    header.number = parent.number + 1;
    header.difficulty = U256::from_u64(2);
    header.timestamp = parent.timestamp + 12;
    let tx_count = rng.below(4) as usize;
    let mut body = RlpStream::new_list(2);
    body.begin_list(tx_count);
    for _ in 0..tx_count {
        let mut tx = vec![0u8; 1 + rng.below(8_000) as usize];
        rng.fill(&mut tx);
        body.append(&tx.as_slice());
    }
    body.begin_list(0);
    let header_rlp = header.rlp();
    StoredBlock {
        hash: header.hash(),
        header,
        header_rlp,
        body_rlp: body.out().to_vec(),
        receipts_rlp: Some(rlp::encode_list::<u64, u64>(&[1, 2]).to_vec()),
    }
}

fn record(seed: u8, pong: u64) -> NodeRecord {
    let key = SecretKey::from_bytes(&[seed; 32]).unwrap().public_key();
    let mut r = NodeRecord::new(key, IpAddr::from([192, 0, 2, 1]), 30303, 30303);
    r.last_pong_received = pong;
    r
}

/// The record the writer stores and syncs before it reports ready.
fn marker() -> NodeRecord {
    record(200, NOW)
}

/// Threads of this process named "storage".
fn storage_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "storage")
        .count()
}

/// Walks the canonical chain down from the head, checking every entry; returns the head number.
fn check_chain(store: &ChainStore, context: &str) -> u64 {
    let head = store.head().unwrap().expect("a head");
    assert_eq!(
        store.canonical_hash(head.number + 1).unwrap(),
        None,
        "{context}"
    );
    let mut expected = head.hash;
    for n in (0..=head.number).rev() {
        let hash = store.canonical_hash(n).unwrap();
        assert_eq!(hash, Some(expected), "{context}: block {n}");
        let header = store.header_by_hash(&expected).unwrap().unwrap();
        assert!(store.body_rlp(&expected).unwrap().is_some(), "{context}");
        assert!(store.td(&expected).unwrap().is_some(), "{context}");
        expected = header.parent_hash;
    }
    assert_eq!(
        head.td,
        U256::from_u64(1 + 2 * head.number),
        "{context}: td"
    );
    head.number
}

/// Opens both stores on `datadir` and writes through both handles: the marker record (synced),
/// then `rounds` rounds of a block batch and node-record churn, or forever after printing the
/// ready line (the child of the kill -9 test). Returns the chain head.
fn write_both(datadir: &Path, rounds: Option<usize>) -> u64 {
    let db = Db::open(datadir).unwrap();
    let worker = Worker::spawn(&db).unwrap();
    let store = ChainStore::on(db.clone()).unwrap();
    let head = store.init_genesis(&genesis()).unwrap();
    let mut tip = store.header_by_hash(&head.hash).unwrap().unwrap();
    let chain = ChainStoreHandle::spawn_on(store, &worker).unwrap();
    let config = HandleConfig {
        // Frequent fsyncs, so kills also land during them.
        sync_interval: Duration::from_millis(20),
        clock: Box::new(|| NOW),
        ..HandleConfig::default()
    };
    let nodes = NodeDbHandle::spawn_on(NodeDb::on(db).unwrap(), config, &worker).unwrap();
    drop(worker);
    assert!(nodes.put(marker()));
    block_on(nodes.sync()).unwrap();
    if rounds.is_none() {
        println!("{READY_LINE}");
    }
    let mut rng = TestRng::new(std::process::id().into());
    let mut round = 0;
    while rounds.is_none_or(|n| round < n) {
        let batch: Vec<StoredBlock> = (0..1 + rng.below(8))
            .map(|_| {
                let b = block(&tip, &mut rng);
                tip = b.header.clone();
                b
            })
            .collect();
        let number = block_on(chain.insert_blocks(batch)).unwrap().number;
        assert_eq!(number, tip.number);
        for _ in 0..16 {
            let seed = 1 + rng.below(64) as u8;
            if rng.below(4) == 0 {
                nodes.remove(record(seed, 0).id());
            } else {
                nodes.put(record(seed, NOW - rng.below(3600)));
            }
        }
        if rng.below(8) == 0 {
            block_on(chain.sync()).unwrap();
        }
        round += 1;
    }
    chain.close().unwrap();
    nodes.close().unwrap();
    tip.number
}

#[test]
fn a_datadir_in_the_old_layout_is_refused_naming_it() {
    let dir = temp_dir("old-layout");
    std::fs::create_dir_all(dir.join(ethpeer::storage::OLD_CHAIN_DIR)).unwrap();
    let err = ChainStore::open(&dir).unwrap_err().to_string();
    assert!(err.contains("old layout"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(["export", "/dev/null", "--datadir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("old layout") && stderr.contains(&*dir.join("chain").to_string_lossy()),
        "{stderr}"
    );
    // Nothing was created or removed.
    assert!(dir.join(ethpeer::storage::OLD_CHAIN_DIR).is_dir());
    assert!(!dir.join(ethpeer::storage::DB_DIR).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn both_stores_share_one_database_and_one_thread() {
    let _serial = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_dir("shared");
    let before = storage_threads();
    // What `server::start` does: one database, one storage thread, both stores on them.
    let db = Db::open(&dir).unwrap();
    let worker = Worker::spawn(&db).unwrap();
    let store = ChainStore::on(db.clone()).unwrap();
    store.init_genesis(&genesis()).unwrap();
    let chain = ChainStoreHandle::spawn_on(store, &worker).unwrap();
    let nodes =
        NodeDbHandle::spawn_on(NodeDb::on(db).unwrap(), HandleConfig::default(), &worker).unwrap();
    drop(worker);
    assert_eq!(storage_threads(), before + 1, "one thread for both stores");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [ethpeer::storage::DB_DIR], "one database directory");

    let genesis = genesis();
    let b1 = block(&genesis, &mut TestRng::new(1));
    assert_eq!(
        block_on(chain.insert_blocks(vec![b1.clone()]))
            .unwrap()
            .number,
        1
    );
    assert!(nodes.put(record(1, NOW)));
    // The chain's handle goes first; the thread stays for the node database.
    chain.close().unwrap();
    assert_eq!(storage_threads(), before + 1);
    assert_eq!(
        block_on(nodes.get(record(1, NOW).id())).unwrap(),
        Some(record(1, NOW))
    );
    nodes.close().unwrap();
    assert_eq!(
        storage_threads(),
        before,
        "the last handle joins the thread"
    );

    // Both stores read back from the one database, open in this process once.
    let shared = Db::open(&dir).unwrap();
    let store = ChainStore::on(shared.clone()).unwrap();
    let db = NodeDb::on(shared).unwrap();
    assert_eq!(store.head().unwrap().unwrap().hash, b1.hash);
    assert_eq!(db.get(&record(1, NOW).id()).unwrap(), Some(record(1, NOW)));
    assert_eq!(store.path(), db.path());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A running node (eth and discovery both on, so both stores are open) has one storage thread:
/// `server::start` opens the datadir's database once and hands it and its thread to both.
#[test]
fn a_running_node_has_one_storage_thread_for_both_stores() {
    let dir = common::node_proc::temp_dir("storage-node");
    let mut node = common::node_proc::NodeProc::start(
        &dir,
        &[
            "--genesis",
            &common::fixture_node::genesis_arg(),
            "--syncmode",
            "none",
        ],
    );
    // The node database seeded the table (so it is open) before the node logged its enode.
    node.wait_log(&["Seeded the node table"], Duration::from_secs(10));
    let task = format!("/proc/{}/task", node.child.id());
    let names: Vec<String> = std::fs::read_dir(&task)
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    let storage = names.iter().filter(|n| *n == "storage").count();
    assert_eq!(storage, 1, "threads: {names:?}");
    assert!(
        names.iter().any(|n| n == "ethpeer"),
        "the node thread runs: {names:?}"
    );
    node.terminate();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The child's entry point under the kill -9 test; run directly, a bounded writer whose stores
/// must read back whole after a clean close.
#[test]
fn crash_writer() {
    if let Some(dir) = std::env::var_os(CRASH_DIR_ENV) {
        write_both(Path::new(&dir), None);
        unreachable!("the crash writer runs until it is killed");
    }
    let _serial = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_dir("writer");
    let number = write_both(&dir, Some(30));
    let shared = Db::open(&dir).unwrap();
    let store = ChainStore::on(shared.clone()).unwrap();
    assert_eq!(check_chain(&store, "clean close"), number);
    let db = NodeDb::on(shared).unwrap();
    assert_eq!(db.check().unwrap().corrupt, 0);
    assert_eq!(db.get(&marker().id()).unwrap(), Some(marker()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_9_with_both_stores_writing_leaves_a_datadir_that_opens() {
    let dir = temp_dir("kill9");
    let mut rng = TestRng::new(0x5707_a6e5);
    let mut last_head = 0;
    for round in 0..5 {
        let delay = 20 + rng.below(500);
        common::crash::kill_writer_after(
            "crash_writer",
            CRASH_DIR_ENV,
            &dir,
            READY_LINE,
            Duration::from_millis(delay),
        );
        let context = format!("round {round} (killed after {delay} ms)");
        let shared = Db::open(&dir).unwrap_or_else(|e| panic!("{context}: {e}"));
        let store = ChainStore::on(shared.clone()).unwrap_or_else(|e| panic!("{context}: {e}"));
        let head = check_chain(&store, &context);
        // Every batch was handed to the OS before its reply: the head never goes back.
        assert!(head >= last_head, "{context}: head {head} < {last_head}");
        last_head = head;
        let db = NodeDb::on(shared).unwrap_or_else(|e| panic!("{context}: {e}"));
        let check = db.check().unwrap();
        assert_eq!(check.corrupt, 0, "{context}");
        assert_eq!(db.get(&marker().id()).unwrap(), Some(marker()), "{context}");
        drop((store, db));
    }
    assert!(last_head > 0, "no block was ever written");
    let _ = std::fs::remove_dir_all(&dir);
}
