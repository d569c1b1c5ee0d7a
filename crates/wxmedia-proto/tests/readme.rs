//! The README's "Drive the core yourself" excerpt is the embed_rustls example's loop, word for word.

#[test]
fn the_readme_excerpt_is_the_example_code() {
    let readme = include_str!("../../../README.md");
    let example = include_str!("../examples/embed_rustls.rs");
    let section = readme
        .split("## Drive the core yourself")
        .nth(1)
        .expect("the README has the section");
    let excerpt = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a rust code block");
    assert!(excerpt.contains("driver.finish("), "{excerpt}");
    assert!(
        example.contains(excerpt),
        "README.md's excerpt differs from crates/wxmedia-proto/examples/embed_rustls.rs:\n{excerpt}"
    );
}
