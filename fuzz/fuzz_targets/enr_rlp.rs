#![no_main]
//! cargo-fuzz target `enr_rlp`: the body is `ethpeer_fuzz::targets::enr_rlp`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::enr_rlp(data));
