#![no_main]
//! cargo-fuzz target `tx_journal`: the body is `ethpeer_fuzz::targets::tx_journal`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::tx_journal(data));
