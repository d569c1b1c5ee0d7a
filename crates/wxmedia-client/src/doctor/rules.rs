//! The rules the checks share: reading a credential file (a directory named as one), what a PEM file holds, merchant or platform certificate, validity dates.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use wxmedia_tls::ShownPath;

use wxmedia_proto::v3::certificates::beijing_time;
use wxmedia_proto::v3::inspect::CertificateSummary;
use wxmedia_tls::read_small_file;
use zeroize::Zeroizing;

use super::{Check, EXPIRY_WARNING_DAYS};
use crate::pem::Pem;

/// A credential's source as a user would recognise it: the path, or
/// "the PEM given" for bytes handed to a builder.
pub(super) fn shown(pem: &Pem) -> String {
    match pem {
        Pem::File(path) => ShownPath(path).to_string(),
        Pem::Bytes(_) => "the PEM given".to_owned(),
    }
}

/// The file of a source, for [`Check::files`].
pub(super) fn file_of(pem: &Pem) -> Option<PathBuf> {
    match pem {
        Pem::File(path) => Some(path.clone()),
        Pem::Bytes(_) => None,
    }
}

/// A check of `pem`, naming its file when it has one.
pub(super) fn about(check: Check, pem: &Pem) -> Check {
    match file_of(pem) {
        Some(path) => check.with_file(path),
        None => check,
    }
}

/// The bytes of `pem`, read as the builders read it, or one sentence
/// saying why not.
pub(super) fn read(pem: &Pem, what: &str, usual: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    match pem {
        Pem::Bytes(bytes) => Ok(bytes.clone()),
        Pem::File(path) => read_path(path, what, usual),
    }
}

/// The bytes of the file at `path` ([`read_small_file`]: a regular file of
/// at most 64 KiB), or why not. A directory is said to be one, with the
/// file it probably holds (`usual`, such as `apiclient_key.pem`): "a
/// cert_dir given where a file was expected" is a common mistake.
pub(super) fn read_path(
    path: &Path,
    what: &str,
    usual: &str,
) -> Result<Zeroizing<Vec<u8>>, String> {
    read_small_file(path, what).map_err(|e| match e {
        wxmedia_tls::Error::Read { source, .. } if source.kind() == ErrorKind::IsADirectory => {
            let inside = path.join(usual);
            let hint = if inside.is_file() {
                format!("; did you mean {}?", inside.display())
            } else {
                format!("; give the {what} file itself ({usual})")
            };
            format!("{} is a directory, not a {what} file{hint}", path.display())
        }
        wxmedia_tls::Error::Read { source, .. } => {
            format!("cannot read {}: {source}", ShownPath(path))
        }
        other => other.to_string(),
    })
}

