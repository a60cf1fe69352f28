//! [`ChainStoreHandle`]: the event loop's typed front-end on the storage thread
//! ([`crate::storage::worker`], shared with the node database), which owns the [`ChainStore`]
//! and answers over the worker's bounded queue, so disk reads, block writes and fjall's write
//! stalls never run on the event loop.
//!
//! The handle is a [`ChainReaderHandle`]: [`ChainStoreHandle::read`] runs a closure over the
//! store as a [`ChainReader`] on the storage thread. eth answers peers' GetBlockHeaders,
//! GetBlockBodies and GetReceipts that way, so the lookups, receipt conversion and encoding of
//! a reply all run here while the store knows nothing of eth. Writes (block batches) are
//! answered once the batch is in the journal and handed to the OS.

use std::cell::RefCell;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use async_channel::Sender;

use super::block::{Head, StoredBlock};
use super::header::U256;
use super::reader::{
    self, ChainReader, ChainReaderHandle, CorruptItem, READ_COUNT_MAX, READ_SIZE_SOFT,
};
use super::store::{ChainStore, StoreError};
use crate::log;
use crate::storage::{Client, Part, Worker};
use crate::tx::state::AccountsAt;

/// A 32-byte block hash.
type Hash = [u8; 32];

type Reply<T> = Sender<Result<T, StoreError>>;

/// A read to run over the store on the storage thread; it sends its own reply.
type Read = Box<dyn FnOnce(&dyn ChainReader<Error = StoreError>) + Send>;

/// What the storage thread is asked to do.
enum Command {
    Head(Reply<Option<Head>>),
    HeaderByHash([u8; 32], Reply<Option<Vec<u8>>>),
    HeaderByNumber(u64, Reply<Option<Vec<u8>>>),
    CanonicalHash(u64, Reply<Option<[u8; 32]>>),
    Td([u8; 32], Reply<Option<U256>>),
    State(Reply<Option<AccountsAt>>),
    Read(Read),
    Receipts(Vec<[u8; 32]>, Reply<Vec<Vec<u8>>>),
    Insert(Vec<StoredBlock>, Reply<Head>),
    Sync(Reply<()>),
    Close(Reply<()>),
}

/// The event loop's side of the storage thread. Dropping it syncs the store and detaches it
/// from the thread (the last client of the thread joins it), as [`ChainStoreHandle::close`]
/// does.
pub struct ChainStoreHandle {
    client: Option<Client<ServingStore>>,
}

impl std::fmt::Debug for ChainStoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainStoreHandle").finish()
    }
}

impl ChainStoreHandle {
    /// Opens the store in the database of `datadir` and moves it onto the database's storage
    /// thread.
    pub fn open(datadir: &Path) -> Result<ChainStoreHandle, StoreError> {
        let store = ChainStore::open(datadir)?;
        Self::spawn(store)
    }

    /// Moves an open store onto a storage thread of its own (a program that opens the chain
    /// store alone: import, export, tests).
    pub fn spawn(store: ChainStore) -> Result<ChainStoreHandle, StoreError> {
        let worker =
            Worker::spawn(store.db()).map_err(|e| StoreError::Io("storage thread".into(), e))?;
        Self::spawn_on(store, &worker)
    }

    /// Moves an open store onto `worker`, the storage thread of its database (the node's one,
    /// shared with the node database).
    pub fn spawn_on(
        store: ChainStore,
        worker: &Arc<Worker>,
    ) -> Result<ChainStoreHandle, StoreError> {
        let client = worker
            .attach(ServingStore {
                store,
                receipts: RefCell::new(None),
                idle: std::cell::Cell::new(0),
            })
            .ok_or(StoreError::Closed)?;
        Ok(ChainStoreHandle {
            client: Some(client),
        })
    }

    async fn request<T: Send + 'static>(
        &self,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, StoreError> {
        let client = self.client.as_ref().ok_or(StoreError::Closed)?;
        let (reply, answer) = async_channel::bounded(1);
        let command = command(reply);
        if !client.run(move |part| part.apply(command)).await {
            return Err(StoreError::Closed);
        }
        answer.recv().await.map_err(|_| StoreError::Closed)?
    }

    /// The canonical head (`None` before a genesis is stored).
    pub async fn head(&self) -> Result<Option<Head>, StoreError> {
        self.request(Command::Head).await
    }

