//! A `surf::Client` over the engine, for users who want surf for their own calls with the same TLS, client certificate and pool as their uploads.

use std::fmt;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::BodyExt;
use http_client::{Config, HttpClient};
use wxmedia_hyper::engine::{Engine, single_segment};

use crate::net::AsyncStdTcp;

/// surf's backend: requests go through the [`Engine`] of the transport
/// that made it.
pub(crate) struct Backend {
    pub(crate) engine: Engine<AsyncStdTcp>,
    pub(crate) config: Config,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// An `http_types` error with the status surf gives transport failures.
fn error(e: impl std::error::Error + Send + Sync + 'static) -> http_types::Error {
    http_types::Error::new(http_types::StatusCode::BadGateway, e)
}

#[http_client::async_trait]
impl HttpClient for Backend {
    async fn send(
        &self,
        mut request: http_types::Request,
    ) -> Result<http_types::Response, http_types::Error> {
        // The body is read whole first: what surf users send through this
        // backend are API calls, not streams.
        let body = request.take_body().into_bytes().await?;
        let mut out = http::Request::builder()
            .method(request.method().as_ref())
            .uri(request.url().as_str());
        for (name, values) in request.iter() {
            for value in values.iter() {
                out = out.header(name.as_str(), value.as_str());
            }
        }
        let out = out.body(single_segment(Bytes::from(body))).map_err(error)?;
        let reply = self.engine.request(out).await.map_err(error)?;
        let (parts, body) = reply.into_parts();
        let status: u16 = parts.status.as_u16();
        let mut response = http_types::Response::new(
            http_types::StatusCode::try_from(status)
                .map_err(|e| error(std::io::Error::other(e)))?,
        );
        for (name, value) in &parts.headers {
            // A value http_types refuses (not visible ASCII) is left out:
            // surf has no way to carry it.
            if let Ok(value) = value.to_str() {
                response.append_header(name.as_str(), value);
            }
        }
        let len = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let reader = body
            .into_data_stream()
            .map_err(std::io::Error::other)
            .into_async_read();
        response.set_body(http_types::Body::from_reader(reader, len));
        Ok(response)
    }

    fn set_config(&mut self, _config: Config) -> http_types::Result<()> {
        // Time limits and TLS come from the wxmedia settings, in one place.
        Err(http_types::Error::from_str(
            http_types::StatusCode::InternalServerError,
            "wxmedia-surf is configured with wxmedia_client's builders, not surf::Config",
        ))
    }

    fn config(&self) -> &Config {
        &self.config
    }
}
