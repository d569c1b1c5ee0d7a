//! The builder: what is missing or refused is named, and the twin rule follows the endpoint.

mod common;

use common::{Never, identity};
use wxmedia_client::ClientBuilder;

fn complete() -> ClientBuilder<Never> {
    ClientBuilder::new()
        .mch_id("1")
        .api_key("k")
        .identity(identity("1"))
}

#[test]
fn settings_report_what_is_missing() {
    let id = identity("1");
    let missing = |b: ClientBuilder<Never>| b.build().err().unwrap().to_string();
    assert!(missing(ClientBuilder::new()).contains("merchant id"));
    assert!(missing(ClientBuilder::new().mch_id("1")).contains("API key"));
    assert!(missing(ClientBuilder::new().mch_id("1").api_key("k")).contains("identity"));
    let http = ClientBuilder::<Never>::new()
        .mch_id("1")
        .api_key("k")
        .identity(id.clone())
        .endpoint("http://plain.example");
    assert!(missing(http).contains("https"));
    let ok = ClientBuilder::<Never>::new()
        .mch_id("1")
        .api_key("k")
        .identity(id);
    let s = ok.settings().unwrap();
    assert_eq!(s.primary, "https://api.mch.weixin.qq.com");
    assert_eq!(s.twin.as_deref(), Some("https://api2.mch.weixin.qq.com"));
}

#[test]
fn the_official_endpoint_keeps_its_twin_and_others_have_none() {
    let official = complete()
        .endpoint("https://api.mch.weixin.qq.com/")
        .settings()
        .unwrap();
    assert_eq!(official.primary, "https://api.mch.weixin.qq.com");
    assert_eq!(
        official.twin.as_deref(),
        Some("https://api2.mch.weixin.qq.com"),
        "setting the official endpoint explicitly does not drop its twin"
    );
    let other = complete()
        .endpoint("https://127.0.0.1:8443")
        .settings()
        .unwrap();
    assert_eq!(other.twin, None);
    let chosen = complete()
        .endpoint("https://127.0.0.1:8443")
        .backup_endpoint(Some("https://127.0.0.1:9443".into()))
        .settings()
        .unwrap();
    assert_eq!(chosen.twin.as_deref(), Some("https://127.0.0.1:9443"));
    let none = complete().backup_endpoint(None).settings().unwrap();
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
fn a_v2_upload_needs_the_api_key_and_a_certificate() {
    let mut settings = complete().settings().unwrap();
    let media = wxmedia_proto::Media::new("a.jpg", &b"\xFF\xD8\xFF\xD9"[..]).unwrap();
    assert!(settings.upload_v2(media.clone()).is_ok());
    settings.api_key = None;
    let e = settings.upload_v2(media.clone()).unwrap_err();
    assert!(
        e.is_input_error() && e.to_string().contains("APIv2 key"),
        "{e}"
    );
    let mut settings = complete().settings().unwrap();
    settings.identity = None;
    let e = settings.upload_v2(media).unwrap_err();
    assert!(e.to_string().contains("client certificate"), "{e}");
}

#[test]
fn the_retry_budget_undercuts_no_deadline() {
    // With the defaults (60 s deadline, 30 s attempts) a timed-out attempt
    // must still be retried: the budget is the deadline, not 30 s.
    let s = complete().settings().unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(60));
    let s = complete()
        .deadline(std::time::Duration::from_secs(200))
        .settings()
        .unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(200));
    // An explicit policy keeps its budget, capped by the deadline.
    let short = wxmedia_proto::RetryPolicy {
        total_budget: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    let s = complete().retry_policy(short).settings().unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(5));
}
