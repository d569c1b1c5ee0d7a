//! The offline checks on certificates made for each case: a good set-up is all ok, and each mistake fails (or warns) the check it belongs to and no other.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{CertificateParams, DnType, KeyPair};

use super::{Check, Status, V2Credentials};
use crate::{Clock, V2Builder, V3Builder};

const KEY: &str = include_str!("../../../wxmedia-proto/tests/data/v3_key.pem");
const OTHER_KEY: &str = include_str!("../../../wxmedia-proto/tests/data/v3_other_key.pem");
const OTHER_PUBLIC: &str =
    include_str!("../../../wxmedia-proto/tests/data/v3_other_public_key.pem");
/// A third key, for a certificate that belongs to none of the above.
const THIRD_KEY: &str = include_str!("../../../wxmedia-sim/dev-keys/rsa-0.pem");
const MCH: &str = "1900000109";
const PUB_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000";
/// 2026-01-01T00:00:00Z, the tests' now.
const NOW: u64 = 1_767_225_600;
const DAY: i64 = 86_400;

#[derive(Debug)]
struct Fixed(u64);

impl Clock for Fixed {
    fn unix_time(&self) -> u64 {
        self.0
    }
}

/// A certificate over `key` with this CN and O, valid `from` to `to`
/// days around NOW, and its serial.
fn cert(key: &str, cn: &str, o: &str, from: i64, to: i64) -> (String, String) {
    let key = KeyPair::from_pem(key).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.distinguished_name.push(DnType::OrganizationName, o);
    // NOW is this midnight; rcgen's dates are whole days.
    let at = |days: i64| {
        let base = rcgen::date_time_ymd(2026, 1, 1);
        let span = std::time::Duration::from_secs(days.unsigned_abs() * DAY as u64);
        if days < 0 { base - span } else { base + span }
    };
    params.not_before = at(from);
    params.not_after = at(to);
    let pem = params.self_signed(&key).unwrap().pem();
    let serial = wxmedia_proto::v3::inspect::certificate(pem.as_bytes())
        .unwrap()
        .serial_no;
    (pem, serial)
}

fn merchant_cert() -> (String, String) {
    cert(KEY, MCH, "微信商户系统", -100, 700)
}

fn platform_cert() -> (String, String) {
    cert(OTHER_KEY, "Tenpay.com sign", "Tenpay.com", -100, 1800)
}

/// A complete v3 set-up: key, merchant certificate, public key, platform
/// certificate and APIv3 key.
fn good() -> V3Builder<()> {
    V3Builder::new()
        .mch_id(MCH)
        .clock(Arc::new(Fixed(NOW)))
        .private_key_pem(KEY)
        .platform_certificate_pem(platform_cert().0)
        .wechatpay_public_key_pem(PUB_KEY_ID, OTHER_PUBLIC)
        .api_v3_key("0123456789abcdefghijklmnopqrstuv")
}

fn with_cert(builder: V3Builder<()>, pem: String) -> V3Builder<()> {
    builder.merchant_certificate_pem(pem)
}

fn by_status(checks: &[Check], status: Status) -> Vec<&'static str> {
    checks
        .iter()
        .filter(|c| c.status == status)
        .map(|c| c.name)
        .collect()
}

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} in {checks:#?}"))
}

#[test]
fn a_good_v3_setup_is_all_ok_and_names_the_serial() {
    let (pem, serial) = merchant_cert();
    let checks = with_cert(good(), pem).check();
    let not_ok: Vec<_> = checks.iter().filter(|c| c.status != Status::Ok).collect();
    assert!(not_ok.is_empty(), "{not_ok:#?}");
    let names: Vec<&str> = checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "merchant-id",
            "private-key",
            "merchant-certificate",
            "key-matches-certificate",
            "serial-no",
            "merchant-certificate-validity",
            "wechatpay-public-key",
            "platform-certificate",
            "api-v3-key",
            "reply-verification",
        ]
    );
    assert_eq!(
        find(&checks, "serial-no").values,
        [("serial_no", serial.clone())]
    );
    assert!(serial.bytes().all(|b| !b.is_ascii_lowercase()));
}

