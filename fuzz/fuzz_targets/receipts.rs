#![no_main]
//! cargo-fuzz target `receipts`: the body is `ethpeer_fuzz::targets::receipts`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::receipts(data));
