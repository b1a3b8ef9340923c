//! Certificate files: PEM or PKCS#12, with or without a password.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| identity_client_certificate::fuzzing::certificate(data));
