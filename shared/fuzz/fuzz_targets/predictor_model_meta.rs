//! libFuzzer entry for `ae_fuzz::predictor_model_meta`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::predictor_model_meta(data));
