//! What az account get-access-token prints, and its exit status.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| identity_azure_cli::fuzzing::output(data));
