//! [`NodeDbHandle`]: the event loop's typed front-end on the storage thread
//! ([`crate::storage::worker`], shared with the chain store), which owns the [`NodeDb`]. fjall
//! may block (fsync, write stalls under flush pressure), so no store call ever runs on the event
//! loop; the loop only sends commands.
//!
//! Writes are fire-and-forget: at most [`QUEUE_LEN`] of them wait in the worker's queue (a count
//! the handle keeps); one more, or one the full queue refuses, is dropped and counted
//! ([`NodeDbHandle::dropped_writes`]): the node database is a cache, and the next Pong rewrites
//! the same record, so shedding load beats stalling discovery. Reads (`get`, `seed_nodes`) are
//! async: they wait for queue space and for the reply on a one-shot channel, so they are
//! answered after every write sent before them.
//!
//! Durability policy, applied by the thread after each batch of up to [`BATCH_MAX`] jobs:
//! the batch's journal writes are handed to the OS (`PersistMode::Buffer`), so a killed process
//! loses nothing the thread has applied; they are synced to disk (`SyncData`) at most every
//! [`SYNC_INTERVAL`], so a power cut loses at most that much (and never the ability to open: see
//! [`super::store`]), and a storage card is not worn by an fsync per Pong. Closing syncs all.
//! The thread also runs the hourly expiry, reading the wall clock itself: it is shell code.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_channel::Sender;
use fjall::PersistMode;

use super::{EXPIRE_INTERVAL, EXPIRE_UNSEEN, NodeDb, NodeDbError, NodeRecord};
use crate::crypto::NodeId;
use crate::log;
pub use crate::storage::worker::BATCH_MAX;
use crate::storage::{Client, Part, Worker};

/// Writes that may wait in the worker's queue: 1024. A command is at most one record (about 500
/// bytes with its ENR), so a full share is about 0.5 MiB, and it absorbs several seconds of
/// discovery's write rate (a few records per second per active lookup) even if the disk stalls.
pub const QUEUE_LEN: usize = 1024;

/// Longest time applied writes stay in OS buffers before an fsync: 10 seconds. What a power cut
/// can cost, traded against flash wear and fsync latency on small boards.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(10);

/// The storage thread's settings; [`HandleConfig::default`] is what the node uses.
pub struct HandleConfig {
    /// Writes that may wait in the queue at once.
    pub queue_len: usize,
    /// Longest time between an applied write and its fsync.
    pub sync_interval: Duration,
    /// Time between two expiry runs.
    pub expire_interval: Duration,
    /// Age of the last Pong after which a node expires, in seconds.
    pub expire_unseen: u64,
    /// The current unix time in seconds, read by expiry.
    pub clock: Box<dyn FnMut() -> u64 + Send>,
}

impl Default for HandleConfig {
    fn default() -> Self {
        HandleConfig {
            queue_len: QUEUE_LEN,
            sync_interval: SYNC_INTERVAL,
            expire_interval: EXPIRE_INTERVAL,
            expire_unseen: EXPIRE_UNSEEN,
            clock: Box::new(unix_now),
        }
    }
}

/// The system clock in unix seconds (0 if it is set before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

type Reply<T> = Sender<Result<T, NodeDbError>>;

/// What the storage thread is asked to do.
enum Command {
    Put(Box<NodeRecord>),
    LastPing(NodeId, u64),
    LastPong(NodeId, u64),
    FindnodeFailures(NodeId, u32),
    Verified(Box<NodeRecord>),
    SeenV5(Box<NodeRecord>),
    Enr(NodeId, Vec<u8>),
    Remove(NodeId),
    Get(NodeId, Reply<Option<NodeRecord>>),
    Seed {
        now: u64,
        max_age: u64,
        limit: usize,
        v5: bool,
        reply: Reply<Vec<NodeRecord>>,
    },
    Sync(Reply<()>),
    Close(Reply<()>),
}

