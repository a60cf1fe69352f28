//! The chain store and the import/export verbs on the test chain (fixtures/chain): blocks
//! round-trip through the store and its storage thread, `ethpeer import` of the 600 blocks and
//! their receipts reaches the fixture head, `ethpeer export` gives back chain.rlp byte for byte,
//! a block or receipt changed by one byte is refused naming the header field, a schema version
//! mismatch is an error, and writers killed with SIGKILL at random moments always leave a store
//! whose head is complete and linked down to the genesis.

mod common;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{TestRng, fixture_json, fixture_path, h32};
use ethpeer::chain::block::StoredBlock;
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::header::{Header, U256};
use ethpeer::chain::import::{BLOCK_SIZE_MAX, RECEIPTS_SIZE_MAX, RlpReader};
use ethpeer::chain::store::{ChainStore, StoreError};
use ethpeer::chain::store_handle::ChainStoreHandle;
use ethpeer::chain::verify::{ImportError, verify_block};
use ethpeer::eth::Receipt;
use futures_lite::future::block_on;
use rlp::{Rlp, RlpStream};

/// Set in the child process the kill -9 test starts: the directory it writes to.
const CRASH_DIR_ENV: &str = "ETHPEER_CHAINSTORE_CRASH_DIR";
/// What the child prints once its genesis is on disk.
const READY_LINE: &str = "CHAINSTORE-WRITER-READY";

