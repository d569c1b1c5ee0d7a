//! The offline v2 checks: the APIv2 key, the client certificate (PEM pair or PKCS#12) and whose it is; and the merchant id both APIs share.

use std::fmt;
use std::path::PathBuf;
use wxmedia_tls::ShownPath;

use wxmedia_proto::v2::ApiKey;
use wxmedia_proto::v3::inspect;
use zeroize::Zeroizing;

use super::rules::{looks_like_platform, read_path, subject, validity};
use super::v3::{reason, valid_mch_id};
use super::{Check, Status};
use crate::Identity;

/// The v2 credentials as a user names them, files not yet read: what
/// [`V2Credentials::check`] looks at. `Debug` never shows the key or the
/// password.
///
/// ```no_run
/// use wxmedia_client::doctor::{V2Credentials, any_failed};
///
/// let checks = V2Credentials::new("1900000109")
///     .api_key(std::env::var("WXMEDIA_API_KEY").unwrap_or_default())
///     .pem_files("apiclient_cert.pem", "apiclient_key.pem")
///     .check();
/// for c in &checks {
///     println!("{} {}: {}", c.status, c.name, c.message);
/// }
/// assert!(!any_failed(&checks));
/// ```
#[derive(Clone, Default)]
pub struct V2Credentials {
    mch_id: Option<String>,
    api_key: Option<Zeroizing<String>>,
    identity: Option<Source>,
    /// A gateway in front of WeChat Pay presents the certificate.
    at_gateway: bool,
}

/// Where the client certificate comes from.
#[derive(Clone)]
enum Source {
    PemFiles {
        cert: PathBuf,
        key: PathBuf,
    },
    Pkcs12File {
        path: PathBuf,
        password: Zeroizing<String>,
    },
    Loaded(Identity),
}

impl fmt::Debug for V2Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let identity = match &self.identity {
            Some(Source::PemFiles { cert, key }) => {
                format!("PEM {} + {}", ShownPath(cert), ShownPath(key))
            }
            Some(Source::Pkcs12File { path, .. }) => format!("PKCS#12 {}", ShownPath(path)),
            Some(Source::Loaded(_)) => "loaded".to_owned(),
            None => "none".to_owned(),
        };
        f.debug_struct("V2Credentials")
            .field("mch_id", &self.mch_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("identity", &identity)
            .finish()
    }
}

impl V2Credentials {
    /// The credentials of merchant `mch_id`.
    pub fn new(mch_id: impl Into<String>) -> V2Credentials {
        V2Credentials {
            mch_id: Some(mch_id.into()),
            ..V2Credentials::default()
        }
    }

    /// The APIv2 key.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> V2Credentials {
        self.api_key = Some(Zeroizing::new(key.into()));
        self
    }

    /// The client certificate and its key, PEM files (`apiclient_cert.pem`,
    /// `apiclient_key.pem`).
    #[must_use]
    pub fn pem_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> V2Credentials {
        self.identity = Some(Source::PemFiles {
            cert: cert.into(),
            key: key.into(),
        });
        self
    }

    /// The client certificate and key in a PKCS#12 archive
    /// (`apiclient_cert.p12`; WeChat Pay's password is the merchant id).
    #[must_use]
    pub fn pkcs12_file(
        mut self,
        path: impl Into<PathBuf>,
        password: impl Into<String>,
    ) -> V2Credentials {
        self.identity = Some(Source::Pkcs12File {
            path: path.into(),
            password: Zeroizing::new(password.into()),
        });
        self
    }

    /// No client certificate here: a gateway in front of WeChat Pay
    /// presents it ([`V2Builder::certificate_at_gateway`](crate::V2Builder::certificate_at_gateway)).
    #[must_use]
    pub fn certificate_at_gateway(mut self) -> V2Credentials {
        self.at_gateway = true;
        self
    }

    /// A client identity already loaded (what a [`V2Builder`](crate::V2Builder) holds).
    #[must_use]
    pub fn identity(mut self, identity: Identity) -> V2Credentials {
        self.identity = Some(Source::Loaded(identity));
        self
    }

    /// Run every offline v2 check: the merchant id, the APIv2 key, the
    /// client certificate (it opens, key and certificate belong together),
    /// its dates and whose it is.
    pub fn check(&self) -> Vec<Check> {
        use crate::Clock;
        self.check_at(crate::SystemClock.unix_time())
    }

    /// [`V2Credentials::check`] with the dates judged at `now` (Unix
    /// seconds, a client's clock).
    pub(crate) fn check_at(&self, now: u64) -> Vec<Check> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let mut out = vec![
            merchant_id(self.mch_id.as_deref()),
            api_key(self.api_key.as_ref().map(|k| k.as_str())),
        ];
        if self.at_gateway && self.identity.is_none() {
            out.push(Check::ok(
                "client-certificate",
                "none here: the gateway in front of WeChat Pay presents it (its own configuration, not checked here)",
            ));
            return out;
        }
        out.extend(client_certificate(
            self.identity.as_ref(),
            self.mch_id.as_deref(),
            now,
        ));
        out
    }
}

/// The merchant id (商户号), as both APIs need it.
pub(super) fn merchant_id(mch_id: Option<&str>) -> Check {
    const NAME: &str = "merchant-id";
    let Some(id) = mch_id else {
        return Check::fail(
            NAME,
            "no merchant id (商户号): give --mch-id or WXMEDIA_MCH_ID",
        );
    };
    match valid_mch_id(id) {
        Err(why) => Check::fail(NAME, format!("the merchant id {id:?} {why}")),
        Ok(_) if !id.bytes().all(|b| b.is_ascii_digit()) => Check::warn(
            NAME,
            format!("the merchant id {id} is not all digits, as WeChat Pay's 商户号 are: check it"),
        ),
        Ok(_) => Check::ok(NAME, format!("商户号 {id}")),
    }
}

