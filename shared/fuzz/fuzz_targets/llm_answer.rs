//! libFuzzer entry for `ae_fuzz::llm_answer`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::llm_answer(data));