fn temp_dir(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ethpeer-chainstore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn genesis_header() -> Header {
    let text = std::fs::read_to_string(fixture_path("chain/genesis.json")).unwrap();
    Genesis::from_json(&text).unwrap().header()
}

/// The first `n` raw items of a fixture file of concatenated RLP.
fn raw_items(rel: &str, limit: usize, n: usize) -> Vec<Vec<u8>> {
    let file = BufReader::new(File::open(fixture_path(rel)).unwrap());
    let mut r = RlpReader::new(file, limit);
    let mut out = Vec::new();
    while out.len() < n {
        match r.next_item().unwrap() {
            Some(item) => out.push(item),
            None => break,
        }
    }
    out
}

fn blocks(n: usize) -> Vec<Vec<u8>> {
    raw_items("chain/chain.rlp", BLOCK_SIZE_MAX, n)
}

fn receipts(n: usize) -> Vec<Vec<u8>> {
    raw_items("chain/receipts.rlp", RECEIPTS_SIZE_MAX, n)
}

fn index_hash(number: u64) -> [u8; 32] {
    let index = fixture_json("chain/chain_index.json");
    let row = &index["blocks"][number as usize - 1];
    assert_eq!(row["number"], number);
    h32(row["hash"].as_str().unwrap())
}

fn ethpeer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .args(args)
        .output()
        .unwrap()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Walks the canonical chain from the head down to the genesis, checking that every entry is
/// there and links up; returns the head number.
fn check_consistent(store: &ChainStore, context: &str) -> u64 {
    let head = store
        .head()
        .unwrap()
        .unwrap_or_else(|| panic!("{context}: no head"));
    assert_eq!(
        store.canonical_hash(head.number + 1).unwrap(),
        None,
        "{context}: a canonical entry above the head"
    );
    let mut expected = head.hash;
    for n in (0..=head.number).rev() {
        let hash = store
            .canonical_hash(n)
            .unwrap()
            .unwrap_or_else(|| panic!("{context}: block {n} not canonical"));
        assert_eq!(hash, expected, "{context}: block {n} does not link");
        let header = store
            .header_by_hash(&hash)
            .unwrap()
            .unwrap_or_else(|| panic!("{context}: header {n} missing"));
        assert_eq!(header.number, n, "{context}");
        assert_eq!(header.hash(), hash, "{context}: header {n} hash");
        assert!(
            store.body_rlp(&hash).unwrap().is_some(),
            "{context}: body {n}"
        );
        assert!(store.td(&hash).unwrap().is_some(), "{context}: td {n}");
        expected = header.parent_hash;
    }
    head.number
}

#[test]
fn store_round_trips_blocks_and_refuses_blocks_off_the_head() {
    let dir = temp_dir("roundtrip");
    let genesis = genesis_header();
    let index = fixture_json("chain/chain_index.json");
    let raw = blocks(12);
    let rec = receipts(12);
    let verified: Vec<StoredBlock> = raw
        .iter()
        .zip(&rec)
        .enumerate()
        .map(|(i, (b, r))| verify_block(b, Some(r), i as u64).unwrap())
        .collect();
    {
        let store = ChainStore::open_path(&dir).unwrap();
        assert!(store.head().unwrap().is_none());
        let head = store.init_genesis(&genesis).unwrap();
        assert_eq!(head.hash, h32(index["genesis"]["hash"].as_str().unwrap()));
        assert_eq!(head.number, 0);
        // The second call on the same store checks instead of writing.
        assert_eq!(store.init_genesis(&genesis).unwrap(), head);
        let mut other = genesis.clone();
        other.extra_data = b"another chain".to_vec();
        assert!(matches!(
            store.init_genesis(&other),
            Err(StoreError::GenesisMismatch { .. })
        ));

        // Block 2 does not sit on the genesis.
        assert!(matches!(
            store.insert_blocks(&verified[1..2]),
            Err(StoreError::NotOnHead { number: 2, .. })
        ));
        let head = store.insert_blocks(&verified[..5]).unwrap();
        assert_eq!(head.number, 5);
        let head = store.insert_blocks(&verified[5..]).unwrap();
        assert_eq!((head.number, head.hash), (12, index_hash(12)));
        // Proof of stake from genesis: the total difficulty stays the genesis difficulty.
        assert_eq!(head.td, genesis.difficulty);
        store.close().unwrap();
    }
    let store = ChainStore::open_path(&dir).unwrap();
    assert_eq!(check_consistent(&store, "reopened"), 12);
    for (i, (block, r)) in raw.iter().zip(&rec).enumerate() {
        let number = i as u64 + 1;
        let hash = index_hash(number);
        assert_eq!(store.canonical_hash(number).unwrap(), Some(hash));
        assert_eq!(
            store.block_rlp_by_number(number).unwrap().as_ref(),
            Some(block),
            "block {number}"
        );
        assert_eq!(
            store.receipts_rlp(&hash).unwrap().as_ref(),
            Some(r),
            "receipts {number}"
        );
    }
    assert_eq!(store.td(&[0; 32]).unwrap(), None);
    assert_eq!(store.header_rlp(&[0; 32]).unwrap(), None);

    // The same reads through the storage thread.
    let handle = ChainStoreHandle::spawn(store).unwrap();
    block_on(async {
        let head = handle.head().await.unwrap().unwrap();
        assert_eq!(head.number, 12);
        let headers = handle.headers(3, 4, 1, false).await.unwrap();
        let numbers: Vec<u64> = headers
            .iter()
            .map(|h| Header::decode(h).unwrap().number)
            .collect();
        assert_eq!(numbers, [3, 5, 7, 9]);
        let down = handle.headers(12, 100, 0, true).await.unwrap();
        assert_eq!(down.len(), 13, "12 down to the genesis");
        let hashes = vec![index_hash(2), index_hash(3), [7; 32], index_hash(4)];
        let bodies = handle.bodies(hashes.clone()).await.unwrap();
        assert_eq!(bodies.len(), 2, "stops at the unknown hash");
        let expected_body = Rlp::new(&raw[1]).at(1).unwrap().item_count().unwrap();
        assert_eq!(
            Rlp::new(&bodies[0]).at(0).unwrap().item_count().unwrap(),
            expected_body
        );
        let receipts = handle.receipts(vec![index_hash(11)]).await.unwrap();
        assert_eq!(receipts, [rec[10].clone()]);
        assert_eq!(
            handle.header_by_number(7).await.unwrap(),
            handle.header_by_hash(index_hash(7)).await.unwrap()
        );
        assert_eq!(
            handle.td(head.hash).await.unwrap(),
            Some(genesis.difficulty)
        );
    });
    handle.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_mismatch_is_an_error_not_a_wipe() {
    let datadir = temp_dir("version");
    let dir = datadir.join(ethpeer::storage::DB_DIR);
    let store = ChainStore::open_path(&dir).unwrap();
    store.init_genesis(&genesis_header()).unwrap();
    store.set_version_for_test(99).unwrap();
    store.close().unwrap();
    match ChainStore::open_path(&dir) {
        Err(e @ StoreError::Version { .. }) => {
            assert!(e.to_string().contains("99"), "{e}");
        }
        other => panic!("expected a version error, got {other:?}"),
    }
    // The command line says so too, and nothing was wiped: the version is still the bad one.
    let out = ethpeer(&[
        "export",
        path_str(&datadir.join("out.rlp")),
        "--datadir",
        path_str(&datadir),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("schema version 99"), "{stderr}");
    assert!(matches!(
        ChainStore::open_path(&dir),
        Err(StoreError::Version { .. })
    ));
    let _ = std::fs::remove_dir_all(&datadir);
}

#[test]
fn import_reaches_the_fixture_head_and_export_gives_back_the_file() {
    let datadir = temp_dir("import");
    let chain = fixture_path("chain/chain.rlp");
    let receipts = fixture_path("chain/receipts.rlp");
    let genesis = fixture_path("chain/genesis.json");
    let dd = path_str(&datadir);

    // A fresh store needs a genesis.
    let out = ethpeer(&["import", path_str(&chain), "--datadir", dd]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--genesis"));

    let out = ethpeer(&[
        "import",
        path_str(&chain),
        "--receipts",
        path_str(&receipts),
        "--datadir",
        dd,
        "--genesis",
        path_str(&genesis),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Imported new chain segment"), "{stderr}");
    let index = fixture_json("chain/chain_index.json");
    let head_hash = index["head"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("number=600 hash={head_hash}")),
        "{stderr}"
    );

    // Reopened, the head is block 600 and the chain below it is whole.
    {
        let store = ChainStore::open(&datadir).unwrap();
        let head = store.head().unwrap().unwrap();
        assert_eq!(head.number, index["head_number"]);
        assert_eq!(head.hash, h32(head_hash));
        assert_eq!(check_consistent(&store, "after import"), 600);
        for (i, r) in receipts_all().iter().enumerate() {
            let hash = store.canonical_hash(i as u64 + 1).unwrap().unwrap();
            assert_eq!(
                store.receipts_rlp(&hash).unwrap().as_ref(),
                Some(r),
                "block {}",
                i + 1
            );
        }
        store.close().unwrap();
    }

    let exported = datadir.join("export.rlp");
    let out = ethpeer(&["export", path_str(&exported), "1", "600", "--datadir", dd]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(&exported).unwrap() == std::fs::read(&chain).unwrap(),
        "export differs from chain.rlp"
    );

    // A full export starts at the genesis; importing it again skips every known block.
    let out = ethpeer(&["export", path_str(&exported), "--datadir", dd]);
    assert!(out.status.success());
    let out = ethpeer(&["import", path_str(&exported), "--datadir", dd]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("blocks=0 skipped=601"), "{stderr}");
    let bad_range = ethpeer(&["export", path_str(&exported), "5", "601", "--datadir", dd]);
    assert!(!bad_range.status.success());
    let _ = std::fs::remove_dir_all(&datadir);
}

/// `import --state`: a dump is stored only when, once the blocks are in, its root is the head's
/// state root; a dump that does not hash to its own root is refused before any block is read.
#[test]
fn import_stores_a_state_snapshot_only_for_the_heads_root() {
    let datadir = temp_dir("state");
    let dd = path_str(&datadir);
    let genesis = fixture_path("chain/genesis.json");
    let state = fixture_path("chain/headstate.json");
    let ten = datadir.join("ten.rlp");
    std::fs::write(&ten, blocks(10).concat()).unwrap();
    let one_line = |out: &Output| {
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let last = err.trim().lines().last().unwrap_or_default().to_string();
        (out.status.code(), last)
    };
    let stored = || {
        let store = ChainStore::open(&datadir).unwrap();
        let r = (
            store.head().unwrap().unwrap().number,
            store.state().unwrap(),
        );
        store.close().unwrap();
        r
    };
    // Ten blocks: the dump is block 600's, so it is refused and nothing is stored; the blocks
    // stay.
    let out = ethpeer(&[
        "import",
        path_str(&ten),
        "--genesis",
        path_str(&genesis),
        "--datadir",
        dd,
        "--state",
        path_str(&state),
    ]);
    let (code, last) = one_line(&out);
    assert_eq!(code, Some(1), "{last}");
    assert!(
        last.starts_with("ethpeer: ") && last.contains("is not the head's (block 10 has 0x"),
        "{last}"
    );
    assert_eq!(stored(), (10, None));
    // A dump whose accounts do not hash to its root: refused before the blocks are read.
    let tampered = datadir.join("tampered.json");
    let text = std::fs::read_to_string(&state).unwrap();
    let text = text.replacen(
        "\"balance\": \"121816101\"",
        "\"balance\": \"121816102\"",
        1,
    );
    std::fs::write(&tampered, text).unwrap();
    let chain = fixture_path("chain/chain.rlp");
    let out = ethpeer(&[
        "import",
        path_str(&chain),
        "--datadir",
        dd,
        "--state",
        path_str(&tampered),
    ]);
    let (code, last) = one_line(&out);
    assert_eq!(code, Some(1), "{last}");
    assert!(last.contains("hash to root 0x"), "{last}");
    assert_eq!(stored(), (10, None));
    // The whole chain and its head's dump: stored with the head's number and hash.
    let out = ethpeer(&[
        "import",
        path_str(&chain),
        "--datadir",
        dd,
        "--state",
        path_str(&state),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Stored state snapshot") && err.contains("accounts=194"),
        "{err}"
    );
    let (head, snapshot) = stored();
    let snapshot = snapshot.expect("a stored snapshot");
    assert_eq!((head, snapshot.number), (600, 600));
    assert_eq!(snapshot.block_hash, index_hash(600));
    assert_eq!(snapshot.accounts.len(), 194);
    let _ = std::fs::remove_dir_all(&datadir);
}

fn receipts_all() -> Vec<Vec<u8>> {
    receipts(usize::MAX)
}

/// Rebuilds a block list from its parts, with `change` applied to part `i`.
fn rebuild(raw: &[u8], i: usize, change: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let block = Rlp::new(raw);
    let n = block.item_count().unwrap();
    let mut s = RlpStream::new_list(n);
    let mut change = Some(change);
    for k in 0..n {
        let part = block.at(k).unwrap().as_raw();
        if k == i {
            s.append_raw(&(change.take().unwrap())(part), 1);
        } else {
            s.append_raw(part, 1);
        }
    }
    s.out().to_vec()
}

/// A list with item `i` changed.
fn change_item(list: &[u8], i: usize, change: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    rebuild(list, i, change)
}

/// Flips the last byte of an item's payload (for a transaction, inside its signature's `s`).
fn flip_last(item: &[u8]) -> Vec<u8> {
    let mut v = item.to_vec();
    *v.last_mut().unwrap() ^= 0x01;
    v
}

fn expect_mismatch(result: Result<StoredBlock, ImportError>, field: &str, what: &str) {
    match result {
        Err(ImportError::Mismatch { field: f, .. }) => assert_eq!(f, field, "{what}"),
        other => panic!("{what}: expected a {field} mismatch, got {other:?}"),
    }
}

#[test]
fn a_changed_byte_is_refused_naming_the_field() {
    let raw = blocks(20);
    let rec = receipts(20);
    let mut checked = 0;
    for (i, (block, r)) in raw.iter().zip(&rec).enumerate() {
        let number = i + 1;
        verify_block(block, Some(r), i as u64).unwrap_or_else(|e| panic!("block {number}: {e}"));
        let b = Rlp::new(block);
        let txs = b.at(1).unwrap();
        if txs.item_count().unwrap() > 0 {
            // A flipped byte in the first transaction (legacy list or typed byte string).
            let bad = rebuild(block, 1, |t| change_item(t, 0, flip_last));
            expect_mismatch(
                verify_block(&bad, None, 0),
                "transactionsRoot",
                &format!("block {number} tx"),
            );
            // One more gas in the first receipt, consistently re-encoded.
            let bad_receipts = change_item(r, 0, |item| {
                let mut receipt = Receipt::from_consensus(item).unwrap();
                receipt.cumulative_gas += 1;
                receipt.to_consensus()
            });
            expect_mismatch(
                verify_block(block, Some(&bad_receipts), 0),
                "receiptsRoot",
                &format!("block {number} receipt"),
            );
            checked += 1;
        }
        if b.at(3).unwrap().item_count().unwrap() > 0 {
            let bad = rebuild(block, 3, |w| change_item(w, 0, flip_last));
            expect_mismatch(
                verify_block(&bad, None, 0),
                "withdrawalsRoot",
                &format!("block {number} withdrawal"),
            );
        }
        // An ommer where the header promises none.
        let bad = rebuild(block, 2, |_| rlp::encode_list::<u64, u64>(&[1]).to_vec());
        expect_mismatch(verify_block(&bad, None, 0), "ommersHash", "ommers");
    }
    assert!(checked > 10, "only {checked} blocks had transactions");

    // Through the command line: blocks 1..=4 with block 4's first transaction changed.
    let datadir = temp_dir("corrupt");
    let mut file = Vec::new();
    for block in &raw[..3] {
        file.extend_from_slice(block);
    }
    file.extend_from_slice(&rebuild(&raw[3], 1, |t| change_item(t, 0, flip_last)));
    let path = datadir.join("bad.rlp");
    std::fs::write(&path, &file).unwrap();
    let out = ethpeer(&[
        "import",
        path_str(&path),
        "--datadir",
        path_str(&datadir),
        "--genesis",
        path_str(&fixture_path("chain/genesis.json")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("block 4"), "{stderr}");
    assert!(stderr.contains("transactionsRoot"), "{stderr}");
    // The good blocks before it were kept.
    let store = ChainStore::open(&datadir).unwrap();
    assert_eq!(check_consistent(&store, "after the refused block"), 3);
    drop(store);

    // A gap (block 6 after block 3) is refused as a link error.
    std::fs::write(&path, &raw[5]).unwrap();
    let out = ethpeer(&["import", path_str(&path), "--datadir", path_str(&datadir)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("block 6") && stderr.contains("parentHash"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&datadir);
}

/// A synthetic block on `parent`: difficulty 2, a body of `tx_count` random byte-string
/// transactions (not verified by the store), and a receipts list.
fn synthetic(parent: &Header, rng: &mut TestRng) -> StoredBlock {
    let mut header = parent.clone();
    header.parent_hash = parent.hash();
    header.number = parent.number + 1;
    header.difficulty = U256::from_u64(2);
    header.timestamp = parent.timestamp + 12;
    let tx_count = rng.below(8) as usize;
    let mut body = RlpStream::new_list(2);
    body.begin_list(tx_count);
    for _ in 0..tx_count {
        let mut tx = vec![0u8; 1 + rng.below(20_000) as usize];
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
        receipts_rlp: Some(rlp::encode_list::<u64, u64>(&[1, 2, 3]).to_vec()),
    }
}

/// Appends synthetic blocks in batches of 1 to 16 on the store head: `rounds` batches, or
/// forever after printing the ready line (the child of the kill -9 test).
fn write_blocks(dir: &Path, rounds: Option<usize>) -> u64 {
    let store = ChainStore::open_path(dir).unwrap();
    let mut genesis = genesis_header();
    genesis.difficulty = U256::from_u64(1);
    store.init_genesis(&genesis).unwrap();
    if rounds.is_none() {
        println!("{READY_LINE}");
    }
    let head = store.head().unwrap().unwrap();
    let mut tip = store.header_by_hash(&head.hash).unwrap().unwrap();
    let mut rng = TestRng::new(std::process::id().into());
    let mut round = 0;
    while rounds.is_none_or(|n| round < n) {
        let batch: Vec<StoredBlock> = (0..1 + rng.below(16))
            .map(|_| {
                let b = synthetic(&tip, &mut rng);
                tip = b.header.clone();
                b
            })
            .collect();
        store.insert_blocks(&batch).unwrap();
        if rng.below(8) == 0 {
            // Fsyncs too, so kills also land during them.
            store.sync().unwrap();
        }
        round += 1;
    }
    let head = store.head().unwrap().unwrap();
    store.close().unwrap();
    head.number
}

/// The child's entry point under the kill -9 test; run directly, a bounded writer whose head
/// must read back whole after a clean close.
#[test]
fn crash_writer() {
    if let Some(dir) = std::env::var_os(CRASH_DIR_ENV) {
        write_blocks(Path::new(&dir), None);
        unreachable!("the crash writer runs until it is killed");
    }
    let dir = temp_dir("writer");
    let number = write_blocks(&dir, Some(40));
    let store = ChainStore::open_path(&dir).unwrap();
    assert_eq!(check_consistent(&store, "clean close"), number);
    let head = store.head().unwrap().unwrap();
    // Genesis difficulty 1, then 2 per block.
    assert_eq!(head.td, U256::from_u64(1 + 2 * number));
    store.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_9_at_random_moments_leaves_a_consistent_head() {
    let dir = temp_dir("kill9");
    let mut rng = TestRng::new(0x6b69_6c6c);
    let mut last_head = 0;
    for round in 0..6 {
        let delay = 10 + rng.below(500);
        common::crash::kill_writer_after(
            "crash_writer",
            CRASH_DIR_ENV,
            &dir,
            READY_LINE,
            Duration::from_millis(delay),
        );

        let context = format!("round {round} (killed after {delay} ms)");
        let store = ChainStore::open_path(&dir).unwrap_or_else(|e| panic!("{context}: {e}"));
        let head = check_consistent(&store, &context);
        // Every committed batch was handed to the OS before the next began, and a killed
        // process loses nothing the OS holds: the head never goes back.
        assert!(head >= last_head, "{context}: head {head} < {last_head}");
        let td = store.head().unwrap().unwrap().td;
        assert_eq!(td, U256::from_u64(1 + 2 * head), "{context}: td");
        last_head = head;
        store.close().unwrap();
    }
    assert!(last_head > 0, "no block was ever written");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where a round of the kill -9 import test kills the import.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after the spawn, before the first batch is written: verifying block 11's
    /// 10.6 MB of receipts takes over a second in a debug build.
    AfterSpawn(Duration),
    /// This long after the import's first "Imported new chain segment" line (blocks 1-11
    /// committed), while it verifies and writes the other 589 (about 100 ms in a debug build).
    AfterFirstSegment(Duration),
}

#[test]
fn killed_import_resumes_to_the_fixture_head() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let datadir = temp_dir("kill-import");
    let dd = path_str(&datadir);
    let chain = fixture_path("chain/chain.rlp");
    let genesis = fixture_path("chain/genesis.json");
    let args = [
        "import",
        path_str(&chain),
        "--datadir",
        dd,
        "--genesis",
        path_str(&genesis),
    ];
    let mut rng = TestRng::new(0x696d_706f_7274);
    let receipts = fixture_path("chain/receipts.rlp");
    let mut with_receipts = args.to_vec();
    with_receipts.extend(["--receipts", path_str(&receipts)]);
    let rounds = [
        KillAt::AfterSpawn(Duration::from_millis(20 + rng.below(500))),
        KillAt::AfterFirstSegment(Duration::from_millis(rng.below(10))),
    ];
    for (round, at) in rounds.into_iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
            .args(&with_receipts)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The import's progress lines, read on a thread so a silent import cannot hang the test.
        let (tx, segments) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("Imported new chain segment") && tx.send(line).is_err() {
                    break;
                }
            }
        });
        let context = format!("round {round} (killed at {at:?})");
        match at {
            KillAt::AfterSpawn(delay) => std::thread::sleep(delay),
            KillAt::AfterFirstSegment(delay) => {
                let line = segments
                    .recv_timeout(Duration::from_secs(60))
                    .unwrap_or_else(|e| panic!("{context}: no progress line ({e})"));
                assert!(
                    line.contains("number=11 "),
                    "{context}: first segment {line}"
                );
                std::thread::sleep(delay);
            }
        }
        // The kill must land while the import runs: one that had already exited by itself
        // would leave a finished import, and the round would test nothing.
        assert_eq!(
            child.try_wait().unwrap(),
            None,
            "{context}: the import finished before the kill"
        );
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "{context}: the import was not ended by the SIGKILL but {status}"
        );
        let store = ChainStore::open(&datadir)
            .unwrap_or_else(|e| panic!("{context}: the store does not open: {e}"));
        let head = match store.head().unwrap() {
            Some(_) => check_consistent(&store, &context),
            None => 0,
        };
        if let KillAt::AfterFirstSegment(_) = at {
            // The segment it reported was committed before the kill, and survives it.
            assert!(head >= 11, "{context}: head {head} after the first segment");
        }
        eprintln!("{context}: head {head} after the kill");
        store.close().unwrap();
    }
    let out = ethpeer(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = ChainStore::open(&datadir).unwrap();
    assert_eq!(check_consistent(&store, "resumed"), 600);
    assert_eq!(store.head().unwrap().unwrap().hash, index_hash(600));
    store.close().unwrap();
    let _ = std::fs::remove_dir_all(&datadir);
}
