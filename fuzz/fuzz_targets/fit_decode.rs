//! Fuzz target `fit_decode`: `wxmedia_fit::fit` on arbitrary bytes under tight limits never panics, and what it returns fits and decodes (checks in `wxmedia_fit::fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wxmedia_fit::fuzzing::fit_decode(data);
});
