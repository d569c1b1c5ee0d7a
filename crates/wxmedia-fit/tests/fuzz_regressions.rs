//! Replays the committed `fit_decode` and `fit_heic` fuzz corpora and minimized crash inputs on stable, as an ordinary test.

use std::path::Path;

#[test]
fn fit_decode_inputs_hold_the_invariants() {
    assert!(replay("fit_decode") >= 7, "the committed seeds were found");
}

#[test]
fn fit_heic_inputs_hold_the_invariants() {
    assert!(replay("fit_heic") >= 6, "the committed seeds were found");
}

/// Runs the target's checks on every committed input; how many there were.
fn replay(target: &str) -> usize {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus", "regressions"] {
        let dir = fuzz.join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".gitkeep") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            wxmedia_fit::fuzzing::fit_decode(&data);
            replayed += 1;
        }
    }
    replayed
}
