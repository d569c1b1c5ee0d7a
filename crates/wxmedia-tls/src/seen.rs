//! What the client's TLS saw of the server on its last full handshake: the root its chain ends at and the protocol version, for `wxmedia doctor`.
//!
//! rustls's own WebPKI verifier decides; this wrapper only writes down,
//! after a chain verified, the issuer of the topmost certificate the
//! server sent (the root the chain leads to) and which signature check
//! followed (TLS 1.2 or 1.3). Nothing is decided from it.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The server as one handshake showed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSeen {
    /// The common name (else the whole name) of the issuer of the topmost
    /// certificate the server sent: the root its chain leads to.
    pub root: String,
    /// `TLS 1.3` or `TLS 1.2`.
    pub version: &'static str,
}

/// Where the last handshake's [`ServerSeen`] is kept; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Handshakes {
    last: Arc<Mutex<Option<ServerSeen>>>,
}

impl Handshakes {
    /// What the last full handshake showed, if one happened.
    pub fn last(&self) -> Option<ServerSeen> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ServerSeen>> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// rustls's verifier, noting what it verified.
#[derive(Debug)]
pub(crate) struct Noting {
    pub(crate) inner: Arc<dyn ServerCertVerifier>,
    pub(crate) seen: Handshakes,
}

/// The issuer's common name of `cert`, else its whole name.
fn issuer_name(cert: &CertificateDer<'_>) -> String {
    match x509_parser::parse_x509_certificate(cert) {
        Ok((_, c)) => c
            .issuer()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map_or_else(|| c.issuer().to_string(), str::to_owned),
        Err(_) => "?".to_owned(),
    }
}

impl ServerCertVerifier for Noting {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let top = intermediates.last().unwrap_or(end_entity);
        *self.seen.lock() = Some(ServerSeen {
            root: issuer_name(top),
            version: "",
        });
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let valid = self.inner.verify_tls12_signature(message, cert, dss)?;
        self.version("TLS 1.2");
        Ok(valid)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let valid = self.inner.verify_tls13_signature(message, cert, dss)?;
        self.version("TLS 1.3");
        Ok(valid)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

impl Noting {
    fn version(&self, version: &'static str) {
        if let Some(seen) = self.seen.lock().as_mut() {
            seen.version = version;
        }
    }
}
