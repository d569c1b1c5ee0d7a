//! The conformance suite over wxmedia-hyper.

use wxmedia_proto::{Media, Uploaded};
use wxmedia_tests::{BoxFuture, Kind, Transport, View, conformance};

struct Hyper;

impl Transport for Hyper {
    const NAME: &'static str = "hyper";
    type Client = wxmedia_hyper::Client;

    fn view(e: wxmedia_hyper::Error) -> View {
        let text = View::chain_text(&e);
        let (retryable, code) = (e.is_retryable(), e.api_code().cloned());
        let (kind, proto) = match e {
            wxmedia_hyper::Error::Proto(p) => (Kind::Proto, Some(p)),
            wxmedia_hyper::Error::Config(_) => (Kind::Config, None),
            wxmedia_hyper::Error::Timeout(_) => (Kind::Timeout, None),
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
    ) -> BoxFuture<'static, Result<Uploaded, wxmedia_hyper::Error>> {
        let client = client.clone();
        Box::pin(async move { client.upload(media).await })
    }

    fn current_endpoint(client: &Self::Client) -> String {
        client.current_endpoint()
    }
}

conformance!(Hyper);
