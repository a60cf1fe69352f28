//! The timing helper and the seeded generator the benchmark groups share.
//!
//! Each figure is printed beside a floor or a peer measured in the same run, so the helper times
//! several operations together and interleaves their rounds: a burst of load from another process
//! on this shared machine then slows the figure and its floor alike instead of skewing the ratio.
//!
//! Within a round the clock is read after every batch of a few milliseconds, and an operation's
//! rate is that of its fastest batch. Noise on a shared machine only ever slows work down
//! (preemption, another process's cache traffic), and on a loaded 2-core machine a whole round is
//! rarely free of it while a batch this short often is.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long one operation runs before the next one takes its turn: short, so that the operations
/// compared in one line see the same spells of load.
pub const ROUND: Duration = Duration::from_millis(100);

/// How many rounds each operation gets: 25 rounds of 0.1 s spend 2.5 s on each operation.
pub const ROUNDS: usize = 25;

/// How long the warm-up runs; it also sizes the batches between clock reads.
const WARM_UP: Duration = Duration::from_millis(150);

/// How long one batch between two clock reads should take: long enough that reading the clock
/// costs nothing, short enough to fit between two preemptions of a busy scheduler.
pub const BATCH: Duration = Duration::from_millis(2);

/// One operation to time: a name for failure messages and a closure doing the operation once.
pub struct Op<'a> {
    name: &'static str,
    run: Box<dyn FnMut() + 'a>,
    batch: u64,
    best: f64,
}

impl<'a> Op<'a> {
    /// Wraps a closure that performs the operation once.
    pub fn new(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Op {
            name,
            run: Box::new(run),
            batch: 1,
            best: 0.0,
        }
    }
}

/// The environment variable that asks for a smoke run (`make test` sets it).
pub const SMOKE_ENV: &str = "ETHPEER_BENCH_SMOKE";

/// Whether this is a smoke run: every group's correctness checks run once and each operation is
/// timed once, so the figures printed are not judged and mean nothing; what counts is that the
/// program ends without a failed check. Set by `ETHPEER_BENCH_SMOKE` to anything but "" or "0".
pub fn smoke() -> bool {
    std::env::var(SMOKE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A group could not produce its figure: printed in a full run, a failure in a smoke run (whose
/// whole point is that every group's checks pass).
pub fn no_figure(why: &str) {
    println!("{why}");
    assert!(!smoke(), "smoke run: {why}");
}

/// Times every operation for [`ROUNDS`] interleaved rounds of [`ROUND`] each and returns the rate
/// of each one's fastest batch, in operations per second, in the order given. In a smoke run each
/// operation runs once, timed alone.
pub fn rates(mut ops: Vec<Op<'_>>) -> Vec<f64> {
    if smoke() {
        return ops
            .iter_mut()
            .map(|op| {
                let start = Instant::now();
                (op.run)();
                1.0 / start.elapsed().as_secs_f64().max(1e-9)
            })
            .collect();
    }
    for op in &mut ops {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < WARM_UP {
            (op.run)();
            n += 1;
        }
        let per_op = start.elapsed().as_secs_f64() / n as f64;
        op.batch = ((BATCH.as_secs_f64() / per_op) as u64).max(1);
    }
    for _ in 0..ROUNDS {
        for op in &mut ops {
            let round = Instant::now();
            while round.elapsed() < ROUND {
                let batch = Instant::now();
                for _ in 0..op.batch {
                    (op.run)();
                }
                let rate = op.batch as f64 / batch.elapsed().as_secs_f64();
                assert!(rate.is_finite(), "{}: batch too short to time", op.name);
                op.best = op.best.max(rate);
            }
        }
    }
    ops.iter().map(|op| op.best).collect()
}

/// Keeps a value alive so the optimiser cannot drop the work that produced it.
pub fn keep<T>(value: T) {
    black_box(value);
}

/// A small seeded generator (SplitMix64) for nonces, keys and padding: the benchmark measures the
/// protocol, not the operating system's entropy source, and every run sees the same inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Fills `buf` eight bytes at a time.
    pub fn fill(&mut self, buf: &mut [u8]) {
        ethpeer::rng::fill(&mut self.0, buf);
    }
}