#[test]
fn each_v3_mistake_fails_its_own_check() {
    let (merchant, serial) = merchant_cert();
    let (platform, platform_serial) = platform_cert();
    let (other_merchant, _) = cert(THIRD_KEY, MCH, "微信商户系统", -100, 700);
    let cases: Vec<(&str, V3Builder<()>, &[&str])> = vec![
        (
            "a key from elsewhere",
            with_cert(good(), other_merchant),
            &["key-matches-certificate"],
        ),
        (
            "an expired certificate",
            with_cert(good(), cert(KEY, MCH, "微信商户系统", -800, -1).0),
            &["merchant-certificate-validity"],
        ),
        (
            "a certificate not yet valid",
            with_cert(good(), cert(KEY, MCH, "微信商户系统", 2, 700).0),
            &["merchant-certificate-validity"],
        ),
        (
            "the platform certificate as the merchant's",
            with_cert(good(), platform.clone()),
            &["merchant-certificate"],
        ),
        (
            "the merchant certificate as a platform certificate",
            with_cert(good(), merchant.clone()).platform_certificate_pem(merchant.clone()),
            &["platform-certificate"],
        ),
        (
            "another serial",
            with_cert(good(), merchant.clone()).serial_no("ABCDEF"),
            &["serial-no"],
        ),
        (
            "the platform serial",
            with_cert(good(), merchant.clone()).serial_no(platform_serial.to_lowercase()),
            &["serial-no"],
        ),
        (
            "a public key id as the serial",
            with_cert(good(), merchant.clone()).serial_no(PUB_KEY_ID),
            &["serial-no"],
        ),
        (
            "a 31-byte APIv3 key",
            with_cert(good(), merchant.clone()).api_v3_key("0123456789abcdefghijklmnopqrstu"),
            &["api-v3-key"],
        ),
        (
            "a serial as the public key id",
            with_cert(good(), merchant.clone())
                .wechatpay_public_key_pem(platform_serial.clone(), OTHER_PUBLIC),
            &["wechatpay-public-key"],
        ),
        (
            "a certificate as the public key",
            with_cert(good(), merchant.clone())
                .wechatpay_public_key_pem(PUB_KEY_ID, platform.clone()),
            &["wechatpay-public-key"],
        ),
        (
            "the merchant's own public key",
            with_cert(good(), merchant.clone()).wechatpay_public_key_pem(
                PUB_KEY_ID,
                include_str!("../../../wxmedia-proto/tests/data/v3_public_key.pem"),
            ),
            &["wechatpay-public-key"],
        ),
        (
            "a certificate as the private key",
            with_cert(good().private_key_pem(merchant.clone()), merchant.clone()),
            &["private-key"],
        ),
        (
            "no way to verify replies",
            with_cert(
                V3Builder::new().mch_id(MCH).private_key_pem(KEY),
                merchant.clone(),
            ),
            &["reply-verification"],
        ),
        (
            "no merchant id",
            with_cert(
                V3Builder::new()
                    .private_key_pem(KEY)
                    .api_v3_key("0123456789abcdefghijklmnopqrstuv"),
                merchant.clone(),
            ),
            &["merchant-id"],
        ),
    ];
    for (case, builder, fails) in cases {
        let checks = builder.check();
        assert_eq!(
            by_status(&checks, Status::Fail),
            fails,
            "{case}: {checks:#?}"
        );
    }
    // The serial given in another case and spelling agrees.
    let checks = with_cert(good(), merchant)
        .serial_no(format!("00{}", serial.to_lowercase()))
        .check();
    assert_eq!(by_status(&checks, Status::Fail), Vec::<&str>::new());
}

#[test]
fn warnings_are_for_what_works_now_but_will_not_for_long() {
    let cases: Vec<(&str, V3Builder<()>, &[&str])> = vec![
        (
            "expires in 10 days",
            with_cert(good(), cert(KEY, MCH, "微信商户系统", -100, 10).0),
            &["merchant-certificate-validity"],
        ),
        (
            "another merchant's id",
            with_cert(good(), cert(KEY, "1900000999", "微信商户系统", -100, 700).0),
            &["merchant-certificate"],
        ),
        (
            "only the serial",
            good().serial_no(merchant_cert().1),
            &["merchant-certificate"],
        ),
        (
            "the next platform certificate",
            with_cert(good(), merchant_cert().0).platform_certificate_pem(
                cert(OTHER_KEY, "Tenpay.com sign", "Tenpay.com", 5, 900).0,
            ),
            &["platform-certificate"],
        ),
    ];
    for (case, builder, warns) in cases {
        let checks = builder.check();
        assert_eq!(
            by_status(&checks, Status::Fail),
            Vec::<&str>::new(),
            "{case}: {checks:#?}"
        );
        assert_eq!(
            by_status(&checks, Status::Warn),
            warns,
            "{case}: {checks:#?}"
        );
    }
    let checks = with_cert(good(), cert(KEY, MCH, "微信商户系统", -100, 10).0).check();
    assert!(
        find(&checks, "merchant-certificate-validity")
            .message
            .contains("expires in 10 days")
    );
}

