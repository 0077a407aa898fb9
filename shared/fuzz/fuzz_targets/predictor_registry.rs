//! libFuzzer entry for `ae_fuzz::predictor_registry`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::predictor_registry(data));
