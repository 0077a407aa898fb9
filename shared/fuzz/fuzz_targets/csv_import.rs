//! libFuzzer entry for `ae_fuzz::csv_import`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::csv_import(data));
