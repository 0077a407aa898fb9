//! libFuzzer entry for `ae_fuzz::docs_kill_switch`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::docs_kill_switch(data));
