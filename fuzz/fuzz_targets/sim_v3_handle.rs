//! Fuzz target `sim_v3_handle`: the invariants live in `wxmedia_sim::fuzzing::sim_v3_handle`, shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxmedia_sim::fuzzing::sim_v3_handle(data));
