//! The builder: what is missing or refused is named, and the twin rule follows the endpoint.

mod common;

use common::{Never, identity};
use wxmedia_client::{V2Builder, V3Builder};

fn complete() -> V2Builder<Never> {
    V2Builder::new()
        .mch_id("1")
        .api_key("k")
        .identity(identity("1"))
}

#[test]
fn settings_report_what_is_missing() {
    let id = identity("1");
    let missing = |b: V2Builder<Never>| b.build().err().unwrap().to_string();
    assert!(missing(V2Builder::new().api_key("k").identity(id.clone())).contains("merchant id"));
    assert!(missing(V2Builder::new().mch_id("1")).contains("API key"));
    assert!(missing(V2Builder::new().mch_id("1").api_key("k")).contains("identity"));
    let http = V2Builder::<Never>::new()
        .mch_id("1")
        .api_key("k")
        .identity(id.clone())
        .endpoint("http://plain.example");
    assert!(missing(http).contains("https"));
    let ok = V2Builder::<Never>::new()
        .mch_id("1")
        .api_key("k")
        .identity(id);
    let (s, _) = ok.settings().unwrap();
    assert_eq!(s.primary, "https://api.mch.weixin.qq.com");
    assert_eq!(s.twin.as_deref(), Some("https://api2.mch.weixin.qq.com"));
}

#[test]
fn the_official_endpoint_keeps_its_twin_and_others_have_none() {
    let (official, _) = complete()
        .endpoint("https://api.mch.weixin.qq.com/")
        .settings()
        .unwrap();
    assert_eq!(official.primary, "https://api.mch.weixin.qq.com");
    assert_eq!(
        official.twin.as_deref(),
        Some("https://api2.mch.weixin.qq.com"),
        "setting the official endpoint explicitly does not drop its twin"
    );
    let (other, _) = complete()
        .endpoint("https://127.0.0.1:8443")
        .settings()
        .unwrap();
    assert_eq!(other.twin, None);
    let (chosen, _) = complete()
        .endpoint("https://127.0.0.1:8443")
        .backup_endpoint(Some("https://127.0.0.1:9443".into()))
        .settings()
        .unwrap();
    assert_eq!(chosen.twin.as_deref(), Some("https://127.0.0.1:9443"));
    let (none, _) = complete().backup_endpoint(None).settings().unwrap();
    assert_eq!(none.twin, None, "failover can be switched off");
}

#[test]
fn absurd_limits_are_refused() {
    let zero = complete()
        .deadline(std::time::Duration::ZERO)
        .settings()
        .unwrap_err();
    assert!(zero.to_string().contains("greater than zero"), "{zero}");
    let policy = wxmedia_proto::RetryPolicy {
        max_attempts: 0,
        ..Default::default()
    };
    let none = complete().retry_policy(policy).settings().unwrap_err();
    assert!(none.to_string().contains("at least one attempt"), "{none}");
}

#[test]
fn each_builder_names_the_credential_it_misses() {
    // v3: the key, then the certificate or serial, then a way to verify.
    let v3 = |b: V3Builder<Never>| b.build().err().unwrap().to_string();
    assert!(v3(V3Builder::new().mch_id("1")).contains("private key"));
    let pem = include_str!("../../wxmedia-proto/tests/data/v3_key.pem");
    let cert = include_str!("../../wxmedia-proto/tests/data/v3_cert.pem");
    let keyed = || V3Builder::<Never>::new().mch_id("1").private_key_pem(pem);
    assert!(v3(keyed()).contains("merchant certificate"));
    let signed = || keyed().serial_no("F5765756002FDD77");
    assert!(v3(signed()).contains("a way to verify replies"));
    let (settings, api) = signed().platform_certificate_pem(cert).settings().unwrap();
    assert!(
        settings.identity.is_none(),
        "v3 presents no client certificate"
    );
    assert!(api.api_v3_key.is_none() && !api.verifier.is_empty());
    // v2: the media limit is the upload's, refused as an input error.
    let (settings, v2) = complete().settings().unwrap();
    assert!(settings.identity.is_some(), "v2 presents its certificate");
    let mut big = b"\xFF\xD8\xFF\xD9".to_vec();
    big.resize(3 * 1024 * 1024, 0);
    let media = wxmedia_proto::Media::new("a.jpg", big).unwrap();
    let e = v2.upload(&settings, media).unwrap_err();
    assert!(e.is_input_error(), "{e}");
    assert!(
        e.to_string().contains("3145728") && e.to_string().contains("2097152"),
        "{e}"
    );
}

#[test]
fn the_retry_budget_undercuts_no_deadline() {
    // With the defaults (60 s deadline, 30 s attempts) a timed-out attempt
    // must still be retried: the budget is the deadline, not 30 s.
    let (s, _) = complete().settings().unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(60));
    let (s, _) = complete()
        .deadline(std::time::Duration::from_secs(200))
        .settings()
        .unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(200));
    // An explicit policy keeps its budget, capped by the deadline.
    let short = wxmedia_proto::RetryPolicy {
        total_budget: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    let (s, _) = complete().retry_policy(short).settings().unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(5));
}
