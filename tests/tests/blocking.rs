//! The conformance suite over wxmedia-blocking, each upload on a blocking thread.

use wxmedia_blocking::{Client, Error, Media, Uploaded};
use wxmedia_tests::BoxFuture;

struct Blocking;

impl wxmedia_tests::Transport for Blocking {
    const NAME: &'static str = "blocking";
    type Client = Client;

    fn upload(client: &Client, media: Media) -> BoxFuture<'static, Result<Uploaded, Error>> {
        let client = client.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || client.upload(media))
                .await
                .expect("the upload thread")
        })
    }

    fn current_endpoint(client: &Client) -> String {
        client.current_endpoint()
    }
}

wxmedia_tests::conformance!(Blocking);
