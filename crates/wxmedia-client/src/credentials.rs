//! What each API's builder is told about its credentials, and how `build` validates them: v2's API key and client certificate, v3's key or signer, certificate or serial, and the ways to verify replies.

use std::sync::Arc;

use wxmedia_proto::v2::{ApiKey, SignType};
use wxmedia_proto::v3::{ApiV3Key, RsaSigner, Signer, Verifier};
use wxmedia_tls::Identity;
use zeroize::Zeroizing;

use crate::BuildError as Error;
use crate::pem::{Pem, blame};
use crate::{V2Settings, V3Settings};

/// What a [`V2Builder`](crate::V2Builder) was told about the v2 credentials.
#[derive(Default)]
pub struct V2Options {
    pub(crate) api_key: Option<Zeroizing<String>>,
    pub(crate) identity: Option<Identity>,
    pub(crate) sign_type: SignType,
    /// A gateway in front of WeChat Pay presents the client certificate.
    pub(crate) certificate_at_gateway: bool,
}

impl V2Options {
    /// The v2 settings and the client certificate TLS presents: none when
    /// the gateway presents it.
    pub(crate) fn build(self) -> Result<(V2Settings, Option<Identity>), Error> {
        let api_key = self.api_key.ok_or(Error::Missing {
            what: "the API key",
        })?;
        let identity = match (self.identity, self.certificate_at_gateway) {
            (Some(identity), false) => Some(identity),
            (None, true) => None,
            (Some(_), true) => {
                return Err(Error::Invalid {
                    what: "the client certificate",
                    reason: "given, but the gateway presents it (certificate_at_gateway): give one, not both",
                });
            }
            (None, false) => {
                return Err(Error::Missing {
                    what: "the client certificate (identity), or certificate_at_gateway when a gateway presents it",
                });
            }
        };
        let v2 = V2Settings {
            api_key: ApiKey::new(api_key.as_str())?,
            sign_type: self.sign_type,
        };
        Ok((v2, identity))
    }
}

/// What a [`V3Builder`](crate::V3Builder) was told about the v3 credentials; validated by
/// `build`.
#[derive(Clone, Default)]
pub struct V3Options {
    pub(crate) private_key: Option<Pem>,
    pub(crate) signer: Option<Arc<dyn Signer>>,
    pub(crate) certificate: Option<Pem>,
    pub(crate) serial_no: Option<String>,
    pub(crate) public_keys: Vec<(String, Pem)>,
    pub(crate) platform_certificates: Vec<Pem>,
    pub(crate) api_v3_key: Option<Zeroizing<String>>,
}

impl V3Options {
    /// Validate the v3 credentials; `now` (Unix seconds, the client's
    /// clock) judges pinned platform certificates.
    pub(crate) fn build(self, now: u64) -> Result<V3Settings, Error> {
        let signer: Arc<dyn Signer> = match (self.signer, &self.private_key) {
            (Some(signer), None) => signer,
            (Some(_), Some(_)) => {
                return Err(Error::Invalid {
                    what: "the merchant private key and a signer",
                    reason: "give one, not both",
                });
            }
            (None, Some(key)) => {
                let key_pem = key.read("private key")?;
                let signer = match (&self.certificate, &self.serial_no) {
                    (Some(cert), _) => {
                        let cert_pem = cert.read("certificate")?;
                        RsaSigner::from_pem(&key_pem, &cert_pem)
                            .map_err(|e| blame(e, key, Some(cert)))?
                    }
                    (None, Some(serial)) => RsaSigner::from_pem_and_serial(&key_pem, serial)
                        .map_err(|e| blame(e, key, None))?,
                    (None, None) => {
                        return Err(Error::Missing {
                            what: "the merchant certificate (apiclient_cert.pem) or its serial number",
                        });
                    }
                };
                Arc::new(signer)
            }
            (None, None) => {
                return Err(Error::Missing {
                    what: "the merchant private key (or a signer)",
                });
            }
        };
        let mut verifier = Verifier::new();
        for (id, pem) in &self.public_keys {
            verifier
                .add_public_key_pem(id, &pem.read("public key")?)
                .map_err(|e| pem.context(e))?;
        }
        for pem in &self.platform_certificates {
            verifier
                .add_platform_certificate_pem_at(&pem.read("certificate")?, now)
                .map_err(|e| pem.context(e))?;
        }
        let api_v3_key = self
            .api_v3_key
            .as_ref()
            .map(|k| ApiV3Key::new(k.as_bytes()))
            .transpose()?;
        if verifier.is_empty() && api_v3_key.is_none() {
            return Err(Error::Missing {
                what: "a way to verify replies (a WeChat Pay public key with its id, platform certificates, or the APIv3 key)",
            });
        }
        Ok(V3Settings {
            signer,
            verifier,
            api_v3_key,
        })
    }
}
