//! `wxmedia sign` and `wxmedia verify`, for v2 and v3: for people chasing a SIGNERROR or SIGN_ERROR.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use http::{HeaderMap, HeaderValue};
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};
use wxmedia_proto::v3::{RsaSigner, Signer, Verifier, auth};

use crate::conn::{ApiArg, KeyArgs, SignTypeArg};
use crate::report::{EXIT_FAILED, EXIT_USAGE};

/// Options of `wxmedia sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// Which API's signature: v2 (the default) or v3.
    #[arg(long, value_enum, default_value = "v2")]
    api: ApiArg,
    #[command(flatten)]
    key: KeyArgs,
    /// v2: how to sign (required with v2).
    #[arg(long, value_enum)]
    sign_type: Option<SignTypeArg>,
    /// v3: merchant API private key, PEM (apiclient_key.pem); --cert-key means the same. Default: env WXMEDIA_PRIVATE_KEY.
    #[arg(long, value_name = "PEM", alias = "cert-key")]
    private_key: Option<PathBuf>,
    /// v3: the request's HTTP method, as sent (POST, GET).
    #[arg(long, value_name = "METHOD", required_if_eq("api", "v3"))]
    method: Option<String>,
    /// v3: the request's path and query, without scheme or host (/v3/merchant/media/upload).
    #[arg(long, value_name = "PATH", required_if_eq("api", "v3"))]
    url: Option<String>,
    /// v3: the Unix time the request names.
    #[arg(long, value_name = "T", required_if_eq("api", "v3"))]
    timestamp: Option<u64>,
    /// v3: the nonce the request names.
    #[arg(long, value_name = "N", required_if_eq("api", "v3"))]
    nonce: Option<String>,
    /// v3: the signed body (for an upload, the meta JSON); empty when absent.
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// Print `{"string_to_sign":"…&key=***","sign":"…"}` (v3: `{"message":…,"signature":…}`).
    #[arg(long)]
    json: bool,
    /// v2: parameters to sign, as NAME=VALUE (the value may be empty; at least one).
    #[arg(value_name = "NAME=VALUE")]
    params: Vec<String>,
}

/// Options of `wxmedia verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Which API's reply: v2 (the default) or v3.
    #[arg(long, value_enum, default_value = "v2")]
    api: ApiArg,
    #[command(flatten)]
    key: KeyArgs,
    /// v2: the sign type the request used (required with v2).
    #[arg(long, value_enum)]
    sign_type: Option<SignTypeArg>,
    /// v3: the reply's Wechatpay-Timestamp header.
    #[arg(long, value_name = "T", required_if_eq("api", "v3"))]
    wechatpay_timestamp: Option<String>,
    /// v3: the reply's Wechatpay-Nonce header.
    #[arg(long, value_name = "N", required_if_eq("api", "v3"))]
    wechatpay_nonce: Option<String>,
    /// v3: the reply's Wechatpay-Serial header (a PUB_KEY_ID_… or a certificate serial).
    #[arg(long, value_name = "SERIAL", required_if_eq("api", "v3"))]
    wechatpay_serial: Option<String>,
    /// v3: the reply's Wechatpay-Signature header (base64).
    #[arg(long, value_name = "BASE64", required_if_eq("api", "v3"))]
    wechatpay_signature: Option<String>,
    /// v3: the WeChat Pay public key, PEM (pub_key.pem).
    #[arg(long, value_name = "PEM", requires = "wechatpay_public_key_id")]
    wechatpay_public_key: Option<PathBuf>,
    /// v3: the id of --wechatpay-public-key (PUB_KEY_ID_…).
    #[arg(long, value_name = "ID", requires = "wechatpay_public_key")]
    wechatpay_public_key_id: Option<String>,
    /// v3: a platform certificate, PEM (repeatable).
    #[arg(long, value_name = "PEM")]
    platform_cert: Vec<PathBuf>,
    /// v3: check the 300 s window against this Unix time (when the reply arrived); by default the window is not checked, since a saved reply is older than that.
    #[arg(long, value_name = "T")]
    reply_time: Option<u64>,
    /// A saved reply body (v2: the XML; v3: the JSON, byte for byte); standard input when absent.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Refuse options of the other API: they would be ignored, and a command
/// line that mixes the two is a mistake worth pointing at.
fn refuse_others(given: &[(bool, &str)], api: &str) -> Result<(), ExitCode> {
    match given.iter().find(|(g, _)| *g) {
        Some((_, flag)) => {
            eprintln!("wxmedia: {flag} is not an option of --api {api}");
            Err(ExitCode::from(EXIT_USAGE))
        }
        None => Ok(()),
    }
}

