//! The offline v3 checks: private key, merchant certificate and serial, the keys replies are verified with, the APIv3 key.

use wxmedia_proto::MchId;
use wxmedia_proto::v3::inspect::{self, CertificateSummary, PrivateKeySummary};
use wxmedia_proto::v3::signer::KEY_MISMATCH;
use wxmedia_proto::v3::verify::PUBLIC_KEY_ID_PREFIX;
use wxmedia_proto::v3::{RsaSigner, Verifier, normalize_serial};
use zeroize::Zeroizing;

use super::rules::{
    Wanted, about, looks_like_merchant, looks_like_platform, read, shown, subject, validity,
    wrong_content,
};
use super::{Check, Status};
use crate::V3Options;
use crate::pem::Pem;

/// A file read and parsed: its bytes (a key's are zeroed when dropped)
/// and what it holds.
type Parsed<T> = (Zeroizing<Vec<u8>>, T);

/// Every offline v3 check of what a builder was given, in the order a
/// user fixes things: merchant id, private key, merchant certificate, the
/// two together, the serial, the certificate's dates, then what verifies
/// replies. `now` is Unix seconds.
pub(crate) fn check_v3(mch_id: Option<&str>, o: &V3Options, now: u64) -> Vec<Check> {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let mut out = vec![super::v2::merchant_id(mch_id)];
    let key = private_key(o, &mut out);
    let cert = merchant_certificate(o, mch_id, &mut out);
    // Read once, judged below: the serial check needs their serials too.
    let platforms: Vec<(&Pem, Result<Parsed<CertificateSummary>, String>)> = o
        .platform_certificates
        .iter()
        .map(|pem| {
            (
                pem,
                certificate(pem, "platform certificate", "wechatpay_SERIAL.pem"),
            )
        })
        .collect();
    if let (Some((key_pem, _)), Some((cert_pem, summary)), Some(k), Some(c)) =
        (&key, &cert, &o.private_key, &o.certificate)
    {
        out.push(key_matches(key_pem, cert_pem, summary, k, c));
    }
    let platform_serials: Vec<&str> = platforms
        .iter()
        .filter_map(|(_, p)| p.as_ref().ok().map(|(_, s)| s.serial_no.as_str()))
        .collect();
    if let Some(check) = serial_no(o, cert.as_ref().map(|(_, s)| s), &platform_serials) {
        out.push(check);
    }
    if let (Some((_, summary)), Some(pem)) = (&cert, &o.certificate) {
        let check = validity(
            "merchant-certificate-validity",
            "merchant certificate",
            summary,
            now,
            Status::Fail,
        );
        out.push(about(check, pem));
    }
    let own_keys: Vec<&[u8]> = [
        key.as_ref().map(|(_, k)| k.rsa_public_key.as_slice()),
        cert.as_ref().and_then(|(_, c)| c.rsa_public_key.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut ways = Vec::new();
    for (id, pem) in &o.public_keys {
        let check = public_key(id, pem, &own_keys);
        if check.status != Status::Fail {
            ways.push(format!("the WeChat Pay public key {id}"));
        }
        out.push(check);
    }
    let own_serial = cert.as_ref().map(|(_, c)| c.serial_no.as_str());
    for (pem, parsed) in platforms {
        let check = platform_certificate(pem, parsed, own_serial, &own_keys, mch_id, now);
        if check.status != Status::Fail {
            ways.push(format!("platform certificate {}", shown(pem)));
        }
        out.push(check);
    }
    if let Some(k) = &o.api_v3_key {
        let check = api_v3_key(k);
        if check.status != Status::Fail {
            ways.push("the platform certificates downloaded with the APIv3 key".to_owned());
        }
        out.push(check);
    }
    out.push(reply_verification(o, &ways));
    out
}

/// What a core error says, without the "invalid <what>:" the core puts
/// before it (the check's sentence names the file already).
pub(super) fn reason(e: &wxmedia_proto::Error) -> String {
    match e {
        wxmedia_proto::Error::InvalidInput { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

fn private_key(o: &V3Options, out: &mut Vec<Check>) -> Option<Parsed<PrivateKeySummary>> {
    const NAME: &str = "private-key";
    let pem = match (&o.signer, &o.private_key) {
        (Some(_), Some(_)) => {
            out.push(Check::fail(
                NAME,
                "both a signer and a private key are given: give one",
            ));
            return None;
        }
        (Some(signer), None) => {
            out.push(Check::ok(
                NAME,
                format!(
                    "requests are signed by the signer given (商户API证书序列号 {}); its key is not checked here",
                    signer.serial_no()
                ),
            ));
            return None;
        }
        (None, None) => {
            out.push(Check::fail(
                NAME,
                "no merchant private key: give apiclient_key.pem (--private-key or WXMEDIA_PRIVATE_KEY; private_key_file in Rust)",
            ));
            return None;
        }
        (None, Some(pem)) => pem,
    };
    let name = shown(pem);
    let parsed = read(pem, "private key", "apiclient_key.pem").and_then(|bytes| {
        if let Some(why) = wrong_content(&bytes, Wanted::PrivateKey) {
            return Err(format!("{name} {why}"));
        }
        match inspect::private_key(&bytes) {
            Ok(summary) => Ok((bytes, summary)),
            Err(e) => Err(format!("{name}: {}", reason(&e))),
        }
    });
    let check = match &parsed {
        Ok((_, k)) => Check::ok(
            NAME,
            format!("{name}: an RSA {}-bit private key ({})", k.bits, k.encoding),
        ),
        Err(why) => Check::fail(NAME, why.clone()),
    };
    out.push(about(check, pem));
    parsed.ok()
}

/// A certificate file read and described, or why not.
fn certificate(pem: &Pem, what: &str, usual: &str) -> Result<Parsed<CertificateSummary>, String> {
    let name = shown(pem);
    let bytes = read(pem, what, usual)?;
    if let Some(why) = wrong_content(&bytes, Wanted::Certificate) {
        return Err(format!("{name} {why}"));
    }
    match inspect::certificate(&bytes) {
        Ok(summary) => Ok((bytes, summary)),
        Err(e) => Err(format!("{name}: {}", reason(&e))),
    }
}

fn merchant_certificate(
    o: &V3Options,
    mch_id: Option<&str>,
    out: &mut Vec<Check>,
) -> Option<Parsed<CertificateSummary>> {
    const NAME: &str = "merchant-certificate";
    let Some(pem) = &o.certificate else {
        match (&o.serial_no, &o.signer) {
            (Some(_), _) => out.push(Check::warn(
                NAME,
                "only the certificate's serial is given, not apiclient_cert.pem: whether the private key belongs to it (the most common hidden cause of SIGN_ERROR) cannot be checked; give the certificate to check it",
            )),
            (None, Some(_)) => {}
            (None, None) => out.push(Check::fail(
                NAME,
                "no merchant certificate (apiclient_cert.pem) and no serial: requests must name the 商户API证书序列号",
            )),
        }
        return None;
    };
    let name = shown(pem);
    let parsed = certificate(pem, "certificate", "apiclient_cert.pem");
    let check = match &parsed {
        Err(why) => Check::fail(NAME, why.clone()),
        Ok((_, c)) => merchant_subject(&name, c, mch_id),
    };
    out.push(about(check, pem));
    // A certificate that is not the merchant's is reported, and not
    // judged further as if it were.
    parsed.ok().filter(|(_, c)| !looks_like_platform(c))
}

/// Whose certificate it is, by its subject (the rule in the module
/// documentation).
fn merchant_subject(name: &str, c: &CertificateSummary, mch_id: Option<&str>) -> Check {
    const NAME: &str = "merchant-certificate";
    let who = subject(c);
    let check = if looks_like_platform(c) {
        Check::fail(
            NAME,
            format!(
                "{name} is a WeChat Pay platform certificate (平台证书, {who}), not your merchant API certificate: give apiclient_cert.pem, whose CN is your merchant id"
            ),
        )
    } else if c.rsa_public_key.is_none() {
        Check::fail(
            NAME,
            format!(
                "{name} ({who}) holds no RSA key: WeChat Pay merchant API certificates are RSA 2048"
            ),
        )
    } else if mch_id.is_some() && c.common_name.as_deref() == mch_id {
        Check::ok(
            NAME,
            format!(
                "{name}: the merchant API certificate of {who}, RSA {} bits",
                c.key_bits
            ),
        )
    } else if looks_like_merchant(c, mch_id) {
        Check::warn(
            NAME,
            format!(
                "{name} names merchant {}, not {}: is it another merchant's certificate? WeChat Pay accepts only the merchant's own",
                c.common_name.as_deref().unwrap_or("?"),
                mch_id.unwrap_or("the merchant id given")
            ),
        )
    } else {
        Check::warn(
            NAME,
            format!(
                "the subject of {name} ({who}) does not name the merchant id {}: a merchant API certificate has CN=<merchant id>",
                mch_id.unwrap_or("(none given)")
            ),
        )
    };
    check.with_value("subject", c.subject.clone())
}

fn key_matches(
    key_pem: &[u8],
    cert_pem: &[u8],
    cert: &CertificateSummary,
    key: &Pem,
    cert_file: &Pem,
) -> Check {
    const NAME: &str = "key-matches-certificate";
    let (k, c) = (shown(key), shown(cert_file));
    // The signer's own rule, so that this check and `build` never disagree.
    let check = match RsaSigner::from_pem(key_pem, cert_pem) {
        Ok(_) => Check::ok(
            NAME,
            format!("the private key {k} belongs to the certificate {c}"),
        ),
        Err(wxmedia_proto::Error::InvalidInput { what, .. }) if what == KEY_MISMATCH => {
            Check::fail(
                NAME,
                format!(
                    "the private key {k} does not belong to the certificate {c} (商户API证书序列号 {}): WeChat Pay answers SIGN_ERROR to every request; use the apiclient_key.pem made with this certificate, or the certificate issued for this key",
                    cert.serial_no
                ),
            )
        }
        Err(e) => Check::fail(NAME, format!("{k} with {c}: {}", reason(&e))),
    };
    about(about(check, key), cert_file)
}

fn serial_no(
    o: &V3Options,
    cert: Option<&CertificateSummary>,
    platform_serials: &[&str],
) -> Option<Check> {
    const NAME: &str = "serial-no";
    let file = o.certificate.as_ref().map(shown).unwrap_or_default();
    let from_signer = o.signer.as_ref().map(|s| s.serial_no().to_owned());
    let Some(given) = o.serial_no.as_deref().or(from_signer.as_deref()) else {
        let c = cert?;
        return Some(
            Check::ok(
                NAME,
                format!(
                    "商户API证书序列号 {} (from {file}): requests name it as serial_no",
                    c.serial_no
                ),
            )
            .with_value("serial_no", c.serial_no.clone()),
        );
    };
    if given.starts_with(PUBLIC_KEY_ID_PREFIX) {
        return Some(Check::fail(
            NAME,
            format!(
                "the serial given, {given}, is a 微信支付公钥ID (WeChat Pay public key id), not the 商户API证书序列号: give it as the public key's id, and the serial of apiclient_cert.pem as the serial"
            ),
        ));
    }
    let Some(serial) = normalize_serial(given) else {
        return Some(Check::fail(
            NAME,
            format!(
                "the serial given, {given:?}, is not a certificate serial: 1 to 64 hexadecimal digits, as 商户平台 → API安全 shows the 商户API证书序列号"
            ),
        ));
    };
    if platform_serials.contains(&serial.as_str()) {
        return Some(Check::fail(
            NAME,
            format!(
                "the serial given, {serial}, is that of a platform certificate (平台证书), not of your merchant API certificate: requests name the 商户API证书序列号"
            ),
        ));
    }
    let check = match cert {
        Some(c) if c.serial_no != serial => Check::fail(
            NAME,
            format!(
                "the serial given, {serial}, is not that of {file} ({}): WeChat Pay answers SIGN_ERROR 商户证书序列号有误; use {}",
                c.serial_no, c.serial_no
            ),
        ),
        Some(c) => Check::ok(
            NAME,
            format!(
                "商户API证书序列号 {}: the serial given agrees with {file}",
                c.serial_no
            ),
        ),
        None => Check::ok(
            NAME,
            format!("商户API证书序列号 {serial} (as given; no certificate to compare it with)"),
        ),
    };
    Some(check.with_value("serial_no", serial))
}

fn public_key(id: &str, pem: &Pem, own_keys: &[&[u8]]) -> Check {
    const NAME: &str = "wechatpay-public-key";
    let name = shown(pem);
    let digits = id
        .strip_prefix(PUBLIC_KEY_ID_PREFIX)
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    let checked = if digits.is_none() && !id.starts_with(PUBLIC_KEY_ID_PREFIX) {
        let looks = if normalize_serial(id).is_some() {
            "looks like a certificate serial (证书序列号)"
        } else {
            "is not one"
        };
        Err(format!(
            "the public key id {id:?} {looks}, not a 微信支付公钥ID (PUB_KEY_ID_ and digits): copy the id shown beside the public key in 商户平台 → API安全 → 微信支付公钥"
        ))
    } else {
        read(pem, "public key", "pub_key.pem").and_then(|bytes| {
            if let Some(why) = wrong_content(&bytes, Wanted::PublicKey) {
                return Err(format!("{name} {why}"));
            }
            let (rsa, bits) =
                inspect::public_key(&bytes).map_err(|e| format!("{name}: {}", reason(&e)))?;
            if own_keys.contains(&rsa.as_slice()) {
                return Err(format!(
                    "{name} is your own merchant public key, not the WeChat Pay public key (微信支付公钥)"
                ));
            }
            // The verifier's own rules have the last word.
            Verifier::new()
                .add_public_key_pem(id, &bytes)
                .map_err(|e| format!("{name}: {}", reason(&e)))?;
            Ok(bits)
        })
    };
    let check = match checked {
        Ok(bits) if digits.is_some() => Check::ok(
            NAME,
            format!("{name}: the WeChat Pay public key (微信支付公钥) {id}, RSA {bits} bits"),
        ),
        Ok(_) => Check::warn(
            NAME,
            format!(
                "{name} is usable, but its id {id} is not PUB_KEY_ID_ followed by digits, as WeChat Pay's 微信支付公钥ID are: check it in 商户平台 → API安全"
            ),
        ),
        Err(why) => Check::fail(NAME, why),
    };
    about(check.with_value("public_key_id", id), pem)
}

fn platform_certificate(
    pem: &Pem,
    parsed: Result<Parsed<CertificateSummary>, String>,
    own_serial: Option<&str>,
    own_keys: &[&[u8]],
    mch_id: Option<&str>,
    now: i64,
) -> Check {
    const NAME: &str = "platform-certificate";
    let name = shown(pem);
    let check = match parsed {
        Err(why) => Check::fail(NAME, why),
        Ok((_, c)) => {
            let same_key = c
                .rsa_public_key
                .as_deref()
                .is_some_and(|k| own_keys.contains(&k));
            if own_serial == Some(c.serial_no.as_str())
                || same_key
                || (looks_like_merchant(&c, mch_id) && !looks_like_platform(&c))
            {
                Check::fail(
                    NAME,
                    format!(
                        "{name}: this is your merchant certificate, not a WeChat Pay platform certificate ({}): platform certificates (平台证书) are downloaded with the APIv3 key (wxmedia certificates), or verify with the WeChat Pay public key",
                        subject(&c)
                    ),
                )
            } else {
                let mut check = validity(NAME, "platform certificate", &c, now, Status::Warn);
                check.message = format!("{name}: {}", check.message);
                check.with_value("serial_no", c.serial_no)
            }
        }
    };
    about(check, pem)
}

fn api_v3_key(key: &str) -> Check {
    const NAME: &str = "api-v3-key";
    let len = key.len();
    let check = if len != 32 {
        Check::fail(
            NAME,
            format!(
                "the APIv3 key is {len} bytes; it must be exactly 32 (APIv3密钥, set in 商户平台 → API安全): is a character missing or extra, or is this the APIv2 key (API密钥)?"
            ),
        )
    } else if !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Check::warn(
            NAME,
            "the APIv3 key is 32 bytes but holds characters other than ASCII letters and digits, which WeChat Pay's keys are made of: check for a stray space or quote",
        )
    } else {
        Check::ok(
            NAME,
            "the APIv3 key (APIv3密钥) is 32 bytes (it is not shown)",
        )
    };
    check.with_value("length", len.to_string())
}

fn reply_verification(o: &V3Options, ways: &[String]) -> Check {
    const NAME: &str = "reply-verification";
    let given =
        !o.public_keys.is_empty() || !o.platform_certificates.is_empty() || o.api_v3_key.is_some();
    if !ways.is_empty() {
        Check::ok(
            NAME,
            format!("replies are verified with {}", ways.join(", ")),
        )
    } else if given {
        Check::fail(
            NAME,
            "none of the ways given to verify replies is usable (see above): every reply would be refused",
        )
    } else {
        Check::fail(
            NAME,
            "no way to verify replies: give the WeChat Pay public key with its 微信支付公钥ID (public-key mode, all new merchants), platform certificates (平台证书), or the APIv3 key to download them",
        )
    }
}

/// The merchant id as the core validates it.
pub(super) fn valid_mch_id(id: &str) -> Result<MchId, String> {
    MchId::new(id).map_err(|e| reason(&e))
}
