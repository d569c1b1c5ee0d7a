//! How a file's outcome is reported: plain lines, JSON lines, exit statuses.

use std::path::Path;

use serde::Serialize;
use wxmedia_client::Error;
use wxmedia_proto::Error as ProtoError;
use wxmedia_proto::v2;
use wxmedia_proto::v3;

use crate::conn::Destination;
use crate::fit::FitNote;
use crate::text::safe;

/// Exit status: every file uploaded.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit status: a file failed after its request was sent.
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit status: usage error, unreadable file, or media refused before sending.
pub(crate) const EXIT_USAGE: u8 = 2;

/// How every command ends: `Ok` with its exit status (per-file outcomes
/// are printed as they happen), or `Err` with what to say and the status,
/// which `main` prints as `wxmedia: <message>` on stderr.
pub(crate) type CmdResult = Result<std::process::ExitCode, CmdError>;

/// A command that failed as a whole.
#[derive(Debug)]
pub(crate) struct CmdError {
    /// [`EXIT_USAGE`] or [`EXIT_FAILED`].
    pub(crate) status: u8,
    /// What to say. Never contains a secret.
    pub(crate) message: String,
}

impl CmdError {
    /// A usage error: the command line, a file or a setting is at fault
    /// and nothing was sent.
    pub(crate) fn usage(message: impl std::fmt::Display) -> CmdError {
        CmdError {
            status: EXIT_USAGE,
            message: message.to_string(),
        }
    }

    /// A failure after the work started (a reply refused, a signature
    /// that does not hold).
    pub(crate) fn failed(message: impl std::fmt::Display) -> CmdError {
        CmdError {
            status: EXIT_FAILED,
            message: message.to_string(),
        }
    }
}

impl From<anyhow::Error> for CmdError {
    /// Setting-up errors (`anyhow` with context) are usage errors. The
    /// message is the chain of causes, each said once: many errors already
    /// include their source in their own text.
    fn from(e: anyhow::Error) -> CmdError {
        CmdError::usage(chain(e.as_ref()))
    }
}

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
    /// v3's `Request-ID` of an error reply, which WeChat Pay support asks
    /// for. Absent on v2 lines, whose shape stays as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_id: Option<String>,
    /// Whether nothing was sent (exit 2 rather than 1).
    #[serde(skip)]
    pub(crate) before_sending: bool,
    /// Whether the server asked us to slow down (the core's predicate).
    #[serde(skip)]
    pub(crate) rate_limited: bool,
}

