//! The conformance suite over wxmedia-hyper.

wxmedia_tests::conformance!(wxmedia_tests::Async<wxmedia_hyper::Hyper>);
