//! Allocation bounds (issue 15): a counting global allocator proves that each decoder of bytes a
//! peer or a file controls — every fuzz target's body in `fuzz/src/targets.rs`, which decodes and
//! where it can re-encodes — never holds more than a small multiple of its input's size plus a
//! constant at any moment, on its seeds, on seeded mutations of them and on inputs built to lie
//! about their lengths (snappy and RLP headers announcing megabytes).
//!
//! The bound is `ALLOC_FACTOR × N + ALLOC_CONSTANT` bytes live at the peak, N the input's length.
//! The constant covers fixed-size state (a discovery table, key material, a JSON parser's stack);
//! the factor covers copies and re-encodings. A decoder that allocates what an input *announces*
//! rather than what it *carries* breaks the bound at once (a 5-byte snappy payload announcing
//! 16 MiB was such a case, seen here before the fix).
//!
//! A stateful target (a machine fed a script) holds what the script told it, bounded by the
//! script's fixed sets of peers and hashes rather than by its length: `STATEFUL_ALLOWANCE` names
//! that bound per target.
//!
//! One test in this binary: the counter is global, so nothing may run beside it.

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;

#[path = "../fuzz/src/seeds.rs"]
#[allow(dead_code)]
mod seeds;

#[path = "../fuzz/src/mutate.rs"]
mod mutate;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Live bytes may reach this many times the input's length ...
const ALLOC_FACTOR: usize = 32;
/// ... plus this much.
const ALLOC_CONSTANT: usize = 64 << 10;

/// Stateful targets, whose machine keeps what the script tells it (each announced hash is held
/// per announcing peer until fetched or given up: about 130 bytes for each peer-hash pair, where
/// the script spends 2 bytes on it, so no per-byte factor fits): their state is bounded by the
/// script's fixed sets of peers and hashes instead, and this is the most it may reach on top of
/// the bound above. `tx_fetcher`: 6 peers × 512 hashes, every pair announced peaks at about
/// 800 KB (its last seed); a leak that grows with the script's length still breaks it.
/// `discv5_network`: three whole discovery machines (records, tables, sessions, rate limits)
/// and up to 32 datagrams of ≤ 1280 bytes in flight, about 67 KB at the peak measured, right at
/// the decoders' constant; 256 KiB leaves room for sessions and tables filling.
/// `syncer`: the syncer and its downloader hold what the target's small windows let in (6 blocks
/// fetched or being written, 16 headers, up to 18 requests in flight, up to `LATE_IDS_MAX` =
/// 1024 timed-out ids, 16 bytes each), with the fixture blocks read once outside the
/// measurement; about 50 KB at the peak measured, near the decoders' constant; 128 KiB leaves
/// room for the late ids filling.
const STATEFUL_ALLOWANCE: &[(&str, usize)] = &[
    ("tx_fetcher", 1 << 20),
    ("discv5_network", 256 << 10),
    ("syncer", 128 << 10),
];

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
            PEAK.fetch_max(live, Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The most bytes live at once while `f` runs, above what was live before it.
fn peak_during(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    f();
    PEAK.load(Relaxed).saturating_sub(base)
}

/// Inputs that announce far more than they carry, whatever the target.
fn liars() -> Vec<Vec<u8>> {
    vec![
        // snappy: 2^24 - 1 announced by four bytes, one byte of data
        vec![0xff, 0xff, 0xff, 0x07, 0x00],
        // snappy: 10 MiB announced, a literal and a copy
        vec![0x80, 0x80, 0x80, 0x05, 0x00, 0x61, 0x05, 0x01],
        // RLP: a string and a list announcing 4 GiB
        vec![0xbb, 0xff, 0xff, 0xff, 0xff, 0x00],
        vec![0xfb, 0xff, 0xff, 0xff, 0xff, 0xc0],
        // RLP: a list announcing 16 MiB after an id byte
        vec![0x10, 0xfa, 0xff, 0xff, 0xff, 0xc0],
        // an EIP-8 prefix announcing 65535 bytes
        vec![0xff, 0xff, 0x00, 0x00],
        // a frame header (junk: the MAC fails first)
        vec![0xff; 32],
    ]
}

#[test]
fn every_decoder_allocates_at_most_a_multiple_of_its_input() {
    let fixtures = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"));
    let runs: usize = std::env::var("ALLOC_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let mut breaches = Vec::new();
    for &(name, body) in targets::TARGETS {
        let corpus = seeds::seeds(fixtures, name);
        // Warm up once-only state (pre-signed packets, keys) outside the measurement.
        body(&corpus[0]);
        let mut rng = mutate::Rng::new(mutate::hash(name.as_bytes()) ^ 0xa110c);
        let mut inputs: Vec<Vec<u8>> = corpus.clone();
        inputs.extend(liars());
        for liar in liars() {
            for seed in corpus.iter().take(4) {
                inputs.push([&liar[..], seed].concat());
                inputs.push([seed, &liar[..]].concat());
            }
        }
        inputs.extend((0..runs).map(|_| mutate::mutate(&mut rng, &corpus)));
        let (mut worst_ratio, mut worst_peak) = (0.0f64, 0);
        for input in &inputs {
            let n = input.len();
            let peak = peak_during(|| body(input));
            let stateful = STATEFUL_ALLOWANCE
                .iter()
                .find(|s| s.0 == name)
                .map_or(0, |s| s.1);
            let bound = ALLOC_FACTOR * n + ALLOC_CONSTANT + stateful;
            if peak > bound {
                breaches.push(format!(
                    "{name}: {peak} bytes live for a {n}-byte input (bound {bound}): 0x{}",
                    ethpeer::crypto::hex(&input[..n.min(64)])
                ));
            }
            if peak > worst_peak {
                worst_peak = peak;
            }
            let ratio = peak as f64 / n.max(1) as f64;
            if n >= 256 && ratio > worst_ratio {
                worst_ratio = ratio;
            }
        }
        println!(
            "{name}: {} inputs, peak {worst_peak} B live, worst {worst_ratio:.1} B per input byte (inputs >= 256 B)",
            inputs.len()
        );
    }
    assert!(
        breaches.is_empty(),
        "allocation bound broken:\n{}",
        breaches.join("\n")
    );
}
