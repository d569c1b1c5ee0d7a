//! One conformance suite for every wxmedia transport, run against the simulator: written once, instantiated per transport.
//!
//! Every async transport is a [`Transport`] as [`Async`], every blocking
//! one as [`Blocking`]; `conformance!(Async<Hyper>)` in a test file
//! expands to one `#[tokio::test]` per case of [`cases`] and
//! [`cases_v3`]. Each case starts its own simulator on its own port. A
//! case left out of the macro's lists fails the test
//! `every_case_is_listed` below.
#![forbid(unsafe_code)]

pub mod cases;
pub mod cases_endpoints;
pub mod cases_v3;
pub mod fixtures;

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use wxmedia_client::{Error, FromSettings, V2Settings, V3Settings};
use wxmedia_proto::Media;
use wxmedia_proto::v2::Uploaded;
use wxmedia_proto::v3::{self, Endpoint};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the suite needs of a transport: its two clients, and their calls
/// as futures the test runtime can await. Written twice, once for the
/// async clients of any transport ([`Async`]) and once for the blocking
/// faces of any transport ([`Blocking`]), never per transport.
pub trait Transport: 'static {
    /// Its name in test output.
    const NAME: &'static str;
    /// Its v2 client.
    type V2: FromSettings<V2Settings> + Clone + Send + Sync + 'static;
    /// Its v3 client.
    type V3: FromSettings<V3Settings> + Clone + Send + Sync + 'static;
    /// A v2 upload.
    fn upload(client: &Self::V2, media: Media) -> BoxFuture<'static, Result<Uploaded, Error>>;
    /// A v3 upload to any endpoint: built-in (typed or chosen at run
    /// time), custom, or a test's own.
    fn upload_v3<E>(
        client: &Self::V3,
        endpoint: E,
        media: Media,
    ) -> BoxFuture<'static, Result<E::Output, Error>>
    where
        E: Endpoint + Send + Sync + 'static,
        E::Output: Send + 'static;
    /// Download the platform certificates.
    fn download_certificates(
        client: &Self::V3,
    ) -> BoxFuture<'static, Result<Vec<v3::PlatformCertificate>, Error>>;
    /// The WeChat Pay key sensitive data is sealed with.
    fn sealing_key(client: &Self::V3) -> BoxFuture<'static, Result<v3::SealingKey, Error>>;
    /// The base URL the next v2 attempt would use.
    fn current_endpoint(client: &Self::V2) -> String;
    /// The base URL the next v3 attempt would use.
    fn current_endpoint_v3(client: &Self::V3) -> String;
}

/// Every async transport, through the generic clients: hyper and surf
/// are `Async<Hyper>` and `Async<Surf>`.
pub struct Async<T>(PhantomData<T>);

/// Run an async client call as a boxed future.
fn boxed<C: Clone + Send + 'static, F, R>(
    client: &C,
    call: impl FnOnce(C) -> F + Send + 'static,
) -> BoxFuture<'static, R>
where
    F: Future<Output = R> + Send + 'static,
{
    let client = client.clone();
    Box::pin(async move { call(client).await })
}

impl<T: wxmedia_client::Transport> Transport for Async<T> {
    const NAME: &'static str = T::NAME;
    type V2 = wxmedia_client::V2Client<T>;
    type V3 = wxmedia_client::V3Client<T>;

    fn upload(client: &Self::V2, media: Media) -> BoxFuture<'static, Result<Uploaded, Error>> {
        boxed(client, |c| async move { c.upload(media).await })
    }

    fn upload_v3<E>(
        client: &Self::V3,
        endpoint: E,
        media: Media,
    ) -> BoxFuture<'static, Result<E::Output, Error>>
    where
        E: Endpoint + Send + Sync + 'static,
        E::Output: Send + 'static,
    {
        boxed(
            client,
            move |c| async move { c.upload(&endpoint, media).await },
        )
    }

    fn download_certificates(
        client: &Self::V3,
    ) -> BoxFuture<'static, Result<Vec<v3::PlatformCertificate>, Error>> {
        boxed(client, |c| async move { c.download_certificates().await })
    }

    fn sealing_key(client: &Self::V3) -> BoxFuture<'static, Result<v3::SealingKey, Error>> {
        boxed(client, |c| async move { c.sealing_key().await })
    }

    fn current_endpoint(client: &Self::V2) -> String {
        client.current_endpoint()
    }

    fn current_endpoint_v3(client: &Self::V3) -> String {
        client.current_endpoint()
    }
}

/// The blocking faces of any blocking transport (ureq's), each call on a
/// blocking thread of the test runtime, as users of tokio would do.
pub struct Blocking<T>(PhantomData<T>);

