//! Replays the committed fuzz corpora and minimized crash inputs on stable, as ordinary tests.

use std::path::{Path, PathBuf};

/// The workspace's `fuzz/` directory, where `cargo xtask fuzz` keeps them.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn multipart_roundtrip_inputs_hold_the_invariants() {
    wxmedia_sim::fuzzing::replay_committed(
        &fuzz_dir(),
        "multipart_roundtrip",
        wxmedia_sim::fuzzing::multipart_roundtrip,
    );
}

#[test]
fn sim_handle_inputs_hold_the_invariants() {
    wxmedia_sim::fuzzing::replay_committed(
        &fuzz_dir(),
        "sim_handle",
        wxmedia_sim::fuzzing::sim_handle,
    );
}

#[test]
fn sim_v3_handle_inputs_hold_the_invariants() {
    wxmedia_sim::fuzzing::replay_committed(
        &fuzz_dir(),
        "sim_v3_handle",
        wxmedia_sim::fuzzing::sim_v3_handle,
    );
}
