//! `wxmedia sign` and `wxmedia verify`, for v2 and v3: for people chasing a SIGNERROR or SIGN_ERROR.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wxmedia_tls::ShownPath;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use http::{HeaderMap, HeaderValue};
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};
use wxmedia_proto::v3::{RsaSigner, Signer, Verifier, auth};
use wxmedia_tls::MAX_PEM_FILE;
use zeroize::Zeroizing;

use crate::conn::{ApiArg, SignTypeArg};
use crate::report::{CmdError, CmdResult};

/// Options of `wxmedia sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// Which API's signature: v2 (the default) or v3.
    #[arg(long, value_enum, default_value = "v2")]
    api: ApiArg,
    /// The options of v2 only; `None` when none is given.
    #[command(flatten)]
    v2: Option<SignV2Args>,
    /// The options of v3 only; `None` when none is given.
    #[command(flatten)]
    v3: Option<SignV3Args>,
    /// Print `{"string_to_sign":"…&key=***","sign":"…"}` (v3: `{"message":…,"signature":…}`).
    #[arg(long)]
    json: bool,
}

/// `wxmedia sign`'s v2 options: clap refuses them with any v3 option.
#[derive(Debug, Args)]
#[group(id = "sign_v2", multiple = true, conflicts_with = "sign_v3")]
struct SignV2Args {
    /// File holding the APIv2 key (one trailing newline is ignored). Default: env WXMEDIA_API_KEY.
    #[arg(long, value_name = "PATH")]
    api_key_file: Option<PathBuf>,
    /// v2: how to sign (required with v2).
    #[arg(long, value_enum)]
    sign_type: Option<SignTypeArg>,
    /// v2: parameters to sign, as NAME=VALUE (the value may be empty; at least one).
    #[arg(value_name = "NAME=VALUE")]
    params: Vec<String>,
}

/// `wxmedia sign`'s v3 options.
#[derive(Debug, Args)]
#[group(id = "sign_v3", multiple = true)]
struct SignV3Args {
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
}

/// Options of `wxmedia verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Which API's reply: v2 (the default) or v3.
    #[arg(long, value_enum, default_value = "v2")]
    api: ApiArg,
    /// The options of v2 only; `None` when none is given.
    #[command(flatten)]
    v2: Option<VerifyV2Args>,
    /// The options of v3 only; `None` when none is given.
    #[command(flatten)]
    v3: Option<VerifyV3Args>,
    /// A saved reply body (v2: the XML; v3: the JSON, byte for byte); standard input when absent.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// `wxmedia verify`'s v2 options: clap refuses them with any v3 option.
#[derive(Debug, Args)]
#[group(id = "verify_v2", multiple = true, conflicts_with = "verify_v3")]
struct VerifyV2Args {
    /// File holding the APIv2 key (one trailing newline is ignored). Default: env WXMEDIA_API_KEY.
    #[arg(long, value_name = "PATH")]
    api_key_file: Option<PathBuf>,
    /// v2: the sign type the request used (required with v2).
    #[arg(long, value_enum)]
    sign_type: Option<SignTypeArg>,
}

/// `wxmedia verify`'s v3 options.
#[derive(Debug, Args)]
#[group(id = "verify_v3", multiple = true)]
struct VerifyV3Args {
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
}

