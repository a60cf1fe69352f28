#![no_main]
//! cargo-fuzz target `import_stream`: the body is `ethpeer_fuzz::targets::import_stream`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ethpeer_fuzz::targets::import_stream(data));
