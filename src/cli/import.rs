//! `ethpeer import FILE.rlp [--receipts FILE]` and `ethpeer export FILE.rlp [FIRST LAST]`: move
//! blocks between concatenated-RLP files (go-ethereum's `geth import` / `geth export` format) and
//! the chain store in the datadir's database (`<datadir>/db`).
//!
//! Import reads the file block by block with bounded memory, verifies each block
//! ([`ethpeer::chain::verify::verify_block`]) and its link to the one before (the first must
//! sit on the store's head, or be a block the store already has, which is skipped so an
//! interrupted import can simply be run again), and stores runs of blocks in atomic batches.
//! Progress goes to stderr as geth prints it: `Imported new chain segment number=N hash=0x..
//! blocks=K elapsed=..`.
//!
//! `--state FILE` also stores a state snapshot (a go-ethereum state dump, as the ethtest
//! layout's `headstate.json`): the file is read and checked against its own root before any
//! block is read, and once the blocks are in, that root must be the head's `stateRoot`. The
//! node then checks its pool's transactions against those accounts while that block is its head
//! ([`ethpeer::chain::state`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argh::FromArgs;
use ethpeer::chain::block::{Head, StoredBlock};
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::import::{BLOCK_SIZE_MAX, RECEIPTS_SIZE_MAX, RlpReader};
use ethpeer::chain::json::JSON_SIZE_MAX;
use ethpeer::chain::state::parse_dump;
use ethpeer::chain::store::{ChainStore, StoreError};
use ethpeer::chain::verify::{ImportError, Linker, verify_block};
use ethpeer::crypto::hex;
use ethpeer::log;
use ethpeer::server::datadir::Datadir;
use ethpeer::tx::Address;
use ethpeer::tx::state::{AccountState, AccountsAt};

use super::{CliError, GENESIS_FILE_SIZE_MAX, read_file_bounded};

/// Blocks written in one atomic batch at most: 1024, so a progress line comes at least every
/// thousand blocks and a crash re-does little work.
pub const IMPORT_BATCH_BLOCKS_MAX: usize = 1024;

/// Bytes of blocks and receipts collected before a batch is written: 8 MiB. Import memory is
/// this plus one block and its receipts (at most [`BLOCK_SIZE_MAX`] + [`RECEIPTS_SIZE_MAX`]).
pub const IMPORT_BATCH_SIZE_MAX: usize = 8 * 1024 * 1024;

/// Import blocks from a file of concatenated RLP blocks into the chain store.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "import")]
pub struct ImportArgs {
    /// the blocks file (concatenated RLP blocks, as `geth export` writes)
    #[argh(positional)]
    pub file: PathBuf,
    /// a file of concatenated RLP receipts lists (consensus encoding), one per block
    #[argh(option)]
    pub receipts: Option<PathBuf>,
    /// data directory (default: ~/.ethpeer); the store is in <datadir>/db
    #[argh(option)]
    pub datadir: Option<PathBuf>,
    /// genesis.json (geth format) to initialise a fresh store with
    #[argh(option)]
    pub genesis: Option<PathBuf>,
    /// a state dump (geth's JSON, as headstate.json) of the head after the import: its
    /// nonces and balances are stored for the transaction pool
    #[argh(option)]
    pub state: Option<PathBuf>,
}

/// Export canonical blocks from the chain store to a file of concatenated RLP blocks.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "export")]
pub struct ExportArgs {
    /// the file to write (replaced if it exists)
    #[argh(positional)]
    pub file: PathBuf,
    /// FIRST LAST: the block numbers to export (default: 0 to the head)
    #[argh(positional)]
    pub range: Vec<u64>,
    /// data directory (default: ~/.ethpeer); the store is in <datadir>/db
    #[argh(option)]
    pub datadir: Option<PathBuf>,
}

fn store_err(e: StoreError) -> CliError {
    CliError::Invalid(e.to_string())
}

