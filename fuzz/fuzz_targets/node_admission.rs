#![no_main]
//! cargo-fuzz target `node_admission`: the body is `ethpeer_fuzz::targets::node_admission`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::node_admission(data));
