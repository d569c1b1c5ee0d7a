//! Identity loading: every refusal names the file and what is wrong with it.

use std::path::Path;

use wxmedia_tls::{Error, Identity};

fn self_signed(cn: &str, not_after_year: Option<i32>) -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    if let Some(year) = not_after_year {
        params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
        params.not_after = rcgen::date_time_ymd(year, 1, 1);
    }
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_matching_pem_pair_loads_and_knows_its_cn() {
    let (cert, key) = self_signed("1900000109", None);
    let id = Identity::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    assert_eq!(id.subject_cn().as_deref(), Some("1900000109"));
    assert!(
        !format!("{id:?}").contains("PRIVATE"),
        "Debug hides the key"
    );
}

#[test]
fn swapped_files_are_named_and_explained() {
    let dir = tempfile::TempDir::new().unwrap();
    let (cert, key) = self_signed("1", None);
    let cert_path = write(dir.path(), "apiclient_cert.pem", &cert);
    let key_path = write(dir.path(), "apiclient_key.pem", &key);
    let err = Identity::from_pem_files(&key_path, &cert_path).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Pem { .. }), "{err:?}");
    assert!(
        text.contains("apiclient_key.pem") && text.contains("key file"),
        "{text}"
    );
}

#[test]
fn a_key_that_belongs_to_another_certificate_is_refused() {
    let (cert, _) = self_signed("1", None);
    let (_, other_key) = self_signed("1", None);
    let err = Identity::from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err:?}");
}

#[test]
fn an_expired_certificate_is_refused_with_its_date() {
    let (cert, key) = self_signed("1", Some(2001));
    let err = Identity::from_pem(cert.as_bytes(), key.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }), "{err:?}");
    assert!(err.to_string().contains("2001"), "{err}");
}

#[test]
fn missing_and_empty_files_are_named() {
    let err =
        Identity::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
    assert!(matches!(err, Error::Read { .. }) && err.to_string().contains("/nonexistent/cert.pem"));
    let err = Identity::from_pem(b"", b"").unwrap_err();
    assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
    let err = Identity::from_pkcs12(b"not a p12", "1").unwrap_err();
    assert!(matches!(err, Error::Pkcs12 { .. }), "{err:?}");
}
