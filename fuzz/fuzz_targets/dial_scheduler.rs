#![no_main]
//! cargo-fuzz target `dial_scheduler`: the body is `ethpeer_fuzz::targets::dial_scheduler`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::dial_scheduler(data));
