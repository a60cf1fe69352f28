#![no_main]
//! cargo-fuzz target `enr_text`: the body is `ethpeer_fuzz::targets::enr_text`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::enr_text(data));
