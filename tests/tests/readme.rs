//! The README's code excerpts are the examples' code, word for word, so that what a newcomer copies is code that CI compiles and runs.

/// Each README section with a Rust excerpt, the example it is cut from, and
/// a call the excerpt must show (so that an emptied block cannot pass).
const EXCERPTS: [(&str, &str, &str, &str); 3] = [
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
        "client.upload(&api, media)",
    ),
    (
        "## Receipts and bank packages: sealed fields",
        "crates/wxmedia/examples/v3_sealed.rs",
        include_str!("../../crates/wxmedia/examples/v3_sealed.rs"),
        "BankPackage::sealed_file(",
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

/// The documents that list the built-in v3 endpoints name every one of
/// them: PROTOCOL.md by its path, the README's `--kind` row by its name,
/// and the README's table of uploads with its path, limit, rate and result.
/// A new endpoint in `Api::ALL` fails here until they say it. (The
/// command line's `--kind` values and help are read from the endpoints,
/// and the crate docs name a few as examples and point to `Api::ALL`, so
/// they need no check; the check below keeps them pointing there.)
#[test]
fn every_builtin_v3_endpoint_is_in_the_documents_that_list_them() {
    use wxmedia_proto::v3::Api;
    let readme = include_str!("../../README.md");
    let protocol = include_str!("../../docs/PROTOCOL.md");
    let kind_row = readme
        .lines()
        .find(|l| l.contains("`--kind "))
        .expect("README.md has a --kind row");
    for &api in Api::ALL {
        let path = api.path();
        assert!(protocol.contains(path), "docs/PROTOCOL.md lacks {path}");
        // Its row in the README's table: name, path, limit, rate, result.
        let spec = api.spec();
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` | ", api.name())))
            .unwrap_or_else(|| panic!("README.md's table of uploads lacks {}", api.name()));
        for cell in [
            format!("`{path}`"),
            format!("| {} MiB |", spec.max_size >> 20),
            format!("| {} |", spec.rate),
            format!("`{}`", spec.reply_field),
        ] {
            assert!(
                row.contains(&cell),
                "README.md's row for {api}: {cell} in {row}"
            );
        }
        let name = api.name();
        assert!(
            kind_row.contains(name),
            "README.md's --kind row lacks {name}: {kind_row}"
        );
    }
    for (doc, text) in [
        (
            "wxmedia-proto's crate docs",
            include_str!("../../crates/wxmedia-proto/src/lib.rs"),
        ),
        (
            "the wxmedia facade's docs",
            include_str!("../../crates/wxmedia/src/lib.rs"),
        ),
    ] {
        assert!(
            text.contains("v3::Api::ALL"),
            "{doc} do not point to v3::Api::ALL for the list of endpoints"
        );
    }
}