    /// The header RLP of block `hash`.
    pub async fn header_by_hash(&self, hash: [u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.request(|r| Command::HeaderByHash(hash, r)).await
    }

    /// The header RLP of canonical block `number`.
    pub async fn header_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.request(|r| Command::HeaderByNumber(number, r)).await
    }

    /// The hash of canonical block `number`.
    pub async fn canonical_hash(&self, number: u64) -> Result<Option<[u8; 32]>, StoreError> {
        self.request(|r| Command::CanonicalHash(number, r)).await
    }

    /// Total difficulty at block `hash`.
    pub async fn td(&self, hash: [u8; 32]) -> Result<Option<U256>, StoreError> {
        self.request(|r| Command::Td(hash, r)).await
    }

    /// The imported state snapshot, read on the storage thread.
    pub async fn state(&self) -> Result<Option<AccountsAt>, StoreError> {
        self.request(Command::State).await
    }

    /// Runs `read` over the store (with its receipts cache) on the storage thread and returns
    /// its result; see [`ChainReaderHandle`].
    pub fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, StoreError>> + '_
    where
        T: Send + 'static,
        F: FnOnce(&dyn ChainReader<Error = StoreError>) -> Result<T, StoreError> + Send + 'static,
    {
        self.request(move |reply: Reply<T>| {
            Command::Read(Box::new(move |chain| {
                let _ = reply.try_send(read(chain));
            }))
        })
    }

    /// Canonical header RLPs from `first`, every `skip + 1`-th block, going down when `reverse`
    /// ([`reader::canonical_headers`]: the bounds a peer's query by number gets, without the
    /// message limit).
    pub async fn headers(
        &self,
        first: u64,
        count: usize,
        skip: u64,
        reverse: bool,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(move |chain| reader::canonical_headers(chain, first, count, skip, reverse))
            .await
    }

    /// Bodies of the given blocks in order ([`reader::bodies`]: the bounds a peer's
    /// GetBlockBodies gets, without the message limit).
    pub async fn bodies(&self, hashes: Vec<[u8; 32]>) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(move |chain| reader::bodies(chain, &hashes)).await
    }

    /// The stored consensus receipts lists of the given blocks, for local readers: stopping at
    /// the first unknown block, after [`READ_COUNT_MAX`] lists or past [`READ_SIZE_SOFT`]
    /// bytes, but without the message limit a peer's reply has (eth answers peers through
    /// [`ChainStoreHandle::read`]).
    pub async fn receipts(&self, hashes: Vec<[u8; 32]>) -> Result<Vec<Vec<u8>>, StoreError> {
        self.request(|r| Command::Receipts(hashes, r)).await
    }

    /// Appends verified blocks on the head in one atomic batch; see
    /// [`ChainStore::insert_blocks`].
    pub async fn insert_blocks(&self, blocks: Vec<StoredBlock>) -> Result<Head, StoreError> {
        self.request(|r| Command::Insert(blocks, r)).await
    }

    /// Syncs every write so far to disk.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.request(Command::Sync).await
    }

    /// Closes the store (syncing it) and joins the thread. Blocks: for shutdown.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), StoreError> {
        let Some(client) = self.client.take() else {
            return Ok(());
        };
        let (reply, answer) = async_channel::bounded(1);
        let command = Command::Close(reply);
        let result = if client.run_blocking(move |part| part.apply(command)) {
            answer.recv_blocking().unwrap_or(Err(StoreError::Closed))
        } else {
            Err(StoreError::Closed)
        };
        // Detaches the store; the last client of the thread joins it.
        drop(client);
        result
    }
}

impl ChainReaderHandle for ChainStoreHandle {
    type Error = StoreError;

    fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&dyn ChainReader<Error = StoreError>) -> Result<T, StoreError> + Send + 'static,
    {
        ChainStoreHandle::read(self, read)
    }
}

impl Drop for ChainStoreHandle {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            log::error("Chain store close failed", &[("err", &e)]);
        }
    }
}

/// A stored receipts list at least this large is kept after it is read: an eth/70 peer pages
/// such a block (fixture block 11: 10.6 MB in ~2 MiB pages), and without the copy every page
/// would read and decompress the whole list again.
pub const RECEIPTS_CACHE_SIZE_MIN: usize = 1024 * 1024;

