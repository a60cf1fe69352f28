//! The fuzz smoke (issue 15): every cargo-fuzz target's body (`fuzz/src/targets.rs`) run without
//! libFuzzer on its seed corpus (`fuzz/src/seeds.rs`, from fixtures/) plus a bounded number of
//! seeded random mutations of it. A panic in any body fails the test and prints the target, the
//! seed and the input in hex, to be replayed with `cargo fuzz run <target> <file>` and kept as a
//! regression test in `tests/fuzz_regressions.rs`.
//!
//! Knobs: `FUZZ_SMOKE_RUNS` (mutations per target, default 200), `FUZZ_SMOKE_SEED` (default 1),
//! `FUZZ_WRITE_CORPUS=<dir>` (write each target's seeds to `<dir>/<target>/`, for `make fuzz`).

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;

#[path = "../fuzz/src/seeds.rs"]
#[allow(dead_code)]
mod seeds;

#[path = "../fuzz/src/mutate.rs"]
mod mutate;

use std::path::Path;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_target_survives_its_seeds_and_their_mutations() {
    let runs = env_u64("FUZZ_SMOKE_RUNS", 200);
    let seed = env_u64("FUZZ_SMOKE_SEED", 1);
    let write = std::env::var_os("FUZZ_WRITE_CORPUS");
    let mut failures = Vec::new();
    for &(name, body) in targets::TARGETS {
        let corpus = seeds::seeds(fixtures(), name);
        assert!(!corpus.is_empty(), "{name}: no seeds");
        if let Some(dir) = &write {
            let dir = Path::new(dir).join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for (i, s) in corpus.iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{i:04}")), s).unwrap();
            }
        }
        let mut rng = mutate::Rng::new(seed ^ mutate::hash(name.as_bytes()));
        let inputs = corpus
            .iter()
            .cloned()
            .chain((0..runs).map(|_| mutate::mutate(&mut rng, &corpus)));
        let mut count = 0;
        for input in inputs {
            count += 1;
            if std::panic::catch_unwind(|| body(&input)).is_err() {
                failures.push(format!(
                    "{name} (FUZZ_SMOKE_SEED={seed}): input 0x{}",
                    ethpeer::crypto::hex(&input)
                ));
                break;
            }
        }
        println!("{name}: {} seeds, {count} inputs", corpus.len());
    }
    assert!(
        failures.is_empty(),
        "targets panicked:\n{}",
        failures.join("\n")
    );
}

/// The smoke can fail: a body that panics on some input is caught and named.
#[test]
fn a_panicking_body_is_caught() {
    let corpus = vec![vec![1u8, 2, 3]];
    let mut rng = mutate::Rng::new(5);
    let caught = (0..200).any(|_| {
        let input = mutate::mutate(&mut rng, &corpus);
        std::panic::catch_unwind(|| assert!(input.len() < 5)).is_err()
    });
    assert!(caught, "mutations never grew an input past 4 bytes");
}

/// The syncer target's seeds are worth mutating: the honest ones sync the whole fixture span
/// (blocks 12 to 35) through the checks, so mutations start from complete runs.
#[test]
fn syncer_seeds_reach_the_chain_head() {
    let corpus = seeds::seeds(fixtures(), "syncer");
    let heads: Vec<u64> = corpus.iter().map(|s| targets::syncer_script(s)).collect();
    println!("syncer seeds end at {heads:?}");
    let complete = heads.iter().filter(|&&h| h == 35).count();
    assert!(
        complete >= 5,
        "{complete} seeds sync to block 35: {heads:?}"
    );
}
