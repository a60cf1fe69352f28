//! [`Worker`]: the one storage thread of a database. fjall may block (reads from disk, fsync,
//! write stalls under flush pressure), so no store call runs on the event loop; the chain store's
//! and the node database's async handles are thin typed front-ends that send jobs here.
//!
//! One thread and one bounded queue of [`QUEUE_LEN`] jobs per database: the node starts one
//! ([`Worker::spawn`]) and gives it to both stores. Each front-end attaches its state, a [`Part`],
//! and gets a [`Client`]: a job is a closure run on the thread with that part, and a reply, when
//! there is one, goes back through a channel the closure captured. Jobs run in the order they
//! were queued, whoever sent them, so a read is answered after every write sent before it.
//!
//! The thread takes up to [`BATCH_MAX`] queued jobs in a row, then lets every part finish the
//! batch ([`Part::end_batch`]: the node database hands its writes to the OS there), then runs
//! the timers that are due ([`Part::deadline`], [`Part::on_timer`]: the node database's periodic
//! fsync and hourly expiry). When the last client is gone the thread syncs the database to disk
//! and ends, and the dropping thread joins it.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use async_channel::{Receiver, Sender};
use fjall::PersistMode;

use super::Db;
use crate::log;

/// Jobs the queue holds before senders wait (or, with [`Client::try_run`], are refused): 1088.
/// The node database's fire-and-forget writes may take 1024 of them (its own cap,
/// `nodedb::handle::QUEUE_LEN`: several seconds of discovery's writes if the disk stalls), and
/// 64 more are left for awaited requests (the chain store's former queue length: reads are
/// answered in microseconds, a block batch takes longer and its sender then waits).
pub const QUEUE_LEN: usize = 1024 + 64;

/// Jobs run between two ends of batch: 256, so a burst of node-database writes becomes one
/// hand-off to the OS per batch rather than one per write, while a kill loses at most one
/// batch of applied writes.
pub const BATCH_MAX: usize = 256;

/// A front-end's state on the storage thread.
pub trait Part: Any + Send {
    /// When [`Part::on_timer`] should run next, if ever.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// Runs the part's timed work; called once its deadline has passed.
    fn on_timer(&mut self, _now: Instant) {}

    /// Called after every batch of up to [`BATCH_MAX`] jobs.
    fn end_batch(&mut self) {}
}

/// A job: runs on the storage thread with the attached parts.
type Job = Box<dyn FnOnce(&mut Parts) + Send>;

/// The parts attached to the thread, by slot.
struct Parts(Vec<Option<Box<dyn Part>>>);

impl Parts {
    fn get<P: Part>(&mut self, slot: usize) -> Option<&mut P> {
        let part: &mut dyn Part = self.0.get_mut(slot)?.as_deref_mut()?;
        (part as &mut dyn Any).downcast_mut::<P>()
    }

    fn live(&mut self) -> impl Iterator<Item = &mut Box<dyn Part>> {
        self.0.iter_mut().flatten()
    }
}

/// The storage thread of one database; shared by its clients, joined when the last one goes.
pub struct Worker {
    tx: Sender<Job>,
    /// Taken and joined when the last client drops the worker (`Drop` has `&mut self`, so no
    /// lock is needed).
    thread: Option<JoinHandle<()>>,
    next_slot: std::sync::atomic::AtomicUsize,
    db: Db,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("db", &self.db).finish()
    }
}

impl Worker {
    /// Starts the storage thread of `db`. The node starts one, at start-up, and hands it to
    /// both stores' handles; a program that opens one store alone starts its own.
    pub fn spawn(db: &Db) -> std::io::Result<Arc<Worker>> {
        let (tx, rx) = async_channel::bounded(QUEUE_LEN);
        let thread_db = db.clone();
        let thread = std::thread::Builder::new()
            .name("storage".into())
            .spawn(move || run(&thread_db, &rx))?;
        Ok(Arc::new(Worker {
            tx,
            thread: Some(thread),
            next_slot: std::sync::atomic::AtomicUsize::new(0),
            db: db.clone(),
        }))
    }

    /// Moves `part` onto the thread and returns the client that sends it jobs. Waits for queue
    /// space: for start-up. `None` if the thread has stopped.
    pub fn attach<P: Part>(self: &Arc<Self>, part: P) -> Option<Client<P>> {
        let slot = self
            .next_slot
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let job: Job = Box::new(move |parts: &mut Parts| {
            if parts.0.len() <= slot {
                parts.0.resize_with(slot + 1, || None);
            }
            parts.0[slot] = Some(Box::new(part));
        });
        self.tx.send_blocking(job).ok()?;
        Some(Client {
            worker: Arc::clone(self),
            slot,
            _part: PhantomData,
        })
    }

    /// The database this thread serves.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Queued jobs still run; then the thread syncs the database and ends.
        self.tx.close();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error("Storage thread panicked", &[]);
        }
    }
}

/// A front-end's way to its part on the storage thread. Dropping it detaches the part (after
/// every job queued before); dropping the last client of a worker stops and joins the thread.
pub struct Client<P: Part> {
    worker: Arc<Worker>,
    slot: usize,
    _part: PhantomData<fn() -> P>,
}

