#![no_main]
//! cargo-fuzz target `discv5_network`: the body is `ethpeer_fuzz::targets::discv5_network`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::discv5_network(data));