/// The event loop's side of the storage thread. Dropping it syncs the store and detaches it
/// from the thread (the last client of the thread joins it), as [`NodeDbHandle::close`] does.
pub struct NodeDbHandle {
    client: Option<Client<Storage>>,
    dropped: Arc<AtomicU64>,
    /// Writes queued and not yet applied.
    pending: Arc<AtomicUsize>,
    queue_len: usize,
}

impl std::fmt::Debug for NodeDbHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeDbHandle")
            .field("dropped", &self.dropped_writes())
            .finish()
    }
}

impl NodeDbHandle {
    /// Opens the store in the database of `datadir` and moves it onto the database's storage
    /// thread. Called once at start-up; opening covers fjall's journal recovery.
    pub fn open(datadir: &Path, config: HandleConfig) -> Result<NodeDbHandle, NodeDbError> {
        Self::spawn(NodeDb::open(datadir)?, config)
    }

    /// Moves an open store onto a storage thread of its own (tools and tests that open the
    /// node database alone).
    pub fn spawn(db: NodeDb, config: HandleConfig) -> Result<NodeDbHandle, NodeDbError> {
        let worker =
            Worker::spawn(db.db()).map_err(|e| NodeDbError::Io("storage thread".into(), e))?;
        Self::spawn_on(db, config, &worker)
    }

    /// Moves an open store onto `worker`, the storage thread of its database (the node's one,
    /// shared with the chain store).
    pub fn spawn_on(
        db: NodeDb,
        config: HandleConfig,
        worker: &Arc<Worker>,
    ) -> Result<NodeDbHandle, NodeDbError> {
        let pending = Arc::new(AtomicUsize::new(0));
        let queue_len = config.queue_len.max(1);
        let client = worker
            .attach(Storage::new(db, config, Arc::clone(&pending)))
            .ok_or(NodeDbError::Closed)?;
        Ok(NodeDbHandle {
            client: Some(client),
            dropped: Arc::new(AtomicU64::new(0)),
            pending,
            queue_len,
        })
    }

