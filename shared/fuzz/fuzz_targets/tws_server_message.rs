//! libFuzzer entry for `ae_fuzz::tws_server_message`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::tws_server_message(data));
