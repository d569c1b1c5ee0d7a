//! Upload media to WeChat Pay: one facade over the wxmedia transports, chosen by feature, with no logic of its own.
//!
//! | feature | module | runtime |
//! |---|---|---|
//! | `hyper` (default) | [`hyper`] | tokio, hyper 1 + hyper-rustls |
//! | `surf` | `surf` | async-std, on hyper's engine (and a `surf::Client` over it) |
//! | `blocking` | `blocking` | none, ureq 3 |
//!
//! The TLS crypto provider is a feature too: `ring` (default) or
//! `aws-lc-rs`, exactly one (a compile error otherwise; turn default
//! features off to switch). [`ClientBuilder::crypto_provider`] overrides it
//! for one client.
//!
//! Every module has the same two clients, built the same way; the API
//! generation is the type, so calling the other API's method does not
//! compile.
//!
//! * APIv2: `V2Client::builder().mch_id(..).api_key(..).identity(..).sign_type(..).build()?`,
//!   then `client.upload(media)` gives a [`v2::Uploaded`] (`media_id`,
//!   `media_hash`, `sign_type`).
//! * APIv3: `V3Client::builder().mch_id(..).private_key_file(..).merchant_certificate_file(..)`
//!   with one or more ways to verify replies
//!   (`.wechatpay_public_key_file(id, ..)`, `.platform_certificate_file(..)`,
//!   `.api_v3_key(..)`), then `client.upload(&endpoint, media)`, whose
//!   result the [`v3::Endpoint`] decides: of the built-in ones (all in
//!   [`v3::Api::ALL`]), [`v3::Image`], [`v3::Video`] and
//!   [`v3::ComplaintImage`] give a [`v3::MediaId`] (`media_id`),
//!   [`v3::MarketingImage`] a [`v3::MediaUrl`] (`media_url`); a caller's
//!   [`v3::CustomApi`] the verified JSON reply ([`v3::CustomUploaded`]), a
//!   caller's own endpoint type its own output; `upload_to(api, media)`
//!   any [`v3::Api`] chosen at run time; `download_certificates` the
//!   platform certificates.
//!
//! [`Media::new`] (images) and [`Media::video`] check format, extension and
//! wholeness; each upload checks its own size limit (v2 2 MiB, v3 image
//! and video 5 MiB, marketing and complaint image 2 MiB) before anything
//! is sent.
//!
//! # Errors
//!
//! Every error type a user meets is here:
//!
//! * [`BuildError`]: building a client or loading an [`Identity`]; nothing
//!   was sent. It names the missing setting or the file.
//! * [`Error`]: an upload, the same for every transport. Decide with its
//!   predicates: [`Error::is_retryable`], [`Error::is_rate_limited`],
//!   [`Error::is_input_error`], [`Error::api_code`] (an [`ErrorCode`]),
//!   [`Error::signature_error`] (a [`SignatureError`]),
//!   [`Error::transport_kind`] (a [`TransportErrorKind`]). Its variants
//!   hold the rest: [`ProtoError`] (the core's verdict: [`MediaError`],
//!   [`ApiError`] with its [`Layer`], [`DecodeError`], a signature
//!   failure), a transport failure with the transport's own error (a
//!   [`BoxError`], to downcast), or a timeout that keeps the failure it cut
//!   short.
#![forbid(unsafe_code)]
// docs.rs documents every feature and badges what each one gates.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use wxmedia_client::doctor;
pub use wxmedia_client::observe;
// Everything the builders' and clients' signatures take or give.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use wxmedia_client::RedisLimiter;
pub use wxmedia_client::{
    BoxError, BuildError, Chain, ClientBuilder, Clock, Error, Identity, Limiter, LocalLimiter,
    ProxyError, SharedError, SystemClock, Timeouts, TransportErrorKind, V2Builder, V3Builder,
    limit_key, rustls,
};
pub use wxmedia_proto as proto;
pub use wxmedia_proto::Error as ProtoError;
pub use wxmedia_proto::endpoints::Region;
pub use wxmedia_proto::v2::{ApiKey, SignType};
pub use wxmedia_proto::{
    ApiError, DecodeError, ErrorCode, Layer, Media, MediaError, MediaHash, MediaKind, Rate,
    RetryPolicy, SignatureError,
};
pub use wxmedia_proto::{v2, v3};

/// The hyper transport (tokio).
#[cfg(feature = "hyper")]
pub mod hyper {
    pub use wxmedia_hyper::{Hyper, V2Client, V3Client};
}

/// The surf transport (async-std).
#[cfg(feature = "surf")]
pub mod surf {
    pub use wxmedia_surf::{Surf, V2Client, V3Client};
}

/// The blocking transport (no runtime).
#[cfg(feature = "blocking")]
pub mod blocking {
    pub use wxmedia_blocking::{Ureq, V2Client, V3Client};
}
