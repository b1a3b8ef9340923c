//! A managed identity endpoint's answer, as a success and as an error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| identity_msi::fuzzing::response(data));
