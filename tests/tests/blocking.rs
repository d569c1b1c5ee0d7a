//! The conformance suite over wxmedia-blocking, each upload on a blocking thread.

wxmedia_tests::transport!(Blocking, "blocking", wxmedia_blocking, |client, media| {
    tokio::task::spawn_blocking(move || client.upload(media))
        .await
        .expect("the upload thread")
});
wxmedia_tests::conformance!(Blocking);
