#![no_main]
//! cargo-fuzz target `rlpx_auth_ack_plain`: the body is `ethpeer_fuzz::targets::rlpx_auth_ack_plain`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::rlpx_auth_ack_plain(data));
