//! `make bench`: the benchmark program (a program, not timed tests). Every figure is printed
//! beside a floor or a peer measured in the same run, as a ratio, so the numbers mean the same on
//! a laptop, a CI runner or this shared machine.
//!
//! Each figure group is a module with a `run` function that prints its lines; adding a group is
//! one module and one row in [`GROUPS`]. Arguments select groups by name
//! (`cargo bench --bench wire -- frame`); none runs them all.

mod discv4;
mod discv5;
mod frame;
mod handshake;
mod node;
mod pool;
mod rpc;
mod serve;
mod sync;
mod timing;
mod tx;

/// The figure groups, in the order they print.
const GROUPS: &[(&str, fn())] = &[
    ("handshake", handshake::run),
    ("frame", frame::run),
    ("node", node::run),
    ("discv4", discv4::run),
    ("discv5", discv5::run),
    ("pool", pool::run),
    ("serve", serve::run),
    ("rpc", rpc::run),
    ("sync", sync::run),
    ("tx", tx::run),
];

/// Every node a group starts is on loopback with `--bootnodes ""` (and `--nodiscover` where
/// discovery is not what is measured), so no run reaches a public address (see `node.rs`,
/// `rpc.rs`, `sync.rs`).
fn main() {
    // cargo passes `--bench` to harness-less benches; flags are not group names.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!("{}", header());
    if timing::smoke() {
        println!(
            "SMOKE RUN ({}): every correctness check runs once and each operation is timed once; \
             the figures below are not judged and mean nothing",
            timing::SMOKE_ENV
        );
    }
    for (name, run) in GROUPS {
        if wanted.is_empty() || wanted.iter().any(|w| name.contains(w.as_str())) {
            run();
        }
    }
}

/// The build this run measures: numbers from a debug build, or from another opt-level, are not
/// comparable, so the header says which it is.
fn header() -> String {
    let profile = if cfg!(debug_assertions) {
        "debug assertions ON (not an optimised build: figures are meaningless)"
    } else {
        "bench (inherits release)"
    };
    format!(
        "ethpeer wire bench: profile {profile} (opt-level from Cargo.toml), {} on {}, best {} ms batch of {} interleaved rounds of {:.1} s",
        std::env::consts::ARCH,
        cpu_name(),
        timing::BATCH.as_millis(),
        timing::ROUNDS,
        timing::ROUND.as_secs_f64(),
    )
}

/// The CPU model from /proc/cpuinfo where there is one, for reading results side by side.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".to_string())
}
