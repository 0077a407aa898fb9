//! libFuzzer entry for `ae_fuzz::tws_request`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::tws_request(data));
