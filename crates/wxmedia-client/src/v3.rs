//! The APIv3 client: uploads to any endpoint (built-in, described at run time, or the caller's own type) and the platform certificates, over any transport.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use futures_util::lock::Mutex as AsyncMutex;
#[cfg(doc)]
use wxmedia_proto::v3::{self, CustomApi};
use wxmedia_proto::v3::{
    Api, DownloadCertificates, Endpoint, Merchant, PlatformCertificate, UploadV3, UploadedMedia,
    Verifier,
};
use wxmedia_proto::{Media, Operation, SignatureError};

use crate::shared::{Shared, common_methods};
use crate::{BuildError, Error, FromSettings, Settings, Transport, V3Builder, V3Settings};

/// The least time between two certificate downloads the client starts by
/// itself: after one caused by a reply naming an unknown (or no longer
/// valid) serial, so that forged serials cannot make a client hammer the
/// endpoint; and after one that failed, during which uploads that need
/// certificates fail at once with that failure.
pub const CERTIFICATE_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// An APIv3 upload client over the transport `T`. Cheap to clone; clones
/// share the connection pool, the failover state and the platform
/// certificates downloaded so far.
///
/// Each transport crate names its instance: `wxmedia_hyper::V3Client` is
/// `V3Client<wxmedia_hyper::Hyper>`. It has only v3's methods: v2's
/// `upload(media)` on it does not compile.
///
/// ```no_run
/// # async fn f<T: wxmedia_client::Transport>(c: wxmedia_client::V3Client<T>, m: wxmedia_proto::Media) -> Result<(), wxmedia_client::Error> {
/// let media_id: String = c.upload(&wxmedia_proto::v3::Image, m).await?.media_id;
/// # Ok(()) }
/// ```
///
/// ```compile_fail,E0061
/// # async fn f<T: wxmedia_client::Transport>(c: wxmedia_client::V3Client<T>, m: wxmedia_proto::Media) {
/// c.upload(m).await; // upload(media) is V2Client's; v3 names the endpoint
/// # }
/// ```
pub struct V3Client<T> {
    shared: Shared<T>,
    v3: Arc<V3State>,
}

/// The v3 credentials and what the client learns while it runs.
struct V3State {
    settings: V3Settings,
    /// The keys replies are verified with: the builder's, plus the
    /// platform certificates downloaded with the APIv3 key.
    verifier: RwLock<Arc<Verifier>>,
    /// Held for the whole of a certificate download: one download at a
    /// time, and callers that need certificates wait for the one in flight
    /// and use what it brought instead of starting their own. An async
    /// lock from `futures-util`, so that the client stays free of any
    /// runtime.
    downloads: AsyncMutex<Downloads>,
    /// How many downloads have changed the verifier: an upload refused for
    /// an unknown serial tells by it whether one finished meanwhile.
    generation: AtomicU64,
}

/// What the client remembers of its certificate downloads.
#[derive(Default)]
struct Downloads {
    /// When the last download started.
    last: Option<Instant>,
    /// The last download's failure, if it failed.
    failed: Option<Failed>,
}

/// A download that failed, and when.
struct Failed {
    at: Instant,
    error: Error,
}

impl<T> Clone for V3Client<T> {
    fn clone(&self) -> Self {
        V3Client {
            shared: self.shared.clone(),
            v3: Arc::clone(&self.v3),
        }
    }
}

impl<T: Transport> std::fmt::Debug for V3Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Client")
            .field("transport", &T::NAME)
            .field("mch_id", &self.settings().mch_id)
            .field("primary", &self.settings().primary)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> FromSettings<V3Settings> for V3Client<T> {
    fn from_settings(settings: Settings, v3: V3Settings) -> Result<Self, BuildError> {
        let verifier = RwLock::new(Arc::new(v3.verifier.clone()));
        Ok(V3Client {
            shared: Shared::new(settings)?,
            v3: Arc::new(V3State {
                settings: v3,
                verifier,
                downloads: AsyncMutex::new(Downloads::default()),
                generation: AtomicU64::new(0),
            }),
        })
    }
}

impl<T: Transport> V3Client<T> {
    /// Start configuring a client.
    pub fn builder() -> V3Builder<V3Client<T>> {
        V3Builder::new()
    }

