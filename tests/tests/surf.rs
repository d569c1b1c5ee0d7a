//! The conformance suite over wxmedia-surf (async-std; its I/O runs on async-std's own reactor, so the tokio test runtime can await it).

wxmedia_tests::transport!(Surf, "surf", wxmedia_surf, |client, media| client
    .upload(media)
    .await);
wxmedia_tests::conformance!(Surf);
