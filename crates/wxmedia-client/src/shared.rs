//! What both clients hold: the settings, the transport and the failover state, behind one cheap-to-clone handle.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use wxmedia_proto::{Endpoints, Operation};

use crate::{BuildError, Error, Settings, Transport, drive};

/// The network half of a client, shared by its clones.
pub(crate) struct Shared<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    settings: Settings,
    transport: T,
    endpoints: Mutex<Endpoints>,
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Transport> Shared<T> {
    pub(crate) fn new(settings: Settings) -> Result<Shared<T>, BuildError> {
        let transport = T::new(&settings)?;
        let endpoints = Mutex::new(settings.endpoints());
        Ok(Shared {
            inner: Arc::new(Inner {
                settings,
                transport,
                endpoints,
            }),
        })
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub(crate) fn transport(&self) -> &T {
        &self.inner.transport
    }

    pub(crate) fn current_endpoint(&self) -> String {
        self.inner
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            // A getter: `peek` reads, where `current` would end a failover
            // whose time is up.
            .peek(Instant::now())
            .to_owned()
    }

    pub(crate) async fn execute<O: Operation>(&self, operation: O) -> Result<O::Output, Error> {
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

/// The methods every client has, written once for both APIs and both
/// faces: `settings`, `transport`, `current_endpoint`.
macro_rules! common_methods {
    () => {
        /// The settings in force.
        pub fn settings(&self) -> &$crate::Settings {
            self.shared().settings()
        }

        /// The transport, for transport-specific monitoring.
        pub fn transport(&self) -> &T {
            self.shared().transport()
        }

        /// The base URL the next attempt would use: the primary, or the
        /// twin while failed over. Useful for monitoring.
        pub fn current_endpoint(&self) -> String {
            self.shared().current_endpoint()
        }
    };
}
pub(crate) use common_methods;
