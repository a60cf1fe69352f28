#![no_main]
//! cargo-fuzz target `genesis_json`: the body is `ethpeer_fuzz::targets::genesis_json`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::genesis_json(data));
