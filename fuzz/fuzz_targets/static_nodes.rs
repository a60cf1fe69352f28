#![no_main]
//! cargo-fuzz target `static_nodes`: the body is `ethpeer_fuzz::targets::static_nodes`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::static_nodes(data));