/// The kept list is dropped after this many commands without a read of it: a paging peer
/// pipelines headers and bodies between its pages, so "the next command" would be too soon,
/// while an idle node should not hold up to 16 MiB for nothing.
pub const RECEIPTS_CACHE_IDLE_MAX: u32 = 64;

/// The chain store as the storage thread serves it (its [`Part`]): one large receipts list
/// remembered while it is being read (at most one list, ≤ 16 MiB, dropped after
/// [`RECEIPTS_CACHE_IDLE_MAX`] commands that did not read it).
struct ServingStore {
    store: ChainStore,
    receipts: RefCell<Option<(Hash, Vec<u8>)>>,
    /// Commands since the kept list was last read.
    idle: std::cell::Cell<u32>,
}

impl ChainReader for ServingStore {
    type Error = StoreError;

    fn header_rlp_by_hash(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.header_rlp(hash)
    }

    fn header_rlp_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.header_rlp_by_number(number)
    }

    fn canonical_hash(&self, number: u64) -> Result<Option<Hash>, StoreError> {
        self.store.canonical_hash(number)
    }

    fn body_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.body_rlp(hash)
    }

    fn receipts_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some((h, list)) = self.receipts.borrow().as_ref()
            && h == hash
        {
            self.idle.set(0);
            return Ok(Some(list.clone()));
        }
        let list = self.store.receipts_rlp(hash)?;
        if let Some(l) = &list
            && l.len() >= RECEIPTS_CACHE_SIZE_MIN
        {
            *self.receipts.borrow_mut() = Some((*hash, l.clone()));
            self.idle.set(0);
        }
        Ok(list)
    }
}

impl Part for ServingStore {}

impl ServingStore {
    /// Answers one command on the storage thread.
    fn apply(&self, command: Command) {
        let s = &self.store;
        let idle = self.idle.get().saturating_add(1);
        self.idle.set(idle);
        if idle > RECEIPTS_CACHE_IDLE_MAX {
            self.receipts.borrow_mut().take();
        }
        match command {
            Command::Head(r) => answer(&r, s.head()),
            Command::HeaderByHash(h, r) => answer(&r, s.header_rlp(&h)),
            Command::HeaderByNumber(n, r) => answer(&r, s.header_rlp_by_number(n)),
            Command::CanonicalHash(n, r) => answer(&r, s.canonical_hash(n)),
            Command::Td(h, r) => answer(&r, s.td(&h)),
            Command::State(r) => answer(&r, s.state()),
            Command::Read(read) => read(self),
            Command::Receipts(hashes, r) => answer(&r, stored_receipts(s, &hashes)),
            Command::Insert(blocks, r) => answer(&r, s.insert_blocks(&blocks)),
            Command::Sync(r) => answer(&r, s.sync()),
            Command::Close(r) => {
                self.receipts.borrow_mut().take();
                answer(
                    &r,
                    s.db()
                        .persist(fjall::PersistMode::SyncAll)
                        .map_err(Into::into),
                );
            }
        }
    }
}

fn answer<T>(reply: &Reply<T>, result: Result<T, StoreError>) {
    // The asker may have given up (its task was cancelled); nothing to do then.
    let _ = reply.try_send(result);
}

fn stored_receipts(store: &ChainStore, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, StoreError> {
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    for hash in hashes.iter().take(READ_COUNT_MAX) {
        if bytes >= READ_SIZE_SOFT {
            break;
        }
        let Some(list) = store.receipts_rlp(hash)? else {
            break;
        };
        bytes += list.len();
        out.push(list);
    }
    Ok(out)
}

impl From<CorruptItem> for StoreError {
    fn from(e: CorruptItem) -> Self {
        StoreError::Corrupt(e.what)
    }
}

/// The store is what peers are served from; every lookup is a point read (see
/// [`ChainStore`]'s layout).
impl ChainReader for ChainStore {
    type Error = StoreError;

    fn header_rlp_by_hash(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.header_rlp(hash)
    }

    fn header_rlp_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        ChainStore::header_rlp_by_number(self, number)
    }

    fn canonical_hash(&self, number: u64) -> Result<Option<Hash>, StoreError> {
        ChainStore::canonical_hash(self, number)
    }

    fn body_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        ChainStore::body_rlp(self, hash)
    }

    fn receipts_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        ChainStore::receipts_rlp(self, hash)
    }
}
