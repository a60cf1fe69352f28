#![no_main]
//! cargo-fuzz target `transactions`: the body is `ethpeer_fuzz::targets::transactions`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::transactions(data));
