#![no_main]
//! cargo-fuzz target `rlpx_frame_ingress`: the body is `ethpeer_fuzz::targets::rlpx_frame_ingress`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::rlpx_frame_ingress(data));
