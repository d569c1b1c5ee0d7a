//! Replays the committed fuzz corpora and minimized crash inputs on stable, as ordinary tests.

use std::path::Path;

use wxmedia_proto::fuzzing;

/// Replay the committed inputs of `target` (in the workspace's `fuzz/`,
/// where `cargo xtask fuzz` keeps them) with the simulator's harness,
/// which does the file reading this crate may not.
fn replay(target: &str, check: fn(&[u8])) {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    wxmedia_sim::fuzzing::replay_committed(&fuzz_dir, target, check);
}

#[test]
fn decode_reply_inputs_hold_the_invariants() {
    replay("decode_reply", fuzzing::decode_reply_invariants);
}

#[test]
fn reply_roundtrip_inputs_hold_the_invariants() {
    replay("reply_roundtrip", fuzzing::reply_roundtrip);
}

#[test]
fn canonical_string_inputs_hold_the_invariants() {
    replay("canonical_string", fuzzing::canonical_string);
}

#[test]
fn v3_reply_inputs_hold_the_invariants() {
    replay("v3_reply", fuzzing::v3_reply_invariants);
}

#[test]
fn v3_authorization_inputs_hold_the_invariants() {
    replay("v3_authorization", fuzzing::v3_authorization);
}

#[test]
fn v3_certificates_inputs_hold_the_invariants() {
    replay("v3_certificates", fuzzing::v3_certificates_invariants);
}

#[test]
fn v3_certificates_plain_inputs_hold_the_invariants() {
    replay("v3_certificates_plain", fuzzing::v3_certificates_plain);
}

#[test]
fn v3_keys_inputs_hold_the_invariants() {
    replay("v3_keys", fuzzing::v3_keys);
}

#[test]
fn video_walk_inputs_hold_the_invariants() {
    replay("video_walk", fuzzing::video_walk);
}
