//! `wxmedia upload --api v3 --path /v3/…`: an endpoint wxmedia does not name, described on the command line (its limit, kinds, meta names, digest and members, plain or sealed for WeChat Pay) as a `CustomApi`.

use anyhow::{Context, bail};
use clap::ValueEnum;
use serde_json::Value;
use wxmedia_proto::MediaKind;
use wxmedia_proto::v3::{CustomApi, MetaDigest};
use wxmedia_tls::ShownPath;

use crate::conn::{V3Args, read_secret, strip_newline};

/// `--digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DigestArg {
    /// SHA-256, 64 lowercase hex digits (the media uploads).
    Sha256,
    /// SM3 (GB/T 32905), 64 lowercase hex digits (the fapiao file).
    Sm3,
}

/// The largest `--max-size`: WeChat Pay's uploads take a few MB, and the
/// file is read whole before it is sent.
const MAX_SIZE_LIMIT: usize = 100 * 1024 * 1024;

/// The default `--max-size`: the limit most v3 uploads document.
const DEFAULT_MAX_SIZE: usize = 2 * 1024 * 1024;

/// `--max-size`: bytes, or a number with `KB`/`MB` (powers of 1000) or
/// `KiB`/`MiB` (powers of 1024), any case; 1 byte to 100 MiB.
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = match &lower[digits.len()..] {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" => 1024,
        "mb" => 1000 * 1000,
        "mib" => 1024 * 1024,
        other => return Err(format!("unknown unit {other:?}: use KB, KiB, MB or MiB")),
    };
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of bytes, KB, KiB, MB or MiB"))?;
    match n.checked_mul(unit) {
        Some(0) => Err("must be at least 1 byte".to_owned()),
        Some(size) if size <= MAX_SIZE_LIMIT => Ok(size),
        _ => Err("must be at most 100MiB: WeChat Pay's uploads take a few MB".to_owned()),
    }
}

/// The endpoint `--path` and its options describe, or `None` without
/// `--path`. Made once per run and kept for the process's life (see
/// `Destination::Custom`).
pub(crate) fn endpoint(v3: &V3Args) -> anyhow::Result<Option<&'static CustomApi>> {
    let Some(path) = &v3.path else {
        return Ok(None);
    };
    let kinds = if v3.accept.is_empty() {
        vec![MediaKind::Jpeg, MediaKind::Png, MediaKind::Bmp]
    } else {
        v3.accept
            .iter()
            .map(|ext| {
                MediaKind::from_extension(ext.trim_start_matches('.')).with_context(|| {
                    format!(
                        "--accept: {ext:?} is not an extension wxmedia checks (one of {})",
                        MediaKind::ALL
                            .iter()
                            .map(|k| k.extension())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let mut api = CustomApi::new(path.as_str(), v3.max_size.unwrap_or(DEFAULT_MAX_SIZE))
        .context("--path")?
        .accepting(&kinds)
        .meta_names(
            v3.name_field.as_deref().unwrap_or("filename"),
            v3.digest_field.as_deref().unwrap_or("sha256"),
        )
        .context("--name-field / --digest-field")?;
    if v3.no_file_name {
        api = api.without_file_name();
    }
    if v3.digest == Some(DigestArg::Sm3) {
        api = api.digest(MetaDigest::Sm3);
    }
    for member in &v3.meta {
        let (key, value) = split(member, "--meta")?;
        api = api
            .extra_field(key, Value::from(value))
            .with_context(|| format!("--meta {key}"))?;
    }
    for member in &v3.meta_encrypted {
        let (key, value) = split(member, "--meta-encrypted")?;
        // The value is personal data: no message says it.
        let text = match value.strip_prefix('@') {
            Some(file) => {
                let file = std::path::Path::new(file);
                let raw = read_secret(file).with_context(|| {
                    format!("--meta-encrypted {key}: cannot read {}", ShownPath(file))
                })?;
                strip_newline(raw)
            }
            None => zeroize::Zeroizing::new(value.to_owned()),
        };
        api = api
            .sealed_field(key, &text)
            .with_context(|| format!("--meta-encrypted {key}"))?;
    }
    Ok(Some(Box::leak(Box::new(api))))
}

/// `KEY=VALUE`, split at the first `=`; the message names the flag and
/// the key, never the value.
fn split<'a>(member: &'a str, flag: &str) -> anyhow::Result<(&'a str, &'a str)> {
    match member.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key, value)),
        Some(_) => bail!("{flag}: the member has no name before '='"),
        None => bail!("{flag} takes KEY=VALUE (no '=' given)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_units_and_refuse_absurd_numbers() {
        assert_eq!(parse_size("204800"), Ok(204_800));
        assert_eq!(parse_size("200KiB"), Ok(204_800));
        assert_eq!(parse_size("200kb"), Ok(200_000));
        assert_eq!(parse_size("2MiB"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_size("5 MB"), Ok(5_000_000));
        for bad in [
            "",
            "0",
            "2GiB",
            "101MiB",
            "99999999999999999999",
            "-1",
            "1.5MiB",
            "2TB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn members_are_key_equals_value() {
        assert_eq!(split("a.b=c=d", "--meta").unwrap(), ("a.b", "c=d"));
        assert_eq!(split("a=", "--meta").unwrap(), ("a", ""));
        assert!(split("=x", "--meta").is_err());
        let e = split("secret-value", "--meta-encrypted").unwrap_err();
        assert!(!e.to_string().contains("secret-value"), "{e}");
    }
}
