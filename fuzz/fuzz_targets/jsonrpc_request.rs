#![no_main]
//! cargo-fuzz target `jsonrpc_request`: the body is `ethpeer_fuzz::targets::jsonrpc_request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::jsonrpc_request(data));
