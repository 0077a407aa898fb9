//! libFuzzer entry for `ae_fuzz::llm_extract`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::llm_extract(data));
