//! The conformance suite over wxmedia-surf (async-std, driven from the tokio test runtime: its I/O runs on async-std's own reactor).

use wxmedia_proto::{Media, Uploaded};
use wxmedia_tests::{BoxFuture, Kind, Transport, View, conformance};

struct Surf;

impl Transport for Surf {
    const NAME: &'static str = "surf";
    type Client = wxmedia_surf::Client;

    fn view(e: wxmedia_surf::Error) -> View {
        let text = View::chain_text(&e);
        let (retryable, code) = (e.is_retryable(), e.api_code().cloned());
        let (kind, proto) = match e {
            wxmedia_surf::Error::Proto(p) => (Kind::Proto, Some(p)),
            wxmedia_surf::Error::Config(_) => (Kind::Config, None),
            wxmedia_surf::Error::Timeout(_) => (Kind::Timeout, None),
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
    ) -> BoxFuture<'static, Result<Uploaded, wxmedia_surf::Error>> {
        let client = client.clone();
        Box::pin(async move { client.upload(media).await })
    }

    fn current_endpoint(client: &Self::Client) -> String {
        client.current_endpoint()
    }
}

conformance!(Surf);
