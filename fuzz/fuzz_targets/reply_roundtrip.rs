//! Fuzz target `reply_roundtrip`: the invariants live in `wxmedia_proto::fuzzing::reply_roundtrip`, shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxmedia_proto::fuzzing::reply_roundtrip(data));
