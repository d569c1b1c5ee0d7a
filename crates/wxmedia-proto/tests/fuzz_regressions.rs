//! Replays the committed fuzz corpora and minimized crash inputs on stable, as ordinary tests.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_file() && path.file_name().is_some_and(|n| n != ".gitkeep") {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn replay(target: &str, f: fn(&[u8])) {
    let all = inputs(target);
    assert!(!all.is_empty(), "no committed inputs for {target}");
    for (path, data) in all {
        let result = std::panic::catch_unwind(|| f(&data));
        assert!(
            result.is_ok(),
            "{target}: {} breaks an invariant",
            path.display()
        );
    }
}

#[test]
fn decode_reply_inputs_hold_the_invariants() {
    replay(
        "decode_reply",
        wxmedia_proto::fuzzing::decode_reply_invariants,
    );
}

#[test]
fn reply_roundtrip_inputs_hold_the_invariants() {
    replay("reply_roundtrip", wxmedia_proto::fuzzing::reply_roundtrip);
}

#[test]
fn canonical_string_inputs_hold_the_invariants() {
    replay("canonical_string", wxmedia_proto::fuzzing::canonical_string);
}

#[test]
fn v3_reply_inputs_hold_the_invariants() {
    replay("v3_reply", wxmedia_proto::fuzzing::v3_reply_invariants);
}

#[test]
fn v3_authorization_inputs_hold_the_invariants() {
    replay("v3_authorization", wxmedia_proto::fuzzing::v3_authorization);
}

#[test]
fn v3_certificates_inputs_hold_the_invariants() {
    replay(
        "v3_certificates",
        wxmedia_proto::fuzzing::v3_certificates_invariants,
    );
}
