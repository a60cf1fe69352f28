//! The local-transaction journal on a real file system: round trips, torn tails at every byte,
//! atomic rotation, and a writer killed with SIGKILL at a random moment.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::TestRng;
use ethpeer::tx::journal::{JOURNAL_FILE, Journal, JournalError, LoadReport, encode_record};

/// Set in the child process of the kill test: the directory its appender writes to.
const CHILD_DIR_ENV: &str = "ETHPEER_TX_JOURNAL_CHILD_DIR";

/// Records the child appends at most, so a child whose parent vanished still stops.
const CHILD_RECORDS_MAX: u64 = 20_000;

fn temp_dir(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ethpeer-txjournal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// The `i`-th test transaction: lengths from 1 byte to a few hundred, covering the short and the
/// long RLP string headers; the leading byte alternates between a typed-tx type and a list header.
fn record_tx(i: u64) -> Vec<u8> {
    let len = 1 + (i * 37 % 300) as usize;
    let mut tx = vec![0u8; len];
    TestRng::new(i).fill(&mut tx);
    tx[0] = if i.is_multiple_of(2) { 0x02 } else { 0xf8 };
    tx
}

fn load(path: &Path) -> (Vec<Vec<u8>>, LoadReport) {
    Journal::load(path).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

#[test]
fn appended_records_load_back_in_order_and_a_missing_file_is_empty() {
    let dir = temp_dir("roundtrip");
    let path = dir.join(JOURNAL_FILE);
    let (txs, report) = load(&path);
    assert!(txs.is_empty() && report == LoadReport::default());

    let (mut journal, txs, _) = Journal::open(&path).unwrap();
    assert!(txs.is_empty());
    let written: Vec<Vec<u8>> = (0..50).map(record_tx).collect();
    for tx in &written {
        journal.append(tx).unwrap();
    }
    assert_eq!(journal.len_bytes(), std::fs::metadata(&path).unwrap().len());
    drop(journal);

    let (mut journal, txs, report) = Journal::open(&path).unwrap();
    assert_eq!(txs, written);
    assert_eq!(report.loaded, 50);
    assert_eq!(report.dropped_tail_bytes, 0);
    // Appends after a reopen continue the same file.
    journal.append(b"one more").unwrap();
    let (txs, _) = load(&path);
    assert_eq!(txs.len(), 51);
    assert_eq!(txs[50], b"one more");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_torn_last_record_at_every_byte_loses_only_that_record() {
    let dir = temp_dir("torn");
    let path = dir.join(JOURNAL_FILE);
    let written: Vec<Vec<u8>> = (0..5).map(|i| record_tx(i + 100)).collect();
    let mut whole = Vec::new();
    for tx in &written {
        whole.extend_from_slice(&encode_record(tx));
    }
    let last_start = whole.len() - encode_record(&written[4]).len();
    for cut in last_start..whole.len() {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let (txs, report) = load(&path);
        assert_eq!(txs, written[..4], "cut at {cut}");
        assert_eq!(
            report.dropped_tail_bytes,
            (cut - last_start) as u64,
            "cut at {cut}"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            last_start as u64,
            "cut at {cut}: torn tail not truncated"
        );
        // After truncation new appends are readable again.
        let (mut journal, _, _) = Journal::open(&path).unwrap();
        journal.append(&written[4]).unwrap();
        assert_eq!(load(&path).0, written, "cut at {cut}: append after repair");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn zeroed_or_damaged_tails_are_dropped_and_earlier_records_kept() {
    let dir = temp_dir("damaged");
    let path = dir.join(JOURNAL_FILE);
    let written: Vec<Vec<u8>> = (0..3).map(record_tx).collect();
    let mut good = Vec::new();
    for tx in &written {
        good.extend_from_slice(&encode_record(tx));
    }
    let last = encode_record(&written[2]);
    let last_start = good.len() - last.len();

    // A file system that extended the file but never wrote the data leaves zeros.
    let mut zeroed = good.clone();
    zeroed.extend_from_slice(&[0u8; 4096]);
    // A flipped bit inside the last record's payload: the checksum must catch it.
    let mut flipped = good.clone();
    flipped[last_start + 4] ^= 0x01;
    // A record whose list holds a third item.
    let mut extra = good[..last_start].to_vec();
    let mut three = rlp::RlpStream::new_list(3);
    three
        .append(&&written[2][..])
        .append(&&b"abcd"[..])
        .append(&1u8);
    extra.extend_from_slice(&three.out());
    let cases = [
        ("zeroed tail", zeroed, 3, 4096),
        ("flipped bit", flipped, 2, last.len()),
        ("three items", extra, 2, three_len(&written[2])),
    ];
    for (name, bytes, kept, dropped) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let (txs, report) = load(&path);
        assert_eq!(txs, written[..kept], "{name}");
        assert_eq!(report.dropped_tail_bytes, dropped as u64, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn three_len(tx: &[u8]) -> usize {
    let mut three = rlp::RlpStream::new_list(3);
    three.append(&tx).append(&&b"abcd"[..]).append(&1u8);
    three.out().len()
}

#[test]
fn rotate_keeps_only_the_live_txs_and_a_crashed_rotation_changes_nothing() {
    let dir = temp_dir("rotate");
    let path = dir.join(JOURNAL_FILE);
    let temp = dir.join(format!("{JOURNAL_FILE}.new"));
    let (mut journal, _, _) = Journal::open(&path).unwrap();
    let written: Vec<Vec<u8>> = (0..20).map(record_tx).collect();
    for tx in &written {
        journal.append(tx).unwrap();
    }
    let live: Vec<&[u8]> = written.iter().skip(15).map(|t| t.as_slice()).collect();
    journal.rotate(live.iter().copied()).unwrap();
    assert!(!temp.exists(), "rotation left its temporary file");
    assert_eq!(load(&path).0, live);
    // The journal appends to the new file, not to the one it replaced.
    journal.append(b"after rotation").unwrap();
    let (txs, _) = load(&path);
    assert_eq!(txs.len(), 6);
    assert_eq!(txs[5], b"after rotation");
    assert_eq!(journal.len_bytes(), std::fs::metadata(&path).unwrap().len());
    drop(journal);

    // A rotation that crashed before its rename leaves a partial temporary file: the journal
    // still loads the old content in full and the next open clears the leftover away.
    std::fs::write(&temp, &encode_record(b"half-written")[..5]).unwrap();
    let (mut journal, txs, report) = Journal::open(&path).unwrap();
    assert_eq!(txs.len(), 6);
    assert_eq!(report.dropped_tail_bytes, 0);
    assert!(!temp.exists(), "open kept a stale rotation file");
    // Rotating to nothing leaves an empty, still appendable journal.
    journal.rotate(std::iter::empty()).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    journal.append(b"x").unwrap();
    assert_eq!(load(&path).0, [b"x".to_vec()]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_size_limit_bounds_appends_rotations_and_loads() {
    let dir = temp_dir("full");
    let path = dir.join(JOURNAL_FILE);
    const SIZE_MAX: u64 = 1_000;
    let (mut journal, _, _) = Journal::open_bounded(&path, SIZE_MAX).unwrap();
    // 300-byte transactions make 311-byte records: three fit in 1,000 bytes, the fourth does not.
    let tx = vec![0x5au8; 300];
    for _ in 0..3 {
        journal.append(&tx).unwrap();
    }
    let before = journal.len_bytes();
    assert_eq!(before, 933);
    match journal.append(&tx) {
        Err(JournalError::Full { needed: 311 }) => {}
        other => panic!("expected Full {{ needed: 311 }}, got {other:?}"),
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
    let four = [tx.as_slice(); 4];
    assert!(matches!(
        journal.rotate(four.iter().copied()),
        Err(JournalError::Full { .. })
    ));
    assert_eq!(
        load(&path).0.len(),
        3,
        "a refused rotation changed the file"
    );
    journal.rotate(four[..1].iter().copied()).unwrap();
    journal.append(&tx).unwrap();
    drop(journal);

    // A file grown past the limit by someone else is read only up to the limit.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    for _ in 0..3 {
        file.write_all(&encode_record(&tx)).unwrap();
    }
    drop(file);
    let (txs, report) = Journal::load_bounded(&path, SIZE_MAX).unwrap();
    assert_eq!(txs.len(), 3);
    assert_eq!(report.dropped_tail_bytes, 5 * 311 - 933);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 933);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The appender the kill test runs in a child process: appends records 0, 1, 2, ... and prints
/// `ack i` only after `append(i)` returned. Run directly (no child variable), it appends a few
/// records to a scratch directory and checks they load back, so it still tests something.
#[test]
fn kill9_child_appender() {
    let (dir, count) = match std::env::var(CHILD_DIR_ENV) {
        Ok(dir) => (PathBuf::from(dir), CHILD_RECORDS_MAX),
        Err(_) => (temp_dir("child-direct"), 25),
    };
    let path = dir.join(JOURNAL_FILE);
    let (mut journal, _, _) = Journal::open(&path).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        journal.append(&record_tx(i)).unwrap();
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
    let expected: Vec<Vec<u8>> = (0..count).map(record_tx).collect();
    assert_eq!(load(&path).0, expected);
}

#[test]
fn every_acknowledged_append_survives_sigkill_at_a_random_moment() {
    let mut rng = TestRng::new(0x6b11_1009);
    for round in 0..4 {
        let dir = temp_dir(&format!("kill9-{round}"));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["kill9_child_appender", "--exact", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_DIR_ENV, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let wanted = 1 + rng.below(300);
        let mut acked: Option<u64> = None;
        // Read acknowledgements until the chosen count, wait a random sliver more, then kill.
        while acked.is_none_or(|a| a + 1 < wanted) {
            let line = lines.next().expect("child ended early").unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked = Some(n.parse().unwrap());
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(rng.below(3_000)));
        child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush runs.
        child.wait().unwrap();
        // Lines the child printed before it died are acknowledgements too.
        for line in lines {
            if let Some(n) = line.unwrap().strip_prefix("ack ") {
                acked = Some(n.parse().unwrap());
            }
        }
        let acked = acked.unwrap() + 1;
        assert!(
            acked < CHILD_RECORDS_MAX,
            "round {round}: the child finished before the kill"
        );
        let (txs, report) = load(&dir.join(JOURNAL_FILE));
        let n = txs.len() as u64;
        assert!(
            n == acked || n == acked + 1,
            "round {round}: {acked} acknowledged, {n} loaded ({report:?})"
        );
        for (i, tx) in txs.iter().enumerate() {
            assert_eq!(*tx, record_tx(i as u64), "round {round}: record {i}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
