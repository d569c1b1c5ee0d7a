//! `GET /v3/certificates` as an [`Operation`] (PROTOCOL.md 2.5): download the platform certificates, decrypt them with the APIv3 key, and verify the reply with one of them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, Request, Response, header};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::endpoints::USER_AGENT;
use crate::v3::reply::{DEFAULT_REPLY_LIMIT, verified_body};
use crate::v3::{Merchant, Verifier, auth, keys};
use crate::{Body, DecodeError, Env, Error, Operation};

/// The path of the certificate download.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";

/// The merchant's APIv3 key: 32 bytes, set in the merchant platform, a
/// different secret from the APIv2 key. `Debug` never shows it; it is
/// zeroed on drop and compared in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApiV3Key([u8; 32]);

impl ApiV3Key {
    /// Validate a key: exactly 32 bytes (WeChat Pay's keys are 32 ASCII
    /// letters and digits).
    pub fn new(key: impl AsRef<[u8]>) -> Result<ApiV3Key, Error> {
        let key = key.as_ref();
        let bytes: [u8; 32] = key.try_into().map_err(|_| {
            Error::input("APIv3 key", format!("must be 32 bytes, not {}", key.len()))
        })?;
        Ok(ApiV3Key(bytes))
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(***)")
    }
}

impl PartialEq for ApiV3Key {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ApiV3Key {}

/// One platform certificate, decrypted and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformCertificate {
    /// Its serial, uppercase hex.
    pub serial_no: String,
    /// `effective_time` as WeChat Pay wrote it (RFC 3339).
    pub effective_time: String,
    /// `expire_time` as WeChat Pay wrote it (RFC 3339).
    pub expire_time: String,
    /// The certificate, PEM, as decrypted.
    pub pem: String,
}

/// Download the platform certificates. The reply is trusted only once it
/// verifies with one of the certificates it carries, named by its
/// `Wechatpay-Serial`, and each certificate's serial agrees with the one
/// listed beside it. Merchants in public-key mode get `404
/// RESOURCE_NOT_EXISTS` here: they verify with a public key instead.
#[derive(Debug, Clone)]
pub struct DownloadCertificates {
    merchant: Merchant,
    api_v3_key: ApiV3Key,
    reply_limit: usize,
}

impl DownloadCertificates {
    /// The download for `merchant`, decrypting with `api_v3_key`.
    pub fn new(merchant: Merchant, api_v3_key: ApiV3Key) -> DownloadCertificates {
        DownloadCertificates {
            merchant,
            api_v3_key,
            reply_limit: DEFAULT_REPLY_LIMIT,
        }
    }

    /// Change the cap on the reply body (default 64 KiB).
    pub fn with_reply_limit(mut self, limit: usize) -> DownloadCertificates {
        self.reply_limit = limit;
        self
    }
}

#[derive(Deserialize)]
struct Listing {
    data: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    serial_no: String,
    effective_time: String,
    expire_time: String,
    encrypt_certificate: Encrypted,
}

#[derive(Deserialize)]
struct Encrypted {
    algorithm: String,
    nonce: String,
    associated_data: Option<String>,
    ciphertext: String,
}

/// Decrypt one `encrypt_certificate` (AEAD_AES_256_GCM: base64 of the
/// ciphertext followed by its 16-byte tag; nonce and associated data as
/// UTF-8 bytes).
pub fn decrypt(
    key: &ApiV3Key,
    algorithm: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext_base64: &str,
) -> Result<Vec<u8>, DecodeError> {
    if algorithm != "AEAD_AES_256_GCM" {
        return Err(DecodeError::Json(format!(
            "unknown algorithm {algorithm:?}"
        )));
    }
    let nonce: [u8; NONCE_LEN] = nonce
        .as_bytes()
        .try_into()
        .map_err(|_| DecodeError::Json("the nonce is not 12 bytes".into()))?;
    let mut data = STANDARD
        .decode(ciphertext_base64)
        .map_err(|_| DecodeError::Json("the ciphertext is not base64".into()))?;
    let unbound = UnboundKey::new(&AES_256_GCM, &key.0).expect("32 bytes is an AES-256 key");
    let plain = LessSafeKey::new(unbound)
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated_data.as_bytes()),
            &mut data,
        )
        .map_err(|_| {
            DecodeError::Json("the certificate does not decrypt (wrong APIv3 key?)".into())
        })?;
    Ok(plain.to_vec())
}

impl Operation for DownloadCertificates {
    type Output = Vec<PlatformCertificate>;

    /// `GET /v3/certificates`, signed with an empty body line.
    fn encode(&self, env: &Env) -> Result<Request<Body>, Error> {
        let authorization = self
            .merchant
            .authorize(env, "GET", CERTIFICATES_PATH, b"")?;
        Request::builder()
            .method(Method::GET)
            .uri(format!("{}{}", env.base_url(), CERTIFICATES_PATH))
            .header(header::AUTHORIZATION, authorization)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, USER_AGENT)
            .body(Body::default())
            .map_err(|e| Error::input("request", e.to_string()))
    }

    /// Decrypt first, then verify the reply with the certificate its
    /// `Wechatpay-Serial` names (it may be one of the new ones), plus the
    /// keys the merchant already trusts.
    fn decode(&self, env: &Env, reply: Response<Bytes>) -> Result<Self::Output, Error> {
        let (parts, body) = reply.into_parts();
        let decode_err = |reason| Error::Decode {
            reason,
            body: body.clone(),
        };
        let mut certificates = Vec::new();
        let mut verifier: Verifier = self.merchant.verifier().clone();
        if parts.status.is_success() && body.len() <= self.reply_limit {
            let listing: Listing = serde_json::from_slice(&body)
                .map_err(|e| decode_err(DecodeError::Json(e.to_string())))?;
            for entry in listing.data {
                let e = &entry.encrypt_certificate;
                let pem = decrypt(
                    &self.api_v3_key,
                    &e.algorithm,
                    &e.nonce,
                    e.associated_data.as_deref().unwrap_or(""),
                    &e.ciphertext,
                )
                .map_err(decode_err)?;
                let pem = String::from_utf8(pem).map_err(|_| decode_err(DecodeError::Utf8))?;
                let info = keys::certificate_from_pem("platform certificate", pem.as_bytes())?;
                if keys::normalize_serial(&entry.serial_no).as_deref() != Some(&info.serial) {
                    return Err(decode_err(DecodeError::Unexpected { field: "serial_no" }));
                }
                verifier.add_platform_certificate_pem(pem.as_bytes())?;
                certificates.push(PlatformCertificate {
                    serial_no: info.serial,
                    effective_time: entry.effective_time,
                    expire_time: entry.expire_time,
                    pem,
                });
            }
        }
        let reply = Response::from_parts(parts, body);
        verified_body(reply, &verifier, env.reply_time(), self.reply_limit, || {
            auth::message(
                "GET",
                CERTIFICATES_PATH,
                env.unix_time(),
                env.nonce().as_str(),
                b"",
            )
        })?;
        Ok(certificates)
    }

    fn reply_limit(&self) -> usize {
        self.reply_limit
    }
}
