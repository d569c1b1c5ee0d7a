//! The blocking face of both clients, written once for any transport whose futures finish when first polled (ureq's).
//!
//! The upload loop is async so that every transport shares it. A blocking
//! transport does its whole exchange inside [`Transport::send`] and
//! sleeps when its sleep future is polled, so every future the loop
//! awaits completes on its first poll and a minimal executor drives it:
//! these faces run the async client under `futures_executor::block_on`
//! and block the calling thread. Do not use them with a transport that
//! needs a runtime (hyper needs tokio's).

use futures_executor::block_on;
use wxmedia_proto::v2::Uploaded;
use wxmedia_proto::v3::{Api, Endpoint, PlatformCertificate, UploadedMedia};
use wxmedia_proto::{Media, Operation};

use crate::{
    BuildError, Error, FromSettings, Settings, Transport, V2Builder, V2Settings, V3Builder,
    V3Settings,
};

/// A transport whose futures finish when first polled: it does its whole
/// exchange inside [`Transport::send`] and blocks in its sleep. Only such a
/// transport can be driven by the blocking faces; one that needs a runtime
/// (hyper needs tokio's) does not implement this, so that
/// `blocking::V2Client<Hyper>` does not compile.
///
/// A transport of your own that blocks implements it:
///
/// ```
/// # use std::time::Duration;
/// # use wxmedia_client::{BuildError, Exchange, Settings, Transport};
/// use wxmedia_client::blocking::{self, BlockingTransport};
///
/// struct Blocks;
/// # impl Transport for Blocks {
/// #     const NAME: &'static str = "blocks";
/// #     fn new(_: &Settings) -> Result<Blocks, BuildError> { Ok(Blocks) }
/// #     async fn send(&self, _: http::Request<wxmedia_proto::Body>, _: usize, _: Duration) -> Exchange {
/// #         unimplemented!()
/// #     }
/// #     async fn sleep(&self, d: Duration) { std::thread::sleep(d) }
/// # }
/// impl BlockingTransport for Blocks {}
///
/// let _client: Option<blocking::V2Client<Blocks>> = None;
/// ```
///
/// One that does not, cannot be put under a blocking face:
///
/// ```compile_fail,E0277
/// # use std::time::Duration;
/// # use wxmedia_client::{BuildError, Exchange, Settings, Transport};
/// use wxmedia_client::blocking;
///
/// struct NeedsARuntime;
/// # impl Transport for NeedsARuntime {
/// #     const NAME: &'static str = "needs-a-runtime";
/// #     fn new(_: &Settings) -> Result<NeedsARuntime, BuildError> { Ok(NeedsARuntime) }
/// #     async fn send(&self, _: http::Request<wxmedia_proto::Body>, _: usize, _: Duration) -> Exchange {
/// #         unimplemented!()
/// #     }
/// #     async fn sleep(&self, _: Duration) {}
/// # }
///
/// let _client: Option<blocking::V2Client<NeedsARuntime>> = None;
/// ```
pub trait BlockingTransport: Transport {}

/// A blocking APIv2 client: [`crate::V2Client`] over `T` whose methods
/// block the calling thread. Cheap to clone; clones share the connection
/// pool and the failover state and can be used from many threads at once.
pub struct V2Client<T: BlockingTransport> {
    inner: crate::V2Client<T>,
}

/// A blocking APIv3 client: [`crate::V3Client`] over `T` whose methods
/// block the calling thread.
pub struct V3Client<T: BlockingTransport> {
    inner: crate::V3Client<T>,
}

// Written out rather than derived: a derive would ask `T: Clone`.
impl<T: BlockingTransport> Clone for V2Client<T> {
    fn clone(&self) -> Self {
        V2Client {
            inner: self.inner.clone(),
        }
    }
}

impl<T: BlockingTransport> Clone for V3Client<T> {
    fn clone(&self) -> Self {
        V3Client {
            inner: self.inner.clone(),
        }
    }
}

impl<T: BlockingTransport> std::fmt::Debug for V2Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T: BlockingTransport> std::fmt::Debug for V3Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T: BlockingTransport> FromSettings<V2Settings> for V2Client<T> {
    fn from_settings(settings: Settings, api: V2Settings) -> Result<Self, BuildError> {
        crate::V2Client::from_settings(settings, api).map(|inner| V2Client { inner })
    }
}

impl<T: BlockingTransport> FromSettings<V3Settings> for V3Client<T> {
    fn from_settings(settings: Settings, api: V3Settings) -> Result<Self, BuildError> {
        crate::V3Client::from_settings(settings, api).map(|inner| V3Client { inner })
    }
}

impl<T: BlockingTransport> V2Client<T> {
    /// Start configuring a client.
    pub fn builder() -> V2Builder<V2Client<T>> {
        V2Builder::new()
    }

    fn shared(&self) -> &crate::shared::Shared<T> {
        self.inner.shared_ref()
    }

    crate::shared::common_methods!();

    /// The async client underneath.
    pub fn as_async(&self) -> &crate::V2Client<T> {
        &self.inner
    }

    /// Upload one image (see [`crate::V2Client::upload`]). Blocks.
    pub fn upload(&self, media: Media) -> Result<Uploaded, Error> {
        block_on(self.inner.upload(media))
    }

    /// Run any operation of the core (see [`crate::V2Client::execute`]). Blocks.
    pub fn execute<O: Operation>(&self, operation: O) -> Result<O::Output, Error> {
        block_on(self.inner.execute(operation))
    }
}

impl<T: BlockingTransport> V3Client<T> {
    /// Start configuring a client.
    pub fn builder() -> V3Builder<V3Client<T>> {
        V3Builder::new()
    }

    fn shared(&self) -> &crate::shared::Shared<T> {
        self.inner.shared_ref()
    }

    crate::shared::common_methods!();

    /// The async client underneath.
    pub fn as_async(&self) -> &crate::V3Client<T> {
        &self.inner
    }

    /// Upload `media` to `endpoint` (see [`crate::V3Client::upload`]).
    /// Blocks.
    pub fn upload<E: Endpoint + ?Sized>(
        &self,
        endpoint: &E,
        media: Media,
    ) -> Result<E::Output, Error> {
        block_on(self.inner.upload(endpoint, media))
    }

    /// Upload to the built-in endpoint chosen at run time (see
    /// [`crate::V3Client::upload_to`]). Blocks.
    pub fn upload_to(&self, api: Api, media: Media) -> Result<UploadedMedia, Error> {
        block_on(self.inner.upload_to(api, media))
    }

    /// The WeChat Pay key sensitive data is sealed with (see
    /// [`crate::V3Client::sealing_key`]). Blocks.
    pub fn sealing_key(&self) -> Result<wxmedia_proto::v3::SealingKey, Error> {
        block_on(self.inner.sealing_key())
    }

    /// Download the platform certificates with the APIv3 key (see
    /// [`crate::V3Client::download_certificates`]). Blocks.
    pub fn download_certificates(&self) -> Result<Vec<PlatformCertificate>, Error> {
        block_on(self.inner.download_certificates())
    }

    /// Run any operation of the core (see [`crate::V3Client::execute`]). Blocks.
    pub fn execute<O: Operation>(&self, operation: O) -> Result<O::Output, Error> {
        block_on(self.inner.execute(operation))
    }
}
