//! libFuzzer entry for `ae_fuzz::docs_scoring_weights`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::docs_scoring_weights(data));
