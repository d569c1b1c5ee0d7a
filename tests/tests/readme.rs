//! The README's code excerpts are the examples' code, word for word, so that what a newcomer copies is code that CI compiles and runs.

/// Each README section with a Rust excerpt, the example it is cut from, and
/// a call the excerpt must show (so that an emptied block cannot pass).
const EXCERPTS: [(&str, &str, &str, &str); 2] = [
    (
        "## Drive the core yourself",
        "crates/wxmedia-proto/examples/embed_rustls.rs",
        include_str!("../../crates/wxmedia-proto/examples/embed_rustls.rs"),
        "driver.finish(",
    ),
    (
        "## Any other v3 upload",
        "crates/wxmedia/examples/v3_custom.rs",
        include_str!("../../crates/wxmedia/examples/v3_custom.rs"),
        "upload_custom",
    ),
];

/// The first Rust code block after `heading`.
fn excerpt<'a>(readme: &'a str, heading: &str) -> &'a str {
    readme
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"))
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("README.md's {heading:?} has no rust code block"))
}

#[test]
fn every_readme_excerpt_is_its_example_code() {
    let readme = include_str!("../../README.md");
    for (heading, path, example, call) in EXCERPTS {
        let excerpt = excerpt(readme, heading);
        assert!(excerpt.contains(call), "{heading}: {excerpt}");
        assert!(
            example.contains(excerpt),
            "README.md's excerpt under {heading:?} differs from {path}:\n{excerpt}"
        );
    }
}
