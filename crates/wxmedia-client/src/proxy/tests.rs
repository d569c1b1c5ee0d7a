//! The proxy rules without a network: URLs taken and refused, credentials masked, `NO_PROXY` as curl reads it.

use super::*;

fn given(url: &str) -> Result<ProxyRules, BuildError> {
    ProxyRules::from_choice(&ProxyChoice::Given(Zeroizing::new(url.to_owned())))
}

fn uri(s: &str) -> Uri {
    s.parse().unwrap()
}

#[test]
fn proxy_urls_are_taken_with_or_without_scheme_and_credentials() {
    let rules = given("http://127.0.0.1:3128").unwrap();
    assert_eq!(rules.shown(), Some("http://127.0.0.1:3128"));
    assert_eq!(rules.source(), Some(ProxySource::Builder));
    let route = rules
        .route(&uri("https://api.mch.weixin.qq.com/v3/x"))
        .unwrap();
    assert_eq!(route.proxy, uri("http://127.0.0.1:3128"));
    assert!(route.authorization.is_none());

    let rules = given("proxy.corp:8080").unwrap();
    assert_eq!(rules.shown(), Some("http://proxy.corp:8080"));

    // Credentials: percent-decoded for the header, the password masked in
    // everything that may be shown.
    let rules = given("http://ali%40corp:s%3Acret@[::1]:3128/").unwrap();
    assert_eq!(rules.shown(), Some("http://ali@corp:***@[::1]:3128"));
    let route = rules.route(&uri("https://api.mch.weixin.qq.com/")).unwrap();
    let auth = route.authorization.unwrap();
    assert!(auth.is_sensitive());
    // base64("ali@corp:s:cret")
    assert_eq!(auth, "Basic YWxpQGNvcnA6czpjcmV0");
    assert!(!format!("{rules:?}").contains("cret"));
    assert_eq!(
        rules.endpoint(),
        Some(("[::1]", 3128, Some("ali@corp"), Some("s:cret")))
    );
}

#[test]
fn unusable_proxy_urls_are_refused_without_quoting_them() {
    for (bad, why) in [
        ("https://proxy:3128", "https:// proxy"),
        ("socks5://proxy:1080", "SOCKS"),
        ("ftp://proxy:21", "not an http:// proxy URL"),
        ("http://proxy", "needs a port"),
        ("http://proxy:0", "port"),
        ("http://proxy:99999", "port"),
        ("http://proxy:3128/path", "without a path"),
        ("http://user:secret@:3128", "no host"),
        ("", "host:port"),
    ] {
        let e = given(bad).unwrap_err().to_string();
        assert!(e.contains(why), "{bad:?}: {e}");
        assert!(!e.contains("secret"), "{e}");
    }
}

/// `NO_PROXY` as curl reads it: names match themselves and their
/// subdomains (with or without a leading dot), addresses and CIDR blocks
/// match, `*` exempts everything; other hosts take the proxy.
#[test]
fn no_proxy_names_the_hosts_that_go_straight() {
    let url = ProxyUrl::parse("http://127.0.0.1:3128", "test").unwrap();
    let rules = ProxyRules::with(
        url.clone(),
        ProxySource::Builder,
        "localhost, .internal.example,10.0.0.0/8,::1".to_owned(),
    );
    for straight in [
        "https://localhost:9443/",
        "https://gw.internal.example/",
        "https://internal.example/",
        "https://10.1.2.3:443/",
        "https://[::1]:8443/",
    ] {
        assert!(rules.route(&uri(straight)).is_none(), "{straight}");
    }
    for proxied in [
        "https://api.mch.weixin.qq.com/",
        "https://127.0.0.1:9443/",
        "https://notinternal.example/",
    ] {
        assert!(rules.route(&uri(proxied)).is_some(), "{proxied}");
    }
    assert_eq!(
        rules.no_proxy(),
        "localhost, .internal.example,10.0.0.0/8,::1"
    );
    let all = ProxyRules::with(url, ProxySource::Builder, "*".to_owned());
    assert!(all.route(&uri("https://api.mch.weixin.qq.com/")).is_none());
    assert!(ProxyRules::none().route(&uri("https://x/")).is_none());
    assert!(
        ProxyRules::from_choice(&ProxyChoice::Off)
            .unwrap()
            .shown()
            .is_none()
    );
}
