//! Shared by the client's integration tests: a throwaway identity and a client that is never built.

use wxmedia_client::{BuildError, FromSettings, Identity, Settings};

/// A client that is never built: the builder's checks run without a transport.
pub(crate) struct Never;

impl<A> FromSettings<A> for Never {
    fn from_settings(_: Settings, _: A) -> Result<Never, BuildError> {
        Ok(Never)
    }
}

/// A self-signed P-256 identity whose subject CN is `cn`.
pub(crate) fn identity(cn: &str) -> Identity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap()
}
