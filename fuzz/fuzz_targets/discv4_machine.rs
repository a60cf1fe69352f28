#![no_main]
//! cargo-fuzz target `discv4_machine`: the body is `ethpeer_fuzz::targets::discv4_machine`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::discv4_machine(data));
