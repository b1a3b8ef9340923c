//! What azd auth token prints, and its exit status.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| identity_azd::fuzzing::output(data));
