//! The conformance suite over wxmedia-blocking's blocking faces, each call on a blocking thread.

wxmedia_tests::conformance!(wxmedia_tests::Blocking<wxmedia_blocking::Ureq>);
