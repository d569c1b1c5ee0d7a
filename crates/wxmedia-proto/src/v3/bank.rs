//! The bank marketing package upload (号码包, `POST /v3/marketing/bank/packages/{package_id}/tasks`): a UTF-8 TXT or CSV file of ids, each line sealed for WeChat Pay, that becomes an upload task of the package.
//!
//! The meta is `{filename, sha256, bank_type}`; the file name is held to
//! the documents' alphabet (`[A-Za-z0-9_.-]`, 4 to 128 characters) and
//! must differ between the tasks of one package. Each line of the file
//! is one id (a card agreement number) encrypted with the WeChat Pay key
//! the request names in `Wechatpay-Serial`: [`BankPackage::sealed_file`]
//! writes such a file from the plain ids. The reply is the task.

use bytes::Bytes;
use serde_json::Value;

use super::endpoint::{Endpoint, Reply};
use super::meta::file_meta;
use super::reply::id_field;
use super::seal::{Random, Sealer, SealingKey, Seed};
use crate::{Error, Media, MediaKind};

/// The largest file: 2 MB, read as 2 MiB.
pub const BANK_PACKAGE_MAX_SIZE: usize = 2 * 1024 * 1024;

/// The upload tasks of one bank marketing package, as an [`Endpoint`].
///
/// ```
/// use wxmedia_proto::v3::{BankPackage, Endpoint};
///
/// let package = BankPackage::new("8473295", "ICBC_DEBIT")?;
/// assert_eq!(package.path(), "/v3/marketing/bank/packages/8473295/tasks");
/// # Ok::<(), wxmedia_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankPackage {
    path: String,
    package_id: String,
    bank_type: String,
}

impl BankPackage {
    /// The package `package_id` (号码包id, 4 to 16 letters and digits,
    /// from the merchant platform) of ids of the bank and card type
    /// `bank_type` (`ICBC_DEBIT`, ...: 1 to 32 capital letters, digits
    /// and `_`).
    pub fn new(package_id: &str, bank_type: &str) -> Result<BankPackage, Error> {
        if !(4..=16).contains(&package_id.len())
            || !package_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(Error::input(
                "package_id",
                "must be 4 to 16 letters and digits",
            ));
        }
        if !(1..=32).contains(&bank_type.len())
            || !bank_type
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Error::input(
                "bank_type",
                "must be 1 to 32 capital letters, digits and '_' (ICBC_DEBIT, ...)",
            ));
        }
        Ok(BankPackage {
            path: format!("/v3/marketing/bank/packages/{package_id}/tasks"),
            package_id: package_id.to_owned(),
            bank_type: bank_type.to_owned(),
        })
    }

    /// The package id.
    pub fn package_id(&self) -> &str {
        &self.package_id
    }

    /// A package file from plain ids: each sealed with `key` (a fresh
    /// seed from `random` each: [`system_random`](super::seal::system_random)
    /// unless a test wants fixed bytes), one a line, lines ended by `\n`,
    /// as the documents ask. `key` must be the one the upload's
    /// `Wechatpay-Serial` names: [`Verifier::sealing_key`](super::Verifier::sealing_key),
    /// or a client's `sealing_key()`. An id that is empty or holds a line
    /// break is refused, by its line number (the id is not shown).
    pub fn sealed_file<'i>(
        key: &SealingKey,
        ids: impl IntoIterator<Item = &'i str>,
        random: &Random,
    ) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        for (i, id) in ids.into_iter().enumerate() {
            if id.is_empty() || id.contains(['\n', '\r']) {
                return Err(Error::input(
                    "bank package id",
                    format!("line {} is empty or holds a line break", i + 1),
                ));
            }
            let mut seed: Seed = [0; 20];
            random(&mut seed)?;
            out.extend_from_slice(key.seal(id.as_bytes(), &seed)?.as_bytes());
            out.push(b'\n');
        }
        Ok(out)
    }
}

impl Endpoint for BankPackage {
    type Output = BankTask;

    fn path(&self) -> &str {
        &self.path
    }

    fn max_size(&self) -> usize {
        BANK_PACKAGE_MAX_SIZE
    }

    /// UTF-8 TXT and CSV ([`Media::text`](crate::Media::text)).
    fn accepts(&self, kind: MediaKind) -> bool {
        kind.is_text()
    }

    /// `{filename, sha256, bank_type}`; a file name outside the documents'
    /// alphabet is refused here rather than by the host.
    fn meta(&self, media: &Media, _: &mut Sealer<'_>) -> Result<Bytes, Error> {
        let name = media.wire_filename();
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"_.-".contains(&b);
        if !(4..=128).contains(&name.len()) || !name.bytes().all(allowed) {
            return Err(Error::input(
                "bank package file name",
                "must be 4 to 128 letters, digits, '_', '.' or '-'",
            ));
        }
        file_meta(
            media,
            "filename",
            "sha256",
            &[("bank_type".to_owned(), Value::from(self.bank_type.clone()))],
        )
    }

    /// The task, with its `task_id`.
    fn output(&self, reply: Reply<'_>) -> Result<BankTask, Error> {
        let task_id = id_field(reply.body(), "task_id")?;
        let body = reply.json()?;
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(BankTask {
            task_id,
            package_id: text("package_id"),
            filename: text("filename"),
            status: text("status"),
            create_time: text("create_time"),
            body,
            sha256: reply.media().sha256_hex().to_owned(),
            request_id: reply.request_id(),
        })
    }
}

/// A verified bank package upload: the task it created.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BankTask {
    /// The task's id (上传任务).
    pub task_id: String,
    /// The package, as the reply names it.
    pub package_id: Option<String>,
    /// The file name, as the reply names it.
    pub filename: Option<String>,
    /// `PROCESSING` or `FINISHED`, as the reply says.
    pub status: Option<String>,
    /// When the task was created, RFC 3339.
    pub create_time: Option<String>,
    /// The whole verified reply (counts of ids taken and refused, ...).
    pub body: Value,
    /// The SHA-256 of the file that was sent, lowercase hex.
    pub sha256: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_and_bank_types_are_checked() {
        assert!(BankPackage::new("847", "ICBC_DEBIT").is_err());
        assert!(BankPackage::new("84732950000000000", "ICBC_DEBIT").is_err());
        assert!(BankPackage::new("8473/../1", "ICBC_DEBIT").is_err());
        assert!(BankPackage::new("8473295", "icbc").is_err());
        assert!(BankPackage::new("8473295", "").is_err());
        assert_eq!(
            BankPackage::new("8473295", "ICBC_DEBIT").unwrap().path(),
            "/v3/marketing/bank/packages/8473295/tasks"
        );
    }
}
