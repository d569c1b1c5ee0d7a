//! `wxmedia doctor`: the library's configuration checks with the upload command's flags, offline and against the endpoint, one line (or JSON object) per check.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use wxmedia_tls::ShownPath;

use anyhow::anyhow;
use clap::Args;
use wxmedia_client::doctor::{self, Check, Status, V2Credentials};
use wxmedia_client::{BuildError, Identity, V2Builder, V3Builder};
use wxmedia_proto::v3::Api;
use zeroize::Zeroizing;

use crate::client::{Configured, Uploader};
use crate::conn::{ApiArg, ConnArgs, TransportArg, read_secret, strip_newline};
use crate::report::{CmdResult, EXIT_FAILED, EXIT_OK};
use crate::text::safe;

/// Options of `wxmedia doctor`: exactly the upload command's credential,
/// endpoint and output flags (and environment variables), plus `--offline`.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
    /// Only the checks that need no network: files, keys, certificates, serials, the API keys.
    #[arg(long)]
    pub(crate) offline: bool,
}

/// The longest each question to the server may take (or `--timeout`,
/// when shorter): a check that hangs helps nobody.
const PROBE_DEADLINE: Duration = Duration::from_secs(10);

pub(crate) async fn run(args: DoctorArgs) -> CmdResult {
    let conn = &args.conn;
    let mch_id = conn
        .mch_id
        .clone()
        .ok_or_else(|| anyhow!("no merchant id: pass --mch-id or set WXMEDIA_MCH_ID"))?;
    // Options of the other API, a bad --timeout, two different private
    // keys: usage errors (exit 2), as for `upload`.
    conn.target()?;
    let deadline = conn.net.deadline()?.min(PROBE_DEADLINE);
    let online = (!args.offline).then_some(deadline);
    let checks = match conn.api {
        ApiArg::V2 => v2(conn, mch_id, online).await,
        ApiArg::V3 => v3(conn, mch_id, online).await?,
    };
    for check in &checks {
        println!("{}", line(check, conn.json));
    }
    let failed = doctor::any_failed(&checks);
    Ok(ExitCode::from(if failed { EXIT_FAILED } else { EXIT_OK }))
}

/// One check as a line of text (`ok`, `warn` or `FAIL`, the name, the
/// sentence, escaped: it may quote a server) or as a JSON object.
fn line(check: &Check, json: bool) -> String {
    if json {
        let values: serde_json::Map<String, serde_json::Value> = check
            .values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone().into()))
            .collect();
        let files: Vec<String> = check
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        return serde_json::json!({
            "check": check.name,
            "status": check.status.as_str(),
            "message": check.message,
            "files": files,
            "values": values,
        })
        .to_string();
    }
    let status = match check.status {
        Status::Fail => "FAIL",
        other => other.as_str(),
    };
    let text = format!("{status:<4} {:<29} {}", check.name, check.message);
    safe(&text).into_owned()
}

/// A secret from `file`, else from the environment variable `var`: one
/// trailing newline removed, as `upload` reads it; `Err` says why the file
/// cannot be read (a directory is named as one).
fn secret(file: Option<&Path>, var: &str, what: &str) -> Result<Option<Zeroizing<String>>, String> {
    match file {
        Some(path) => read_secret(path)
            .map(|raw| Some(strip_newline(raw)))
            .map_err(|e| format!("cannot read the {what} file {}: {e}", ShownPath(path))),
        None => Ok(std::env::var(var)
            .ok()
            .filter(|k| !k.is_empty())
            .map(Zeroizing::new)),
    }
}