    fn shared(&self) -> &Shared<T> {
        &self.shared
    }

    pub(crate) fn shared_ref(&self) -> &Shared<T> {
        &self.shared
    }

    common_methods!();

    /// The v3 credentials in force.
    pub fn v3_settings(&self) -> &V3Settings {
        &self.v3.settings
    }

    /// Upload `media` to `endpoint`: a built-in one ([`v3::Image`],
    /// [`v3::Video`], [`v3::MarketingImage`], [`v3::ComplaintImage`], ...,
    /// typed results), an [`Api`] chosen at run time, a [`CustomApi`] (the
    /// verified JSON body), or a caller's own [`Endpoint`]. Media of a kind
    /// the endpoint does not take, or over its limit, is refused before
    /// anything is sent.
    ///
    /// ```no_run
    /// # async fn f<T: wxmedia_client::Transport>(c: wxmedia_client::V3Client<T>) -> Result<(), Box<dyn std::error::Error>> {
    /// use wxmedia_proto::Media;
    /// use wxmedia_proto::v3::{self, CustomApi};
    ///
    /// let photo = Media::new("id-card.jpg", std::fs::read("id-card.jpg")?)?;
    /// let media_id: String = c.upload(&v3::Image, photo).await?.media_id;
    ///
    /// let cancel = CustomApi::new("/v3/ecommerce/account/cancel-applications/media", 2 << 20)?
    ///     .meta_names("file_name", "file_digest")?;
    /// let letter = Media::new("letter.jpg", std::fs::read("letter.jpg")?)?;
    /// let uploaded = c.upload(&cancel, letter).await?;
    /// println!("{media_id} {:?} {:?}", uploaded.media_id(), uploaded.request_id);
    /// # Ok(()) }
    /// ```
    ///
    /// With the APIv3 key, the platform certificates are downloaded first
    /// when no key held can verify a reply now (none was downloaded yet,
    /// or all have expired). Concurrent uploads share that one download.
    /// When it fails, every upload waiting for it, and every upload that
    /// needs certificates in the [`CERTIFICATE_REFRESH_INTERVAL`] after
    /// it, fails at once without a request, with the download's failure
    /// told again: the same predicates ([`Error::is_retryable`],
    /// [`Error::is_rate_limited`], [`Error::api_code`],
    /// [`Error::transport_kind`]), its message saying "the platform
    /// certificate download failed N s ago and may be tried again in M s".
    /// (The media is checked against the endpoint after this step, so media
    /// the endpoint refuses gets this error first.)
    ///
    /// The certificates are downloaded again (then the upload retried
    /// once) when a reply names a serial not known, or a certificate
    /// outside its validity, at most once per
    /// [`CERTIFICATE_REFRESH_INTERVAL`].
    pub async fn upload<E: Endpoint + ?Sized>(
        &self,
        endpoint: &E,
        media: Media,
    ) -> Result<E::Output, Error> {
        let reply_limit = self.settings().reply_limit;
        self.upload_with(|merchant| {
            UploadV3::new(endpoint, merchant, media.clone())
                .map(|u| u.with_reply_limit(reply_limit))
        })
        .await
    }

    /// Upload to the built-in endpoint `api` chosen at run time (the
    /// command line, a batch): [`Self::upload`] with an [`Api`], whose
    /// result's `id` is the field [`Api::reply_field`] names.
    pub async fn upload_to(&self, api: Api, media: Media) -> Result<UploadedMedia, Error> {
        self.upload(&api, media).await
    }

    /// The WeChat Pay key that sensitive data is sealed with: the one
    /// every request names in `Wechatpay-Serial` (the WeChat Pay public
    /// key when one is configured, else the newest platform certificate).
    /// For content sealed before the upload, such as a bank package's
    /// ids ([`BankPackage::sealed_file`](wxmedia_proto::v3::BankPackage::sealed_file)); meta fields are sealed by
    /// the upload itself. With the APIv3 key, the platform certificates
    /// are downloaded first when none is valid now.
    pub async fn sealing_key(&self) -> Result<wxmedia_proto::v3::SealingKey, Error> {
        let has_key = self.v3.settings.api_v3_key.is_some();
        if has_key && !self.verifier().can_verify_at(self.unix_time()) {
            self.certificates_needed().await?;
        }
        Ok(self.verifier().sealing_key()?)
    }

