//! A resource's WWW-Authenticate claims challenge.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| identity_core::fuzzing::challenge(data));