/// Bytes as one line of text: `\n`, `\r`, `\t` and `\\` escaped, other
/// control characters as `\u{..}`, bytes that are not UTF-8 as `\xNN`, so
/// that the message can be compared with the server's
/// `truncated_sign_message` by eye.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A required v2 argument is missing.
fn missing(what: &str) -> ExitCode {
    eprintln!("wxmedia: {what} is required (with --api v3 other arguments are)");
    ExitCode::from(EXIT_USAGE)
}

/// A file's bytes, or the reason it could not be read, as a usage error.
fn read_file(path: &std::path::Path, what: &str) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!("wxmedia: cannot read the {what} {}: {e}", path.display());
        ExitCode::from(EXIT_USAGE)
    })
}

fn key(args: &KeyArgs) -> Result<ApiKey, ExitCode> {
    args.read()
        .and_then(|k| Ok(ApiKey::new(k.as_str())?))
        .map_err(|e| {
            eprintln!("wxmedia: {e:#}");
            ExitCode::from(EXIT_USAGE)
        })
}

pub(crate) fn sign(args: SignArgs) -> ExitCode {
    if args.api == ApiArg::V3 {
        return sign_v3(args);
    }
    if let Err(code) = refuse_others(
        &[
            (args.private_key.is_some(), "--private-key"),
            (args.method.is_some(), "--method"),
            (args.url.is_some(), "--url"),
            (args.timestamp.is_some(), "--timestamp"),
            (args.nonce.is_some(), "--nonce"),
            (args.body_file.is_some(), "--body-file"),
        ],
        "v2",
    ) {
        return code;
    }
    // Checked here rather than by clap: clap's conditions do not see
    // `--api`'s default, and v2 is the default.
    let Some(sign_type) = args.sign_type else {
        return missing("--sign-type md5|hmac-sha256");
    };
    if args.params.is_empty() {
        return missing("NAME=VALUE...");
    }
    let key = match key(&args.key) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let mut pairs = Vec::with_capacity(args.params.len());
    for p in &args.params {
        match p.split_once('=') {
            Some((name, value)) if !name.is_empty() => pairs.push((name, value)),
            _ => {
                eprintln!("wxmedia: {p:?} is not NAME=VALUE");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let to_sign = StringToSign::new(pairs);
    let sign = to_sign.sign(&key, SignType::from(sign_type));
    if args.json {
        let line = serde_json::json!({"string_to_sign": to_sign.redacted(), "sign": sign.as_str()});
        println!("{line}");
    } else {
        eprintln!("string to sign: {}", to_sign.redacted());
        println!("{sign}");
    }
    ExitCode::SUCCESS
}

pub(crate) fn verify(args: VerifyArgs) -> ExitCode {
    if args.api == ApiArg::V3 {
        return verify_v3(args);
    }
    if let Err(code) = refuse_others(
        &[
            (args.wechatpay_timestamp.is_some(), "--wechatpay-timestamp"),
            (args.wechatpay_nonce.is_some(), "--wechatpay-nonce"),
            (args.wechatpay_serial.is_some(), "--wechatpay-serial"),
            (args.wechatpay_signature.is_some(), "--wechatpay-signature"),
            (
                args.wechatpay_public_key.is_some(),
                "--wechatpay-public-key",
            ),
            (!args.platform_cert.is_empty(), "--platform-cert"),
            (args.reply_time.is_some(), "--reply-time"),
        ],
        "v2",
    ) {
        return code;
    }
    let Some(sign_type) = args.sign_type else {
        return missing("--sign-type md5|hmac-sha256");
    };
    let key = match key(&args.key) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let mut body = Vec::new();
    let read = match &args.file {
        Some(path) => std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut body)),
        None => std::io::stdin().read_to_end(&mut body),
    };
    if let Err(e) = read {
        eprintln!("wxmedia: cannot read the reply: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    let fields = match wxmedia_proto::v2::xml::Fields::parse(&body) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("wxmedia: not a WeChat Pay XML reply: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match wxmedia_proto::v2::reply::verify_fields(&fields, &key, sign_type.into()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let signed = StringToSign::new(fields.iter());
            eprintln!(
                "wxmedia: the reply's signature {e}; signed string: {}",
                signed.redacted()
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// `wxmedia sign --api v3`: the message a request signs and its signature.
fn sign_v3(args: SignArgs) -> ExitCode {
    if let Err(code) = refuse_others(
        &[
            (args.key.api_key_file.is_some(), "--api-key-file"),
            (args.sign_type.is_some(), "--sign-type"),
            (!args.params.is_empty(), "NAME=VALUE"),
        ],
        "v3",
    ) {
        return code;
    }
    let (Some(method), Some(url), Some(timestamp), Some(nonce)) =
        (&args.method, &args.url, args.timestamp, &args.nonce)
    else {
        unreachable!("clap requires --method, --url, --timestamp and --nonce with --api v3");
    };
    // A full URL would be signed as given and never match what the server
    // signs (the path and query only): refuse it rather than mislead.
    if !url.starts_with('/') {
        eprintln!(
            "wxmedia: --url is the path and query, e.g. /v3/merchant/media/upload, not {url:?}"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let key_path = match crate::conn::private_key(args.private_key.as_deref(), None) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("wxmedia: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let key_pem = match read_file(&key_path, "private key") {
        // Zeroed when dropped, like the key the signer parses from it.
        Ok(k) => zeroize::Zeroizing::new(k),
        Err(code) => return code,
    };
    // The serial goes into the Authorization header, not into the signed
    // message, and this command prints no header: any valid serial will do.
    let signer = match RsaSigner::from_pem_and_serial(&key_pem, "0") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wxmedia: {}: {e}", key_path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let body = match &args.body_file {
        Some(path) => match read_file(path, "body file") {
            Ok(b) => b,
            Err(code) => return code,
        },
        None => Vec::new(),
    };
    let message = auth::message(method, url, timestamp, nonce, &body);
    let signature = match signer.sign(&message) {
        Ok(s) => STANDARD.encode(s),
        Err(e) => {
            eprintln!("wxmedia: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    if args.json {
        let line = serde_json::json!({
            "message": String::from_utf8_lossy(&message),
            "signature": signature,
        });
        println!("{line}");
    } else {
        println!("{}", escape(&message));
        println!("{signature}");
    }
    ExitCode::SUCCESS
}

/// `wxmedia verify --api v3`: check a saved reply's `Wechatpay-*` headers.
fn verify_v3(args: VerifyArgs) -> ExitCode {
    if let Err(code) = refuse_others(
        &[
            (args.key.api_key_file.is_some(), "--api-key-file"),
            (args.sign_type.is_some(), "--sign-type"),
        ],
        "v3",
    ) {
        return code;
    }
    let usage = |message: String| {
        eprintln!("wxmedia: {message}");
        ExitCode::from(EXIT_USAGE)
    };
    let mut verifier = Verifier::new();
    if let (Some(pem), Some(id)) = (&args.wechatpay_public_key, &args.wechatpay_public_key_id) {
        let bytes = match read_file(pem, "public key") {
            Ok(b) => b,
            Err(code) => return code,
        };
        if let Err(e) = verifier.add_public_key_pem(id, &bytes) {
            return usage(format!("{}: {e}", pem.display()));
        }
    }
    for cert in &args.platform_cert {
        let bytes = match read_file(cert, "platform certificate") {
            Ok(b) => b,
            Err(code) => return code,
        };
        if let Err(e) = verifier.add_platform_certificate_pem(&bytes) {
            return usage(format!("{}: {e}", cert.display()));
        }
    }
    if verifier.is_empty() {
        return usage(
            "nothing to verify with: pass --wechatpay-public-key PEM --wechatpay-public-key-id ID, or --platform-cert PEM".into(),
        );
    }
    let mut body = Vec::new();
    let read = match &args.file {
        Some(path) => std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut body)),
        None => std::io::stdin().read_to_end(&mut body),
    };
    if let Err(e) = read {
        return usage(format!("cannot read the reply: {e}"));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("wechatpay-timestamp", &args.wechatpay_timestamp),
        ("wechatpay-nonce", &args.wechatpay_nonce),
        ("wechatpay-serial", &args.wechatpay_serial),
        ("wechatpay-signature", &args.wechatpay_signature),
    ] {
        let value = value.as_deref().unwrap_or_default();
        match HeaderValue::from_str(value) {
            Ok(v) => {
                headers.insert(name, v);
            }
            Err(_) => return usage(format!("--{name} is not a valid header value")),
        }
    }
    // Without --reply-time the reply is judged at its own time: the
    // signature is checked, the age is not.
    let timestamp = args.wechatpay_timestamp.as_deref().unwrap_or_default();
    let reply_time = args
        .reply_time
        .or_else(|| timestamp.parse().ok())
        .unwrap_or_default();
    match verifier.verify(reply_time, &headers, &body) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut signed = Vec::new();
            for part in [
                timestamp.as_bytes(),
                args.wechatpay_nonce
                    .as_deref()
                    .unwrap_or_default()
                    .as_bytes(),
                &body,
            ] {
                signed.extend_from_slice(part);
                signed.push(b'\n');
            }
            eprintln!(
                "wxmedia: the reply's signature {e}; signed message: {}",
                escape(&signed)
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}