    /// What every upload does around its operation (made by `upload` for
    /// the merchant as it stands): certificates first when none verifies,
    /// and one retry after a refresh when the reply names a key not held.
    async fn upload_with<O: Operation>(
        &self,
        upload: impl Fn(Merchant) -> Result<O, wxmedia_proto::Error>,
    ) -> Result<O::Output, Error> {
        let has_key = self.v3.settings.api_v3_key.is_some();
        if has_key && !self.verifier().can_verify_at(self.unix_time()) {
            self.certificates_needed().await?;
        }
        let seen = self.v3.generation.load(Ordering::Acquire);
        let first = self.execute(upload(self.merchant())?).await;
        let stale_keys = first
            .as_ref()
            .err()
            .and_then(Error::signature_error)
            .is_some_and(|kind| {
                matches!(
                    kind,
                    SignatureError::UnknownSerial | SignatureError::CertificateNotValid
                )
            });
        if stale_keys && has_key && self.refresh_for_reply(seen).await? {
            return self.execute(upload(self.merchant())?).await;
        }
        first
    }

    /// Download the platform certificates with the APIv3 key now (after
    /// the download in flight, if any, whatever the interval), verify
    /// them, drop the certificates held that have expired, and from now on
    /// accept replies signed by the ones valid now.
    ///
    /// Returns every certificate of the listing with its
    /// [`Validity`](wxmedia_proto::v3::Validity): the next certificate of
    /// a rotation is listed as not yet valid, and is trusted only once a
    /// later download finds it valid. A listing with no certificate valid
    /// now is refused (`Error::Proto` with a decode error naming each
    /// certificate and its dates).
    pub async fn download_certificates(&self) -> Result<Vec<PlatformCertificate>, Error> {
        let mut downloads = self.v3.downloads.lock().await;
        self.download(&mut downloads).await
    }

    /// Run any operation of the core through this client's transport,
    /// retries, failover and deadline.
    pub async fn execute<O: Operation>(&self, operation: O) -> Result<O::Output, Error> {
        self.shared.execute(operation).await
    }

