//! The conformance suite over wxmedia-blocking, each upload on a blocking thread.

use wxmedia_blocking::{Client, Error, Media, Uploaded, v3};
use wxmedia_tests::BoxFuture;

/// Run a blocking call on a blocking thread, as users of tokio would.
fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> BoxFuture<'static, R> {
    Box::pin(async move {
        tokio::task::spawn_blocking(f)
            .await
            .expect("the upload thread")
    })
}

struct Blocking;

impl wxmedia_tests::Transport for Blocking {
    const NAME: &'static str = "blocking";
    type Client = Client;

    fn upload(client: &Client, media: Media) -> BoxFuture<'static, Result<Uploaded, Error>> {
        let client = client.clone();
        blocking(move || client.upload(media))
    }

    fn upload_v3(
        client: &Client,
        api: v3::Api,
        media: Media,
    ) -> BoxFuture<'static, Result<v3::Uploaded, Error>> {
        let client = client.clone();
        blocking(move || client.upload_v3(api, media))
    }

    fn download_certificates(
        client: &Client,
    ) -> BoxFuture<'static, Result<Vec<v3::PlatformCertificate>, Error>> {
        let client = client.clone();
        blocking(move || client.download_certificates())
    }

    fn current_endpoint(client: &Client) -> String {
        client.current_endpoint()
    }
}

wxmedia_tests::conformance!(Blocking);
