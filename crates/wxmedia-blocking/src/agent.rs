//! The ureq agent of a blocking client: client certificate, roots, time limits and pool, from the shared settings.

use std::sync::Arc;

use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};
use wxmedia_client::{BuildError, Settings};

use crate::tls::SettingsTls;

/// Idle connections kept for reuse (per host and in all): one per thread
/// of a client shared by up to 256 threads; beyond the pool every upload
/// pays a new TLS handshake.
const MAX_IDLE: usize = 256;

/// The settings' proxy as ureq configures one, for the requests the proxy
/// rules send through it.
pub(crate) fn proxy(settings: &Settings) -> Result<Option<ureq::Proxy>, BuildError> {
    let Some((host, port, user, password)) = settings.proxy.endpoint() else {
        return Ok(None);
    };
    let mut builder = ureq::Proxy::builder(ureq::ProxyProtocol::Http)
        .host(host)
        .port(port)
        // CONNECT names the host, not an address: the proxy resolves it,
        // as with the async transports (and an intranet proxy may be the
        // only one that can).
        .resolve_target(false);
    if let Some(user) = user {
        builder = builder.username(user);
    }
    if let Some(password) = password {
        builder = builder.password(password);
    }
    builder.build().map(Some).map_err(|_| BuildError::Invalid {
        what: "the proxy URL",
        reason: "ureq cannot use it as an HTTP proxy",
    })
}

/// A ureq agent configured from `settings`: TLS is the client's own
/// rustls configuration ([`SettingsTls`]), the same as the async
/// transports', so roots, provider and client certificate are set once.
pub(crate) fn agent(settings: &Settings) -> Result<ureq::Agent, BuildError> {
    let config = ureq::Agent::config_builder()
        .https_only(true)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(settings.timeouts.connect))
        .timeout_global(Some(settings.timeouts.attempt))
        .no_delay(true)
        // ureq keeps 3 idle connections per host by default; a client
        // shared by many threads would then pay a new TLS handshake
        // (with an RSA client certificate) on most uploads.
        .max_idle_connections(MAX_IDLE)
        .max_idle_connections_per_host(MAX_IDLE)
        // ureq would read HTTPS_PROXY / ALL_PROXY itself, by its own rules;
        // the client's proxy rules decide instead, per request (`proxy`),
        // the same way on every transport.
        .proxy(None)
        .build();
    // ureq's connector chain without its TLS: an HTTP CONNECT proxy when
    // one is configured, TCP, then TLS from the settings; and a resolver
    // that does not start a thread per request (see `resolver`).
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(SettingsTls {
                config: Arc::clone(&settings.tls),
            });
    Ok(ureq::Agent::with_parts(
        config,
        connector,
        crate::resolver::CachingResolver::default(),
    ))
}