    fn verifier(&self) -> Arc<Verifier> {
        Arc::clone(
            &self
                .v3
                .verifier
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn merchant(&self) -> Merchant {
        Merchant::new(
            self.settings().mch_id.clone(),
            Arc::clone(&self.v3.settings.signer),
            self.verifier(),
        )
    }

    fn unix_time(&self) -> u64 {
        self.settings().clock.unix_time()
    }

    /// Make sure a key that verifies replies now is held: wait for the
    /// download in flight, or start one, unless one failed less than
    /// [`CERTIFICATE_REFRESH_INTERVAL`] ago (then its failure again, at
    /// once).
    async fn certificates_needed(&self) -> Result<(), Error> {
        let mut downloads = self.v3.downloads.lock().await;
        // The download this caller waited for may have brought them.
        if self.verifier().can_verify_at(self.unix_time()) {
            return Ok(());
        }
        if let Some(failed) = &downloads.failed {
            let since = failed.at.elapsed();
            if since < CERTIFICATE_REFRESH_INTERVAL {
                return Err(Error::CertificatesUnavailable {
                    since,
                    retry_in: CERTIFICATE_REFRESH_INTERVAL.saturating_sub(since),
                    cause: Box::new(failed.error.clone()),
                });
            }
        }
        self.download(&mut downloads).await.map(drop)
    }

    /// After a reply named a serial not held (or a certificate outside its
    /// validity): whether the upload is worth sending again, downloading
    /// the certificates first unless a download finished since the upload
    /// started (`seen`) or one started less than
    /// [`CERTIFICATE_REFRESH_INTERVAL`] ago.
    async fn refresh_for_reply(&self, seen: u64) -> Result<bool, Error> {
        let mut downloads = self.v3.downloads.lock().await;
        if self.v3.generation.load(Ordering::Acquire) != seen {
            return Ok(true);
        }
        if downloads
            .last
            .is_some_and(|t| t.elapsed() < CERTIFICATE_REFRESH_INTERVAL)
        {
            return Ok(false);
        }
        tracing::info!(
            "a reply named a serial not held or not valid: downloading the platform certificates"
        );
        self.download(&mut downloads).await?;
        Ok(true)
    }

    /// One download, with the lock on `downloads` held by the caller:
    /// record it, and on success replace the verifier with one that holds
    /// the certificates valid now and none that has expired.
    async fn download(&self, downloads: &mut Downloads) -> Result<Vec<PlatformCertificate>, Error> {
        let key = self.v3.settings.api_v3_key.clone().ok_or_else(|| {
            Error::Proto(wxmedia_proto::Error::InvalidInput {
                what: "settings",
                reason: "downloading the platform certificates needs the APIv3 key".into(),
            })
        })?;
        downloads.last = Some(Instant::now());
        let op = DownloadCertificates::new(self.merchant(), key)
            .with_reply_limit(self.settings().reply_limit);
        let certificates = match self.execute(op).await {
            Ok(certificates) => certificates,
            Err(e) => {
                downloads.failed = Some(Failed {
                    at: Instant::now(),
                    error: e.clone(),
                });
                return Err(e);
            }
        };
        downloads.failed = None;
        let mut updated = (*self.verifier()).clone();
        let expired = updated.remove_expired(self.unix_time());
        if !expired.is_empty() {
            tracing::info!(serials = ?expired, "dropped expired platform certificates");
        }
        // A certificate not valid yet (the next one of a rotation) is
        // left out: a later download, once replies name it, brings it in.
        for c in certificates.iter().filter(|c| c.is_valid()) {
            updated.add_platform_certificate_pem(c.pem.as_bytes())?;
        }
        *self
            .v3
            .verifier
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(updated);
        self.v3.generation.fetch_add(1, Ordering::Release);
        Ok(certificates)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::StatusCode;
    use wxmedia_proto::{ApiError, Layer};

    use super::*;
    use crate::TransportErrorKind;

    /// Every kind of failure, told again, keeps what callers decide by.
    #[test]
    fn a_failure_told_again_keeps_its_predicates_and_says_what_failed() {
        let http = || {
            Error::Proto(wxmedia_proto::Error::Http {
                status: StatusCode::BAD_GATEWAY,
                body: Bytes::from_static(b"<html>"),
            })
        };
        let rate_limited = Error::Proto(
            ApiError::new(
                Layer::Status,
                Some(wxmedia_proto::ErrorCode::RateLimitedV3),
                "slow down",
            )
            .into(),
        );
        let cases = [
            http(),
            rate_limited,
            Error::transport(TransportErrorKind::Tls, "bad certificate"),
            Error::transport(TransportErrorKind::Connect, "refused"),
            Error::Timeout {
                after: Duration::from_secs(30),
                last: None,
            },
            Error::Timeout {
                after: Duration::from_secs(30),
                last: Some(Box::new(http())),
            },
            Error::Proto(wxmedia_proto::Error::Signature {
                kind: SignatureError::Mismatch,
                body: Bytes::from_static(b"{}"),
            }),
            Error::Proto(wxmedia_proto::Error::InvalidInput {
                what: "settings",
                reason: "no key".into(),
            }),
        ];
        for original in cases {
            let again = Error::CertificatesUnavailable {
                since: Duration::from_millis(2500),
                retry_in: CERTIFICATE_REFRESH_INTERVAL.saturating_sub(Duration::from_millis(2500)),
                cause: Box::new(original.clone()),
            };
            let text = crate::Chain(&again).to_string();
            assert!(
                text.contains("platform certificate download failed 2 s ago")
                    && text.contains("tried again in 58 s"),
                "{text}"
            );
            assert_eq!(again.is_retryable(), original.is_retryable(), "{text}");
            assert_eq!(
                again.is_rate_limited(),
                original.is_rate_limited(),
                "{text}"
            );
            assert_eq!(again.api_code(), original.api_code(), "{text}");
            assert_eq!(again.transport_kind(), original.transport_kind(), "{text}");
            assert_eq!(again.is_input_error(), original.is_input_error(), "{text}");
            assert_eq!(
                again.signature_error(),
                original.signature_error(),
                "{text}"
            );
        }
    }
}
