//! libFuzzer entry for `ae_fuzz::parquet_chunk`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ae_fuzz::parquet_chunk(data));
