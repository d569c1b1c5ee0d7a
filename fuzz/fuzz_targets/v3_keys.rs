//! Fuzz target `v3_keys`: the invariants live in `wxmedia_proto::fuzzing::v3_keys`, shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxmedia_proto::fuzzing::v3_keys(data));
