//! The ureq agent of a blocking client: client certificate, roots, time limits and pool, from the shared settings.

use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};
use wxmedia_client::{BuildError, Settings};
use wxmedia_tls::rustls::pki_types as rustls_pki;
use zeroize::Zeroizing;

/// Idle connections kept for reuse (per host and in all): one per thread
/// of a client shared by up to 256 threads; beyond the pool every upload
/// pays a new TLS handshake.
const MAX_IDLE: usize = 256;

/// A ureq agent configured from `settings`.
pub(crate) fn agent(settings: &Settings) -> Result<ureq::Agent, BuildError> {
    let mut tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(settings.tls.crypto_provider().clone());
    if let Some(identity) = &settings.identity {
        let chain: Vec<Certificate<'static>> = identity
            .chain()
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect();
        // ureq does not export its key-kind type, so the key goes in as
        // PEM with the label that names its kind.
        let key = identity.key();
        let label = match key {
            rustls_pki::PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
            rustls_pki::PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
            _ => "PRIVATE KEY",
        };
        let key = PrivateKey::from_pem(pem(label, key.secret_der()).as_bytes())
            .map_err(|e| BuildError::Transport(format!("client key for ureq: {e}")))?;
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    // ureq takes either its own webpki roots or a list: build the list
    // so that extra CAs add to the public roots rather than replace them.
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    if settings.roots.webpki {
        roots.extend(
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned()),
        );
    }
    roots.extend(
        settings
            .roots
            .extra
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned()),
    );
    let tls = tls.root_certs(RootCerts::new_with_certs(&roots)).build();
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
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
    // ureq's own connector chain (TCP, then rustls) with a resolver that
    // does not start a thread per request (see `resolver`).
    Ok(ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::new(),
        crate::resolver::CachingResolver::default(),
    ))
}

/// The key as PEM text, held in zeroizing strings: it is the merchant's
/// private key, re-encoded only because ureq takes keys as PEM.
fn pem(label: &str, der: &[u8]) -> Zeroizing<String> {
    use base64::Engine;
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    // Sized up front so that no push reallocates and leaves a copy of the
    // key behind in freed memory.
    let mut out = Zeroizing::new(String::with_capacity(
        b64.len() + b64.len() / 64 + 2 * label.len() + 40,
    ));
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
