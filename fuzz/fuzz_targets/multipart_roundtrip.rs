//! Fuzz target `multipart_roundtrip`: the invariants live in `wxmedia_sim::fuzzing::multipart_roundtrip`, shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxmedia_sim::fuzzing::multipart_roundtrip(data));
