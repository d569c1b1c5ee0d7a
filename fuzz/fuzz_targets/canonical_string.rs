//! Fuzz target `canonical_string`: the invariants live in `wxmedia_proto::fuzzing::canonical_string`, shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxmedia_proto::fuzzing::canonical_string(data));
