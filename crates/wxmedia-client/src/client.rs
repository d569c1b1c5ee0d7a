//! The one generic client: settings, a transport, the shared failover state, and `upload`.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use wxmedia_proto::v2::Uploaded;
use wxmedia_proto::v3::{self, Api, DownloadCertificates, Merchant, PlatformCertificate, UploadV3};
use wxmedia_proto::{Endpoints, Media, Operation, SignatureError};

use crate::{BuildError, ClientBuilder, Error, FromSettings, Settings, Transport, drive};

/// An upload client over the transport `T`. Cheap to clone; clones share
/// the transport's connection pool and the failover state, and can be used
/// from many tasks at once.
///
/// Each transport crate names its instance: `wxmedia_hyper::Client` is
/// `Client<wxmedia_hyper::Hyper>`, `wxmedia_surf::Client` is
/// `Client<wxmedia_surf::Surf>`.
pub struct Client<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    settings: Settings,
    transport: T,
    endpoints: Mutex<Endpoints>,
    /// The keys v3 replies are verified with: the builder's, plus the
    /// platform certificates downloaded with the APIv3 key.
    verifier: RwLock<Arc<v3::Verifier>>,
    /// When the platform certificates were last downloaded.
    refreshed: Mutex<Option<Instant>>,
}

/// The least time between two certificate downloads caused by an unknown
/// reply serial, so that forged serials cannot make a client hammer the
/// endpoint.
pub const CERTIFICATE_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

impl<T> Clone for Client<T> {
    fn clone(&self) -> Self {
        Client {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Transport> std::fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("transport", &T::NAME)
            .field("mch_id", &self.inner.settings.mch_id)
            .field("primary", &self.inner.settings.primary)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> FromSettings for Client<T> {
    fn from_settings(settings: Settings) -> Result<Self, BuildError> {
        let transport = T::new(&settings)?;
        let endpoints = Mutex::new(settings.endpoints());
        let verifier = settings
            .v3
            .as_ref()
            .map(|v3| v3.verifier.clone())
            .unwrap_or_default();
        Ok(Client {
            inner: Arc::new(Inner {
                settings,
                transport,
                endpoints,
                verifier: RwLock::new(Arc::new(verifier)),
                refreshed: Mutex::new(None),
            }),
        })
    }
}

impl<T: Transport> Client<T> {
    /// Start configuring a client.
    pub fn builder() -> ClientBuilder<Client<T>> {
        ClientBuilder::new()
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The transport, for transport-specific monitoring.
    pub fn transport(&self) -> &T {
        &self.inner.transport
    }

    /// The base URL the next attempt would use: the primary, or the twin
    /// while failed over. Useful for monitoring.
    pub fn current_endpoint(&self) -> String {
        self.inner
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current(Instant::now())
            .to_owned()
    }

    /// Upload one image with the v2 API: retried and failed over as the
    /// policy says, within the deadline.
    pub async fn upload(&self, media: Media) -> Result<Uploaded, Error> {
        let upload = self.inner.settings.upload_v2(media)?;
        self.execute(upload).await
    }

    /// Upload an image for merchant onboarding with v3
    /// (`/v3/merchant/media/upload`); the result's `id` is the `media_id`.
    pub async fn upload_image(&self, media: Media) -> Result<v3::Uploaded, Error> {
        self.upload_v3(Api::Image, media).await
    }

    /// Upload a video with v3 (`/v3/merchant/media/video_upload`); build
    /// the media with `Media::video`. The result's `id` is the `media_id`.
    pub async fn upload_video(&self, media: Media) -> Result<v3::Uploaded, Error> {
        self.upload_v3(Api::Video, media).await
    }

    /// Upload a marketing image with v3
    /// (`/v3/marketing/favor/media/image-upload`); the result's `id` is the
    /// `media_url`.
    pub async fn upload_marketing_image(&self, media: Media) -> Result<v3::Uploaded, Error> {
        self.upload_v3(Api::MarketingImage, media).await
    }

    /// Upload with the v3 API `api`. With the APIv3 key, the platform
    /// certificates are downloaded first when none is known, and again
    /// (then the upload retried once) when a reply names a serial not
    /// known, at most once per [`CERTIFICATE_REFRESH_INTERVAL`].
    pub async fn upload_v3(&self, api: Api, media: Media) -> Result<v3::Uploaded, Error> {
        let v3 = self.v3_settings()?;
        if self.verifier().is_empty() && v3.api_v3_key.is_some() {
            self.refresh_certificates().await?;
        }
        let upload = |merchant| {
            UploadV3::new(api, merchant, media.clone())
                .map(|u| u.with_reply_limit(self.inner.settings.reply_limit))
        };
        let first = self.execute(upload(self.merchant()?)?).await;
        let unknown_serial = matches!(
            &first,
            Err(Error::Proto(wxmedia_proto::Error::Signature {
                kind: SignatureError::UnknownSerial,
                ..
            }))
        );
        if unknown_serial && v3.api_v3_key.is_some() && self.may_refresh() {
            tracing::info!(
                "a reply named an unknown serial: downloading the platform certificates"
            );
            self.refresh_certificates().await?;
            return self.execute(upload(self.merchant()?)?).await;
        }
        first
    }

    /// Download the platform certificates with the APIv3 key, verify them,
    /// and from now on accept replies signed by them.
    pub async fn download_certificates(&self) -> Result<Vec<PlatformCertificate>, Error> {
        self.refresh_certificates().await
    }

    fn v3_settings(&self) -> Result<&crate::V3Settings, Error> {
        self.inner.settings.v3.as_ref().ok_or_else(|| {
            Error::Proto(wxmedia_proto::Error::InvalidInput {
                what: "settings",
                reason: "a v3 upload needs v3 credentials (the merchant private key), and this client has none".into(),
            })
        })
    }

    fn verifier(&self) -> Arc<v3::Verifier> {
        Arc::clone(
            &self
                .inner
                .verifier
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn merchant(&self) -> Result<Merchant, Error> {
        let v3 = self.v3_settings()?;
        Ok(Merchant::new(
            self.inner.settings.mch_id.clone(),
            Arc::clone(&v3.signer),
            self.verifier(),
        ))
    }

    /// Whether enough time has passed since the last download.
    fn may_refresh(&self) -> bool {
        let last = *self
            .inner
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last.is_none_or(|t| t.elapsed() >= CERTIFICATE_REFRESH_INTERVAL)
    }

    async fn refresh_certificates(&self) -> Result<Vec<PlatformCertificate>, Error> {
        let v3 = self.v3_settings()?;
        let key = v3.api_v3_key.clone().ok_or_else(|| {
            Error::Proto(wxmedia_proto::Error::InvalidInput {
                what: "settings",
                reason: "downloading the platform certificates needs the APIv3 key".into(),
            })
        })?;
        *self
            .inner
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        let op = DownloadCertificates::new(self.merchant()?, key)
            .with_reply_limit(self.inner.settings.reply_limit);
        let certificates = self.execute(op).await?;
        let mut updated = (*self.verifier()).clone();
        for c in &certificates {
            updated.add_platform_certificate_pem(c.pem.as_bytes())?;
        }
        *self
            .inner
            .verifier
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(updated);
        Ok(certificates)
    }

    /// Run any operation of the core through this client's transport,
    /// retries, failover and deadline.
    pub async fn execute<O: Operation>(&self, operation: O) -> Result<O::Output, Error> {
        let inner = &*self.inner;
        drive(
            &inner.transport,
            &inner.settings,
            &inner.endpoints,
            operation,
        )
        .await
    }
}
