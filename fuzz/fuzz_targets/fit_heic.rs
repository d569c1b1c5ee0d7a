//! Fuzz target `fit_heic`: `wxmedia_fit::fit` on mutated HEIC files (its own corpus and box dictionary, so the mutations reach the container, the HEVC decoder and the VUI reader) holds the `fit_decode` invariants under the same tight limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wxmedia_fit::fuzzing::fit_decode(data);
});