/// The labels of the PEM blocks in `bytes` (`CERTIFICATE`, `PRIVATE KEY`,
/// `PUBLIC KEY`, …), in order: what a file holds when it is not what it
/// should be.
pub(super) fn pem_labels(bytes: &[u8]) -> Vec<String> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut labels = Vec::new();
    let mut rest = bytes;
    while let Some(at) = find(rest, BEGIN) {
        let after = &rest[at + BEGIN.len()..];
        let Some(end) = find(after, b"-----") else {
            break;
        };
        labels.push(String::from_utf8_lossy(&after[..end]).into_owned());
        rest = &after[end..];
    }
    labels
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a file that should hold `wanted` holds instead, in a sentence
/// that says what to give, or `None` when it holds something of the right
/// kind (whose content is then judged by the parser).
pub(super) fn wrong_content(bytes: &[u8], wanted: Wanted) -> Option<String> {
    let labels = pem_labels(bytes);
    let has = |label: &str| labels.iter().any(|l| l == label);
    let private = has("PRIVATE KEY") || has("RSA PRIVATE KEY") || has("EC PRIVATE KEY");
    let encrypted = has("ENCRYPTED PRIVATE KEY");
    let certificate = has("CERTIFICATE");
    let public = has("PUBLIC KEY") || has("RSA PUBLIC KEY");
    let right = match wanted {
        Wanted::PrivateKey => private,
        Wanted::Certificate => certificate,
        Wanted::PublicKey => public,
    };
    if right {
        return None;
    }
    Some(if encrypted {
        "holds an encrypted private key (BEGIN ENCRYPTED PRIVATE KEY); WeChat Pay's apiclient_key.pem is not encrypted: decrypt it with `openssl pkcs8 -in KEY -out apiclient_key.pem`".to_owned()
    } else if private {
        match wanted {
            Wanted::Certificate => "holds a private key, not a certificate: are the certificate (apiclient_cert.pem) and the key (apiclient_key.pem) swapped?".to_owned(),
            _ => "holds a private key, not a public key: the WeChat Pay public key (pub_key.pem, BEGIN PUBLIC KEY) is downloaded from the merchant platform; never hand out your private key".to_owned(),
        }
    } else if certificate {
        match wanted {
            Wanted::PrivateKey => "holds a certificate (BEGIN CERTIFICATE), not a private key: the key is apiclient_key.pem, beside apiclient_cert.pem".to_owned(),
            _ => "holds a certificate, not a public key: the WeChat Pay public key file pub_key.pem begins with BEGIN PUBLIC KEY (a platform certificate 平台证书 is given as a platform certificate instead)".to_owned(),
        }
    } else if public {
        "holds a public key (BEGIN PUBLIC KEY), not a private key: the WeChat Pay public key (pub_key.pem) verifies replies; requests are signed with your merchant private key apiclient_key.pem".to_owned()
    } else if labels.is_empty() && bytes.first() == Some(&0x30) {
        "is binary DER, not PEM: a PKCS#12 archive (apiclient_cert.p12)? Give the PEM files (apiclient_key.pem, apiclient_cert.pem) instead".to_owned()
    } else if labels.is_empty() {
        "holds no PEM block (-----BEGIN …-----)".to_owned()
    } else {
        format!("holds {} instead", labels.join(", "))
    })
}

/// What a credential file should hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wanted {
    PrivateKey,
    Certificate,
    PublicKey,
}

/// Whether an id looks like a merchant id: WeChat Pay's are all digits.
fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The rule of the module documentation: a platform certificate names
/// Tenpay (财付通) in its CN or O, and its CN is not a merchant id.
pub(super) fn looks_like_platform(cert: &CertificateSummary) -> bool {
    let tenpay = |name: &Option<String>| {
        name.as_deref()
            .is_some_and(|n| n.to_ascii_lowercase().contains("tenpay") || n.contains("财付通"))
    };
    !cert.common_name.as_deref().is_some_and(is_digits)
        && (tenpay(&cert.common_name) || tenpay(&cert.organization))
}

/// The rule of the module documentation: a merchant certificate names the
/// merchant, its id (or some id) as CN, or 微信商户系统 as O.
pub(super) fn looks_like_merchant(cert: &CertificateSummary, mch_id: Option<&str>) -> bool {
    let cn = cert.common_name.as_deref();
    cn.is_some_and(|cn| Some(cn) == mch_id || is_digits(cn))
        || cert.organization.as_deref() == Some("微信商户系统")
}

/// The subject in a few words: CN and O when present, else the whole.
pub(super) fn subject(cert: &CertificateSummary) -> String {
    match (&cert.common_name, &cert.organization) {
        (Some(cn), Some(o)) => format!("CN={cn}, O={o}"),
        (Some(cn), None) => format!("CN={cn}"),
        _ if cert.subject.is_empty() => "an empty subject".to_owned(),
        _ => cert.subject.clone(),
    }
}

