//! The one generic client: settings, a transport, the shared failover state, and `upload`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use wxmedia_proto::v2::Uploaded;
use wxmedia_proto::{Endpoints, Media, Operation};

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
}

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
        Ok(Client {
            inner: Arc::new(Inner {
                settings,
                transport,
                endpoints,
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