/// Which API's options a command line may hold. clap refuses v2 and v3
/// options together; the API itself is `--api`'s value, which clap's
/// conflicts cannot see, so the options of the other API are refused here,
/// as a group: they would be ignored, and a command line that mixes the two
/// is a mistake worth pointing at.
fn check_api<V2, V3>(api: ApiArg, v2: &Option<V2>, v3: &Option<V3>) -> Result<(), CmdError> {
    match (api, v2, v3) {
        (ApiArg::V2, _, Some(_)) => Err(CmdError::usage(
            "an option of --api v3 was given (--private-key, --method, --url, --wechatpay-…, --platform-cert, …): add --api v3",
        )),
        (ApiArg::V3, Some(_), _) => Err(CmdError::usage(
            "--api-key-file, --sign-type and NAME=VALUE are options of --api v2, not of --api v3",
        )),
        _ => Ok(()),
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

/// A required v2 argument is missing. Checked here rather than by clap:
/// clap's conditions do not see `--api`'s default, and v2 is the default.
fn missing(what: &str) -> CmdError {
    CmdError::usage(format!(
        "{what} is required (with --api v3 other arguments are)"
    ))
}

/// A key, certificate or body file's bytes (zeroed when dropped: the key
/// is a secret), or the reason it could not be read, as a usage error.
/// Read as every credential file is ([`crate::conn::read_small`]): a
/// regular file of at most 64 KiB, so that `/dev/zero`, a FIFO or a huge
/// file is refused at once, by what it is. 64 KiB fits a body too: what
/// v3 signs for an upload is its meta, a JSON object of a file name and a
/// hash. `what` names the file in both messages: "cannot read the {what}
/// file …" and "… not a {what} file".
fn read_file(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, CmdError> {
    crate::conn::read_small(path, what).map_err(|e| {
        CmdError::usage(format!(
            "cannot read the {what} file {}: {e}",
            ShownPath(path)
        ))
    })
}

/// The reply body: the file, read like the key files (a regular file of at
/// most 64 KiB), or at most as much of standard input. A reply the client
/// would take is no larger (its default reply limit is 64 KiB too), and a
/// reply path at `/dev/zero` or a FIFO must not fill the memory or hang.
fn read_reply(file: Option<&Path>) -> Result<Vec<u8>, CmdError> {
    let Some(path) = file else {
        let mut body = Vec::new();
        std::io::stdin()
            .take(MAX_PEM_FILE + 1)
            .read_to_end(&mut body)
            .map_err(|e| CmdError::usage(format!("cannot read the reply: {e}")))?;
        if body.len() as u64 > MAX_PEM_FILE {
            return Err(CmdError::usage(format!(
                "the reply on standard input is larger than {MAX_PEM_FILE} bytes; not a reply"
            )));
        }
        return Ok(body);
    };
    let mut body = read_file(path, "reply")?;
    // Not a secret: taken out of its zeroizing wrapper as it is.
    Ok(std::mem::take(&mut *body))
}

/// The APIv2 key from the file or the environment.
fn key(file: Option<&Path>) -> Result<ApiKey, CmdError> {
    let key = crate::conn::read_api_key(file)?;
    Ok(ApiKey::new(key.as_str()).map_err(anyhow::Error::from)?)
}

pub(crate) fn sign(args: SignArgs) -> CmdResult {
    check_api(args.api, &args.v2, &args.v3)?;
    if args.api == ApiArg::V3 {
        let v3 = args.v3.as_ref().expect("clap requires the v3 options");
        return sign_v3(v3, args.json);
    }
    let v2 = args.v2.as_ref();
    let Some(sign_type) = v2.and_then(|v2| v2.sign_type) else {
        return Err(missing("--sign-type md5|hmac-sha256"));
    };
    let params = v2.map(|v2| &v2.params[..]).unwrap_or_default();
    if params.is_empty() {
        return Err(missing("NAME=VALUE..."));
    }
    let key = key(v2.and_then(|v2| v2.api_key_file.as_deref()))?;
    let mut pairs = Vec::with_capacity(params.len());
    for p in params {
        match p.split_once('=') {
            Some((name, value)) if !name.is_empty() => pairs.push((name, value)),
            _ => return Err(CmdError::usage(format!("{p:?} is not NAME=VALUE"))),
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
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn verify(args: VerifyArgs) -> CmdResult {
    check_api(args.api, &args.v2, &args.v3)?;
    if args.api == ApiArg::V3 {
        let v3 = args.v3.as_ref().expect("clap requires the v3 options");
        return verify_v3(v3, args.file.as_deref());
    }
    let v2 = args.v2.as_ref();
    let Some(sign_type) = v2.and_then(|v2| v2.sign_type) else {
        return Err(missing("--sign-type md5|hmac-sha256"));
    };
    let key = key(v2.and_then(|v2| v2.api_key_file.as_deref()))?;
    let body = read_reply(args.file.as_deref())?;
    let fields = wxmedia_proto::v2::xml::Fields::parse(&body)
        .map_err(|e| CmdError::usage(format!("not a WeChat Pay XML reply: {e}")))?;
    match wxmedia_proto::v2::reply::verify_fields(&fields, &key, sign_type.into()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            let signed = StringToSign::new(fields.iter());
            Err(CmdError::failed(format!(
                "the reply's signature {e}; signed string: {}",
                signed.redacted()
            )))
        }
    }
}

/// `wxmedia sign --api v3`: the message a request signs and its signature.
fn sign_v3(args: &SignV3Args, json: bool) -> CmdResult {
    let (Some(method), Some(url), Some(timestamp), Some(nonce)) =
        (&args.method, &args.url, args.timestamp, &args.nonce)
    else {
        // clap requires them with --api v3; said again here rather than
        // assumed, should the arguments' rules change.
        return Err(CmdError::usage(
            "--api v3 needs --method, --url, --timestamp and --nonce",
        ));
    };
    // A full URL would be signed as given and never match what the server
    // signs (the path and query only): refuse it rather than mislead.
    if !url.starts_with('/') {
        return Err(CmdError::usage(format!(
            "--url is the path and query, e.g. /v3/merchant/media/upload, not {url:?}"
        )));
    }
    let key_path = crate::conn::private_key(args.private_key.as_deref(), None)?;
    // Zeroed when dropped, like the key the signer parses from it.
    let key_pem = read_file(&key_path, "private key")?;
    // The serial goes into the Authorization header, not into the signed
    // message, and this command prints no header: any valid serial will do.
    let signer = RsaSigner::from_pem_and_serial(&key_pem, "0")
        .map_err(|e| CmdError::usage(format!("{}: {e}", ShownPath(&key_path))))?;
    let body = match &args.body_file {
        Some(path) => read_file(path, "body")?,
        None => Zeroizing::new(Vec::new()),
    };
    let message = auth::message(method, url, timestamp, nonce, &body);
    let signature = signer
        .sign(&message)
        .map(|s| STANDARD.encode(s))
        .map_err(CmdError::failed)?;
    if json {
        let line = serde_json::json!({
            "message": String::from_utf8_lossy(&message),
            "signature": signature,
        });
        println!("{line}");
    } else {
        println!("{}", escape(&message));
        println!("{signature}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The keys a v3 reply may be checked with, from the command line.
fn verifier(args: &VerifyV3Args) -> Result<Verifier, CmdError> {
    let mut verifier = Verifier::new();
    if let (Some(pem), Some(id)) = (&args.wechatpay_public_key, &args.wechatpay_public_key_id) {
        let bytes = read_file(pem, "public key")?;
        verifier
            .add_public_key_pem(id, &bytes)
            .map_err(|e| CmdError::usage(format!("{}: {e}", ShownPath(pem))))?;
    }
    for cert in &args.platform_cert {
        let bytes = read_file(cert, "platform certificate")?;
        verifier
            .add_platform_certificate_pem(&bytes)
            .map_err(|e| CmdError::usage(format!("{}: {e}", ShownPath(cert))))?;
    }
    if verifier.is_empty() {
        return Err(CmdError::usage(
            "nothing to verify with: pass --wechatpay-public-key PEM --wechatpay-public-key-id ID, or --platform-cert PEM",
        ));
    }
    Ok(verifier)
}

/// `wxmedia verify --api v3`: check a saved reply's `Wechatpay-*` headers.
fn verify_v3(args: &VerifyV3Args, file: Option<&Path>) -> CmdResult {
    let verifier = verifier(args)?;
    let body = read_reply(file)?;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("wechatpay-timestamp", &args.wechatpay_timestamp),
        ("wechatpay-nonce", &args.wechatpay_nonce),
        ("wechatpay-serial", &args.wechatpay_serial),
        ("wechatpay-signature", &args.wechatpay_signature),
    ] {
        let value = HeaderValue::from_str(value.as_deref().unwrap_or_default())
            .map_err(|_| CmdError::usage(format!("--{name} is not a valid header value")))?;
        headers.insert(name, value);
    }
    // Without --reply-time the reply is judged at its own time: the
    // signature is checked, the age is not.
    let timestamp = args.wechatpay_timestamp.as_deref().unwrap_or_default();
    let reply_time = args
        .reply_time
        .or_else(|| timestamp.parse().ok())
        .unwrap_or_default();
    match verifier.verify(reply_time, &headers, &body) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            let nonce = args.wechatpay_nonce.as_deref().unwrap_or_default();
            let mut signed = Vec::new();
            for part in [timestamp.as_bytes(), nonce.as_bytes(), &body] {
                signed.extend_from_slice(part);
                signed.push(b'\n');
            }
            Err(CmdError::failed(format!(
                "the reply's signature {e}; signed message: {}",
                escape(&signed)
            )))
        }
    }
}
