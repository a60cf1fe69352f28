#![no_main]
//! cargo-fuzz target `discv5_message`: the body is `ethpeer_fuzz::targets::discv5_message`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::discv5_message(data));
