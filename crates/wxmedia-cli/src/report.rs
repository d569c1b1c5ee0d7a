//! How a file's outcome is reported: plain lines, JSON lines, exit statuses.

use std::path::Path;

use serde::Serialize;
use wxmedia_client::Error;
use wxmedia_proto::Error as ProtoError;
use wxmedia_proto::v2::Uploaded;

/// Exit status: every file uploaded.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit status: a file failed after its request was sent.
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit status: usage error, unreadable file, or media refused before sending.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Why one file did not upload, in the terms the CLI reports.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Failure {
    /// `media`, `unreadable`, `config`, `api`, `signature`, `decode`,
    /// `http`, `reply_too_large`, `transport`, `timeout`, `internal`.
    pub(crate) kind: &'static str,
    /// The WeChat Pay code, when there is one.
    pub(crate) code: Option<String>,
    /// What happened. Never contains the API key.
    pub(crate) message: String,
    /// Whether nothing was sent (exit 2 rather than 1).
    #[serde(skip)]
    pub(crate) before_sending: bool,
    /// Whether the server asked us to slow down (the core's predicate).
    #[serde(skip)]
    pub(crate) rate_limited: bool,
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        cur = s.source();
    }
    text
}

impl Failure {
    fn proto(e: &ProtoError) -> Failure {
        let kind = match e {
            ProtoError::Media(_) => "media",
            ProtoError::InvalidInput { .. } | ProtoError::BoundaryInMedia => "config",
            ProtoError::Api(_) => "api",
            ProtoError::Signature { .. } => "signature",
            ProtoError::Decode { .. } => "decode",
            ProtoError::Http { .. } => "http",
            ProtoError::ReplyTooLarge { .. } => "reply_too_large",
            _ => "protocol",
        };
        Failure {
            kind,
            code: e.api_code().map(|c| c.as_str().to_owned()),
            message: e.to_string(),
            before_sending: e.is_input_error(),
            rate_limited: e.is_rate_limited(),
        }
    }

    /// An upload's error, over any transport.
    pub(crate) fn from_error(e: &Error) -> Failure {
        match e {
            Error::Proto(p) => Failure::proto(p),
            Error::Timeout(_) => Failure::simple("timeout", chain(e), false),
            _ => Failure::simple("transport", chain(e), false),
        }
    }

    /// Media refused by the core before sending.
    pub(crate) fn media(e: wxmedia_proto::MediaError) -> Failure {
        Failure::simple("media", e.to_string(), true)
    }

    /// A file that could not be read.
    pub(crate) fn unreadable(e: &std::io::Error) -> Failure {
        Failure::simple("unreadable", e.to_string(), true)
    }

    pub(crate) fn internal(message: String) -> Failure {
        Failure::simple("internal", message, false)
    }

    fn simple(kind: &'static str, message: String, before_sending: bool) -> Failure {
        Failure {
            kind,
            code: None,
            message,
            before_sending,
            rate_limited: false,
        }
    }

    /// The exit status this failure calls for.
    pub(crate) fn exit_code(&self) -> u8 {
        if self.before_sending {
            EXIT_USAGE
        } else {
            EXIT_FAILED
        }
    }

    /// Whether the server asked us to slow down.
    pub(crate) fn is_rate_limited(&self) -> bool {
        self.rate_limited
    }
}

/// A success as a JSON line.
#[derive(Serialize)]
pub(crate) struct SuccessLine<'a> {
    pub(crate) file: &'a str,
    pub(crate) media_id: &'a str,
    pub(crate) media_hash: &'a str,
    pub(crate) sign_type: &'a str,
}

/// A failure as a JSON line.
#[derive(Serialize)]
pub(crate) struct FailureLine<'a> {
    pub(crate) file: &'a str,
    pub(crate) error: &'a Failure,
}

/// Print one file's outcome: stdout gets the result, stderr the complaint.
pub(crate) fn print_outcome(file: &Path, result: &Result<Uploaded, Failure>, json: bool) {
    let name = file.display().to_string();
    match result {
        Ok(done) => {
            if json {
                let line = SuccessLine {
                    file: &name,
                    media_id: &done.media_id,
                    media_hash: done.media_hash.as_str(),
                    sign_type: done.sign_type.as_str(),
                };
                println!("{}", serde_json::to_string(&line).expect("serializable"));
            } else {
                println!("{}", done.media_id);
            }
        }
        Err(f) => {
            if json {
                let line = FailureLine {
                    file: &name,
                    error: f,
                };
                println!("{}", serde_json::to_string(&line).expect("serializable"));
            }
            match &f.code {
                Some(code) => eprintln!("wxmedia: {name}: {code}: {}", f.message),
                None => eprintln!("wxmedia: {name}: {}", f.message),
            }
        }
    }
}

/// The combined exit status: usage problems outrank failures after sending.
pub(crate) fn combine(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes.into_iter().max().unwrap_or(EXIT_OK)
}
