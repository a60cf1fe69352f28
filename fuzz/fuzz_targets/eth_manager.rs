#![no_main]
//! cargo-fuzz target `eth_manager`: the body is `ethpeer_fuzz::targets::eth_manager`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::eth_manager(data));
