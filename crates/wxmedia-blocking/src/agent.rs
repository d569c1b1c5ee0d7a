//! The ureq agent of a blocking client: client certificate, roots, time limits and pool, from the shared settings.

use std::sync::Arc;

use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};
use wxmedia_client::{BuildError, Settings};

use crate::tls::SettingsTls;

/// Idle connections kept for reuse (per host and in all): one per thread
/// of a client shared by up to 256 threads; beyond the pool every upload
/// pays a new TLS handshake.
const MAX_IDLE: usize = 256;

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
