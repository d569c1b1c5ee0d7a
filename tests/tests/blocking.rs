//! The conformance suite over wxmedia-blocking, each upload on a blocking thread.

use wxmedia_proto::{Media, Uploaded};
use wxmedia_tests::{BoxFuture, Kind, Transport, View, conformance};

struct Blocking;

impl Transport for Blocking {
    const NAME: &'static str = "blocking";
    type Client = wxmedia_blocking::Client;

    fn view(e: wxmedia_blocking::Error) -> View {
        let text = View::chain_text(&e);
        let (retryable, code) = (e.is_retryable(), e.api_code().cloned());
        let (kind, proto) = match e {
            wxmedia_blocking::Error::Proto(p) => (Kind::Proto, Some(p)),
            wxmedia_blocking::Error::Config(_) => (Kind::Config, None),
            wxmedia_blocking::Error::Timeout(_) => (Kind::Timeout, None),
            _ => (Kind::Transport, None),
        };
        View {
            kind,
            retryable,
            code,
            proto,
            text,
        }
    }

    fn upload(
        client: &Self::Client,
        media: Media,
    ) -> BoxFuture<'static, Result<Uploaded, wxmedia_blocking::Error>> {
        let client = client.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || client.upload(media))
                .await
                .expect("the upload thread")
        })
    }

    fn current_endpoint(client: &Self::Client) -> String {
        client.current_endpoint()
    }
}

conformance!(Blocking);