fn api_key(key: Option<&str>) -> Check {
    const NAME: &str = "api-key";
    let Some(key) = key else {
        return Check::fail(
            NAME,
            "no APIv2 key (API密钥): give --api-key-file or WXMEDIA_API_KEY",
        );
    };
    let chars = key.chars().count();
    let check = match ApiKey::new(key) {
        Err(e) => Check::fail(NAME, format!("the APIv2 key is not usable: {}", reason(&e))),
        Ok(_) if chars != 32 => Check::warn(
            NAME,
            format!(
                "the APIv2 key is {chars} characters; the API密钥 set in 商户平台 → API安全 is 32: is a character missing or extra, or is this the APIv3 key?"
            ),
        ),
        Ok(_) => Check::ok(
            NAME,
            "the APIv2 key (API密钥) is 32 characters (it is not shown)",
        ),
    };
    check.with_value("length", chars.to_string())
}

/// Open the identity as the client would, then judge its leaf.
fn client_certificate(source: Option<&Source>, mch_id: Option<&str>, now: i64) -> Vec<Check> {
    const NAME: &str = "client-certificate";
    let (loaded, files) = match source {
        None => {
            return vec![Check::fail(
                NAME,
                "no client certificate: give --cert apiclient_cert.pem --cert-key apiclient_key.pem, or --p12 apiclient_cert.p12",
            )];
        }
        Some(Source::Loaded(identity)) => (Ok(identity.clone()), Vec::new()),
        Some(Source::PemFiles { cert, key }) => {
            // Read first, so that a directory is named as one.
            for (path, what, usual) in [
                (cert, "certificate", "apiclient_cert.pem"),
                (key, "private key", "apiclient_key.pem"),
            ] {
                if let Err(why) = read_path(path, what, usual) {
                    return vec![Check::fail(NAME, why).with_file(path)];
                }
            }
            (
                Identity::from_pem_files(cert, key),
                vec![cert.clone(), key.clone()],
            )
        }
        Some(Source::Pkcs12File { path, password }) => {
            if let Err(why) = read_path(path, "PKCS#12", "apiclient_cert.p12") {
                return vec![Check::fail(NAME, why).with_file(path)];
            }
            (
                Identity::from_pkcs12_file(path, password),
                vec![path.clone()],
            )
        }
    };
    let with_files = |mut c: Check| {
        c.files.extend(files.iter().cloned());
        c
    };
    let leaf = match loaded {
        Ok(identity) => identity.chain()[0].to_vec(),
        Err(wxmedia_tls::Error::Expired { .. } | wxmedia_tls::Error::NotYetValid { .. }) => {
            // Identity checks the key against the certificate before the
            // dates: the pair matched. The dates are judged below, from
            // the certificate file when there is one.
            let matched = with_files(Check::ok(
                NAME,
                "the client certificate opens and its key belongs to it",
            ));
            let Some(Source::PemFiles { cert, .. }) = source else {
                return vec![
                    matched,
                    with_files(Check::fail(
                        "client-certificate-validity",
                        "the client certificate is outside its validity: download a new one from 商户平台 → API安全",
                    )),
                ];
            };
            match read_path(cert, "certificate", "apiclient_cert.pem")
                .map(|pem| inspect::certificate(&pem))
            {
                Ok(Ok(c)) => return judge(vec![matched], &c, mch_id, now, &files),
                _ => return vec![matched],
            }
        }
        Err(wxmedia_tls::Error::KeyMismatch { cert, key }) => {
            return vec![with_files(Check::fail(
                NAME,
                format!(
                    "the private key {} does not belong to the certificate {}: the TLS handshake fails; use the pair issued together",
                    ShownPath(&key),
                    ShownPath(&cert)
                ),
            ))];
        }
        Err(e) => return vec![with_files(Check::fail(NAME, e.to_string()))],
    };
    let opened = with_files(Check::ok(
        NAME,
        "the client certificate opens and its key belongs to it",
    ));
    match inspect::certificate_der(&leaf) {
        Ok(c) => judge(vec![opened], &c, mch_id, now, &files),
        Err(e) => vec![opened, Check::fail(NAME, reason(&e))],
    }
}

/// The leaf's dates and whose it is.
fn judge(
    mut out: Vec<Check>,
    c: &inspect::CertificateSummary,
    mch_id: Option<&str>,
    now: i64,
    files: &[PathBuf],
) -> Vec<Check> {
    const NAME: &str = "client-certificate-subject";
    let mut dates = validity(
        "client-certificate-validity",
        "client certificate",
        c,
        now,
        Status::Fail,
    );
    dates.files.extend(files.iter().cloned());
    out.push(dates);
    let who = subject(c);
    let check = if looks_like_platform(c) {
        Check::fail(
            NAME,
            format!(
                "the client certificate is a WeChat Pay platform certificate (平台证书, {who}), not your merchant API certificate apiclient_cert.pem"
            ),
        )
    } else if mch_id.is_some() && c.common_name.as_deref() == mch_id {
        Check::ok(
            NAME,
            format!("the client certificate names the merchant ({who})"),
        )
    } else {
        // v2's endpoint takes the merchant from the certificate: one that
        // names another is refused whatever the request says.
        Check::fail(
            NAME,
            format!(
                "the client certificate names {who}, not the merchant id {}: WeChat Pay refuses a certificate of another merchant; use this merchant's apiclient_cert.pem",
                mch_id.unwrap_or("(none given)")
            ),
        )
    };
    out.push(
        check
            .with_value("subject", c.subject.clone())
            .with_value("serial_no", c.serial_no.clone()),
    );
    out
}
