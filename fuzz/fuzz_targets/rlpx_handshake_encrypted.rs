#![no_main]
//! cargo-fuzz target `rlpx_handshake_encrypted`: the body is `ethpeer_fuzz::targets::rlpx_handshake_encrypted`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::rlpx_handshake_encrypted(data));
