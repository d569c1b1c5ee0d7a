//! The clients under test and how each is built: wxmedia's transports on both TLS providers, the reqwest baselines and curl.

use std::sync::Arc;

use serde_json::Value;
use wxmedia_client::{FromSettings, V2Builder, V2Settings, V3Builder, V3Settings};
use wxmedia_tls::Identity;

use super::sim::field;
use crate::{KEY, MCH};

/// A wxmedia client of either API.
pub(super) enum Ours<V2, V3> {
    V2(V2),
    V3(V3),
}

/// One client under test.
pub(super) enum Client {
    Hyper(Ours<wxmedia_hyper::V2Client, wxmedia_hyper::V3Client>),
    Surf(Ours<wxmedia_surf::V2Client, wxmedia_surf::V3Client>),
    Blocking(Ours<wxmedia_blocking::V2Client, wxmedia_blocking::V3Client>),
    /// A hand-written baseline on reqwest, v2 or v3 by the entry's `v3`.
    Reqwest(reqwest::Client),
    /// The seed's curl command, one process per upload (v2).
    Curl,
}

pub(super) struct Entry {
    pub(super) name: &'static str,
    /// v3 image uploads (`upload(&v3::Image, media)`), or v2 `upload`.
    pub(super) v3: bool,
    pub(super) client: Client,
}

/// Which client to build.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Hyper,
    Surf,
    Blocking,
}

/// wxmedia's transports, in the order of the tables and of the scaling
/// chart's legend.
pub(super) const KINDS: [Kind; 3] = [Kind::Hyper, Kind::Surf, Kind::Blocking];

/// The TLS crypto provider of a wxmedia client: the default build's
/// (`ring`), or aws-lc-rs given at run time, so that both are measured in
/// the same run by the same binary.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Provider {
    Ring,
    AwsLcRs,
}

impl Kind {
    pub(super) fn name(self, provider: Provider) -> &'static str {
        match (self, provider) {
            (Kind::Hyper, Provider::Ring) => "hyper",
            (Kind::Surf, Provider::Ring) => "surf",
            (Kind::Blocking, Provider::Ring) => "blocking",
            (Kind::Hyper, Provider::AwsLcRs) => "hyper_aws_lc_rs",
            (Kind::Surf, Provider::AwsLcRs) => "surf_aws_lc_rs",
            (Kind::Blocking, Provider::AwsLcRs) => "blocking_aws_lc_rs",
        }
    }
}

/// A wxmedia client of `kind`: v2 with the simulator's client certificate,
/// or v3 as crates/wxmedia-hyper/examples/v3_hyper.rs builds one (private
/// key, merchant certificate, WeChat Pay public key and its id; no client
/// certificate).
pub(super) fn build(ready: &Value, kind: Kind, v3: bool, provider: Provider) -> Entry {
    let crypto = match provider {
        Provider::Ring => wxmedia_tls::provider(),
        Provider::AwsLcRs => Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
    };
    let client = match kind {
        Kind::Hyper => Client::Hyper(ours_of(ready, v3, crypto)),
        Kind::Surf => Client::Surf(ours_of(ready, v3, crypto)),
        Kind::Blocking => Client::Blocking(ours_of(ready, v3, crypto)),
    };
    Entry {
        name: kind.name(provider),
        v3,
        client,
    }
}

