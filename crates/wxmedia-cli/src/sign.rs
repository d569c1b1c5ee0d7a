//! `wxmedia sign` and `wxmedia verify`: for people chasing a SIGNERROR.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};

use crate::conn::{KeyArgs, SignTypeArg};
use crate::report::{EXIT_FAILED, EXIT_USAGE};

/// Options of `wxmedia sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// How to sign.
    #[arg(long, value_enum)]
    sign_type: SignTypeArg,
    /// Print `{"string_to_sign":"…&key=***","sign":"…"}`.
    #[arg(long)]
    json: bool,
    /// Parameters to sign, as NAME=VALUE (the value may be empty).
    #[arg(required = true, value_name = "NAME=VALUE")]
    params: Vec<String>,
}

/// Options of `wxmedia verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The sign type the request used.
    #[arg(long, value_enum)]
    sign_type: SignTypeArg,
    /// A saved XML reply; standard input when absent.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

fn key(args: &KeyArgs) -> Result<ApiKey, ExitCode> {
    args.read().and_then(|k| Ok(ApiKey::new(k)?)).map_err(|e| {
        eprintln!("wxmedia: {e:#}");
        ExitCode::from(EXIT_USAGE)
    })
}

pub(crate) fn sign(args: SignArgs) -> ExitCode {
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
    let sign = to_sign.sign(&key, SignType::from(args.sign_type));
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
    match wxmedia_proto::v2::reply::verify_fields(&fields, &key, args.sign_type.into()) {
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
