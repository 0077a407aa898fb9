//! libFuzzer entry for `ae_fuzz::docs_predictor_params`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::docs_predictor_params(data));
