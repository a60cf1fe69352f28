#![no_main]
//! cargo-fuzz target `nodedb_value`: the body is `ethpeer_fuzz::targets::nodedb_value`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::nodedb_value(data));
