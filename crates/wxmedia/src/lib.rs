//! Upload media to WeChat Pay: one facade over the wxmedia transports, chosen by feature, with no logic of its own.
//!
//! | feature | module | runtime |
//! |---|---|---|
//! | `hyper` (default) | [`hyper`] | tokio, hyper 1 + hyper-rustls |
//! | `surf` | `surf` | async-std, surf 2 with a rustls 0.23 client |
//! | `blocking` | `blocking` | none, ureq 3 |
//!
//! The TLS crypto provider is a feature too: `ring` (default) or
//! `aws-lc-rs`, exactly one (a compile error otherwise; turn default
//! features off to switch). [`ClientBuilder::crypto_provider`] overrides it
//! for one client.
//!
//! Every module has the same `Client`, built the same way. For APIv2:
//! `Client::builder().mch_id(..).api_key(..).identity(..).sign_type(..).build()?`,
//! and `client.upload(media)` gives an [`Uploaded`] (media id, media hash,
//! sign type) or an [`Error`]. For APIv3:
//! `Client::builder().mch_id(..).private_key_file(..).merchant_certificate_file(..)`
//! with one way to verify replies (`.wechatpay_public_key_file(id, ..)`,
//! `.platform_certificate_file(..)` or `.api_v3_key(..)`), then
//! `client.upload_image(media)`, `upload_video` or `upload_marketing_image`
//! give a [`v3::Uploaded`] (its `id` is the media id or URL).
//!
//! Two error types are all a user meets: [`BuildError`] from building a
//! client or loading an [`Identity`] (nothing was sent), and [`Error`] from
//! an upload, the same for every transport. Decide with its predicates:
//! [`Error::is_retryable`], [`Error::is_rate_limited`],
//! [`Error::is_input_error`], [`Error::api_code`].
#![forbid(unsafe_code)]
// docs.rs documents every feature and badges what each one gates.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use wxmedia_client::{
    BuildError, ClientBuilder, Error, Identity, Timeouts, TransportErrorKind,
};
pub use wxmedia_proto as proto;
pub use wxmedia_proto::v2::{ApiKey, SignType, Uploaded};
pub use wxmedia_proto::v3;
pub use wxmedia_proto::{
    ApiError, ErrorCode, Layer, Media, MediaError, MediaHash, MediaKind, RetryPolicy,
};

/// The hyper transport (tokio).
#[cfg(feature = "hyper")]
pub mod hyper {
    pub use wxmedia_hyper::Client;
}

/// The surf transport (async-std).
#[cfg(feature = "surf")]
pub mod surf {
    pub use wxmedia_surf::Client;
}

/// The blocking transport (no runtime).
#[cfg(feature = "blocking")]
pub mod blocking {
    pub use wxmedia_blocking::Client;
}
