#![no_main]
//! cargo-fuzz target `p2p_messages`: the body is `ethpeer_fuzz::targets::p2p_messages`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::p2p_messages(data));
