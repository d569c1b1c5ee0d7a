//! One conformance suite for every wxmedia transport, run against the simulator: written once, instantiated per transport.
//!
//! A transport implements [`Transport`] (every async transport already
//! does, as [`Async`]); `conformance!(MyTransport)` in a test file expands
//! to one `#[tokio::test]` per case in [`cases`]. Each case starts its own
//! simulator on its own port.
#![forbid(unsafe_code)]

pub mod cases;
pub mod cases_v3;
pub mod fixtures;

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use wxmedia_client::{Error, FromSettings};
use wxmedia_proto::Media;
use wxmedia_proto::v2::Uploaded;
use wxmedia_proto::v3;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the suite needs of a transport: its client, an upload that can be
/// awaited on the test runtime, and where the next attempt would go.
pub trait Transport: 'static {
    /// Its name in test output.
    const NAME: &'static str;
    /// Its client.
    type Client: FromSettings + Clone + Send + Sync + 'static;
    /// Upload with it (blocking clients run on a blocking thread).
    fn upload(client: &Self::Client, media: Media) -> BoxFuture<'static, Result<Uploaded, Error>>;
    /// A v3 upload with it.
    fn upload_v3(
        client: &Self::Client,
        api: v3::Api,
        media: Media,
    ) -> BoxFuture<'static, Result<v3::Uploaded, Error>>;
    /// Download the platform certificates with it.
    fn download_certificates(
        client: &Self::Client,
    ) -> BoxFuture<'static, Result<Vec<v3::PlatformCertificate>, Error>>;
    /// The base URL its next attempt would use.
    fn current_endpoint(client: &Self::Client) -> String;
}

/// Every async transport, through the one generic client: hyper and surf
/// are `Async<Hyper>` and `Async<Surf>`.
pub struct Async<T>(PhantomData<T>);

impl<T: wxmedia_client::Transport> Transport for Async<T> {
    const NAME: &'static str = T::NAME;
    type Client = wxmedia_client::Client<T>;

    fn upload(client: &Self::Client, media: Media) -> BoxFuture<'static, Result<Uploaded, Error>> {
        let client = client.clone();
        Box::pin(async move { client.upload(media).await })
    }

    fn upload_v3(
        client: &Self::Client,
        api: v3::Api,
        media: Media,
    ) -> BoxFuture<'static, Result<v3::Uploaded, Error>> {
        let client = client.clone();
        Box::pin(async move { client.upload_v3(api, media).await })
    }

    fn download_certificates(
        client: &Self::Client,
    ) -> BoxFuture<'static, Result<Vec<v3::PlatformCertificate>, Error>> {
        let client = client.clone();
        Box::pin(async move { client.download_certificates().await })
    }

    fn current_endpoint(client: &Self::Client) -> String {
        client.current_endpoint()
    }
}

/// An error and its whole source chain, as one line.
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
            endless_reply_stops_at_the_deadline, huge_timeouts_do_not_panic);
        $crate::conformance!(@v3 $t;
            v3_every_endpoint_in_public_key_mode, v3_image_in_platform_certificate_mode,
            v3_certificates_downloaded_by_api_v3_key, v3_bad_reply_signature_is_refused,
            v3_unsigned_reply_is_refused, v3_stale_reply_timestamp_is_refused,
            v3_unknown_reply_serial_is_refused, v3_rotation_is_found_by_a_refresh,
            v3_forged_serials_refresh_at_most_once_a_minute, v3_sign_error_shows_both_messages,
            v3_rate_limited_then_success, v3_system_error_then_success, v3_failover_to_the_twin,
            v3_slow_reply_stops_at_the_deadline, v3_hundred_megabyte_reply_is_capped,
            v3_truncated_and_disguised_media_are_refused_unsent,
            v3_and_v2_clients_keep_to_their_api, v3_twenty_concurrent_uploads,
            v3_a_skewed_clock_is_refused_and_a_small_skew_passes);
    };
    (@v3 $t:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::cases_v3::$case::<$t>().await
            }
        )*
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