    /// Queues a write without waiting; false if it was dropped (queue full or thread gone).
    fn write(&self, command: Command) -> bool {
        let sent = self.pending.fetch_add(1, Ordering::AcqRel) < self.queue_len
            && self.client.as_ref().is_some_and(|c| {
                c.try_run(move |s| {
                    s.pending.fetch_sub(1, Ordering::AcqRel);
                    s.wrote |= s.apply(command);
                })
            });
        if !sent {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Stores `record`, replacing the node's previous record.
    pub fn put(&self, record: NodeRecord) -> bool {
        self.write(Command::Put(Box::new(record)))
    }

    /// Records when a Ping from `id` arrived (ignored if `id` has no record).
    pub fn set_last_ping_received(&self, id: NodeId, at: u64) -> bool {
        self.write(Command::LastPing(id, at))
    }

    /// Records when a Pong from `id` arrived (ignored if `id` has no record).
    pub fn set_last_pong_received(&self, id: NodeId, at: u64) -> bool {
        self.write(Command::LastPong(id, at))
    }

    /// Records how many FindNode requests to `id` failed in a row (ignored if no record).
    pub fn set_findnode_failures(&self, id: NodeId, failures: u32) -> bool {
        self.write(Command::FindnodeFailures(id, failures))
    }

    /// A node answered our Ping: creates its record, or updates its endpoint and last Pong while
    /// keeping what else is known of it (its ENR, its last Ping, its failures).
    pub fn verified(&self, record: NodeRecord) -> bool {
        self.write(Command::Verified(Box::new(record)))
    }

    /// A node answered us over discovery v5 (its record's endpoint, its ENR and `last_seen_v5`
    /// in `record`): creates its record, or updates those while keeping its v4 history.
    pub fn seen_v5(&self, record: NodeRecord) -> bool {
        self.write(Command::SeenV5(Box::new(record)))
    }

    /// Stores a node's ENR (raw RLP; ignored if the node has no record).
    pub fn set_enr(&self, id: NodeId, enr: Vec<u8>) -> bool {
        self.write(Command::Enr(id, enr))
    }

    /// Removes the record of `id`.
    pub fn remove(&self, id: NodeId) -> bool {
        self.write(Command::Remove(id))
    }

    /// Writes dropped so far because the queue was full or the thread had stopped.
    pub fn dropped_writes(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    async fn request<T: Send + 'static>(
        &self,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, NodeDbError> {
        let client = self.client.as_ref().ok_or(NodeDbError::Closed)?;
        let (reply, answer) = async_channel::bounded(1);
        let command = command(reply);
        if !client.run(move |s| s.wrote |= s.apply(command)).await {
            return Err(NodeDbError::Closed);
        }
        answer.recv().await.map_err(|_| NodeDbError::Closed)?
    }

    /// The record of `id`, after every write queued before this call.
    pub async fn get(&self, id: NodeId) -> Result<Option<NodeRecord>, NodeDbError> {
        self.request(|reply| Command::Get(id, reply)).await
    }

    /// The table's seed: see [`NodeDb::seed_nodes`].
    pub async fn seed_nodes(
        &self,
        now: u64,
        max_age: u64,
        limit: usize,
    ) -> Result<Vec<NodeRecord>, NodeDbError> {
        self.request(|reply| Command::Seed {
            now,
            max_age,
            limit,
            v5: false,
            reply,
        })
        .await
    }

    /// Discovery v5's seed: see [`NodeDb::seed_nodes_v5`].
    pub async fn seed_nodes_v5(
        &self,
        now: u64,
        max_age: u64,
        limit: usize,
    ) -> Result<Vec<NodeRecord>, NodeDbError> {
        self.request(|reply| Command::Seed {
            now,
            max_age,
            limit,
            v5: true,
            reply,
        })
        .await
    }

    /// Applies every write queued before this call and syncs them to disk.
    pub async fn sync(&self) -> Result<(), NodeDbError> {
        self.request(Command::Sync).await
    }

    /// Closes the store (syncing everything to disk) and joins the storage thread. Blocks for
    /// the queued commands and the final fsync: for shutdown.
    pub fn close(mut self) -> Result<(), NodeDbError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), NodeDbError> {
        let Some(client) = self.client.take() else {
            return Ok(());
        };
        let (reply, answer) = async_channel::bounded(1);
        let command = Command::Close(reply);
        let result = if client.run_blocking(move |s| s.wrote |= s.apply(command)) {
            answer.recv_blocking().unwrap_or(Err(NodeDbError::Closed))
        } else {
            Err(NodeDbError::Closed)
        };
        // Detaches the store; the last client of the thread joins it.
        drop(client);
        result
    }
}

impl Drop for NodeDbHandle {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            log::error("Node database close failed", &[("err", &e)]);
        }
    }
}

/// The node database's state on the storage thread (its [`Part`]).
struct Storage {
    db: NodeDb,
    config: HandleConfig,
    /// The handle's count of queued writes, taken down as each is applied.
    pending: Arc<AtomicUsize>,
    /// Whether a command of the current batch may have written.
    wrote: bool,
    next_expire: Instant,
    /// When the oldest write not yet synced to disk was applied.
    unsynced_since: Option<Instant>,
    /// Writes that failed; the first is logged as an error, later ones at debug level.
    failures: u64,
}

impl Storage {
    fn new(db: NodeDb, config: HandleConfig, pending: Arc<AtomicUsize>) -> Self {
        Storage {
            db,
            next_expire: Instant::now() + config.expire_interval,
            config,
            pending,
            wrote: false,
            unsynced_since: None,
            failures: 0,
        }
    }

