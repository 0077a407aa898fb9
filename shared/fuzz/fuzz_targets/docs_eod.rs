//! libFuzzer entry for `ae_fuzz::docs_eod`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::docs_eod(data));
