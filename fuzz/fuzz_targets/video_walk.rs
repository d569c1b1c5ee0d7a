//! Fuzz target `video_walk`: the invariants live in `wxmedia_proto::fuzzing::video_walk`, shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxmedia_proto::fuzzing::video_walk(data));
