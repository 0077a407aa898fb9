//! libFuzzer entry for `ae_fuzz::docs_executor_params`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::docs_executor_params(data));
