//! The APIv3 client: image, video and marketing-image uploads and the platform certificates, over any transport.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use wxmedia_proto::v3::{
    Api, DownloadCertificates, MediaId, MediaUrl, Merchant, PlatformCertificate, UploadV3,
    UploadedMedia, Verifier,
};
use wxmedia_proto::{Media, Operation, SignatureError};

use crate::shared::{Shared, common_methods};
use crate::{BuildError, Error, FromSettings, Settings, Transport, V3Builder, V3Settings};

/// The least time between two certificate downloads caused by an unknown
/// reply serial, so that forged serials cannot make a client hammer the
/// endpoint.
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
/// let media_id: String = c.upload_image(m).await?.media_id;
/// # Ok(()) }
/// ```
///
/// ```compile_fail,E0599
/// # async fn f<T: wxmedia_client::Transport>(c: wxmedia_client::V3Client<T>, m: wxmedia_proto::Media) {
/// c.upload(m).await; // upload(media) is V2Client's
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
    /// When the platform certificates were last downloaded.
    refreshed: Mutex<Option<Instant>>,
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
                refreshed: Mutex::new(None),
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

    /// Upload an image for merchant onboarding
    /// (`/v3/merchant/media/upload`; JPEG, PNG, BMP, 5 MiB at most).
    pub async fn upload_image(&self, media: Media) -> Result<MediaId, Error> {
        self.upload_to(Api::Image, media).await.map(MediaId::from)
    }

    /// Upload a video (`/v3/merchant/media/video_upload`; build the media
    /// with `Media::video`; 5 MiB at most).
    pub async fn upload_video(&self, media: Media) -> Result<MediaId, Error> {
        self.upload_to(Api::Video, media).await.map(MediaId::from)
    }

    /// Upload a marketing (coupon) image
    /// (`/v3/marketing/favor/media/image-upload`; 2 MiB at most).
    pub async fn upload_marketing_image(&self, media: Media) -> Result<MediaUrl, Error> {
        self.upload_to(Api::MarketingImage, media)
            .await
            .map(MediaUrl::from)
    }

    /// Upload to the v3 API `api` chosen at run time; the result's `id`
    /// is the field [`Api::reply_field`] names. Media over the API's limit
    /// is refused before sending. With the APIv3 key, the platform
    /// certificates are downloaded first when none is known, and again
    /// (then the upload retried once) when a reply names a serial not
    /// known, at most once per [`CERTIFICATE_REFRESH_INTERVAL`].
    pub async fn upload_to(&self, api: Api, media: Media) -> Result<UploadedMedia, Error> {
        let has_key = self.v3.settings.api_v3_key.is_some();
        if self.verifier().is_empty() && has_key {
            self.refresh_certificates().await?;
        }
        let reply_limit = self.settings().reply_limit;
        let upload = |merchant| {
            UploadV3::new(api, merchant, media.clone()).map(|u| u.with_reply_limit(reply_limit))
        };
        let first = self.execute(upload(self.merchant())?).await;
        let unknown_serial = first
            .as_ref()
            .err()
            .and_then(Error::signature_error)
            .is_some_and(|kind| kind == SignatureError::UnknownSerial);
        if unknown_serial && has_key && self.may_refresh() {
            tracing::info!(
                "a reply named an unknown serial: downloading the platform certificates"
            );
            self.refresh_certificates().await?;
            return self.execute(upload(self.merchant())?).await;
        }
        first
    }

    /// Download the platform certificates with the APIv3 key, verify them,
    /// and from now on accept replies signed by them.
    pub async fn download_certificates(&self) -> Result<Vec<PlatformCertificate>, Error> {
        self.refresh_certificates().await
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

    /// Whether enough time has passed since the last download.
    fn may_refresh(&self) -> bool {
        let last = *self
            .v3
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last.is_none_or(|t| t.elapsed() >= CERTIFICATE_REFRESH_INTERVAL)
    }

    async fn refresh_certificates(&self) -> Result<Vec<PlatformCertificate>, Error> {
        let key = self.v3.settings.api_v3_key.clone().ok_or_else(|| {
            Error::Proto(wxmedia_proto::Error::InvalidInput {
                what: "settings",
                reason: "downloading the platform certificates needs the APIv3 key".into(),
            })
        })?;
        *self
            .v3
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        let op = DownloadCertificates::new(self.merchant(), key)
            .with_reply_limit(self.settings().reply_limit);
        let certificates = self.execute(op).await?;
        let mut updated = (*self.verifier()).clone();
        for c in &certificates {
            updated.add_platform_certificate_pem(c.pem.as_bytes())?;
        }
        *self
            .v3
            .verifier
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(updated);
        Ok(certificates)
    }
}
