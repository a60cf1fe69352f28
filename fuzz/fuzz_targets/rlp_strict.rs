#![no_main]
//! cargo-fuzz target `rlp_strict`: the body is `ethpeer_fuzz::targets::rlp_strict`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::rlp_strict(data));
