#![no_main]
//! cargo-fuzz target `discv4_packet`: the body is `ethpeer_fuzz::targets::discv4_packet`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::discv4_packet(data));