/// Locks the datadir and opens its chain store.
fn open(datadir: Option<&Path>) -> Result<(Datadir, ChainStore), CliError> {
    let path = datadir.map_or_else(super::default_datadir, Path::to_path_buf);
    let dd = Datadir::open(&path).map_err(|e| CliError::Invalid(e.to_string()))?;
    let store = ChainStore::open(&dd.path).map_err(store_err)?;
    Ok((dd, store))
}

/// `import`.
pub fn import(args: &ImportArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let (_dd, store) = open(args.datadir.as_deref())?;
    let state = match &args.state {
        Some(path) => {
            let text = read_file_bounded(path, JSON_SIZE_MAX)?;
            let (root, accounts) = parse_dump(&text)
                .map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))?;
            Some((path, root, accounts))
        }
        None => None,
    };
    let head = match &args.genesis {
        Some(path) => {
            let text = read_file_bounded(path, GENESIS_FILE_SIZE_MAX)?;
            let genesis = Genesis::from_json(&text)
                .map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))?;
            store.init_genesis(&genesis.header()).map_err(store_err)?
        }
        None => store.head().map_err(store_err)?.ok_or_else(|| {
            CliError::Invalid(
                "the chain store is empty: give the chain's genesis with --genesis FILE".into(),
            )
        })?,
    };
    let open_file = |p: &Path| {
        File::open(p)
            .map(BufReader::new)
            .map_err(CliError::io(p.display()))
    };
    let mut blocks = RlpReader::new(open_file(&args.file)?, BLOCK_SIZE_MAX);
    let mut receipts = match &args.receipts {
        Some(p) => Some(RlpReader::new(open_file(p)?, RECEIPTS_SIZE_MAX)),
        None => None,
    };
    let mut import = Importer {
        store: &store,
        linker: Linker::new(&head),
        head,
        batch: Vec::new(),
        batch_bytes: 0,
        segment_started: Instant::now(),
        imported: 0,
        skipped: 0,
    };
    let paths = (args.file.as_path(), args.receipts.as_deref());
    let result = import.run(&mut blocks, receipts.as_mut(), paths);
    // Whatever happened, keep what was verified and store it durably before reporting.
    let flushed = import.flush();
    let (imported, skipped, head) = (import.imported, import.skipped, import.head);
    let stored = match (result.is_ok() && flushed.is_ok(), state) {
        (true, Some((path, root, accounts))) => store_state(&store, &head, path, root, accounts),
        _ => Ok(()),
    };
    let synced = store.close().map_err(store_err);
    result.and(flushed).and(stored).and(synced)?;
    log::info(
        "Import done",
        &[
            ("blocks", &imported),
            ("skipped", &skipped),
            ("head", &head.number),
            ("hash", &format!("0x{}", hex(&head.hash))),
            ("elapsed", &Elapsed(started.elapsed())),
        ],
    );
    Ok(())
}

/// Stores the state snapshot read from `path` when its `root` is the head's state root.
fn store_state(
    store: &ChainStore,
    head: &Head,
    path: &Path,
    root: [u8; 32],
    accounts: BTreeMap<Address, AccountState>,
) -> Result<(), CliError> {
    let header = store
        .header_by_hash(&head.hash)
        .map_err(store_err)?
        .ok_or_else(|| store_err(StoreError::Corrupt("head header")))?;
    if header.state_root != root {
        return Err(CliError::Invalid(format!(
            "{}: state root 0x{} is not the head's (block {} has 0x{})",
            path.display(),
            hex(&root),
            head.number,
            hex(&header.state_root)
        )));
    }
    let count = accounts.len();
    store
        .put_state(&AccountsAt {
            number: head.number,
            block_hash: head.hash,
            root,
            accounts,
        })
        .map_err(store_err)?;
    log::info(
        "Stored state snapshot",
        &[
            ("number", &head.number),
            ("root", &format!("0x{}", hex(&root))),
            ("accounts", &count),
        ],
    );
    Ok(())
}

/// Which input an import error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Blocks,
    Receipts,
}

