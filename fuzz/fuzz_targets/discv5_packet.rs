#![no_main]
//! cargo-fuzz target `discv5_packet`: the body is `ethpeer_fuzz::targets::discv5_packet`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::discv5_packet(data));
