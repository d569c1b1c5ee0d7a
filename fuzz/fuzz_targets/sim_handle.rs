//! Fuzz target `sim_handle`: the invariants live in `wxmedia_sim::fuzzing::sim_handle`, shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxmedia_sim::fuzzing::sim_handle(data));
