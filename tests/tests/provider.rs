//! Which rustls crypto provider a client's connections use: the one the `ring` or `aws-lc-rs` feature chose, or one given at run time.

use std::sync::Arc;

use wxmedia_client::Settings;
use wxmedia_hyper::V2Client;
use wxmedia_tests::fixtures::{builder, jpeg, sim};
use wxmedia_tls::rustls::crypto::CryptoProvider;

fn settings(provider: Option<Arc<CryptoProvider>>, sim: &wxmedia_tests::fixtures::Sim) -> Settings {
    let mut b = builder::<V2Client>(sim);
    if let Some(p) = provider {
        b = b.crypto_provider(p);
    }
    b.settings().expect("valid settings").0
}

/// ring's and aws-lc-rs's key providers print as their own names.
fn name(provider: &CryptoProvider) -> String {
    format!("{:?}", provider.key_provider)
}

#[tokio::test]
async fn the_feature_picks_the_provider() {
    let sim = sim().await;
    let used = name(settings(None, &sim).tls.crypto_provider());
    #[cfg(feature = "ring")]
    assert!(used.contains("Ring"), "{used}");
    #[cfg(feature = "aws-lc-rs")]
    assert!(used.contains("AwsLcRs"), "{used}");
    assert_eq!(used, name(&wxmedia_tls::provider()));
}

#[tokio::test]
async fn a_provider_given_at_run_time_carries_an_upload() {
    let sim = sim().await;
    // A provider with only the TLS 1.3 AES-256 suite: recognisably ours.
    let mut only = (*wxmedia_tls::provider()).clone();
    only.cipher_suites
        .retain(|s| format!("{:?}", s.suite()).contains("TLS13_AES_256_GCM_SHA384"));
    assert_eq!(only.cipher_suites.len(), 1);
    let only = Arc::new(only);
    let s = settings(Some(only.clone()), &sim);
    assert!(Arc::ptr_eq(s.tls.crypto_provider(), &only));
    let client = builder::<V2Client>(&sim)
        .crypto_provider(only)
        .build()
        .unwrap();
    let uploaded = client.upload(jpeg("a.jpg")).await.expect("uploads");
    assert!(!uploaded.media_id.is_empty());
}
