//! The conformance suite over wxmedia-hyper.

wxmedia_tests::transport!(Hyper, "hyper", wxmedia_hyper, |client, media| client
    .upload(media)
    .await);
wxmedia_tests::conformance!(Hyper);