impl Source {
    /// The input a verification error blames: receipts-only faults are the receipts file's.
    fn of(e: &ImportError) -> Source {
        match e {
            ImportError::MissingReceipts { .. } => Source::Receipts,
            ImportError::Mismatch { field, .. } if *field == "receiptsRoot" => Source::Receipts,
            ImportError::Malformed { what, .. } if what.contains("receipt") => Source::Receipts,
            _ => Source::Blocks,
        }
    }
}

struct Importer<'a> {
    store: &'a ChainStore,
    linker: Linker,
    head: Head,
    batch: Vec<StoredBlock>,
    batch_bytes: usize,
    segment_started: Instant,
    imported: u64,
    skipped: u64,
}

impl Importer<'_> {
    fn run(
        &mut self,
        blocks: &mut RlpReader<BufReader<File>>,
        mut receipts: Option<&mut RlpReader<BufReader<File>>>,
        (blocks_path, receipts_path): (&Path, Option<&Path>),
    ) -> Result<(), CliError> {
        // Name the file that is broken: the receipts file for its own read errors, for a
        // receipts entry that does not fit its block, and when it ends first.
        let invalid = |source: Source, e: ImportError| {
            let path = match source {
                Source::Receipts => receipts_path.unwrap_or(blocks_path),
                Source::Blocks => blocks_path,
            };
            CliError::Invalid(format!("{}: {e}", path.display()))
        };
        let mut index = 0u64;
        while let Some(raw) = blocks.next_item().map_err(|e| invalid(Source::Blocks, e))? {
            let receipts_raw = match receipts.as_deref_mut() {
                Some(r) => Some(
                    r.next_item()
                        .map_err(|e| invalid(Source::Receipts, e))?
                        .ok_or_else(|| {
                            let number = self.linker_next();
                            invalid(Source::Receipts, ImportError::MissingReceipts { number })
                        })?,
                ),
                None => None,
            };
            let block = verify_block(&raw, receipts_raw.as_deref(), index)
                .map_err(|e| invalid(Source::of(&e), e))?;
            index += 1;
            if self.is_known(&block)? {
                self.linker = Linker::at(block.header.number, block.hash);
                self.skipped += 1;
                continue;
            }
            self.linker
                .link(&block)
                .map_err(|e| invalid(Source::Blocks, e))?;
            self.batch_bytes += block.header_rlp.len()
                + block.body_rlp.len()
                + block.receipts_rlp.as_ref().map_or(0, Vec::len);
            self.batch.push(block);
            if self.batch.len() >= IMPORT_BATCH_BLOCKS_MAX
                || self.batch_bytes >= IMPORT_BATCH_SIZE_MAX
            {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn linker_next(&self) -> u64 {
        self.batch
            .last()
            .map_or(self.head.number, |b| b.header.number)
            .saturating_add(1)
    }

    /// A block the store already holds as canonical at or below its head (a re-run import, or
    /// the genesis in a `geth export` file).
    fn is_known(&self, block: &StoredBlock) -> Result<bool, CliError> {
        if block.header.number > self.head.number || !self.batch.is_empty() {
            return Ok(false);
        }
        Ok(self
            .store
            .canonical_hash(block.header.number)
            .map_err(store_err)?
            == Some(block.hash))
    }

    /// Writes the collected blocks in one batch and prints a progress line.
    fn flush(&mut self) -> Result<(), CliError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let blocks = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let txs: usize = blocks.iter().map(tx_count).sum();
        self.head = self.store.insert_blocks(&blocks).map_err(store_err)?;
        self.imported += blocks.len() as u64;
        log::info(
            "Imported new chain segment",
            &[
                ("number", &self.head.number),
                ("hash", &format!("0x{}", hex(&self.head.hash))),
                ("blocks", &blocks.len()),
                ("txs", &txs),
                ("elapsed", &Elapsed(self.segment_started.elapsed())),
            ],
        );
        self.segment_started = Instant::now();
        Ok(())
    }
}

fn tx_count(block: &StoredBlock) -> usize {
    rlp::Rlp::new(&block.body_rlp)
        .at(0)
        .and_then(|txs| txs.item_count())
        .unwrap_or(0)
}

/// Locks an existing datadir and opens the chain store it holds, creating neither.
fn open_existing(datadir: Option<&Path>) -> Result<(Datadir, ChainStore), CliError> {
    let path = datadir.map_or_else(super::default_datadir, Path::to_path_buf);
    // A datadir in the old layout goes on to the open, which names it.
    if path.is_dir()
        && !path.join(ethpeer::storage::DB_DIR).is_dir()
        && !path.join(ethpeer::storage::OLD_CHAIN_DIR).is_dir()
    {
        return Err(CliError::Invalid(format!(
            "datadir {} holds no chain store (run `ethpeer import` first)",
            path.display()
        )));
    }
    let dd = Datadir::open_existing(&path).map_err(|e| CliError::Invalid(e.to_string()))?;
    let store = ChainStore::open(&dd.path).map_err(|e| match &e {
        // fjall replays and rewrites its journal on open, so the store cannot be opened on a
        // read-only file system; say so instead of an OS error code.
        StoreError::Storage(fjall::Error::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            CliError::Invalid(format!(
                "datadir {} is not writable: the chain store writes its journal when it opens \
                 (export from a writable copy)",
                path.display()
            ))
        }
        _ => store_err(e),
    })?;
    Ok((dd, store))
}

/// `export`.
pub fn export(args: &ExportArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let (_dd, store) = open_existing(args.datadir.as_deref())?;
    let head = store
        .head()
        .map_err(store_err)?
        .ok_or_else(|| CliError::Invalid("the chain store is empty".into()))?;
    let (first, last) = match args.range[..] {
        [] => (0, head.number),
        [first, last] => (first, last),
        _ => {
            return Err(CliError::Usage(
                "export takes FILE, or FILE FIRST LAST".into(),
            ));
        }
    };
    if first > last || last > head.number {
        return Err(CliError::Invalid(format!(
            "export range {first}..{last} is not within the stored chain 0..{}",
            head.number
        )));
    }
    log::info(
        "Exporting blockchain",
        &[
            ("first", &first),
            ("last", &last),
            ("file", &args.file.display()),
        ],
    );
    let what = args.file.display().to_string();
    let file = File::create(&args.file).map_err(CliError::io(&what))?;
    let mut out = BufWriter::new(file);
    let mut reported = Instant::now();
    for number in first..=last {
        let block = store
            .block_rlp_by_number(number)
            .map_err(store_err)?
            .ok_or_else(|| {
                CliError::Invalid(format!("block {number} is missing from the store"))
            })?;
        out.write_all(&block).map_err(CliError::io(&what))?;
        if reported.elapsed() >= Duration::from_secs(8) {
            log::info("Exporting blocks", &[("exported", &(number - first + 1))]);
            reported = Instant::now();
        }
    }
    let file = out.into_inner().map_err(|e| CliError::Io {
        what: what.clone(),
        err: e.into_error(),
    })?;
    // A regular file is synced so a finished export survives a crash; a device or a pipe
    // (`/dev/null`, `/dev/stdout`) has nothing to sync and refuses fsync.
    if file.metadata().is_ok_and(|m| m.is_file()) {
        file.sync_all().map_err(CliError::io(&what))?;
    }
    log::info(
        "Exported blockchain",
        &[
            ("blocks", &(last - first + 1)),
            ("file", &args.file.display()),
            ("elapsed", &Elapsed(started.elapsed())),
        ],
    );
    Ok(())
}

/// A duration as geth prints one: `812.345ms`, `3.210s`.
struct Elapsed(Duration);

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        if d < Duration::from_secs(1) {
            write!(f, "{:.3}ms", d.as_secs_f64() * 1000.0)
        } else {
            write!(f, "{:.3}s", d.as_secs_f64())
        }
    }
}
