#![no_main]
//! cargo-fuzz target `enode_text`: the body is `ethpeer_fuzz::targets::enode_text`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::enode_text(data));