async fn v3(
    conn: &ConnArgs,
    mch_id: String,
    online: Option<Duration>,
) -> anyhow::Result<Vec<Check>> {
    let v3 = conn.v3.as_ref();
    let mut builder = V3Builder::<()>::new().mch_id(mch_id);
    let private_key = v3.and_then(|a| a.private_key.as_deref());
    let from_env = std::env::var_os("WXMEDIA_PRIVATE_KEY").is_some_and(|v| !v.is_empty());
    if private_key.is_some() || conn.cert_key.is_some() || from_env {
        // `upload`'s rule, and its usage error for two different keys.
        builder = builder.private_key_file(crate::conn::private_key(
            private_key,
            conn.cert_key.as_deref(),
        )?);
    }
    if let Some(cert) = &conn.cert {
        builder = builder.merchant_certificate_file(cert);
    }
    // Unlike `upload`, both are taken: that they agree is a check.
    if let Some(serial) = v3.and_then(|a| a.serial_no.as_ref()) {
        builder = builder.serial_no(serial);
    }
    if let Some(a) = v3 {
        if let (Some(pem), Some(id)) = (&a.wechatpay_public_key, &a.wechatpay_public_key_id) {
            builder = builder.wechatpay_public_key_file(id, pem);
        }
        for cert in &a.platform_cert {
            builder = builder.platform_certificate_file(cert);
        }
    }
    let key_file = v3.and_then(|a| a.api_v3_key_file.as_deref());
    let unreadable = match secret(key_file, "WXMEDIA_API_V3_KEY", "APIv3 key") {
        Ok(Some(key)) => {
            builder = builder.api_v3_key(key.as_str());
            None
        }
        Ok(None) => None,
        Err(why) => {
            Some(Check::fail("api-v3-key", why).with_file(key_file.unwrap_or(Path::new(""))))
        }
    };
    let mut checks = builder.check();
    if let Some(check) = unreadable {
        // Beside the other reply-verification material, before the verdict.
        let at = checks
            .iter()
            .position(|c| c.name == "reply-verification")
            .unwrap_or(checks.len());
        checks.insert(at, check);
    }
    if let Some(deadline) = online {
        let builder = conn.net.apply(builder, deadline, None);
        let result = online_checks(
            conn.net.transport,
            Configured::V3(builder, crate::destination::V3Target::Api(Api::Image)),
        )
        .await;
        checks.extend(skipped_unless_built(result, &checks));
    }
    Ok(checks)
}

async fn v2(conn: &ConnArgs, mch_id: String, online: Option<Duration>) -> Vec<Check> {
    let v2 = conn.v2.as_ref();
    let mut given = V2Credentials::new(mch_id.clone());
    let mut checks = Vec::new();
    let key_file = v2.and_then(|a| a.api_key_file.as_deref());
    let key = match secret(key_file, "WXMEDIA_API_KEY", "APIv2 key") {
        Ok(key) => key,
        Err(why) => {
            checks.push(Check::fail("api-key", why).with_file(key_file.unwrap_or(Path::new(""))));
            None
        }
    };
    if let Some(key) = &key {
        given = given.api_key(key.as_str());
    }
    let password = std::env::var("WXMEDIA_P12_PASSWORD").unwrap_or_else(|_| mch_id.clone());
    let p12 = v2.and_then(|a| a.p12.as_ref());
    let source = match (&conn.cert, &conn.cert_key, p12) {
        (Some(cert), Some(key), None) => Some(Source::Pem(cert.clone(), key.clone())),
        (None, None, Some(p12)) => Some(Source::P12(p12.clone())),
        (None, None, None) if v2.is_some_and(|a| a.cert_at_gateway) => Some(Source::Gateway),
        (None, None, None) => None,
        (Some(_), None, _) => {
            return half_pair(
                checks,
                given,
                "--cert needs --cert-key: the client key, apiclient_key.pem",
            );
        }
        _ => {
            return half_pair(
                checks,
                given,
                "--cert-key needs --cert: the client certificate, apiclient_cert.pem (or give --p12 alone)",
            );
        }
    };
    given = match &source {
        Some(Source::Pem(cert, key)) => given.pem_files(cert, key),
        Some(Source::P12(p12)) => given.pkcs12_file(p12, password.as_str()),
        Some(Source::Gateway) => given.certificate_at_gateway(),
        None => given,
    };
    let offline = given.check();
    // A key file that could not be read is reported once, by this
    // command, rather than again as "no key".
    let unread_key = !checks.is_empty();
    checks.extend(
        offline
            .into_iter()
            .filter(|c| !(unread_key && c.name == "api-key")),
    );
    let (Some(deadline), Some(key), Some(source)) = (online, key, source) else {
        if online.is_some() {
            checks.push(skipped(
                &checks,
                "no APIv2 key or client certificate".to_owned(),
            ));
        }
        return checks;
    };
    let identity = match &source {
        Source::Pem(cert, key) => Identity::from_pem_files(cert, key).map(Some),
        Source::P12(p12) => Identity::from_pkcs12_file(p12, &password).map(Some),
        Source::Gateway => Ok(None),
    };
    let result = match identity {
        Ok(identity) => {
            let builder = V2Builder::<()>::new().mch_id(mch_id).api_key(key.as_str());
            let builder = match identity {
                Some(identity) => builder.identity(identity),
                None => builder.certificate_at_gateway(),
            };
            let builder = conn.net.apply(builder, deadline, None);
            online_checks(conn.net.transport, Configured::V2(builder)).await
        }
        Err(e) => Err(e.into()),
    };
    checks.extend(skipped_unless_built(result, &checks));
    checks
}

