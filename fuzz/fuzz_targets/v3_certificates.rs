//! Fuzz target `v3_certificates`: the invariants live in `wxmedia_proto::fuzzing::v3_certificates_invariants`, shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxmedia_proto::fuzzing::v3_certificates_invariants(data));
