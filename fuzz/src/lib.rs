//! The fuzz crate's shared code: the target bodies (plain functions, also run by the main
//! crate's `tests/fuzz_smoke.rs` without libFuzzer), their seed corpora and the smoke's mutator.

pub mod mutate;
pub mod seeds;
pub mod targets;