/// Where the v2 client certificate comes from.
enum Source {
    Pem(PathBuf, PathBuf),
    P12(PathBuf),
    /// Presented by the gateway at the endpoint; none here.
    Gateway,
}

/// The checks when only half of a PEM pair was given.
fn half_pair(mut checks: Vec<Check>, given: V2Credentials, why: &str) -> Vec<Check> {
    checks.extend(
        given
            .check()
            .into_iter()
            .filter(|c| c.name != "client-certificate"),
    );
    checks.push(Check::fail("client-certificate", why));
    checks
}

/// The online checks, or one line saying why they were not run.
fn skipped_unless_built(result: Result<Vec<Check>, BuildError>, so_far: &[Check]) -> Vec<Check> {
    match result {
        Ok(checks) => checks,
        Err(e) => vec![skipped(so_far, e.to_string())],
    }
}

/// The online checks were not run: a warning when a check above already
/// failed (that is what to fix first), a failure otherwise (a `--ca` file
/// that cannot be read, say).
fn skipped(so_far: &[Check], why: String) -> Check {
    if doctor::any_failed(so_far) {
        Check::warn(
            "online",
            format!("not run until the failures above are fixed ({why})"),
        )
    } else {
        Check::fail("online", format!("not run: {why}"))
    }
}

/// The online checks through the chosen transport (any upload will do for
/// a v3 client: the checks upload nothing).
async fn online_checks(
    transport: TransportArg,
    configured: Configured,
) -> Result<Vec<Check>, BuildError> {
    Ok(Uploader::build(transport, configured)?.check_online().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_escapes_what_a_server_sent_and_json_keeps_every_field() {
        let check = Check::fail("signature", "refused: \u{1b}[31mred\nforged")
            .with_file("k.pem")
            .with_value("request_id", "r1");
        let text = line(&check, false);
        assert!(text.starts_with("FAIL signature "), "{text}");
        assert!(text.contains("\\u{1b}[31mred\\nforged"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&line(&check, true)).unwrap();
        assert_eq!(json["check"], "signature");
        assert_eq!(json["status"], "fail");
        assert_eq!(json["files"][0], "k.pem");
        assert_eq!(json["values"]["request_id"], "r1");
        assert_eq!(json["message"], "refused: \u{1b}[31mred\nforged");
    }

    #[test]
    fn an_unreadable_secret_file_is_named_with_what_it_is() {
        let dir = tempfile::TempDir::new().unwrap();
        let e = secret(Some(dir.path()), "WXMEDIA_TEST_NONE", "APIv3 key").unwrap_err();
        assert!(e.contains("a directory"), "{e}");
    }
}
