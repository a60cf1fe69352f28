//! kill -9 campaigns (issue 15): SIGKILL at moments drawn from a seeded schedule during an
//! `ethpeer import`, a sync between two local nodes, a node-DB write storm and a run of journal
//! appends. After every kill the datadir must open, the chain head must be a complete block that
//! verifies (header, body and receipts against the header's roots) on an unbroken canonical chain,
//! and nothing the process acknowledged may be lost: the highest "Imported new chain segment"
//! number it logged, the node records it reported synced, the journal records it reported
//! appended. The next round resumes from what the last one left.
//!
//! `CRASH_RUNS` sets the kills per campaign (default 10; the campaign is 50) and
//! `CRASH_SEED` the schedule (default 1). The import and sync schedules are fractions of an
//! unkilled run timed first in the same test, so they fit the machine. A failure names the
//! campaign, the round and the delay.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::fixture_node::{fixture_hash, genesis_arg, imported_datadir, syncing_node};
use common::node_proc::{NodeProc, temp_dir};
use common::{TestRng, fixture_path};
use ethpeer::chain::store::ChainStore;
use ethpeer::chain::verify::verify_block;
use ethpeer::crypto::{SecretKey, keccak256};
use ethpeer::nodedb::NodeRecord;
use ethpeer::nodedb::store::NodeDb;
use ethpeer::tx::journal::Journal;

const CHILD_DIR_ENV: &str = "ETHPEER_CRASH_CAMPAIGN_DIR";

fn runs() -> u64 {
    std::env::var("CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

fn rng(campaign: &str) -> TestRng {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    TestRng::new(seed ^ (u64::from(keccak256(campaign.as_bytes())[0]) * 0x9e37_79b9))
}

/// The highest `number=N` on a line containing "Imported new chain segment".
fn acked_segment(lines: &[String]) -> u64 {
    lines
        .iter()
        .filter(|l| l.contains("Imported new chain segment"))
        .filter_map(|l| {
            let n = l.split("number=").nth(1)?;
            n.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Checks the chain in `datadir` after a kill: it opens; every block from the head down to
/// genesis is canonical, links to its parent and has its header, body and td; the head block
/// with its receipts verifies against its header. Returns the head's number.
fn check_chain(datadir: &Path, context: &str) -> u64 {
    let store =
        ChainStore::open(datadir).unwrap_or_else(|e| panic!("{context}: store does not open: {e}"));
    let Some(head) = store.head().unwrap() else {
        store.close().unwrap();
        return 0;
    };
    assert_eq!(
        store.canonical_hash(head.number + 1).unwrap(),
        None,
        "{context}"
    );
    let mut expected = head.hash;
    for n in (0..=head.number).rev() {
        let hash = store.canonical_hash(n).unwrap();
        assert_eq!(
            hash,
            Some(expected),
            "{context}: block {n} not canonical or unlinked"
        );
        let header = store.header_by_hash(&expected).unwrap().unwrap();
        assert_eq!((header.number, header.hash()), (n, expected), "{context}");
        assert!(
            store.body_rlp(&expected).unwrap().is_some(),
            "{context}: body {n}"
        );
        assert!(store.td(&expected).unwrap().is_some(), "{context}: td {n}");
        if n > 0 {
            assert_eq!(
                expected,
                fixture_hash(n),
                "{context}: block {n} is not the fixture's"
            );
        }
        expected = header.parent_hash;
    }
    if head.number > 0 {
        let block = store.block_rlp_by_number(head.number).unwrap().unwrap();
        let receipts = store.receipts_rlp(&head.hash).unwrap();
        verify_block(&block, receipts.as_deref(), head.number)
            .unwrap_or_else(|e| panic!("{context}: the head block does not verify: {e}"));
    }
    store.close().unwrap();
    head.number
}

/// Spawns `cmd` with its stdout and stderr lines collected, waits for a line containing `ready`
/// (if given; 60 s at most), lets it run `delay`, kills it with SIGKILL and returns every line it
/// printed and whether the kill ended it (false: it had exited cleanly by itself).
fn kill_after(cmd: &mut Command, ready: Option<&str>, delay: Duration) -> (Vec<String>, bool) {
    let mut child: Child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let readers: Vec<_> = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|r| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(r).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        })
    })
    .collect();
    drop(tx);
    let mut early = Vec::new();
    if let Some(ready) = ready {
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(l) => {
                    let done = l.contains(ready);
                    early.push(l);
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("never ready ({e}): {early:?}");
                }
            }
        }
    }
    std::thread::sleep(delay);
    let _ = child.kill();
    let status = child.wait().unwrap();
    // Killed, or exited by itself just before (a clean exit, never a crash).
    let killed = status.signal() == Some(9);
    for r in readers {
        r.join().unwrap();
    }
    early.extend(rx.iter());
    // A crash of the child (a panic: status 101) fails with what it printed.
    let tail: Vec<&String> = early.iter().rev().take(20).collect();
    assert!(killed || status.success(), "{status}; last lines: {tail:?}");
    (early, killed)
}