/// An error and its sources on one line ([`wxmedia_client::Chain`]).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    wxmedia_client::Chain(e).to_string()
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
            request_id: match e {
                ProtoError::Api(api) => api.request_id.clone(),
                _ => None,
            },
            before_sending: e.is_input_error(),
            rate_limited: e.is_rate_limited(),
        }
    }

    /// An upload's error, over any transport.
    pub(crate) fn from_error(e: &Error) -> Failure {
        match e {
            Error::Proto(p) => Failure::proto(p),
            Error::Timeout { .. } => Failure::timeout(e),
            // The download's failure told again: its kind and code, with
            // the message saying when the download may be tried again.
            Error::CertificatesUnavailable { cause, .. } => Failure {
                message: chain(e),
                ..Failure::from_error(cause)
            },
            _ => Failure::simple("transport", chain(e), false),
        }
    }

    /// A timeout: rate limited still when the deadline cut short the
    /// retry of a FREQUENCY_LIMITED, so that a batch pauses.
    fn timeout(e: &Error) -> Failure {
        Failure {
            code: e.api_code().map(|c| c.as_str().to_owned()),
            rate_limited: e.is_rate_limited(),
            ..Failure::simple("timeout", chain(e), false)
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

    /// A file refused before it was read (not a regular file, too large):
    /// a usage failure, since nothing was sent.
    pub(crate) fn refused(kind: &'static str, message: String) -> Failure {
        Failure::simple(kind, message, true)
    }

    pub(crate) fn internal(message: String) -> Failure {
        Failure::simple("internal", message, false)
    }

    fn simple(kind: &'static str, message: String, before_sending: bool) -> Failure {
        Failure {
            kind,
            code: None,
            message,
            request_id: None,
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

/// A verified upload of either API.
#[derive(Debug, Clone)]
pub(crate) enum Done {
    V2(v2::Uploaded),
    V3(v3::UploadedMedia),
    /// An upload to `--path`: the verified reply, and it as one line of
    /// compact JSON (what plain output prints).
    Custom(v3::CustomUploaded, String),
}

impl Done {
    /// A `--path` upload's result.
    pub(crate) fn custom(uploaded: v3::CustomUploaded) -> Done {
        let line = uploaded.body.to_string();
        Done::Custom(uploaded, line)
    }

    /// The media id, or for a v3 marketing image the media URL; for a
    /// `--path` upload the whole verified reply.
    pub(crate) fn id(&self) -> &str {
        match self {
            Done::V2(d) => &d.media_id,
            Done::V3(d) => &d.id,
            Done::Custom(_, line) => line,
        }
    }
}

/// A v2 success as a JSON line.
#[derive(Serialize)]
pub(crate) struct SuccessLine<'a> {
    pub(crate) file: &'a str,
    pub(crate) media_id: &'a str,
    pub(crate) media_hash: &'a str,
    pub(crate) sign_type: &'a str,
}

/// A v2 failure as a JSON line.
#[derive(Serialize)]
pub(crate) struct FailureLine<'a> {
    pub(crate) file: &'a str,
    pub(crate) error: &'a Failure,
}

/// A v3 failure as a JSON line: v2's, plus the code and the request id at
/// the top, where a script looks first.
#[derive(Serialize)]
struct FailureLineV3<'a> {
    file: &'a str,
    error: &'a Failure,
    code: Option<&'a str>,
    request_id: Option<&'a str>,
}

/// A success as a JSON object, with what `--fit` changed.
fn success_json(file: &str, done: &Done, fit: Option<&FitNote>) -> String {
    let mut line = success_value(file, done);
    if let (Some(note), serde_json::Value::Object(map)) = (fit, &mut line) {
        map.insert("fit".into(), note.json());
    }
    line.to_string()
}

fn success_value(file: &str, done: &Done) -> serde_json::Value {
    match done {
        Done::V2(done) => serde_json::to_value(SuccessLine {
            file,
            media_id: &done.media_id,
            media_hash: done.media_hash.as_str(),
            sign_type: done.sign_type.as_str(),
        })
        .expect("serializable"),
        Done::V3(done) => {
            // The result's field is named as the reply named it:
            // `media_id`, `media_url` for a marketing image (or its
            // `media_id`, when the host answered with that), ...
            let mut line = serde_json::Map::new();
            line.insert("file".into(), file.into());
            line.insert(done.field.into(), done.id.as_str().into());
            line.insert("sha256".into(), done.sha256.as_str().into());
            line.insert("request_id".into(), done.request_id.clone().into());
            serde_json::Value::Object(line)
        }
        Done::Custom(done, _) => serde_json::json!({
            "file": file,
            "reply": done.body,
            "digest": done.digest,
            "request_id": done.request_id,
        }),
    }
}

/// Print one file's outcome: stdout gets the result, stderr the complaint.
pub(crate) fn print_outcome(
    file: &Path,
    result: &Result<Done, Failure>,
    fit: Option<&FitNote>,
    target: Destination,
    json: bool,
) {
    let name = file.display().to_string();
    match result {
        Ok(done) => {
            if json {
                println!("{}", success_json(&name, done, fit));
            } else {
                // The id is the server's text.
                println!("{}", safe(done.id()));
                if let Done::V3(d) = done
                    && d.field != d.api.reply_field()
                {
                    eprintln!(
                        "{}",
                        safe(&format!(
                            "wxmedia: {name}: the server answered a {} instead of a {}",
                            d.field,
                            d.api.reply_field()
                        ))
                    );
                }
                // What was sent is not the file: say so, beside the id.
                if let Some(note) = fit.filter(|n| !n.report.unchanged) {
                    eprintln!(
                        "{}",
                        safe(&format!("wxmedia: {name}: fitted: {}", note.report))
                    );
                }
            }
        }
        Err(f) => {
            if json {
                let line = match target {
                    Destination::V2 => serde_json::to_string(&FailureLine {
                        file: &name,
                        error: f,
                    }),
                    Destination::V3(_) | Destination::Custom(_) => {
                        serde_json::to_string(&FailureLineV3 {
                            file: &name,
                            error: f,
                            code: f.code.as_deref(),
                            request_id: f.request_id.as_deref(),
                        })
                    }
                };
                println!("{}", line.expect("serializable"));
            }
            let request_id = f
                .request_id
                .as_deref()
                .map(|id| format!(" (Request-ID {id})"))
                .unwrap_or_default();
            let line = match &f.code {
                Some(code) => {
                    // An API error's text already starts with its code.
                    let message = f
                        .message
                        .strip_prefix(&format!("{code}: "))
                        .unwrap_or(&f.message);
                    format!("wxmedia: {name}: {code}: {message}{request_id}")
                }
                None => format!("wxmedia: {name}: {}{request_id}", f.message),
            };
            // The file name, the code, the message and the request id can
            // all hold what a terminal would act on.
            eprintln!("{}", safe(&line));
        }
    }
}

/// The combined exit status: usage problems outrank failures after sending.
pub(crate) fn combine(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes.into_iter().max().unwrap_or(EXIT_OK)
}