    /// Runs one command; true if it may have written.
    fn apply(&mut self, command: Command) -> bool {
        let db = &self.db;
        let result = match command {
            Command::Put(record) => db.put(&record),
            Command::LastPing(id, at) => db.update(&id, |r| r.last_ping_received = at).map(drop),
            Command::LastPong(id, at) => db.update(&id, |r| r.last_pong_received = at).map(drop),
            Command::FindnodeFailures(id, n) => {
                db.update(&id, |r| r.findnode_failures = n).map(drop)
            }
            Command::Verified(rec) => {
                let id = rec.id();
                let updated = db.update(&id, |r| {
                    r.ip = rec.ip;
                    r.udp = rec.udp;
                    r.tcp = rec.tcp;
                    r.last_pong_received = rec.last_pong_received;
                });
                match updated {
                    Ok(true) => Ok(()),
                    Ok(false) => db.put(&rec),
                    Err(e) => Err(e),
                }
            }
            Command::SeenV5(rec) => {
                let id = rec.id();
                let updated = db.update(&id, |r| {
                    r.ip = rec.ip;
                    r.udp = rec.udp;
                    r.tcp = rec.tcp;
                    r.enr.clone_from(&rec.enr);
                    r.last_seen_v5 = rec.last_seen_v5;
                });
                match updated {
                    Ok(true) => Ok(()),
                    Ok(false) => db.put(&rec),
                    Err(e) => Err(e),
                }
            }
            Command::Enr(id, enr) => db.update(&id, |r| r.enr = Some(enr)).map(drop),
            Command::Remove(id) => db.remove(&id),
            Command::Get(id, reply) => {
                let _ = reply.try_send(db.get(&id));
                return false;
            }
            Command::Seed {
                now,
                max_age,
                limit,
                v5,
                reply,
            } => {
                let seeds = if v5 {
                    db.seed_nodes_v5(now, max_age, limit)
                } else {
                    db.seed_nodes(now, max_age, limit)
                };
                let _ = reply.try_send(seeds);
                return false;
            }
            Command::Sync(reply) => {
                let synced = db.persist(PersistMode::SyncData);
                if synced.is_ok() {
                    self.unsynced_since = None;
                }
                let _ = reply.try_send(synced);
                return false;
            }
            Command::Close(reply) => {
                let closed = db.persist(PersistMode::SyncAll);
                if closed.is_ok() {
                    self.unsynced_since = None;
                }
                let _ = reply.try_send(closed);
                return false;
            }
        };
        if let Err(e) = result {
            self.failed("Node database write failed", &e);
        }
        true
    }

    /// Hands the batch's journal writes to the OS and starts the sync timer.
    fn hand_to_os(&mut self) {
        match self.db.persist(PersistMode::Buffer) {
            Ok(()) => {
                self.unsynced_since.get_or_insert_with(Instant::now);
            }
            Err(e) => self.failed("Node database write failed", &e),
        }
    }

    /// Runs expiry and the periodic fsync when they are due.
    fn maintain(&mut self) {
        let now = Instant::now();
        if now >= self.next_expire {
            self.next_expire = now + self.config.expire_interval;
            let unix = (self.config.clock)();
            match self.db.expire(unix, self.config.expire_unseen) {
                Ok(0) => {}
                Ok(n) => {
                    log::debug("Node database expired nodes", &[("count", &n)]);
                    self.hand_to_os();
                }
                Err(e) => self.failed("Node database expiry failed", &e),
            }
        }
        if let Some(since) = self.unsynced_since
            && now >= since + self.config.sync_interval
        {
            match self.db.persist(PersistMode::SyncData) {
                Ok(()) => self.unsynced_since = None,
                Err(e) => {
                    // Retry one interval later rather than spinning on a failing disk.
                    self.unsynced_since = Some(now);
                    self.failed("Node database sync failed", &e);
                }
            }
        }
    }

    fn failed(&mut self, msg: &str, e: &NodeDbError) {
        self.failures += 1;
        let count = self.failures;
        if count == 1 {
            log::error(msg, &[("err", e)]);
        } else {
            log::debug(msg, &[("err", e), ("failures", &count)]);
        }
    }
}

impl Part for Storage {
    fn deadline(&self) -> Option<Instant> {
        Some(match self.unsynced_since {
            Some(t) => self.next_expire.min(t + self.config.sync_interval),
            None => self.next_expire,
        })
    }

    fn on_timer(&mut self, _now: Instant) {
        self.maintain();
    }

    fn end_batch(&mut self) {
        if std::mem::take(&mut self.wrote) {
            self.hand_to_os();
        }
    }
}