/// `ethpeer import` of the fixture chain, with its receipts or without, into `dir`.
fn import_command(dir: &Path, with_receipts: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ethpeer"));
    cmd.arg("import").arg(fixture_path("chain/chain.rlp"));
    if with_receipts {
        cmd.arg("--receipts")
            .arg(fixture_path("chain/receipts.rlp"));
    }
    cmd.arg("--genesis")
        .arg(genesis_arg())
        .arg("--datadir")
        .arg(dir);
    cmd
}

/// A kill moment inside `span`: a fraction of it drawn from `lo..hi` per mille. The schedule is
/// scaled by what the machine measured in the same run, never a fixed number of milliseconds: a
/// fast machine would finish before every fixed moment (CI did), a slow one never get far.
fn moment(rng: &mut TestRng, span: Duration, lo: u64, hi: u64) -> Duration {
    span.mul_f64((lo + rng.below(hi - lo)) as f64 / 1000.0)
}

#[test]
fn import_killed_at_random_moments() {
    let dir = temp_dir("crash-import");
    let mut rng = rng("import");
    // Whole imports of each kind first, unkilled, time the schedule: the fastest of three (one
    // run can be slowed by whatever else the machine is doing). With receipts, verifying block 11's
    // 10.6 MB of them takes most of it (the first segment, blocks 1-11, is written after them);
    // without, the 600 blocks are one segment.
    let span = |with_receipts: bool| {
        (0..3)
            .map(|_| {
                let scratch = temp_dir("crash-import-timing");
                let started = std::time::Instant::now();
                let out = import_command(&scratch, with_receipts).output().unwrap();
                let took = started.elapsed();
                assert!(
                    out.status.success(),
                    "the timing import failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(check_chain(&scratch, "the timing import"), 600);
                let _ = std::fs::remove_dir_all(&scratch);
                took
            })
            .min()
            .unwrap()
    };
    let spans = [span(false), span(true)];
    println!(
        "import timed unkilled: {:?} without receipts, {:?} with",
        spans[0], spans[1]
    );
    let (mut kills, mut last) = (0, 0);
    for round in 0..runs() {
        // Every third round imports with receipts; a kill lands 2-100 % into the import's span
        // (near its end, some land in or after a commit).
        let with_receipts = round % 3 == 0;
        let delay = moment(&mut rng, spans[usize::from(with_receipts)], 20, 1000);
        let (lines, killed) = kill_after(&mut import_command(&dir, with_receipts), None, delay);
        let context =
            format!("import round {round} (receipts {with_receipts}, kill after {delay:?})");
        let head = check_chain(&dir, &context);
        let acked = acked_segment(&lines);
        assert!(
            head >= acked,
            "{context}: head {head} below the acknowledged {acked}"
        );
        assert!(
            head >= last,
            "{context}: head went back from {last} to {head}"
        );
        println!("{context}: killed {killed}, acknowledged {acked}, head {head}");
        kills += u64::from(killed);
        last = head;
        if head == 600 {
            // Start over, so later kills land inside an import again.
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            last = 0;
        }
    }
    println!("import: {kills} of {} kills landed while it ran", runs());
    assert!(kills > 0, "no kill landed during an import");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sync_killed_at_random_moments() {
    let server = NodeProc::start(
        &imported_datadir("crash-sync-server"),
        &[
            "--genesis",
            &genesis_arg(),
            "--syncmode",
            "none",
            "--nodiscover",
        ],
    );
    // One whole sync first, unkilled, times the schedule (see `moment`): from the node's start
    // to its "Sync finished".
    let span = {
        let scratch = temp_dir("crash-sync-timing");
        let mut client = syncing_node(&scratch, &server, 69);
        let started = std::time::Instant::now();
        client.wait_log(&["Sync finished", "number=600"], Duration::from_secs(60));
        let took = started.elapsed();
        assert!(client.terminate().success());
        let _ = std::fs::remove_dir_all(&scratch);
        took
    };
    println!("sync timed unkilled: {span:?}");
    let dir = temp_dir("crash-sync-client");
    let mut rng = rng("sync");
    let mut last = 0;
    let mut kills = 0;
    let mut during = 0;
    for round in 0..runs() {
        // 5-120 % into the span: most kills land mid-sync, some on a synced node.
        let delay = moment(&mut rng, span, 50, 1200);
        let mut client = syncing_node(&dir, &server, 69);
        std::thread::sleep(delay);
        let running = client.child.try_wait().unwrap().is_none();
        client.child.kill().unwrap();
        let status = client.child.wait().unwrap();
        assert!(
            running,
            "sync round {round}: the node exited by itself: {status}"
        );
        kills += 1;
        let lines = client.log.lock().unwrap().clone();
        drop(client);
        let context = format!("sync round {round} (kill after {delay:?})");
        let head = check_chain(&dir, &context);
        let acked = acked_segment(&lines);
        assert!(
            head >= acked,
            "{context}: head {head} below the acknowledged {acked}"
        );
        assert!(
            head >= last,
            "{context}: head went back from {last} to {head}"
        );
        println!("{context}: acknowledged {acked}, head {head}");
        during += u64::from(head < 600);
        last = head;
        if head == 600 {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            last = 0;
        }
    }
    println!("sync: {kills} kills, {during} before the head reached 600");
    assert!(kills > 0);
    // And it resumes: one more start syncs to the fixture head.
    let mut client = syncing_node(&dir, &server, 69);
    client.wait_log(&["Sync finished", "number=600"], Duration::from_secs(60));
    assert!(client.terminate().success());
    assert_eq!(check_chain(&dir, "resumed sync"), 600);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- children: this binary re-run as a writer that prints what it has made durable ----------

/// The journal writer's record `i`: its number and some bytes of a length that varies.
fn journal_record(i: u64) -> Vec<u8> {
    let mut v = format!("tx-{i}-").into_bytes();
    v.extend(std::iter::repeat_n(i as u8, (i % 300) as usize));
    v
}

/// The child's entry point (run directly, a bounded check of the same loop).
#[test]
fn journal_writer() {
    let (dir, bound) = match std::env::var_os(CHILD_DIR_ENV) {
        Some(d) => (std::path::PathBuf::from(d), u64::MAX),
        None => (temp_dir("journal-writer"), 20),
    };
    let path = dir.join("transactions.rlp");
    let (mut journal, loaded, _) = Journal::open(&path).unwrap();
    println!("writer ready");
    let first = loaded.len() as u64;
    for i in first..first.saturating_add(bound) {
        journal.append(&journal_record(i)).unwrap();
        // Printed only once append (which fsyncs) returned: acknowledged.
        println!("acked {i}");
    }
}

#[test]
fn journal_appends_killed_at_random_moments() {
    let dir = temp_dir("crash-journal");
    let mut rng = rng("journal");
    let mut last = None;
    for round in 0..runs() {
        let delay = Duration::from_millis(rng.below(300));
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "journal_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, &dir);
        let (lines, killed) = kill_after(&mut cmd, Some("writer ready"), delay);
        assert!(killed, "journal round {round}: the writer ended by itself");
        let acked = lines
            .iter()
            .filter_map(|l| l.split("acked ").nth(1)?.trim().parse::<u64>().ok())
            .max();
        let (records, _) = Journal::load(&dir.join("transactions.rlp")).unwrap();
        let context = format!("journal round {round} (kill after {delay:?})");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(*r, journal_record(i as u64), "{context}: record {i}");
        }
        let have = records.len() as u64;
        if let Some(a) = acked.or(last) {
            assert!(
                have > a,
                "{context}: {have} records, acknowledged up to {a}"
            );
        }
        println!("{context}: acknowledged {acked:?}, {have} records");

        last = have.checked_sub(1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Node record `i` of the write storm.
fn storm_record(i: u64) -> NodeRecord {
    let key = SecretKey::from_bytes(&keccak256(&i.to_be_bytes())).unwrap();
    let mut r = NodeRecord::new(
        key.public_key(),
        [10, (i >> 16) as u8, (i >> 8) as u8, i as u8].into(),
        30303,
        30303,
    );
    r.last_pong_received = 1_700_000_000 + i;
    r
}

#[test]
fn nodedb_writer() {
    let (dir, bound) = match std::env::var_os(CHILD_DIR_ENV) {
        Some(d) => (std::path::PathBuf::from(d), u64::MAX),
        None => (temp_dir("nodedb-writer"), 64),
    };
    let db = NodeDb::open(&dir).unwrap();
    let start = db.check().unwrap().records as u64;
    println!("writer ready");
    let mut i = start;
    while i < start.saturating_add(bound) {
        for _ in 0..16 {
            db.put(&storm_record(i)).unwrap();
            i += 1;
        }
        db.persist(fjall::PersistMode::SyncAll).unwrap();
        println!("acked {}", i - 1);
    }
    db.close().unwrap();
}

#[test]
fn nodedb_write_storm_killed_at_random_moments() {
    let dir = temp_dir("crash-nodedb");
    let mut rng = rng("nodedb");
    for round in 0..runs() {
        let delay = Duration::from_millis(rng.below(500));
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "nodedb_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, &dir);
        let (lines, killed) = kill_after(&mut cmd, Some("writer ready"), delay);
        assert!(killed, "nodedb round {round}: the writer ended by itself");
        let acked = lines
            .iter()
            .filter_map(|l| l.split("acked ").nth(1)?.trim().parse::<u64>().ok())
            .max();
        let context = format!("nodedb round {round} (kill after {delay:?})");
        let db = NodeDb::open(&dir).unwrap_or_else(|e| panic!("{context}: does not open: {e}"));
        let check = db.check().unwrap();
        assert_eq!(check.corrupt, 0, "{context}: {check:?}");
        if let Some(a) = acked {
            for i in (0..=a).step_by(7).chain([a]) {
                let r = storm_record(i);
                assert_eq!(
                    db.get(&r.id()).unwrap(),
                    Some(r),
                    "{context}: record {i} lost"
                );
            }
        }
        println!(
            "{context}: acknowledged {acked:?}, {} records",
            check.records
        );
        db.close().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- a full disk: a small tmpfs as the datadir -----------------------------------------------

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop; `None` (with the reason
/// printed) where the machine cannot mount one.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(name: &str, size: &str) -> Option<Tmpfs> {
        let dir = temp_dir(name);
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(dir)),
            Ok(o) => {
                println!(
                    "SKIPPED: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("SKIPPED: no mount command: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// 512 KiB holds the fixture chain's first segment (blocks 1-11 with receipts, compressed) but
/// not all 600 blocks.
const FULL_DISK_SIZE: &str = "512k";

/// A node on the normal disk that syncs from `server` (eth/69) and must reach block `number`.
fn syncs_from(server: &NodeProc, name: &str, number: u64) {
    let dir = temp_dir(name);
    let mut reader = syncing_node(&dir, server, 69);
    reader.wait_log(
        &["Imported new chain segment", &format!("number={number} ")],
        Duration::from_secs(60),
    );
    assert!(reader.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn import_onto_a_full_disk_fails_clearly_and_the_node_serves_what_it_has() {
    let Some(disk) = Tmpfs::mount("full-import", FULL_DISK_SIZE) else {
        return;
    };
    let dd = disk.0.join("dd");
    let out = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .arg("import")
        .arg(fixture_path("chain/chain.rlp"))
        .arg("--receipts")
        .arg(fixture_path("chain/receipts.rlp"))
        .arg("--genesis")
        .arg(genesis_arg())
        .arg("--datadir")
        .arg(&dd)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("INFO")).collect();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(errors.len(), 1, "one line of error: {errors:?}");
    assert!(
        errors[0].starts_with("ethpeer: ") && errors[0].contains("No space left on device"),
        "{}",
        errors[0]
    );
    let lines: Vec<String> = stderr.lines().map(str::to_owned).collect();
    let head = check_chain(&dd, "full disk import");
    assert!(head >= acked_segment(&lines) && head < 600, "head {head}");
    println!(
        "full disk import: head {head} on {FULL_DISK_SIZE}: {}",
        errors[0]
    );
    // The node opens the full datadir and serves what it has.
    let server = NodeProc::start(
        &dd,
        &[
            "--genesis",
            &genesis_arg(),
            "--syncmode",
            "none",
            "--nodiscover",
        ],
    );
    syncs_from(&server, "full-import-reader", head);
}

#[test]
fn sync_onto_a_full_disk_fails_clearly_and_the_node_serves_what_it_has() {
    let Some(disk) = Tmpfs::mount("full-sync", FULL_DISK_SIZE) else {
        return;
    };
    let server = NodeProc::start(
        &imported_datadir("full-sync-server"),
        &[
            "--genesis",
            &genesis_arg(),
            "--syncmode",
            "none",
            "--nodiscover",
        ],
    );
    let dd = disk.0.join("dd");
    let mut client = NodeProc::start(
        &dd,
        &[
            "--genesis",
            &genesis_arg(),
            "--nodiscover",
            "--sync.minpeers",
            "1",
            "--staticnodes",
            &server.enode,
        ],
    );
    client.wait_log(&["No space left on device"], Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        client.child.try_wait().unwrap(),
        None,
        "the node died of a full disk"
    );
    let lines = client.log.lock().unwrap().clone();
    let acked = acked_segment(&lines);
    let failure = lines.iter().find(|l| l.contains("No space left")).unwrap();
    println!("full disk sync: acknowledged {acked}: {failure}");
    // Still serving: a third node syncs what the full one has.
    if acked > 0 {
        syncs_from(&client, "full-sync-reader", acked);
    }
    assert!(client.terminate().success());
    let head = check_chain(&dd, "full disk sync");
    assert!(head >= acked, "head {head} below the acknowledged {acked}");
}
