//! One conformance suite for every wxmedia transport, run against the simulator: written once, instantiated per transport.
//!
//! A transport implements [`Transport`]; `conformance!(MyTransport)` in a
//! test file expands to one `#[tokio::test]` per case in [`cases`]. Each
//! case starts its own simulator on its own port.
#![forbid(unsafe_code)]

pub mod cases;
pub mod fixtures;

use std::future::Future;
use std::pin::Pin;

use wxmedia_proto::{ErrorCode, Media, Uploaded};
use wxmedia_tls::FromSettings;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which kind of error a transport reported, in terms every transport shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An error decided by the core (input, API, signature, decode, HTTP status).
    Proto,
    /// A configuration error (files, certificates, settings).
    Config,
    /// A transport error (connect, TLS, broken connection).
    Transport,
    /// A time limit.
    Timeout,
}

/// A transport's error, seen through what the suite checks.
#[derive(Debug)]
pub struct View {
    /// The kind.
    pub kind: Kind,
    /// `is_retryable()`.
    pub retryable: bool,
    /// `api_code()`.
    pub code: Option<ErrorCode>,
    /// The core's error, for `Kind::Proto`.
    pub proto: Option<wxmedia_proto::Error>,
    /// Display of the error and its whole source chain.
    pub text: String,
}

impl View {
    /// Describe an error and its sources.
    pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
        let mut text = e.to_string();
        let mut cur = e.source();
        while let Some(s) = cur {
            text.push_str(": ");
            text.push_str(&s.to_string());
            cur = s.source();
        }
        text
    }
}

/// What the suite needs of a transport.
pub trait Transport: 'static {
    /// Its name in test output.
    const NAME: &'static str;
    /// Its client.
    type Client: FromSettings + Clone + Send + Sync + 'static;
    /// Turn its error into a [`View`].
    fn view(e: <Self::Client as FromSettings>::Error) -> View;
    /// Upload with it (blocking clients run on a blocking thread).
    fn upload(
        client: &Self::Client,
        media: Media,
    ) -> BoxFuture<'static, Result<Uploaded, <Self::Client as FromSettings>::Error>>;
    /// The base URL its next attempt would use.
    fn current_endpoint(client: &Self::Client) -> String;
}

/// The [`Transport`] impl of a transport crate whose client has the shared
/// shape (`upload`, `current_endpoint`, an `Error` with `Proto`, `Config`
/// and `Timeout` variants). `$upload` turns a client clone and media into
/// the upload future, so a blocking client can go to a blocking thread.
#[macro_export]
macro_rules! transport {
    ($name:ident, $label:literal, $krate:ident, |$client:ident, $media:ident| $upload:expr) => {
        struct $name;

        impl $crate::Transport for $name {
            const NAME: &'static str = $label;
            type Client = $krate::Client;

            fn view(e: $krate::Error) -> $crate::View {
                let text = $crate::View::chain_text(&e);
                let (retryable, code) = (e.is_retryable(), e.api_code().cloned());
                let (kind, proto) = match e {
                    $krate::Error::Proto(p) => ($crate::Kind::Proto, Some(p)),
                    $krate::Error::Config(_) => ($crate::Kind::Config, None),
                    $krate::Error::Timeout(_) => ($crate::Kind::Timeout, None),
                    _ => ($crate::Kind::Transport, None),
                };
                $crate::View {
                    kind,
                    retryable,
                    code,
                    proto,
                    text,
                }
            }

            fn upload(
                client: &Self::Client,
                media: wxmedia_proto::Media,
            ) -> $crate::BoxFuture<'static, Result<wxmedia_proto::Uploaded, $krate::Error>> {
                let $client = client.clone();
                let $media = media;
                Box::pin(async move { $upload })
            }

            fn current_endpoint(client: &Self::Client) -> String {
                client.current_endpoint()
            }
        }
    };
}

/// Instantiate every case of the suite for a transport.
#[macro_export]
macro_rules! conformance {
    ($t:ty) => {
        $crate::conformance!(@cases $t;
            success_md5, success_hmac_sha256, jpeg_png_and_bmp,
            every_error_code_is_typed, wrong_sign_is_a_signature_error,
            success_without_sign_is_an_error, frequency_limited_then_success,
            system_error_beyond_the_attempt_limit, failover_to_the_twin,
            slow_reply_times_out_within_the_deadline, dropped_connection_is_retried,
            truncated_reply_is_an_error, bad_gateway_keeps_the_body,
            client_cert_from_another_ca_is_refused, untrusted_server_is_a_tls_error,
            oversized_reply_is_refused, fifty_concurrent_uploads_through_one_client,
            pkcs1_key_identity_works, pkcs12_identity_works,
            media_refused_before_sending, hundred_megabyte_reply_is_refused_at_the_cap,
            endless_reply_stops_at_the_deadline);
    };
    (@cases $t:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::cases::$case::<$t>().await
            }
        )*
    };
}
