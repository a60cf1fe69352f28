#![no_main]
//! cargo-fuzz target `syncer`: the body is `ethpeer_fuzz::targets::syncer`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::syncer(data));
