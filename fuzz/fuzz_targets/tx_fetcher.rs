#![no_main]
//! cargo-fuzz target `tx_fetcher`: the body is `ethpeer_fuzz::targets::tx_fetcher`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::tx_fetcher(data));
