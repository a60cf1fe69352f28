#![no_main]
//! cargo-fuzz target `snappy`: the body is `ethpeer_fuzz::targets::snappy`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::snappy(data));
