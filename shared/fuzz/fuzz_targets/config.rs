//! libFuzzer entry for `ae_fuzz::config`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::config(data));
