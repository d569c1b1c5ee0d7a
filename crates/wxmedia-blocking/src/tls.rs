//! TLS for ureq from the client's own rustls configuration, so that the blocking transport connects exactly as the async ones do: same roots, provider, ALPN and client certificate.

use std::io::{Read, Write};
use std::sync::Arc;

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};
use wxmedia_tls::rustls::pki_types::ServerName;
use wxmedia_tls::rustls::{ClientConfig, ClientConnection, StreamOwned};

/// The last link of the connector chain: wraps the TCP (or proxied)
/// connection in TLS with [`Settings::tls`](wxmedia_client::Settings::tls).
///
/// ureq's own TLS connector builds a rustls configuration from its own
/// settings: the key would have to be handed over as PEM text, the roots
/// converted, and the client certificate resolver would not be the one
/// the client's [`Identity`](wxmedia_tls::Identity) counts requests with
/// (what `wxmedia doctor` reports as mutual TLS shown or not).
#[derive(Debug)]
pub(crate) struct SettingsTls {
    pub(crate) config: Arc<ClientConfig>,
}

impl<In: Transport> Connector<In> for SettingsTls {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            // The chain starts with a TCP connector, which always gives a
            // transport or an error.
            return Err(ureq::Error::ConnectionFailed);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .authority()
            .map(|a| a.host().trim_start_matches('[').trim_end_matches(']'))
            .ok_or(ureq::Error::HostNotFound)?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| ureq::Error::Tls("the endpoint's host is not a valid TLS server name"))?;
        let mut conn = ClientConnection::new(Arc::clone(&self.config), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// A TLS connection as a ureq transport.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