impl<P: Part> std::fmt::Debug for Client<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("slot", &self.slot).finish()
    }
}

impl<P: Part> Client<P> {
    fn job(&self, f: impl FnOnce(&mut P) + Send + 'static) -> Job {
        let slot = self.slot;
        Box::new(move |parts: &mut Parts| {
            if let Some(part) = parts.get::<P>(slot) {
                f(part);
            }
        })
    }

    /// Queues `f` without waiting; false if the queue is full or the thread has stopped.
    pub fn try_run(&self, f: impl FnOnce(&mut P) + Send + 'static) -> bool {
        self.worker.tx.try_send(self.job(f)).is_ok()
    }

    /// Queues `f`, waiting for queue space; false if the thread has stopped.
    pub async fn run(&self, f: impl FnOnce(&mut P) + Send + 'static) -> bool {
        self.worker.tx.send(self.job(f)).await.is_ok()
    }

    /// Queues `f`, blocking for queue space (for shutdown); false if the thread has stopped.
    pub fn run_blocking(&self, f: impl FnOnce(&mut P) + Send + 'static) -> bool {
        self.worker.tx.send_blocking(self.job(f)).is_ok()
    }

    /// The storage thread this client sends to.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }
}

impl<P: Part> Drop for Client<P> {
    fn drop(&mut self) {
        let slot = self.slot;
        let detach: Job = Box::new(move |parts: &mut Parts| {
            if let Some(entry) = parts.0.get_mut(slot)
                && let Some(mut part) = entry.take()
            {
                part.end_batch();
            }
        });
        // A stopped thread has dropped the part already.
        let _ = self.worker.tx.send_blocking(detach);
    }
}

/// The storage thread: runs jobs in batches, ends batches, fires timers, until the queue closes.
fn run(db: &Db, rx: &Receiver<Job>) {
    let mut parts = Parts(Vec::new());
    loop {
        let deadline = parts.live().filter_map(|p| p.deadline()).min();
        let mut next = match wait(rx, deadline) {
            Wake::Job(job) => Some(job),
            Wake::Closed => break,
            Wake::Timer => None,
        };
        let mut count = 0;
        while let Some(job) = next.take() {
            job(&mut parts);
            count += 1;
            if count < BATCH_MAX {
                next = rx.try_recv().ok();
            }
        }
        for part in parts.live() {
            part.end_batch();
        }
        let now = Instant::now();
        for part in parts.live() {
            if part.deadline().is_some_and(|d| d <= now) {
                part.on_timer(now);
            }
        }
    }
    for part in parts.live() {
        part.end_batch();
    }
    drop(parts);
    if let Err(e) = db.persist(PersistMode::SyncAll) {
        log::error("Database close failed", &[("err", &e)]);
    }
}

/// What the storage thread woke up for.
enum Wake {
    Job(Job),
    /// The queue is closed and empty.
    Closed,
    /// A part's deadline passed.
    Timer,
}

/// Waits for the next job, the queue's end, or `deadline`.
fn wait(rx: &Receiver<Job>, deadline: Option<Instant>) -> Wake {
    let job = async {
        match rx.recv().await {
            Ok(job) => Wake::Job(job),
            Err(_) => Wake::Closed,
        }
    };
    let Some(deadline) = deadline else {
        return async_io::block_on(job);
    };
    let timer = async {
        async_io::Timer::at(deadline).await;
        Wake::Timer
    };
    async_io::block_on(futures_lite::future::or(job, timer))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its jobs.
    struct Counter {
        jobs: usize,
    }

    impl Part for Counter {}

    #[test]
    fn jobs_run_in_order_across_clients_and_the_last_client_joins() {
        let d = std::env::temp_dir().join(format!("ethpeer-worker-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let db = Db::open_path(&d).unwrap();
        let worker = Worker::spawn(&db).unwrap();
        let a = worker.attach(Counter { jobs: 0 }).unwrap();
        let b = worker.attach(Counter { jobs: 0 }).unwrap();
        drop(worker);
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..10 {
            let t = tx.clone();
            assert!(a.try_run(move |p| {
                p.jobs += 1;
                t.send(('a', i)).unwrap();
            }));
            let t = tx.clone();
            assert!(futures_lite::future::block_on(b.run(move |p| {
                p.jobs += 1;
                t.send(('b', i)).unwrap();
            })));
        }
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        assert!(a.run_blocking(move |p| done_tx.send(p.jobs).unwrap()));
        assert_eq!(done_rx.recv().unwrap(), 10);
        drop(tx);
        let order: Vec<(char, i32)> = rx.iter().collect();
        let want: Vec<(char, i32)> = (0..10).flat_map(|i| [('a', i), ('b', i)]).collect();
        assert_eq!(order, want);
        drop((a, b));
        // Every client gone: the thread was joined and the database closed with it (fjall's
        // directory lock would refuse a second instance were it still open).
        drop(db);
        assert!(Db::open_path(&d).is_ok());
        let _ = std::fs::remove_dir_all(&d);
    }
}
