//! The Entra token endpoint's answer, as a success and as an error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| identity_core::fuzzing::entra_response(data));