#[test]
fn no_check_shows_a_secret() {
    let (pem, _) = merchant_cert();
    let key = "0123456789abcdefghijklmnopqrstuv";
    let checks = with_cert(good().api_v3_key(key), pem).check();
    let key_body = KEY.lines().nth(1).unwrap();
    for c in &checks {
        let text = format!("{c:?}");
        assert!(!text.contains(key) && !text.contains(key_body), "{text}");
    }
    assert_eq!(
        find(&checks, "api-v3-key").values,
        [("length", "32".to_owned())]
    );
}

/// PEM files in a directory of their own.
fn files(cert_pem: &str, key_pem: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::TempDir::new().unwrap();
    let (cert, key) = (
        dir.path().join("apiclient_cert.pem"),
        dir.path().join("apiclient_key.pem"),
    );
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    (dir, cert, key)
}

#[test]
fn v2_credentials_are_checked_from_their_files() {
    let today = |from: i64, to: i64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        (
            (now - NOW as i64) / DAY + from,
            (now - NOW as i64) / DAY + to,
        )
    };
    let (from, to) = today(-10, 400);
    let (good_cert, _) = cert(KEY, MCH, "微信商户系统", from, to);
    let (_dir, cert_file, key_file) = files(&good_cert, KEY);
    let v2 = |key: &str| {
        V2Credentials::new(MCH)
            .api_key(key)
            .pem_files(&cert_file, &key_file)
    };
    let checks = v2("0123456789abcdefghijklmnopqrstuv").check();
    assert_eq!(
        by_status(&checks, Status::Ok).len(),
        checks.len(),
        "{checks:#?}"
    );
    // An APIv2 key of another length is a warning, not a failure.
    let checks = v2("short").check();
    assert_eq!(by_status(&checks, Status::Warn), ["api-key"]);
    // The wrong key, a directory, another merchant's certificate.
    let (_d2, other_cert, _) = files(&cert(OTHER_KEY, MCH, "x", from, to).0, OTHER_KEY);
    let checks = V2Credentials::new(MCH)
        .api_key("k")
        .pem_files(&other_cert, &key_file)
        .check();
    assert_eq!(
        by_status(&checks, Status::Fail),
        ["client-certificate"],
        "{checks:#?}"
    );
    let checks = V2Credentials::new(MCH)
        .api_key("k")
        .pem_files(&cert_file, _dir.path())
        .check();
    assert!(
        find(&checks, "client-certificate")
            .message
            .contains("is a directory, not a private key file")
    );
    let checks = V2Credentials::new("1900000999")
        .api_key("k")
        .pem_files(&cert_file, &key_file)
        .check();
    assert_eq!(
        by_status(&checks, Status::Fail),
        ["client-certificate-subject"]
    );
    // An expired one: the pair matches, the dates fail.
    let (from, to) = today(-400, -1);
    let (_d3, old, key) = files(&cert(KEY, MCH, "微信商户系统", from, to).0, KEY);
    let checks = V2Credentials::new(MCH)
        .api_key("k")
        .pem_files(&old, &key)
        .check();
    assert_eq!(
        by_status(&checks, Status::Fail),
        ["client-certificate-validity"],
        "{checks:#?}"
    );
    assert_eq!(find(&checks, "client-certificate").status, Status::Ok);
    // A builder holding the identity checks the same.
    let identity = crate::Identity::from_pem_files(&cert_file, &key_file).unwrap();
    let checks = V2Builder::<()>::new()
        .mch_id(MCH)
        .api_key("0123456789abcdefghijklmnopqrstuv")
        .identity(identity)
        .check();
    assert_eq!(
        by_status(&checks, Status::Ok).len(),
        checks.len(),
        "{checks:#?}"
    );
}
