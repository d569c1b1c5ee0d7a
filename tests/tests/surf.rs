//! The conformance suite over wxmedia-surf (async-std; its I/O runs on async-std's own reactor, so the tokio test runtime can await it).

wxmedia_tests::conformance!(wxmedia_tests::Async<wxmedia_surf::Surf>);
