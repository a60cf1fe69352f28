#![no_main]
//! cargo-fuzz target `eth_messages`: the body is `ethpeer_fuzz::targets::eth_messages`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::eth_messages(data));
