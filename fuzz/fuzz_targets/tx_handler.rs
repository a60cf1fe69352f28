#![no_main]
//! cargo-fuzz target `tx_handler`: the body is `ethpeer_fuzz::targets::tx_handler`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::tx_handler(data));
