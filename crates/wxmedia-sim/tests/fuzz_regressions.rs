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
fn multipart_roundtrip_inputs_hold_the_invariants() {
    replay(
        "multipart_roundtrip",
        wxmedia_sim::fuzzing::multipart_roundtrip,
    );
}

#[test]
fn sim_handle_inputs_hold_the_invariants() {
    replay("sim_handle", wxmedia_sim::fuzzing::sim_handle);
}