/// Where `now` falls in a certificate's validity, as a check: expired
/// fails; not yet valid gives `early` (a failure for a merchant
/// certificate, a warning for the next platform certificate of a
/// rotation); within [`EXPIRY_WARNING_DAYS`] of expiry warns.
pub(super) fn validity(
    name: &'static str,
    what: &str,
    cert: &CertificateSummary,
    now: i64,
    early: super::Status,
) -> Check {
    let until = beijing_time(cert.not_after);
    let check = if now > cert.not_after {
        Check::fail(
            name,
            format!(
                "{what} {} expired {until}: download a new one from the merchant platform (商户平台) and use it",
                cert.serial_no
            ),
        )
    } else if now < cert.not_before {
        Check::new(
            name,
            early,
            format!(
                "{what} {} is not valid before {}: check this machine's clock, or use the certificate in force now",
                cert.serial_no,
                beijing_time(cert.not_before)
            ),
        )
    } else {
        let days = (cert.not_after - now) / 86_400;
        if days < EXPIRY_WARNING_DAYS {
            Check::warn(
                name,
                format!(
                    "{what} {} expires in {days} days ({until}): renew it in the merchant platform now",
                    cert.serial_no
                ),
            )
        } else {
            Check::ok(
                name,
                format!(
                    "{what} {} is valid until {until} ({days} days)",
                    cert.serial_no
                ),
            )
        }
    };
    check.with_value("not_after", until)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: Option<&str>, o: Option<&str>) -> CertificateSummary {
        // Built from a real summary, since the type is non-exhaustive.
        let pem = include_bytes!("../../../wxmedia-proto/tests/data/v3_cert.pem");
        let mut c = wxmedia_proto::v3::inspect::certificate(pem).unwrap();
        c.common_name = cn.map(str::to_owned);
        c.organization = o.map(str::to_owned);
        c
    }

    #[test]
    fn platform_and_merchant_certificates_are_told_apart_by_subject() {
        // The real ones.
        let platform = cert(Some("Tenpay.com sign"), Some("Tenpay.com"));
        let merchant = cert(Some("1900000109"), Some("微信商户系统"));
        assert!(looks_like_platform(&platform));
        assert!(!looks_like_merchant(&platform, Some("1900000109")));
        assert!(looks_like_merchant(&merchant, Some("1900000109")));
        assert!(!looks_like_platform(&merchant));
        // The simulator's.
        let sim = cert(
            Some("Tenpay.com Root CA (wxmedia simulator)"),
            Some("wxmedia simulated WeChat Pay"),
        );
        assert!(looks_like_platform(&sim));
        let other = cert(Some("1234567890"), Some("wxmedia simulated merchant"));
        assert!(looks_like_merchant(&other, Some("1900000109")));
        assert!(!looks_like_platform(&cert(
            None,
            Some("Default Company Ltd")
        )));
    }

    #[test]
    fn wrong_files_are_named_by_what_they_hold() {
        let key = include_bytes!("../../../wxmedia-proto/tests/data/v3_key.pem");
        let cert = include_bytes!("../../../wxmedia-proto/tests/data/v3_cert.pem");
        let public = include_bytes!("../../../wxmedia-proto/tests/data/v3_public_key.pem");
        assert_eq!(wrong_content(key, Wanted::PrivateKey), None);
        assert!(
            wrong_content(cert, Wanted::PrivateKey)
                .unwrap()
                .contains("holds a certificate")
        );
        assert!(
            wrong_content(public, Wanted::PrivateKey)
                .unwrap()
                .contains("holds a public key")
        );
        assert!(
            wrong_content(key, Wanted::Certificate)
                .unwrap()
                .contains("swapped")
        );
        assert!(
            wrong_content(b"\x30\x82\x01", Wanted::PrivateKey)
                .unwrap()
                .contains("PKCS#12")
        );
        assert_eq!(
            pem_labels(b"x-----BEGIN A B-----\n-----BEGIN C-----"),
            ["A B", "C"]
        );
    }

    #[test]
    fn a_directory_is_named_as_one_with_the_file_it_holds() {
        let dir = tempfile::TempDir::new().unwrap();
        let e = read_path(dir.path(), "private key", "apiclient_key.pem").unwrap_err();
        assert!(e.contains("is a directory, not a private key file"), "{e}");
        assert!(e.contains("give the private key file itself"), "{e}");
        std::fs::write(dir.path().join("apiclient_key.pem"), "k").unwrap();
        let e = read_path(dir.path(), "private key", "apiclient_key.pem").unwrap_err();
        assert!(e.contains("did you mean"), "{e}");
    }
}
