//! Azure Arc's challenge: whatever it names, only the token directory's key is read.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| identity_msi::fuzzing::arc_challenge(data));
