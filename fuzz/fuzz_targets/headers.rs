#![no_main]
//! cargo-fuzz target `headers`: the body is `ethpeer_fuzz::targets::headers`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::headers(data));
