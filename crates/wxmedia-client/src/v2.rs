//! The APIv2 client: `upload` of an image to `/secapi/mch/uploadmedia`, over any transport.

use std::sync::Arc;

use wxmedia_proto::v2::Uploaded;
use wxmedia_proto::{Media, Operation};

use crate::shared::{Shared, common_methods};
use crate::{BuildError, Error, FromSettings, Settings, Transport, V2Builder, V2Settings};

/// An APIv2 upload client over the transport `T`. Cheap to clone; clones
/// share the transport's connection pool and the failover state, and can
/// be used from many tasks at once.
///
/// Each transport crate names its instance: `wxmedia_hyper::V2Client` is
/// `V2Client<wxmedia_hyper::Hyper>`. It has only v2's method: a v3 upload
/// on it does not compile.
///
/// ```no_run
/// # async fn f<T: wxmedia_client::Transport>(c: wxmedia_client::V2Client<T>, m: wxmedia_proto::Media) -> Result<(), wxmedia_client::Error> {
/// let media_id: String = c.upload(m).await?.media_id;
/// # Ok(()) }
/// ```
///
/// ```compile_fail,E0599
/// # async fn f<T: wxmedia_client::Transport>(c: wxmedia_client::V2Client<T>, m: wxmedia_proto::Media) {
/// c.upload_to(wxmedia_proto::v3::Api::Image, m).await; // upload_to is V3Client's
/// # }
/// ```
pub struct V2Client<T> {
    shared: Shared<T>,
    v2: Arc<V2Settings>,
}

impl<T> Clone for V2Client<T> {
    fn clone(&self) -> Self {
        V2Client {
            shared: self.shared.clone(),
            v2: Arc::clone(&self.v2),
        }
    }
}

impl<T: Transport> std::fmt::Debug for V2Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V2Client")
            .field("transport", &T::NAME)
            .field("mch_id", &self.settings().mch_id)
            .field("primary", &self.settings().primary)
            .field("sign_type", &self.v2.sign_type)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> FromSettings<V2Settings> for V2Client<T> {
    fn from_settings(settings: Settings, v2: V2Settings) -> Result<Self, BuildError> {
        Ok(V2Client {
            shared: Shared::new(settings)?,
            v2: Arc::new(v2),
        })
    }
}

impl<T: Transport> V2Client<T> {
    /// Start configuring a client.
    pub fn builder() -> V2Builder<V2Client<T>> {
        V2Builder::new()
    }

    fn shared(&self) -> &Shared<T> {
        &self.shared
    }

    pub(crate) fn shared_ref(&self) -> &Shared<T> {
        &self.shared
    }

    common_methods!();

    /// The v2 credentials in force.
    pub fn v2_settings(&self) -> &V2Settings {
        &self.v2
    }

    /// Upload one image (JPEG, PNG, BMP; 2 MiB at most, refused before
    /// sending otherwise): retried and failed over as the policy says,
    /// within the deadline.
    pub async fn upload(&self, media: Media) -> Result<Uploaded, Error> {
        let upload = self.v2.upload(self.settings(), media)?;
        self.execute(upload).await
    }

    /// Run any operation of the core through this client's transport,
    /// retries, failover and deadline.
    pub async fn execute<O: Operation>(&self, operation: O) -> Result<O::Output, Error> {
        self.shared.execute(operation).await
    }
}