/// A wxmedia client of either API, built the same way for every
/// transport: the generic builders make a dispatch macro unnecessary.
fn ours_of<V2, V3>(
    ready: &Value,
    v3: bool,
    crypto: Arc<rustls::crypto::CryptoProvider>,
) -> Ours<V2, V3>
where
    V2: FromSettings<V2Settings>,
    V3: FromSettings<V3Settings>,
{
    let s = |k: &str| field(ready, k);
    if v3 {
        // Unpaced: the benchmarks measure the client against a simulator
        // without limits, not WeChat Pay's 10 a second.
        let b = V3Builder::<V3>::new()
            .no_rate_limit()
            .crypto_provider(crypto)
            .mch_id(MCH)
            .endpoint(s("endpoint"))
            .webpki_roots(false)
            .add_root_ca_file(s("ca_cert"))
            .private_key_file(s("client_key"))
            .merchant_certificate_file(s("client_cert"))
            .wechatpay_public_key_file(s("wechatpay_public_key_id"), s("wechatpay_public_key"));
        Ours::V3(b.build().expect("client"))
    } else {
        let identity =
            Identity::from_pem_files(s("client_cert"), s("client_key")).expect("identity");
        let b = V2Builder::<V2>::new()
            .no_rate_limit()
            .crypto_provider(crypto)
            .mch_id(MCH)
            .endpoint(s("endpoint"))
            .webpki_roots(false)
            .add_root_ca_file(s("ca_cert"))
            .api_key(KEY)
            .identity(identity);
        Ours::V2(b.build().expect("client"))
    }
}

/// hyper, surf and blocking on ring (the default build), then on aws-lc-rs.
fn ours(ready: &Value, v3: bool) -> Vec<Entry> {
    [Provider::Ring, Provider::AwsLcRs]
        .into_iter()
        .flat_map(|p| KINDS.map(|k| (k, p)))
        .map(|(kind, provider)| build(ready, kind, v3, provider))
        .collect()
}

/// The v2 reqwest baseline as its users build it: reqwest's own TLS
/// (aws-lc-rs), the client certificate and the simulator's CA.
fn reqwest_v2(ready: &Value) -> reqwest::Client {
    let s = |k: &str| field(ready, k);
    let mut pem = std::fs::read(s("client_cert")).expect("cert");
    pem.extend(std::fs::read(s("client_key")).expect("key"));
    reqwest::Client::builder()
        .identity(reqwest::Identity::from_pem(&pem).expect("reqwest identity"))
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(s("ca_cert")).expect("ca")).expect("ca"),
        )
        .build()
        .expect("reqwest client")
}

/// The same baseline on our TLS configuration (ring, same roots and
/// identity), to separate the HTTP client from the crypto provider.
fn reqwest_v2_on_ring(ready: &Value) -> reqwest::Client {
    let s = |k: &str| field(ready, k);
    let identity = Identity::from_pem_files(s("client_cert"), s("client_key")).expect("identity");
    let (settings, _) = V2Builder::<wxmedia_hyper::V2Client>::new()
        .mch_id(MCH)
        .api_key(KEY)
        .identity(identity)
        .endpoint(s("endpoint"))
        .webpki_roots(false)
        .add_root_ca_file(s("ca_cert"))
        .settings()
        .expect("settings");
    reqwest::Client::builder()
        .tls_backend_preconfigured((*settings.tls).clone())
        .build()
        .expect("reqwest client on ring")
}

/// The v2 clients: ours, the reqwest baseline on its own TLS (aws-lc-rs)
/// and on ours (ring), and curl.
pub(super) fn v2_entries(ready: &Value) -> Vec<Entry> {
    let reqwest = reqwest_v2(ready);
    let reqwest_ring = reqwest_v2_on_ring(ready);
    let mut entries = ours(ready, false);
    entries.extend([
        Entry {
            name: "reqwest_baseline",
            v3: false,
            client: Client::Reqwest(reqwest),
        },
        Entry {
            name: "reqwest_baseline_ring",
            v3: false,
            client: Client::Reqwest(reqwest_ring),
        },
        Entry {
            name: "curl",
            v3: false,
            client: Client::Curl,
        },
    ]);
    entries
}

/// The v3 clients: ours, and the reqwest baseline with the settings of the
/// v2 one (reqwest's default TLS, aws-lc-rs) less the client certificate,
/// which v3 does not use.
pub(super) fn v3_entries(ready: &Value) -> Vec<Entry> {
    let reqwest = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(field(ready, "ca_cert")).expect("ca"))
                .expect("ca"),
        )
        .build()
        .expect("reqwest client");
    let mut entries = ours(ready, true);
    entries.extend([Entry {
        name: "reqwest_baseline",
        v3: true,
        client: Client::Reqwest(reqwest),
    }]);
    entries
}
