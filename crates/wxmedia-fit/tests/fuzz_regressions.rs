//! Replays the committed `fit_decode` fuzz corpus and minimized crash inputs on stable, as an ordinary test.

use std::path::Path;

#[test]
fn fit_decode_inputs_hold_the_invariants() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus", "regressions"] {
        let dir = fuzz.join(dir).join("fit_decode");
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
    assert!(replayed >= 7, "the committed seeds were found: {replayed}");
}