/// Run a blocking client call on a blocking thread.
fn on_thread<C: Clone + Send + 'static, R: Send + 'static>(
    client: &C,
    call: impl FnOnce(C) -> R + Send + 'static,
) -> BoxFuture<'static, R> {
    let client = client.clone();
    Box::pin(async move {
        tokio::task::spawn_blocking(move || call(client))
            .await
            .expect("the upload thread")
    })
}

impl<T: wxmedia_client::blocking::BlockingTransport> Transport for Blocking<T> {
    const NAME: &'static str = T::NAME;
    type V2 = wxmedia_client::blocking::V2Client<T>;
    type V3 = wxmedia_client::blocking::V3Client<T>;

    fn upload(client: &Self::V2, media: Media) -> BoxFuture<'static, Result<Uploaded, Error>> {
        on_thread(client, |c| c.upload(media))
    }

    fn upload_v3<E>(
        client: &Self::V3,
        endpoint: E,
        media: Media,
    ) -> BoxFuture<'static, Result<E::Output, Error>>
    where
        E: Endpoint + Send + Sync + 'static,
        E::Output: Send + 'static,
    {
        on_thread(client, move |c| c.upload(&endpoint, media))
    }

    fn download_certificates(
        client: &Self::V3,
    ) -> BoxFuture<'static, Result<Vec<v3::PlatformCertificate>, Error>> {
        on_thread(client, |c| c.download_certificates())
    }

    fn sealing_key(client: &Self::V3) -> BoxFuture<'static, Result<v3::SealingKey, Error>> {
        on_thread(client, |c| c.sealing_key())
    }

    fn current_endpoint(client: &Self::V2) -> String {
        client.current_endpoint()
    }

    fn current_endpoint_v3(client: &Self::V3) -> String {
        client.current_endpoint()
    }
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
            endless_reply_stops_at_the_deadline, huge_timeouts_do_not_panic,
            reply_without_date_is_accepted_once, latin1_header_value_is_accepted_once);
        $crate::conformance!(@endpoints $t;
            v3_every_endpoint_in_public_key_mode,
            v3_complaint_images_upload_and_keep_their_2_mib_limit,
            v3_product_coupon_images_give_their_image_url,
            v3_custom_uploads_send_the_meta_the_endpoint_wants,
            v3_a_marketing_image_answered_with_a_media_id_is_taken,
            v3_fapiao_files_go_as_pdfs_with_their_sm3,
            v3_global_files_take_pdfs_and_images,
            v3_shopping_receipts_seal_the_phone_number_for_the_key_named,
            v3_bank_packages_carry_ids_sealed_with_the_clients_key);
        $crate::conformance!(@v3 $t;
            v3_image_in_platform_certificate_mode,
            v3_certificates_downloaded_by_api_v3_key, v3_bad_reply_signature_is_refused,
            v3_unsigned_reply_is_refused, v3_stale_reply_timestamp_is_refused,
            v3_unknown_reply_serial_is_refused, v3_rotation_is_found_by_a_refresh,
            v3_forged_serials_refresh_at_most_once_a_minute, v3_sign_error_shows_both_messages,
            v3_rate_limited_then_success, v3_system_error_then_success, v3_failover_to_the_twin,
            v3_slow_reply_stops_at_the_deadline, v3_hundred_megabyte_reply_is_capped,
            v3_truncated_and_disguised_media_are_refused_unsent,
            v3_and_v2_clients_keep_to_their_limits, v3_twenty_concurrent_uploads,
            v3_a_skewed_clock_is_refused_and_a_small_skew_passes,
            v3_replies_without_date_or_with_latin1_headers_are_accepted_once);
    };
    (@v3 $t:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::cases_v3::$case::<$t>().await
            }
        )*
    };
    (@endpoints $t:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::cases_endpoints::$case::<$t>().await
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

#[cfg(test)]
mod tests {
    /// The `pub async fn name<T: Transport>` cases of a cases file.
    fn cases(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter_map(|l| l.strip_prefix("pub async fn "))
            .filter_map(|l| l.split_once("<T: Transport>").map(|(name, _)| name))
            .collect()
    }

    /// The names in the `conformance!` macro's list after `marker`.
    fn listed<'a>(lib: &'a str, marker: &str) -> Vec<&'a str> {
        let start = lib.find(marker).expect("the list") + marker.len();
        let end = start + lib[start..].find(");").expect("the list ends");
        lib[start..end]
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect()
    }

    #[test]
    fn every_case_is_listed() {
        let lib = include_str!("lib.rs");
        for (file, marker) in [
            (include_str!("cases.rs"), "(@cases $t;"),
            (include_str!("cases_v3.rs"), "(@v3 $t;"),
            (include_str!("cases_endpoints.rs"), "(@endpoints $t;"),
        ] {
            let mut written = cases(file);
            let mut run = listed(lib, marker);
            assert!(!written.is_empty(), "the cases are found: {written:?}");
            written.sort_unstable();
            run.sort_unstable();
            assert_eq!(written, run, "every case written runs, and only those");
        }
    }
}
